import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { GatewayError } from '../errors.js';
import type { JobMetrics } from '../observability/metrics.js';
import type { Router } from '../routing/router.js';
import type { AsyncConfig } from './config.js';
import { Redactor } from '../redaction.js';
import { CredentialSealer } from './credential-seal.js';
import { jobRunner } from './run-job.js';
import { SqliteJobStore } from './sqlite-store.js';
import { QueueFullError, StoreUnavailableError, type JobGate, type JobStore, type JobView, type NewJob } from './types.js';

/** Seconds a client is told to wait when the store is unavailable (a full queue says its own: QueueFullError). */
const STORE_DOWN_RETRY_AFTER_S = 5;

/** A store that cannot be reached is a 503 the client may retry, never a hang or a 500. */
function storeUnavailable(err: StoreUnavailableError): GatewayError {
  return new GatewayError(503, `the async job store is unavailable (${err.message}); retry later`, {
    type: 'overloaded_error',
    headers: { 'retry-after': String(STORE_DOWN_RETRY_AFTER_S) },
    cause: err,
  });
}

export interface JobServiceOptions {
  /** `store:` from the config: sqlite:<path> or redis://... */
  store: string;
  config: AsyncConfig;
  router: Router;
  logger: Logger;
  metrics?: JobMetrics;
  /** Takes secrets out of job outcomes before they are stored. */
  redactor?: Redactor;
  /** With gateway auth: checks a job's key when it starts and debits its usage. */
  gate?: JobGate;
}

/** The async job service: a store, this instance's workers, and the sweep of expired results. */
export class JobService {
  readonly config: AsyncConfig;
  readonly router: Router;
  /** Seals the client credential a job forwards (credential-seal.ts). */
  readonly sealer: CredentialSealer;
  private readonly redactor: Redactor;
  private readonly logger: Logger;
  private readonly metrics?: JobMetrics;
  private readonly gate?: JobGate;
  /** The Redis store (and BullMQ) is loaded only when configured: it weighs on start-up. */
  private readonly store: Promise<JobStore>;
  private sweeper?: NodeJS.Timeout;
  private closed = false;

  constructor(store: JobStore | Promise<JobStore>, opts: Omit<JobServiceOptions, 'store'>) {
    this.store = Promise.resolve(store);
    this.store.catch((err) => opts.logger.error({ err }, 'async job store failed to load'));
    this.config = opts.config;
    this.router = opts.router;
    this.sealer = new CredentialSealer(opts.config.credential_key);
    this.redactor = opts.redactor ?? new Redactor([]);
    this.logger = opts.logger;
    this.metrics = opts.metrics;
    this.gate = opts.gate;
  }

  /** Starts the workers (jobs left from before a restart run now) and the periodic sweep. */
  start(): void {
    const run = jobRunner(this.router, {
      maxAttempts: this.config.max_attempts,
      logger: this.logger,
      sealer: this.sealer,
      redactor: this.redactor,
      gate: this.gate,
    });
    void this.store.then((store) => {
      if (this.closed) return;
      store.start(async (job, signal) => {
        const outcome = await run(job, signal);
        this.metrics?.jobOutcome(outcome.status);
        return outcome;
      });
    });
    this.sweeper = setInterval(() => void this.sweep(), this.config.sweep_interval_ms);
    this.sweeper.unref();
  }

  /** Stores the job; a full queue is a 429 with retry-after. */
  async submit(job: NewJob): Promise<void> {
    try {
      await (await this.store).submit(job);
    } catch (err) {
      if (err instanceof QueueFullError) {
        throw new GatewayError(429, `${err.message}; retry later`, {
          type: 'rate_limit_error',
          headers: { 'retry-after': String(err.retryAfterS) },
        });
      }
      if (err instanceof StoreUnavailableError) throw storeUnavailable(err);
      throw err;
    }
    this.metrics?.jobQueued();
  }

  async get(id: string): Promise<JobView | undefined> {
    try {
      return await (await this.store).get(id);
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw storeUnavailable(err);
      throw err;
    }
  }

  /** Jobs waiting and running now. */
  async depth(): Promise<{ queued: number; running: number }> {
    return (await this.store).depth();
  }

  /** For /ready: throws when the store cannot be reached. */
  async ping(): Promise<void> {
    await (await this.store).ping();
  }

  /** Deletes expired results and samples the queue depth. */
  async sweep(): Promise<void> {
    try {
      const store = await this.store;
      const removed = await store.sweep();
      if (removed > 0) this.logger.debug({ removed }, 'expired async job results deleted');
      const { queued, running } = await store.depth();
      this.metrics?.jobQueueDepth(queued + running);
    } catch (err) {
      this.logger.warn({ err }, 'async job sweep failed');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    const store = await this.store.catch(() => undefined);
    await store?.close();
  }
}

/** `async.max_queued_mb` in bytes. */
function queuedBytes(config: AsyncConfig): number {
  return Math.floor(config.max_queued_mb * 1024 * 1024);
}

/** `async.max_results_mb` in bytes (at least 1: a limit of 0 would refuse every submit, even into an empty store). */
function resultBytes(config: AsyncConfig): number {
  return Math.max(1, Math.floor(config.max_results_mb * 1024 * 1024));
}

/** Opens the store named by `store:` and returns the service, not yet started. */
export function createJobService(opts: JobServiceOptions): JobService {
  const { store, config, logger } = opts;
  const onError = (err: unknown) => logger.warn({ err }, 'async job store error');
  let jobStore: JobStore | Promise<JobStore>;
  if (store.startsWith('sqlite:')) {
    const path = store.slice('sqlite:'.length);
    try {
      jobStore = new SqliteJobStore({ path, maxQueued: config.max_queued, maxQueuedBytes: queuedBytes(config), maxResultsBytes: resultBytes(config), concurrency: config.concurrency, leaseMs: config.lease_ms, onError });
    } catch (err) {
      throw new ConfigError(`store: cannot open SQLite database ${path}: ${(err as Error).message}`);
    }
  } else if (/^rediss?:\/\//.test(store)) {
    jobStore = import('./redis-store.js').then(
      ({ RedisJobStore }) =>
        new RedisJobStore({
          url: store,
          prefix: config.redis_prefix,
          maxQueued: config.max_queued,
          maxQueuedBytes: queuedBytes(config),
          maxResultsBytes: resultBytes(config),
          concurrency: config.concurrency,
          leaseMs: config.lease_ms,
          maxAttempts: config.max_attempts,
          timeoutMs: config.store_timeout_ms,
          onError,
        }),
    );
  } else {
    throw new ConfigError(`store: "${store}" is neither sqlite:<path> nor redis://...`);
  }
  return new JobService(jobStore, opts);
}
