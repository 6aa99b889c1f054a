import type { LeaseQueue } from '../lease-pool.js';
import type { StoredRequest } from '../types.js';

/**
 * Where a batch is. `receiving`: its body is still being stored (invisible to every route, deleted
 * if it never completes); `in_progress` / `canceling` / `ended` are Anthropic's `processing_status`.
 * A batch past its `expiresAt` stays `in_progress` until its requests not yet run are settled as
 * `expired`.
 */
export type BatchState = 'receiving' | 'in_progress' | 'canceling' | 'ended';

/** How a request of a batch ended. */
export type RequestOutcome = 'succeeded' | 'errored' | 'canceled' | 'expired';

export interface RequestCounts {
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
}

/** What every request of a batch is run with: the submit's headers and (sealed) credential. */
export type BatchContext = Omit<StoredRequest, 'body'>;

/** A batch passed through to an Anthropic-type provider's own Message Batches API. */
export interface NativeBatch {
  /** The configured provider's name. */
  provider: string;
  /** The batch's id upstream. */
  upstreamId: string;
  /** Index in the provider's `keys` of the key that created it (batches live in that key's workspace); absent: the client's credential. */
  keyIndex?: number;
}

/** A batch as the store has it. Times are ms since the epoch. */
export interface BatchRecord {
  id: string;
  /** Who may see it: jobOwner (jobs/owner.ts). */
  owner: string;
  state: BatchState;
  counts: RequestCounts;
  createdAt: number;
  expiresAt: number;
  endedAt: number | null;
  cancelInitiatedAt: number | null;
  /** The results are deleted (the batch is archived) at this time. */
  resultsUntil: number;
  native?: NativeBatch;
}

export interface NewBatch {
  id: string;
  owner: string;
  createdAt: number;
  expiresAt: number;
  resultsUntil: number;
  /** The record itself is deleted at this time (after it was archived). */
  deleteAt: number;
}

/** One request of a batch as stored at submit. */
export interface NewBatchRequest {
  /** Position in the batch's `requests` (0-based): results come back in this order. */
  index: number;
  customId: string;
  /** The validated `params`, as JSON text. */
  params: string;
}

/** A stored request, read back (native pass-through forwards them). */
export interface StoredBatchRequest {
  index: number;
  customId: string;
  params: string;
}

/** One results line: `{"custom_id":...,"result":...}` without the newline. */
export interface ResultLine {
  index: number;
  line: string;
}

/** What a worker reports for one request: the outcome and the `result` object as JSON text. */
export interface RequestResult {
  outcome: 'succeeded' | 'errored';
  /** `{"type":"succeeded","message":...}` or `{"type":"errored","error":{...}}`, one line. */
  result: string;
}

export interface BatchPage {
  batches: BatchRecord[];
  hasMore: boolean;
}

/** What one settle call did. */
export interface Settled {
  outcome: 'canceled' | 'expired' | undefined;
  /** Requests settled by this call. */
  settled: number;
  /** Requests still to settle (not counting those running under a live lease). */
  left: number;
}

/** Work one sweep call did. */
export interface SweepReport {
  /** Batches archived (results deleted) and deleted. */
  archived: number;
  deleted: number;
  /** There is more to do: call again (after yielding to the event loop). */
  more: boolean;
}

/**
 * Where batches live and how their requests are handed to workers. SQLite (one machine) and Redis
 * (a fleet) implement it. A request is claimed under a lease (LeaseQueue, the async jobs' worker
 * pool runs them), its result recorded only while its worker still holds the lease, so each
 * request has exactly one result whatever crashed; a request whose worker died is claimed again
 * once its lease lapses. Requests of one batch are claimed by every instance sharing the store.
 *
 * The item id a worker sees is `<batch id>:<index>`. Methods throw StoreUnavailableError when the
 * store cannot be reached in time.
 */
export interface BatchStore extends LeaseQueue<RequestResult> {
  /** Records a batch whose requests are about to be stored (`receiving`). */
  begin(batch: NewBatch): Promise<void>;
  /** Stores some of its requests (a bounded chunk, in one transaction / pipeline). */
  addRequests(batchId: string, requests: NewBatchRequest[]): Promise<void>;
  /**
   * All `total` requests are stored: the batch is `in_progress` and its requests may be claimed,
   * each run with `context`. Throws PendingLimitError when that would take the requests pending
   * over every batch past `maxPending`.
   */
  open(batchId: string, total: number, maxPending: number, context: BatchContext): Promise<void>;
  /** Forgets a batch that never opened (its body was refused or cut off). */
  discard(batchId: string): Promise<void>;
  /** The batch went to a provider's own Batches API: its stored requests are dropped, it is tracked there. */
  openNative(batchId: string, total: number, native: NativeBatch): Promise<void>;
  /** A native batch's state as the provider reported it. */
  updateNative(batchId: string, update: Pick<BatchRecord, 'state' | 'counts' | 'endedAt' | 'cancelInitiatedAt'>): Promise<void>;
  /** The batch (not while `receiving`), or undefined. */
  get(id: string): Promise<BatchRecord | undefined>;
  /** The owner's batches, newest first; `afterId` pages to older ones, `beforeId` to newer ones. */
  list(owner: string, page: { limit: number; beforeId?: string; afterId?: string }): Promise<BatchPage>;
  /** Up to `limit` batches not yet ended (in progress or canceling), whoever owns them, newest first (the dashboard's). */
  live(limit: number): Promise<BatchRecord[]>;
  /** Requests of a batch from `afterIndex` on (exclusive; -1 for the first), in order, at most `limit`. */
  requests(batchId: string, afterIndex: number, limit: number): Promise<StoredBatchRequest[]>;
  /**
   * `in_progress` → `canceling` (cancel_initiated_at = now). Then `settle` cancels what has not
   * started. Returns the batch, changed or not; undefined when unknown.
   */
  cancel(id: string, now: number): Promise<BatchRecord | undefined>;
  /** Deletes an ended batch and its results; false when there is no such batch. */
  delete(id: string): Promise<boolean>;
  /**
   * Result lines of an ended batch from `afterIndex` on (exclusive), in order, at most `limit`, and
   * no more than fit in `maxChars` together (always at least one, however long).
   */
  results(batchId: string, afterIndex: number, limit: number, maxChars?: number): Promise<ResultLine[]>;
  /**
   * Ends the requests of a canceling batch, or of one past its expiry, that have not started (and
   * those whose worker's lease lapsed): at most `limit` of them, as `canceled` or `expired`.
   */
  settle(batchId: string, now: number, limit: number): Promise<Settled>;
  /**
   * Batches with requests to settle (canceling, or expired), at most `limit`; the sweep settles them.
   */
  unsettled(now: number, limit: number): Promise<string[]>;
  /**
   * Periodic housekeeping, bounded per call: archives batches past `resultsUntil` (their results
   * go), deletes records past their deletion time, forgets `receiving` batches older than
   * `staleReceivingBefore`, and frees the space of deleted batches.
   */
  sweep(now: number, staleReceivingBefore: number): Promise<SweepReport>;
  /** Requests not yet finished over every batch (fleet-wide for Redis). */
  pending(): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** `<batch id>:<index>`: the id a batch request has in the worker pool. */
export function requestKey(batchId: string, index: number): string {
  return `${batchId}:${index}`;
}

export function parseRequestKey(key: string): { batchId: string; index: number } {
  const at = key.lastIndexOf(':');
  return { batchId: key.slice(0, at), index: Number(key.slice(at + 1)) };
}
