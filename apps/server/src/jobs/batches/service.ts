import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ClientCredential } from '../../client-credential.js';
import { ConfigError } from '../../config/load.js';
import { GatewayError, invalidRequest } from '../../errors.js';
import type { BatchMetrics } from '../../observability/metrics.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import type { ClientHeaders, Provider } from '../../providers/types.js';
import type { Redactor } from '../../redaction.js';
import type { Router } from '../../routing/router.js';
import type { AsyncConfig } from '../config.js';
import type { CredentialSealer } from '../credential-seal.js';
import { LeasePool } from '../lease-pool.js';
import { jobRunner } from '../run-job.js';
import { StoreUnavailableError, type JobGate } from '../types.js';
import { readBatchBody } from './body-reader.js';
import type { BatchesConfig } from './config.js';
import { PendingLimitError } from './errors.js';
import { newBatchId } from './ids.js';
import { NativeBatches, nativeTarget, type NativeChoice } from './native.js';
import { BatchRequestCheck } from './request-check.js';
import { requestResult } from './result-line.js';
import { SqliteBatchStore } from './sqlite-store.js';
import type { BatchPage, BatchRecord, BatchStore, NewBatchRequest, RequestResult, ResultLine } from './types.js';

/** Requests stored per transaction (SQLite) or pipeline (Redis) while a batch body arrives. */
const STORE_CHUNK_REQUESTS = 500;
const STORE_CHUNK_BYTES = 4 * 1024 * 1024;
/** Requests settled (canceled, expired) per store call. */
const SETTLE_CHUNK = 1000;
/** Seconds a client is told to wait when too many batch requests are pending, or the store is away. */
const RETRY_AFTER_S = 5;

export interface BatchServiceOptions {
  /** `store:` from the config (the async jobs' store). */
  store: string;
  config: BatchesConfig;
  /** Leases, start count, sweep interval, Redis prefix and timeout: the async jobs' engine settings. */
  asyncConfig: AsyncConfig;
  router: Router;
  providers: ReadonlyMap<string, Provider>;
  /** The async jobs' sealer: a batch that forwards the client's credential stores it sealed the same way. */
  sealer: CredentialSealer;
  redactor: Redactor;
  logger: Logger;
  metrics?: BatchMetrics;
  /** openapi.yaml: each request is checked against its CreateMessageRequest. */
  specPath: string;
  /** Requests this instance is serving now: batch workers hold back while it is above `yield_above_in_flight`. */
  inFlight: () => number;
  /** With gateway auth: checks a request's key when it starts and debits its usage (as for async jobs). */
  gate?: JobGate;
  /** `body_limit` (one request's largest size), `body_max_depth`, and the longest a body may take to arrive. */
  limits: { requestBytes: number; maxDepth: number; requestTimeoutMs: number };
}

/** Who is creating a batch, with what headers. */
export interface BatchCaller {
  owner: string;
  /**
   * With gateway auth: the key that creates the batch. Each request is then admitted against the
   * key's budget when it starts and debited to it when it ends, as an async job is; the batch runs
   * on the gateway (never passed through to a provider's own Batches API, whose spend the gateway
   * could not debit).
   */
  keyId?: string;
  /** With gateway auth: refuses a request whose model (or string fallback) the key may not use. */
  permit?: (params: CreateMessageRequest) => GatewayError | undefined;
  /** anthropic-* headers, replayed with every request of the batch. */
  clientHeaders: Omit<ClientHeaders, 'credential'>;
  credential?: ClientCredential;
  requestId: string;
}

/**
 * Message Batches on the async jobs' engine: the store (SQLite or Redis, the async jobs' `store:`),
 * a lease pool of its own that runs each request through the Router exactly as a sync call (the
 * async jobs' runner), and a sweep that settles canceled and expired batches and drops old results.
 */
export class BatchService {
  readonly config: BatchesConfig;
  /** The store; exposed for tests and the benchmark. */
  readonly store: BatchStore | Promise<BatchStore>;
  readonly native: NativeBatches;
  private readonly opts: BatchServiceOptions;
  private readonly check: BatchRequestCheck;
  private pool?: LeasePool<RequestResult>;
  private sweeper?: NodeJS.Timeout;
  private sweeping = false;
  private heldBack = false;
  private closed = false;

  constructor(store: BatchStore | Promise<BatchStore>, opts: BatchServiceOptions) {
    this.store = store;
    Promise.resolve(store).catch((err) => opts.logger.error({ err }, 'batch store failed to load'));
    this.opts = opts;
    this.config = opts.config;
    this.check = new BatchRequestCheck(opts.specPath, (params) => opts.router.plan(params));
    this.native = new NativeBatches(opts.providers, (model) => opts.router.resolve(model));
  }

  private async db(): Promise<BatchStore> {
    return this.store;
  }

  /** Starts this instance's batch workers (requests left from before a restart run now) and the sweep. */
  start(): void {
    const run = jobRunner(this.opts.router, {
      maxAttempts: this.opts.asyncConfig.max_attempts,
      logger: this.opts.logger,
      sealer: this.opts.sealer,
      redactor: this.opts.redactor,
      gate: this.opts.gate,
      kind: 'batch request',
    });
    void this.db().then((store) => {
      if (this.closed) return;
      const metrics = this.opts.metrics;
      // Counted when recorded: a run whose lease was lost meanwhile records nothing.
      const queue = {
        claim: store.claim.bind(store),
        renew: store.renew.bind(store),
        release: store.release.bind(store),
        finish: async (id: string, holder: string, result: RequestResult) => {
          const recorded = await store.finish(id, holder, result);
          if (recorded) metrics?.batchRequestsFinished(result.outcome);
          return recorded;
        },
      };
      const leaseMs = this.opts.asyncConfig.lease_ms;
      this.pool = new LeasePool<RequestResult>(queue, async (job, signal) => requestResult(await run(job, signal), job.request.requestId), {
        concurrency: this.config.concurrency,
        leaseMs,
        pollMs: Math.min(1000, Math.max(50, Math.floor(leaseMs / 2))),
        onError: (err) => this.opts.logger.warn({ err }, 'batch worker: store error'),
        admit: () => this.admit(),
      });
      this.pool.start();
    });
    this.sweeper = setInterval(() => void this.sweep(), this.opts.asyncConfig.sweep_interval_ms);
    this.sweeper.unref();
  }

  /** Live traffic first: no new batch request starts while this instance serves more than the threshold. */
  private admit(): boolean {
    const held = this.opts.inFlight() > this.config.yield_above_in_flight;
    if (held !== this.heldBack) {
      this.heldBack = held;
      this.opts.metrics?.batchWorkersHeldBack(held);
    }
    return !held;
  }

  /**
   * Reads a batch body as it arrives, checks each request as the messages route would, stores them
   * a chunk at a time, and opens the batch (or passes it to the provider's own Batches API). Any
   * refusal leaves nothing behind.
   */
  async create(caller: BatchCaller, body: AsyncIterable<Buffer>, bodyLimit: number): Promise<BatchRecord> {
    const store = await this.db();
    const maxPending = this.config.max_pending_requests;
    if ((await this.guard(store.pending())) >= maxPending) throw pendingLimit(new PendingLimitError(maxPending, maxPending));
    const now = Date.now();
    const id = newBatchId();
    await this.guard(
      store.begin({
        id,
        owner: caller.owner,
        createdAt: now,
        expiresAt: now + this.config.expiry_s * 1000,
        resultsUntil: now + this.config.results_ttl_s * 1000,
        deleteAt: now + (this.config.results_ttl_s + this.config.archived_ttl_s) * 1000,
      }),
    );
    try {
      const { total, forwards, native } = await this.receive(store, id, body, bodyLimit, caller);
      if (native) {
        await this.native.create(store, id, total, native, { ...caller.clientHeaders, credential: caller.credential });
        this.opts.metrics?.batchCreated('native');
      } else {
        const sealedCredential = forwards && caller.credential ? this.opts.sealer.seal(caller.credential, id) : undefined;
        await store.open(id, total, maxPending, {
          clientHeaders: caller.clientHeaders,
          requestId: caller.requestId,
          ...(sealedCredential ? { sealedCredential } : {}),
          ...(caller.keyId !== undefined ? { keyId: caller.keyId } : {}),
        });
        this.opts.metrics?.batchCreated('gateway');
        this.pool?.wake();
      }
    } catch (err) {
      await store.discard(id).catch((e) => this.opts.logger.warn({ err: e, batchId: id }, 'could not discard a refused batch'));
      if (err instanceof PendingLimitError) throw pendingLimit(err);
      throw storeError(err);
    }
    return (await this.guard(store.get(id)))!;
  }

  private async receive(
    store: BatchStore,
    id: string,
    body: AsyncIterable<Buffer>,
    bodyLimit: number,
    caller: Pick<BatchCaller, 'keyId' | 'permit'>,
  ): Promise<{ total: number; forwards: boolean; native: (NativeChoice & { keyIndex?: number }) | undefined }> {
    const limits = this.opts.limits;
    const customIds = new Map<string, number>();
    let chunk: NewBatchRequest[] = [];
    let chunkBytes = 0;
    let total = 0;
    let forwards = false;
    // The provider every request goes to alone, while they all do (undefined: not yet known; null: no).
    let native: NativeChoice | null | undefined;
    for await (const item of readBatchBody(body, {
      maxRequests: this.config.max_requests,
      maxValueBytes: limits.requestBytes,
      maxDepth: limits.maxDepth,
      maxBodyBytes: bodyLimit,
    })) {
      const { customId, params, plan } = this.check.check(item.value, item.index);
      const refused = caller.permit?.(params);
      if (refused) throw new GatewayError(refused.status, `requests.${item.index}.params.${refused.message}`, { type: refused.type });
      const earlier = customIds.get(customId);
      if (earlier !== undefined) {
        throw invalidRequest(`requests.${item.index}.custom_id: "${customId}" is the custom_id of requests.${earlier} too; each must be unique within the batch`);
      }
      customIds.set(customId, item.index);
      forwards ||= this.native.forwardsCredential(plan);
      native = native === null || caller.keyId !== undefined ? null : nativeTarget(native, plan);
      const text = JSON.stringify(params);
      chunk.push({ index: item.index, customId, params: text });
      chunkBytes += text.length;
      total = item.index + 1;
      if (chunk.length >= STORE_CHUNK_REQUESTS || chunkBytes >= STORE_CHUNK_BYTES) {
        await this.guard(store.addRequests(id, chunk));
        chunk = [];
        chunkBytes = 0;
        // A big batch is stored a chunk at a time without holding the event loop: live requests go on.
        await yieldToLoop();
      }
    }
    if (chunk.length > 0) await this.guard(store.addRequests(id, chunk));
    // Passed through only when one of the provider's keys serves every model (or it forwards the client's).
    const usable = native ? this.native.usable(native) : undefined;
    return { total, forwards, native: native && usable ? { ...native, ...usable } : undefined };
  }

  /** The batch as stored (a passed-through one as last reported), or undefined. */
  async find(id: string): Promise<BatchRecord | undefined> {
    return this.guard((await this.db()).get(id));
  }

  /** The batch now: a passed-through batch not known to have ended is asked of its provider. */
  async current(batch: BatchRecord, caller: { clientHeaders: ClientHeaders }): Promise<BatchRecord> {
    if (!batch.native || batch.state === 'ended') return batch;
    return this.native.refresh(await this.db(), batch, caller.clientHeaders);
  }

  /** Batches not yet ended, newest first, whoever owns them (the operators' dashboard). */
  async live(limit: number): Promise<BatchRecord[]> {
    return this.guard((await this.db()).live(limit));
  }

  async list(owner: string, page: { limit: number; beforeId?: string; afterId?: string }): Promise<BatchPage> {
    return this.guard((await this.db()).list(owner, page));
  }

  /** Starts cancelling (what has not started ends `canceled` right away); the batch as it is then. */
  async cancel(batch: BatchRecord, caller: { clientHeaders: ClientHeaders }): Promise<BatchRecord> {
    const store = await this.db();
    if (batch.native) return this.native.cancel(store, batch, caller.clientHeaders);
    if (batch.state !== 'in_progress') return batch;
    await this.guard(store.cancel(batch.id, Date.now()));
    await this.settleAll(store, batch.id);
    return (await this.guard(store.get(batch.id))) ?? batch;
  }

  /** Deletes an ended batch; 409 while it is processing. */
  async delete(batch: BatchRecord, caller: { clientHeaders: ClientHeaders }): Promise<void> {
    if (batch.state !== 'ended') {
      throw new GatewayError(409, `message batch ${batch.id} is still ${batch.state === 'canceling' ? 'canceling' : 'in progress'}; it can be deleted once it has ended (cancel it first)`, {
        type: 'conflict_error',
      });
    }
    const store = await this.db();
    if (batch.native) await this.native.delete(batch, caller.clientHeaders);
    await this.guard(store.delete(batch.id));
  }

  /** One page of an ended batch's result lines (at most `limit`, and `maxChars` together but for the first). */
  async results(batchId: string, afterIndex: number, limit: number, maxChars?: number): Promise<ResultLine[]> {
    return this.guard((await this.db()).results(batchId, afterIndex, limit, maxChars));
  }

  /** Settles what a canceling or expired batch has not started, a chunk at a time. */
  private async settleAll(store: BatchStore, id: string): Promise<void> {
    for (;;) {
      const { outcome, settled, left } = await this.guard(store.settle(id, Date.now(), SETTLE_CHUNK));
      if (outcome && settled > 0) this.opts.metrics?.batchRequestsFinished(outcome, settled);
      if (left <= 0 || this.closed) return;
      await yieldToLoop();
    }
  }

  /**
   * Settles canceling and expired batches, archives old results, deletes old batches and forgets
   * bodies that never finished arriving; a bounded step at a time, yielding in between.
   */
  async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const store = await this.db();
      for (const id of await store.unsettled(Date.now(), 20)) await this.settleAll(store, id);
      // A body must arrive within limits.request_timeout_ms; a passed-through one then goes upstream.
      const staleBefore = Date.now() - this.opts.limits.requestTimeoutMs - 15 * 60_000;
      for (;;) {
        const report = await store.sweep(Date.now(), staleBefore);
        if (!report.more || this.closed) break;
        await yieldToLoop();
      }
      this.opts.metrics?.batchRequestsPending(await store.pending());
    } catch (err) {
      this.opts.logger.warn({ err }, 'batch sweep failed');
    } finally {
      this.sweeping = false;
    }
  }

  /** Batch requests this instance runs now. */
  get running(): number {
    return this.pool?.active ?? 0;
  }

  async ping(): Promise<void> {
    await (await this.db()).ping();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sweeper);
    await this.pool?.close();
    const store = await Promise.resolve(this.store).catch(() => undefined);
    await store?.close();
  }

  private async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (err) {
      throw storeError(err);
    }
  }
}

function pendingLimit(err: PendingLimitError): GatewayError {
  return new GatewayError(429, `${err.message} (batches.max_pending_requests); retry later`, {
    type: 'rate_limit_error',
    headers: { 'retry-after': String(RETRY_AFTER_S) },
  });
}

/** A store that cannot be reached is a 503 the client may retry, never a hang or a 500. */
function storeError(err: unknown): unknown {
  if (!(err instanceof StoreUnavailableError)) return err;
  return new GatewayError(503, `the batch store is unavailable (${err.message}); retry later`, {
    type: 'overloaded_error',
    headers: { 'retry-after': String(RETRY_AFTER_S) },
    cause: err,
  });
}

/** Opens the batch store named by `store:` (the async jobs' store) and returns the service, not yet started. */
export function createBatchService(opts: BatchServiceOptions): BatchService {
  const { store } = opts;
  let batchStore: BatchStore | Promise<BatchStore>;
  if (store.startsWith('sqlite:')) {
    const path = store.slice('sqlite:'.length);
    try {
      batchStore = new SqliteBatchStore({ path });
    } catch (err) {
      throw new ConfigError(`store: cannot open SQLite database ${path}: ${(err as Error).message}`);
    }
  } else {
    batchStore = import('./redis-store.js').then(
      ({ RedisBatchStore }) =>
        new RedisBatchStore({
          url: store,
          prefix: opts.asyncConfig.redis_prefix,
          timeoutMs: opts.asyncConfig.store_timeout_ms,
          onError: (err) => opts.logger.warn({ err }, 'batch store error'),
        }),
    );
  }
  return new BatchService(batchStore, opts);
}
