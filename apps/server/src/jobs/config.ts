import { z } from 'zod';

/** `store:` — where async jobs live. */
export const storeSchema = z
  .string()
  .regex(/^(sqlite:.+|rediss?:\/\/.*)$/, 'store is "sqlite:<path>" (or "sqlite::memory:") or "redis://host:port/db"')
  .default('sqlite:./.conduit/conduit.db');

/** `async:` — the x-bf-async job service (reference: the README, "Async jobs"). */
export const asyncSchema = z
  .strictObject({
    /** Seconds a finished job's result is kept when the request sends no x-bf-async-job-result-ttl. */
    default_ttl_s: z.number().int().positive().default(3600),
    /** Largest x-bf-async-job-result-ttl accepted; a larger value is a 400. */
    max_ttl_s: z.number().int().positive().default(86_400),
    /** Jobs one instance runs at the same time. */
    concurrency: z.number().int().positive().max(1000).default(16),
    /** Jobs waiting to start (fleet-wide with Redis) past which a submit gets 429. */
    max_queued: z.number().int().positive().default(1000),
    /**
     * Megabytes of requests (as stored: their JSON) the waiting jobs may hold together, fleet-wide
     * with Redis; past it a submit gets 429. A job always fits in an empty queue, however large.
     */
    max_queued_mb: z.number().positive().max(1_048_576).default(256),
    /**
     * Megabytes of results (finished jobs' answers, as stored: their JSON) kept until they expire,
     * fleet-wide with Redis; while they hold this much, a submit gets 429. A result already being
     * made is kept however large (the upstream answer limit bounds it).
     */
    max_results_mb: z.number().positive().max(1_048_576).default(1024),
    /** A running job's lease; renewed while it runs. A job whose instance died is run again once its lease lapses. */
    lease_ms: z.number().int().min(200).default(30_000),
    /** How often expired results are deleted (and the queue depth is sampled). */
    sweep_interval_ms: z.number().int().positive().default(60_000),
    /** Times a job is started before it is given up as failed; a crash mid-run counts as a start. */
    max_attempts: z.number().int().positive().max(100).default(3),
    /**
     * Key (any string of 32+ characters, e.g. `openssl rand -base64 32`) that seals the client credential
     * a job forwards to a provider without keys. Unset: a random key per process, so only the instance
     * that accepted such a job can run it.
     */
    credential_key: z.string().min(32, 'credential_key must be at least 32 characters').optional(),
    /** Longest a request (submit, poll, /ready) waits on the job store before it answers 503; Redis only. */
    store_timeout_ms: z.number().int().positive().default(2_000),
    /** Redis key prefix: instances that share it share jobs. */
    redis_prefix: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'redis_prefix is letters, digits, _ . -').default('conduit'),
  })
  .refine((a) => a.default_ttl_s <= a.max_ttl_s, { message: 'default_ttl_s must not exceed max_ttl_s', path: ['default_ttl_s'] })
  .prefault({});

export type AsyncConfig = z.output<typeof asyncSchema>;
