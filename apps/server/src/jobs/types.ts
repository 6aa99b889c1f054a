import type { ErrorType, Usage } from '../generated/types.gen.js';
import type { ClientHeaders } from '../providers/types.js';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

/** What a worker needs to run the request again, exactly as the client sent it. */
export interface StoredRequest {
  /** The validated request body (JSON). */
  body: unknown;
  /** anthropic-version / anthropic-beta. Never the client's credential. */
  clientHeaders: Omit<ClientHeaders, 'credential'>;
  /**
   * The client's credential, only when a provider in the route forwards it (has no keys of its own),
   * and then only sealed (credential-seal.ts): the store never holds it in clear.
   */
  sealedCredential?: string;
  /** request-id of the submit, so upstream logs tie back to it. */
  requestId: string;
  /** With gateway auth: the id of the key that submitted the job; its usage is debited to it. */
  keyId?: string;
}

/** A job as submitted. */
export interface NewJob {
  id: string;
  /** sha256 of the submitting credential, or "anonymous". */
  owner: string;
  /** The requested model, echoed in the 202 answers. */
  model: string;
  /** Seconds the result is kept after the job finishes. */
  ttlS: number;
  request: StoredRequest;
  createdAt: number;
}

/** The answer a finished job replays on every poll. */
export type JobOutcome =
  | {
      status: 'completed';
      /** x-bf-provider, x-bf-model, ... as the sync call would have sent them. */
      headers: Record<string, string>;
      /** The Message JSON text, byte for byte what the sync call would have answered. */
      body: string;
    }
  | {
      status: 'failed';
      httpStatus: number;
      errorType: ErrorType;
      message: string;
      headers: Record<string, string>;
    };

/** What a poll sees. */
export interface JobView {
  id: string;
  owner: string;
  model: string;
  status: JobStatus;
  /** Present once the job finished. */
  outcome?: JobOutcome;
}

/** A job a worker has claimed. */
export interface ClaimedJob {
  id: string;
  request: StoredRequest;
  /** Starts so far, this one included. */
  attempts: number;
  /** The id `request.sealedCredential` was sealed for, when not the job's own (a batch's requests share the batch's). */
  credentialScope?: string;
}

/**
 * Runs a claimed job to its outcome. Rejects only when the run was given up because this
 * instance is shutting down: the store then hands the job back to the queue.
 */
export type JobRunner = (job: ClaimedJob, signal: AbortSignal) => Promise<JobOutcome>;

/**
 * Where jobs live and who runs them. SQLite (one machine) and Redis (a fleet) implement it;
 * both keep the request until the job finishes, hand a job whose worker died to another
 * worker once its lease lapses, and forget a result once its TTL has passed.
 */
export interface JobStore {
  /**
   * Records a queued job durably. Throws QueueFullError when `maxQueued` jobs are already waiting, or
   * when the requests waiting (as stored, JSON bytes) and this one would be more than `maxQueuedBytes`,
   * or when the results kept (finished jobs not yet expired, their outcomes' JSON bytes) hold
   * `maxResultsBytes` or more.
   */
  submit(job: NewJob): Promise<void>;
  /** The job, or undefined when it is unknown or its result has expired. */
  get(id: string): Promise<JobView | undefined>;
  /** Starts this instance's workers; every claimed job goes through `run`. */
  start(run: JobRunner): void;
  /** Deletes results past their TTL; returns how many went. */
  sweep(): Promise<number>;
  /** Jobs waiting and running right now (fleet-wide for Redis). */
  depth(): Promise<{ queued: number; running: number }>;
  /** Throws when the store cannot be reached. */
  ping(): Promise<void>;
  // submit, get, depth and ping throw StoreUnavailableError when the store cannot be reached in time.
  /** Stops taking jobs, hands running ones back to the queue, closes connections. */
  close(): Promise<void>;
}

/**
 * With gateway auth, what a job asks of governance: whether its key may still spend when the job
 * starts (it throws the GatewayError the job then fails with), and the debit of its usage once it
 * has run (before its outcome is recorded, so no completed job is missing from the ledger).
 */
export interface JobGate {
  admit(keyId: string): Promise<void>;
  settle(keyId: string, served: { provider: string; model: string; usage: Partial<Usage> } | null): Promise<void>;
}

export class QueueFullError extends Error {
  /**
   * `what`: the limit reached, e.g. "1000 jobs waiting". `retryAfterS`: when trying again makes
   * sense (a waiting job starts within seconds; a kept result frees its room only when it expires).
   */
  constructor(
    what: string,
    readonly retryAfterS = QUEUE_FULL_RETRY_AFTER_S,
    lead = 'async queue is full',
  ) {
    super(`${lead} (${what})`);
    this.name = 'QueueFullError';
  }

  /** `async.max_queued` jobs are waiting. */
  static jobs(maxQueued: number): QueueFullError {
    return new QueueFullError(`${maxQueued} jobs waiting, async.max_queued`);
  }

  /** The requests waiting and this one would be more than `async.max_queued_mb`. */
  static bytes(maxQueuedBytes: number): QueueFullError {
    return new QueueFullError(`the requests waiting and this one would be more than ${inMb(maxQueuedBytes)} MB, async.max_queued_mb`);
  }

  /** The results kept (finished jobs not yet expired) hold `async.max_results_mb` already. */
  static results(maxResultsBytes: number): QueueFullError {
    return new QueueFullError(
      `the results of finished jobs kept until they expire hold ${inMb(maxResultsBytes)} MB, async.max_results_mb`,
      RESULTS_FULL_RETRY_AFTER_S,
      'async result store is full',
    );
  }
}

/** retry-after of a 429 for a full queue: a waiting job starts within seconds. */
const QUEUE_FULL_RETRY_AFTER_S = 5;

/** retry-after of a 429 for a full result store: room comes back only as results expire (or are swept). */
const RESULTS_FULL_RETRY_AFTER_S = 60;

const MB = 1024 * 1024;

/** A limit in bytes as the config gives it: MB, to two decimals. */
function inMb(bytes: number): string {
  return String(Number((bytes / MB).toFixed(2)));
}

/**
 * Whether one more request of `bytes` fits beside `queued` jobs holding `queuedBytes`: within
 * `maxBytes`, or the queue is empty (one job always fits, however large: body_limit bounds it).
 */
export function fitsQueuedBytes(queued: number, queuedBytes: number, bytes: number, maxBytes: number): boolean {
  return queued === 0 || queuedBytes + bytes <= maxBytes;
}

/** The store cannot be reached (or did not answer in time): the request should be retried later. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
