import { Redis } from 'ioredis';
import { guardedRedis } from '../redis-guard.js';
import type { ClaimedJob } from '../types.js';
import { PendingLimitError } from './errors.js';
import { ARCHIVE, CANCEL, CLAIM, FINISH, OPEN, OPEN_NATIVE, RELEASE, REMOVE, RENEW, REQUEUE_LAPSED, SETTLE } from './redis-scripts.js';
import type {
  BatchContext,
  BatchPage,
  BatchRecord,
  BatchState,
  BatchStore,
  NativeBatch,
  NewBatch,
  NewBatchRequest,
  RequestResult,
  ResultLine,
  Settled,
  StoredBatchRequest,
  SweepReport,
} from './types.js';

export interface RedisBatchStoreOptions {
  url: string;
  /** The async jobs' prefix: instances that share it share batches. */
  prefix: string;
  /** Longest a request waits on Redis before the store counts as unavailable (`async.store_timeout_ms`). */
  timeoutMs: number;
  onError: (err: unknown) => void;
}

/** Batches archived, deleted or forgotten per sweep call. */
const SWEEP_BATCHES = 100;

type Script = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Batches in Redis, shared by every instance with the same prefix (key layout: redis-scripts.ts).
 * A request is claimed from the oldest open batch (its handed-back requests first, then the next
 * never-claimed one: a cursor, so claiming never scans), under a lease in a sorted set; a lease
 * that lapsed sends the request back to its batch for any instance to run again. Results are
 * recorded by the lease holder only, in the same script that counts them, so each request has one
 * result. Deleting a batch or its results is UNLINK: Redis frees the memory in the background.
 */
export class RedisBatchStore implements BatchStore {
  private readonly redis: Redis;
  private readonly p: string;
  private readonly guarded: <T>(what: string, work: () => Promise<T>) => Promise<T>;
  private readonly scripts: Record<string, Script>;

  constructor(opts: RedisBatchStoreOptions) {
    // As the job store's: no offline queue, every command bounded by `guarded`; ioredis reconnects in the background.
    this.redis = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    this.redis.on('error', opts.onError);
    this.p = `${opts.prefix}:mb`;
    this.guarded = guardedRedis(this.redis, opts.timeoutMs);
    const scripts = { CLAIM, REQUEUE_LAPSED, RENEW, FINISH, RELEASE, OPEN, OPEN_NATIVE, CANCEL, SETTLE, REMOVE, ARCHIVE };
    this.scripts = {};
    for (const [name, lua] of Object.entries(scripts)) {
      const command = `conduitBatch${name}`;
      this.redis.defineCommand(command, { numberOfKeys: 0, lua });
      this.scripts[name] = (...args) => (this.redis as unknown as Record<string, Script>)[command]!(this.p, ...args);
    }
  }

  private b(id: string): string {
    return `${this.p}:b:${id}`;
  }

  async begin(batch: NewBatch): Promise<void> {
    await this.guarded('store the batch', async () => {
      const seq = await this.redis.incr(`${this.p}:seq`);
      await this.redis
        .multi()
        .hset(this.b(batch.id), {
          owner: batch.owner,
          state: 'receiving',
          seq,
          created_at: batch.createdAt,
          expires_at: batch.expiresAt,
          results_until: batch.resultsUntil,
          delete_at: batch.deleteAt,
          total: 0,
          next: 0,
          processing: 0,
          succeeded: 0,
          errored: 0,
          canceled: 0,
          expired: 0,
        })
        .zadd(`${this.p}:receiving`, batch.createdAt, batch.id)
        .exec();
    });
  }

  async addRequests(batchId: string, requests: NewBatchRequest[]): Promise<void> {
    const fields: string[] = [];
    // custom_id is ^[a-zA-Z0-9_-]{1,64}$: the first space ends it.
    for (const r of requests) fields.push(String(r.index), `${r.customId} ${r.params}`);
    await this.guarded('store batch requests', () => this.redis.hset(`${this.b(batchId)}:req`, ...fields));
  }

  async open(batchId: string, total: number, maxPending: number, context: BatchContext): Promise<void> {
    const answer = Number(await this.guarded('open the batch', () => this.scripts.OPEN!(batchId, total, maxPending, JSON.stringify(context))));
    if (answer === 0) throw new Error(`batch ${batchId} is not being received`);
    if (answer < 0) throw new PendingLimitError(maxPending, -1 - answer);
  }

  async openNative(batchId: string, total: number, native: NativeBatch): Promise<void> {
    const answer = Number(await this.guarded('open the batch', () => this.scripts.OPEN_NATIVE!(batchId, total, JSON.stringify(native))));
    if (answer !== 1) throw new Error(`batch ${batchId} is not being received`);
  }

  async updateNative(batchId: string, u: Pick<BatchRecord, 'state' | 'counts' | 'endedAt' | 'cancelInitiatedAt'>): Promise<void> {
    await this.guarded('update the batch', async () => {
      if (!(await this.redis.hexists(this.b(batchId), 'native'))) return;
      const fields: Record<string, string | number> = { state: u.state, ...u.counts };
      if (u.endedAt !== null) fields.ended_at = u.endedAt;
      if (u.cancelInitiatedAt !== null) fields.cancel_initiated_at = u.cancelInitiatedAt;
      await this.redis.hset(this.b(batchId), fields);
    });
  }

  async discard(batchId: string): Promise<void> {
    await this.guarded('discard the batch', () => this.scripts.REMOVE!(batchId));
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    const h = await this.guarded('read the batch', () => this.redis.hgetall(this.b(id)));
    return toRecord(id, h);
  }

  async live(limit: number): Promise<BatchRecord[]> {
    return this.guarded('list live batches', async () => {
      // `live` is ordered by expiry, which follows creation (every batch lives the same time).
      const ids = await this.redis.zrevrange(`${this.p}:live`, 0, limit - 1);
      const pipeline = this.redis.pipeline();
      for (const id of ids) pipeline.hgetall(this.b(id));
      const rows = (await pipeline.exec()) ?? [];
      return ids.map((id, i) => toRecord(id, (rows[i]?.[1] ?? {}) as Record<string, string>)).filter((b) => b !== undefined);
    });
  }

  async list(owner: string, page: { limit: number; beforeId?: string; afterId?: string }): Promise<BatchPage> {
    return this.guarded('list batches', async () => {
      const key = `${this.p}:owner:${owner}`;
      let lo = '-inf';
      let hi = '+inf';
      if (page.afterId !== undefined) {
        const at = await this.redis.zscore(key, page.afterId);
        if (at === null) return { batches: [], hasMore: false };
        hi = `(${at}`;
      }
      if (page.beforeId !== undefined) {
        const at = await this.redis.zscore(key, page.beforeId);
        if (at === null) return { batches: [], hasMore: false };
        lo = `(${at}`;
      }
      const towardsNewer = page.beforeId !== undefined && page.afterId === undefined;
      const ids = towardsNewer
        ? await this.redis.zrangebyscore(key, lo, hi, 'LIMIT', 0, page.limit + 1)
        : await this.redis.zrevrangebyscore(key, hi, lo, 'LIMIT', 0, page.limit + 1);
      const hasMore = ids.length > page.limit;
      const kept = ids.slice(0, page.limit);
      if (towardsNewer) kept.reverse();
      const pipeline = this.redis.pipeline();
      for (const id of kept) pipeline.hgetall(this.b(id));
      const rows = (await pipeline.exec()) ?? [];
      const batches = kept.map((id, i) => toRecord(id, (rows[i]?.[1] ?? {}) as Record<string, string>)).filter((b) => b !== undefined);
      return { batches, hasMore };
    });
  }

  async requests(batchId: string, afterIndex: number, limit: number): Promise<StoredBatchRequest[]> {
    return this.guarded('read batch requests', async () => {
      const total = Number((await this.redis.hget(this.b(batchId), 'total')) ?? 0);
      const stored = await this.redis.hlen(`${this.b(batchId)}:req`);
      // While receiving, `total` is 0: the requests stored so far are 0 .. stored - 1.
      const end = Math.min(Math.max(total, stored), afterIndex + 1 + limit);
      const indexes: string[] = [];
      for (let i = afterIndex + 1; i < end; i++) indexes.push(String(i));
      if (indexes.length === 0) return [];
      const values = await this.redis.hmget(`${this.b(batchId)}:req`, ...indexes);
      const out: StoredBatchRequest[] = [];
      values.forEach((v, i) => {
        if (v === null) return;
        const space = v.indexOf(' ');
        out.push({ index: Number(indexes[i]), customId: v.slice(0, space), params: v.slice(space + 1) });
      });
      return out;
    });
  }

  async cancel(id: string, now: number): Promise<BatchRecord | undefined> {
    await this.guarded('cancel the batch', () => this.scripts.CANCEL!(id, now));
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return Number(await this.guarded('delete the batch', () => this.scripts.REMOVE!(id))) === 1;
  }

  async results(batchId: string, afterIndex: number, limit: number, maxChars = Infinity): Promise<ResultLine[]> {
    return this.guarded('read batch results', async () => {
      const total = Number((await this.redis.hget(this.b(batchId), 'total')) ?? 0);
      const end = Math.min(total, afterIndex + 1 + limit);
      let indexes: string[] = [];
      for (let i = afterIndex + 1; i < end; i++) indexes.push(String(i));
      if (indexes.length === 0) return [];
      if (maxChars !== Infinity) indexes = await this.withinChars(batchId, indexes, maxChars);
      const lines = await this.redis.hmget(`${this.b(batchId)}:res`, ...indexes);
      const out: ResultLine[] = [];
      lines.forEach((line, i) => {
        if (line !== null) out.push({ index: Number(indexes[i]), line });
      });
      return out;
    });
  }

  /** The first of `indexes` whose lines fit in `maxChars` together (their lengths in bytes, one round trip); at least one. */
  private async withinChars(batchId: string, indexes: string[], maxChars: number): Promise<string[]> {
    const key = `${this.b(batchId)}:res`;
    const pipeline = this.redis.pipeline();
    for (const i of indexes) pipeline.hstrlen(key, i);
    const lengths = (await pipeline.exec()) ?? [];
    let chars = 0;
    let n = 0;
    for (const [err, length] of lengths) {
      if (err) throw err;
      const size = Number(length) + 1;
      if (n > 0 && chars + size > maxChars) break;
      chars += size;
      n++;
    }
    return indexes.slice(0, Math.max(1, n));
  }

  async settle(batchId: string, now: number, limit: number): Promise<Settled> {
    const [outcome, settled, left] = (await this.guarded('settle the batch', () => this.scripts.SETTLE!(batchId, now, limit))) as [string, number, number];
    return { outcome: outcome === 'canceled' || outcome === 'expired' ? outcome : undefined, settled: Number(settled), left: Number(left) };
  }

  async unsettled(now: number, limit: number): Promise<string[]> {
    return this.guarded('find batches to settle', async () => {
      const [canceling, expired] = await Promise.all([
        this.redis.srandmember(`${this.p}:canceling`, limit),
        this.redis.zrangebyscore(`${this.p}:live`, '-inf', now, 'LIMIT', 0, limit),
      ]);
      return [...new Set([...canceling, ...expired])].slice(0, limit);
    });
  }

  async sweep(now: number, staleReceivingBefore: number): Promise<SweepReport> {
    return this.guarded('sweep batches', async () => {
      // Leases of dead workers go back even when no worker claims (batch workers may be holding back).
      await this.scripts.REQUEUE_LAPSED!('', now, 100);
      const toArchive = await this.redis.zrangebyscore(`${this.p}:archive`, '-inf', now, 'LIMIT', 0, SWEEP_BATCHES);
      for (const id of toArchive) await this.scripts.ARCHIVE!(id);
      const toDelete = [
        ...new Set([
          ...(await this.redis.zrangebyscore(`${this.p}:delete`, '-inf', now, 'LIMIT', 0, SWEEP_BATCHES)),
          ...(await this.redis.zrangebyscore(`${this.p}:receiving`, '-inf', `(${staleReceivingBefore}`, 'LIMIT', 0, SWEEP_BATCHES)),
        ]),
      ];
      for (const id of toDelete) await this.scripts.REMOVE!(id);
      return { archived: toArchive.length, deleted: toDelete.length, more: toArchive.length === SWEEP_BATCHES || toDelete.length >= SWEEP_BATCHES };
    });
  }

  async pending(): Promise<number> {
    return Number((await this.guarded('count pending batch requests', () => this.redis.get(`${this.p}:pending`))) ?? 0);
  }

  async ping(): Promise<void> {
    await this.guarded('answer a ping', () => this.redis.ping());
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }

  // LeaseQueue: what the worker pool does with requests.

  async claim(holder: string, leaseMs: number): Promise<ClaimedJob | undefined> {
    const now = Date.now();
    const row = (await this.guarded('claim a batch request', () => this.scripts.CLAIM!(holder, now, now + leaseMs))) as
      | [string, string, string, number, string | null]
      | null;
    if (!row) return undefined;
    const [id, index, stored, starts, context] = row;
    const params = stored.slice(stored.indexOf(' ') + 1);
    return {
      id: `${id}:${index}`,
      request: { ...(JSON.parse(context ?? 'null') as BatchContext), body: JSON.parse(params) },
      attempts: Number(starts),
      credentialScope: id,
    };
  }

  async renew(key: string, holder: string, leaseMs: number): Promise<boolean> {
    const now = Date.now();
    return Number(await this.guarded('renew a lease', () => this.scripts.RENEW!(key, holder, now + leaseMs, now))) === 1;
  }

  async finish(key: string, holder: string, { outcome, result }: RequestResult): Promise<boolean> {
    return Number(await this.guarded('record a batch result', () => this.scripts.FINISH!(key, holder, outcome, result, Date.now()))) === 1;
  }

  async release(key: string, holder: string): Promise<void> {
    await this.guarded('hand a request back', () => this.scripts.RELEASE!(key, holder));
  }
}

function toRecord(id: string, h: Record<string, string>): BatchRecord | undefined {
  if (!h.owner || !h.state || h.state === 'receiving') return undefined;
  const n = (name: string) => Number(h[name] ?? 0);
  const optional = (name: string) => (h[name] === undefined ? null : Number(h[name]));
  return {
    id,
    owner: h.owner,
    state: h.state as BatchState,
    counts: { processing: n('processing'), succeeded: n('succeeded'), errored: n('errored'), canceled: n('canceled'), expired: n('expired') },
    createdAt: n('created_at'),
    expiresAt: n('expires_at'),
    endedAt: optional('ended_at'),
    cancelInitiatedAt: optional('cancel_initiated_at'),
    resultsUntil: n('results_until'),
    ...(h.native ? { native: JSON.parse(h.native) as NativeBatch } : {}),
  };
}
