import { z } from 'zod';

/** `request_log:` — the log of recent requests and the per-minute traffic figures the dashboard reads. */
export const requestLogSchema = z
  .strictObject({
    /** Off: nothing is recorded, the traffic and request-log routes answer empty. */
    enabled: z.boolean().default(true),
    /** Records older than this are deleted. */
    retention_hours: z.number().positive().max(24 * 366).default(24),
    /** Records kept at most (the oldest go first). */
    max_records: z.number().int().positive().max(100_000_000).default(100_000),
    /** A batch of records is written this long after its first record at the latest. */
    flush_ms: z.number().int().min(10).max(30_000).default(1_000),
    /** A batch is written as soon as it holds this many records. */
    batch_size: z.number().int().positive().max(10_000).default(500),
    /** Records waiting in memory (while the store is slow) past which new ones are dropped and counted. */
    max_pending: z.number().int().positive().max(1_000_000).default(10_000),
    /** With `log_bodies`: the request body kept with a record, cut at this many characters. */
    max_body_chars: z.number().int().min(0).max(1_000_000).default(16_384),
    /** With `log_bodies`: body characters waiting in memory past which new records are kept without theirs. */
    max_pending_body_chars: z.number().int().min(0).default(8_000_000),
  })
  .prefault({});

export type RequestLogConfig = z.output<typeof requestLogSchema>;
