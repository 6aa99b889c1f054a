import { z } from 'zod';

const DAY_S = 24 * 3600;

/**
 * `batches:` — Anthropic's Message Batches API, run by the async job engine (reference: the README,
 * "Message Batches"). The store, leases, start count, credential sealing and Redis prefix are the
 * async jobs' (`store:`, `async.*`).
 */
export const batchesSchema = z
  .strictObject({
    /** Batch requests one instance runs at the same time (a pool of its own, beside async jobs'). */
    concurrency: z.number().int().positive().max(1000).default(4),
    /**
     * Live traffic first: while more than this many requests are being served by this instance, its
     * batch workers start no new request (those running finish). 0: batches run only when idle.
     */
    yield_above_in_flight: z.number().int().min(0).default(32),
    /** Requests in one batch; at most Anthropic's 100,000. */
    max_requests: z.number().int().positive().max(100_000).default(100_000),
    /** Largest batch body, after decompression (Anthropic: 256 MB). Each request in it is held to `body_limit` too. */
    body_limit: z.string().regex(/^\d+(b|kb|mb)$/i).default('256mb'),
    /** Batch requests not yet finished, over every batch (fleet-wide with Redis), past which a new batch gets 429. */
    max_pending_requests: z.number().int().positive().default(1_000_000),
    /** A batch not ended this long after it was created expires: its requests not yet run end `expired` (Anthropic: 24 h). */
    expiry_s: z.number().int().positive().default(DAY_S),
    /** Results are kept this long after the batch was created, then deleted: the batch is archived (Anthropic: 29 days). */
    results_ttl_s: z.number().int().positive().default(29 * DAY_S),
    /** An archived batch (results gone) is still listed and retrievable this long, then deleted. */
    archived_ttl_s: z.number().int().min(0).default(30 * DAY_S),
    /**
     * The gateway's address as clients reach it (e.g. https://llm.example.com), for `results_url`.
     * Unset: from the request's Host header and scheme.
     */
    public_url: z.url({ protocol: /^https?$/ }).optional(),
  })
  .refine((b) => b.expiry_s <= b.results_ttl_s, { message: 'expiry_s must not exceed results_ttl_s', path: ['expiry_s'] })
  .prefault({});

export type BatchesConfig = z.output<typeof batchesSchema>;

/** `providers.<name>.batches: native` needs Anthropic's own API: only the anthropic type has it. */
export function nativeBatchesConfigErrors(providers: Record<string, { type: string; batches?: string }>): string[] {
  return Object.entries(providers)
    .filter(([, p]) => p.batches === 'native' && p.type !== 'anthropic')
    .map(([name, p]) => `providers.${name}.batches: native needs Anthropic's Message Batches API; a provider of type ${p.type} has none (use gateway)`);
}
