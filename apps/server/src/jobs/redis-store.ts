import { Queue, WaitingError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { guardedRedis } from './redis-guard.js';
import {
  QueueFullError,
  type JobOutcome,
  type JobRunner,
  type JobStatus,
  type JobStore,
  type JobView,
  type NewJob,
  type StoredRequest,
} from './types.js';

export interface RedisStoreOptions {
  url: string;
  /** Instances with the same prefix (on the same Redis db) share jobs. */
  prefix: string;
  maxQueued: number;
  /** Bytes of stored requests (their JSON) the waiting jobs may hold together, fleet-wide; one job always fits. */
  maxQueuedBytes: number;
  /** Bytes of results (finished jobs' outcomes, their JSON) kept until they expire, fleet-wide, past which a submit is refused. Default: no limit. */
  maxResultsBytes?: number;
  concurrency: number;
  leaseMs: number;
  maxAttempts: number;
  /** Longest a request waits on Redis before the store counts as unavailable (config `async.store_timeout_ms`). */
  timeoutMs: number;
  onError: (err: unknown) => void;
}

/** What the BullMQ job carries: everything needed to run it and to rebuild its record. */
interface QueuedJobData {
  owner: string;
  model: string;
  ttlS: number;
  createdAt: number;
  request: StoredRequest;
}

/**
 * A record that is not finished expires after this long anyway, so nothing is kept forever; a
 * worker that starts the job writes it again.
 */
const PENDING_RECORD_TTL_MS = 7 * 24 * 3600 * 1000;

const QUEUE_NAME = 'jobs';

function queuedData(job: NewJob): QueuedJobData {
  return { owner: job.owner, model: job.model, ttlS: job.ttlS, createdAt: job.createdAt, request: job.request };
}

/** Bytes of what BullMQ stores of a job's data (its JSON). */
function dataBytes(data: QueuedJobData): number {
  return Buffer.byteLength(JSON.stringify(data));
}

/** Expired results a submit forgets at most (the rest go with the next submits). */
const RESULT_PURGE_BATCH = 1000;

/** Lua: `now_ms`, Redis's clock in ms (the clock Redis expires keys by). */
const LUA_NOW_MS = `local t = redis.call('TIME')
local now_ms = t[1] * 1000 + math.floor(t[2] / 1000)`;

/**
 * The queue-depth check and the place it grants, in one step, so instances cannot pass the caps
 * together. First the results kept: those expired by Redis's clock (KEYS[9], job id scored by expiry) leave
 * the total (KEYS[10]) with their bytes (KEYS[8], job id -> bytes), at most RESULT_PURGE_BATCH a
 * call; while the total is ARGV[8] or more, nothing is granted. Then the jobs waiting (BullMQ's wait
 * and paused lists, delayed, prioritized and waiting-children sets) plus the places granted to
 * submits still under way (KEYS[6], a set scored by expiry: a submit whose instance died gives its
 * place back after ARGV[4] ms), at most ARGV[1]; and the bytes of their requests (KEYS[7], job id ->
 * bytes, written here and deleted when a worker starts the job) with this one's (ARGV[5]) at most
 * ARGV[6], unless nothing waits. An entry whose job is gone (neither a BullMQ job under ARGV[7] nor
 * a place still held: its submit failed, or its instance died before it queued the job) is deleted
 * as it is met.
 * 1: granted; 0: too many jobs; 2: too many bytes; 3: the results kept are at their limit.
 */
const RESERVE_SCRIPT = `
${LUA_NOW_MS}
local expired = redis.call('ZRANGEBYSCORE', KEYS[9], '-inf', now_ms, 'LIMIT', 0, ${RESULT_PURGE_BATCH})
for _, id in ipairs(expired) do
  local b = tonumber(redis.call('HGET', KEYS[8], id) or '0')
  redis.call('HDEL', KEYS[8], id)
  redis.call('ZREM', KEYS[9], id)
  redis.call('DECRBY', KEYS[10], b)
end
if tonumber(redis.call('GET', KEYS[10]) or '0') >= tonumber(ARGV[8]) then return 3 end
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', ARGV[2])
local n = redis.call('LLEN', KEYS[1]) + redis.call('LLEN', KEYS[2]) + redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4]) + redis.call('ZCARD', KEYS[5]) + redis.call('ZCARD', KEYS[6])
if n >= tonumber(ARGV[1]) then return 0 end
local total = 0
local entries = redis.call('HGETALL', KEYS[7])
for i = 1, #entries, 2 do
  local id = entries[i]
  if redis.call('EXISTS', ARGV[7] .. id) == 1 or redis.call('ZSCORE', KEYS[6], id) then
    total = total + tonumber(entries[i + 1])
  else
    redis.call('HDEL', KEYS[7], id)
  end
end
if n > 0 and total + tonumber(ARGV[5]) > tonumber(ARGV[6]) then return 2 end
redis.call('ZADD', KEYS[6], tonumber(ARGV[2]) + tonumber(ARGV[4]), ARGV[3])
redis.call('PEXPIRE', KEYS[6], ARGV[4])
redis.call('HSET', KEYS[7], ARGV[3], ARGV[5])
return 1`;

/** How long a place granted to a submit is held if the submit never finishes (its instance died). */
const RESERVATION_MS = 60_000;

/**
 * A worker starts a job: -1 when it already finished (a second delivery), else the start count.
 * Its request no longer waits: its bytes leave the queue's count (KEYS[2]).
 */
const START_SCRIPT = `
redis.call('HDEL', KEYS[2], ARGV[5])
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'completed' or s == 'failed' then return -1 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'model', ARGV[2], 'created_at', ARGV[3], 'status', 'running')
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return n`;

/**
 * The first outcome wins; the result lives ttl ms from now (expiry counts from completion). Its bytes
 * (ARGV[8]) join the results kept (KEYS[2] id -> bytes, KEYS[3] id by expiry, KEYS[4] the total)
 * until a submit finds it expired (RESERVE_SCRIPT). Expiry is reckoned on Redis's clock, as Redis
 * expires the record, so instances whose clocks differ agree on it.
 */
const FINISH_SCRIPT = `
local s = redis.call('HGET', KEYS[1], 'status')
if s == 'completed' or s == 'failed' then return 0 end
redis.call('HSET', KEYS[1], 'owner', ARGV[1], 'model', ARGV[2], 'status', ARGV[3], 'outcome', ARGV[4], 'finished_at', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
if redis.call('HSETNX', KEYS[2], ARGV[7], ARGV[8]) == 1 then
  ${LUA_NOW_MS}
  redis.call('ZADD', KEYS[3], now_ms + tonumber(ARGV[6]), ARGV[7])
  redis.call('INCRBY', KEYS[4], ARGV[8])
end
return 1`;

/** Shutdown: the start did not count. */
const RELEASE_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') == 'running' then
  redis.call('HSET', KEYS[1], 'status', 'queued')
  redis.call('HINCRBY', KEYS[1], 'attempts', -1)
end
return 1`;

/**
 * Jobs in Redis, shared by every instance with the same prefix. BullMQ is the queue: durable,
 * blocking fetch across instances, per-worker concurrency, and stalled-job recovery (a job whose
 * worker stopped renewing its lock for `leaseMs` goes back to the queue). Beside it, one hash per
 * job (`<prefix>:job:<id>`) holds owner, status and outcome; Redis expires it `ttl` after
 * completion, which is the result sweep in this mode.
 */
/** How long an orderly close waits on Redis before it drops the connections. */
const CLOSE_GRACE_MS = 2_000;

export class RedisJobStore implements JobStore {
  private readonly redis: Redis;
  private readonly queue: Queue<QueuedJobData>;
  private worker?: Worker<QueuedJobData>;
  private workerConnection?: Redis;
  private readonly active = new Map<string, AbortController>();
  private closing = false;

  constructor(private readonly opts: RedisStoreOptions) {
    // Requests must never wait on a Redis that is away: no offline queue (a command fails at once
    // while disconnected, instead of waiting for a reconnect that may never come), and every
    // request's Redis work is bounded by `guarded`. (Not ioredis's commandTimeout: BullMQ's queue
    // reads the server version once through this connection, and a timeout there would break the
    // queue for good.) ioredis keeps reconnecting in the background, so the store recovers on its
    // own when Redis is back.
    this.redis = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
    this.redis.on('error', opts.onError);
    this.queue = new Queue<QueuedJobData>(QUEUE_NAME, { connection: this.redis, prefix: opts.prefix });
    this.queue.on('error', opts.onError);
    this.guarded = guardedRedis(this.redis, opts.timeoutMs, (err) => err instanceof QueueFullError);
  }

  private key(id: string): string {
    return `${this.opts.prefix}:job:${id}`;
  }

  /** A request's Redis work, bounded by `timeoutMs` (redis-guard.ts). */
  private readonly guarded: <T>(what: string, work: () => Promise<T>) => Promise<T>;

  submit(job: NewJob): Promise<void> {
    return this.guarded('store the job', () => this.store(job));
  }

  private async store(job: NewJob): Promise<void> {
    // Atomic across instances: the job's place in the queue is granted before it is added.
    const q = (type: string) => this.queue.toKey(type);
    const reservations = `${this.opts.prefix}:queue-reservations`;
    const data = queuedData(job);
    const granted = Number(
      await this.redis.eval(
        RESERVE_SCRIPT,
        10,
        q('wait'),
        q('paused'),
        q('delayed'),
        q('prioritized'),
        q('waiting-children'),
        reservations,
        this.queuedBytesKey,
        this.resultKeys.bytes,
        this.resultKeys.expiry,
        this.resultKeys.total,
        this.opts.maxQueued,
        Date.now(),
        job.id,
        RESERVATION_MS,
        dataBytes(data),
        this.opts.maxQueuedBytes,
        q(''),
        this.maxResultsBytes,
      ),
    );
    if (granted === 0) throw QueueFullError.jobs(this.opts.maxQueued);
    if (granted === 2) throw QueueFullError.bytes(this.opts.maxQueuedBytes);
    if (granted !== 1) throw QueueFullError.results(this.opts.maxResultsBytes!);
    let queued = false;
    try {
      await this.enqueue(job.id, data);
      queued = true;
    } finally {
      // Queued (and counted as such) or failed: either way the place is no longer held for it.
      await this.redis.zrem(reservations, job.id).catch(() => undefined);
      if (!queued) await this.redis.hdel(this.queuedBytesKey, job.id).catch(() => undefined);
    }
  }

  /** `maxResultsBytes` as Redis takes it (a number it can compare; no limit is the largest it keeps exactly). */
  private get maxResultsBytes(): number {
    return Math.min(this.opts.maxResultsBytes ?? Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  }

  /** The results kept: job id -> bytes, job id by expiry, and their total (FINISH_SCRIPT, RESERVE_SCRIPT). */
  private get resultKeys(): { bytes: string; expiry: string; total: string } {
    const p = this.opts.prefix;
    return { bytes: `${p}:result-bytes`, expiry: `${p}:result-expiry`, total: `${p}:result-total` };
  }

  /** Bytes of the results kept, as the last submit left the count (expired ones until a submit forgets them). */
  async resultBytes(): Promise<number> {
    return Number((await this.redis.get(this.resultKeys.total)) ?? 0);
  }

  /** Job id -> bytes of its request, for the jobs waiting (RESERVE_SCRIPT). */
  private get queuedBytesKey(): string {
    return `${this.opts.prefix}:queued-bytes`;
  }

  private async enqueue(id: string, data: QueuedJobData): Promise<void> {
    const key = this.key(id);
    // The record first: if the process dies before the queue has the job, the record is one
    // nobody was told about and it expires.
    await this.redis
      .multi()
      .hset(key, { owner: data.owner, model: data.model, created_at: data.createdAt, status: 'queued', attempts: 0 })
      .pexpire(key, PENDING_RECORD_TTL_MS)
      .exec();
    try {
      await this.queue.add('run', data, {
        jobId: id,
        removeOnComplete: true,
        removeOnFail: { age: 24 * 3600 },
        // Only a store failure while recording the outcome makes the processor throw.
        attempts: 3,
        backoff: { type: 'exponential', delay: 1000 },
      });
    } catch (err) {
      await this.redis.del(key).catch(() => undefined);
      throw err;
    }
  }

  async get(id: string): Promise<JobView | undefined> {
    const h = await this.guarded('read the job', () => this.redis.hgetall(this.key(id)));
    if (!h.owner || !h.model || !h.status) return undefined;
    return {
      id,
      owner: h.owner,
      model: h.model,
      status: h.status as JobStatus,
      outcome: h.outcome ? (JSON.parse(h.outcome) as JobOutcome) : undefined,
    };
  }

  start(run: JobRunner): void {
    if (this.worker) return;
    this.workerConnection = new Redis(this.opts.url, { maxRetriesPerRequest: null });
    this.workerConnection.on('error', this.opts.onError);
    this.worker = new Worker<QueuedJobData>(QUEUE_NAME, (job, token) => this.process(run, job, token), {
      connection: this.workerConnection,
      prefix: this.opts.prefix,
      concurrency: this.opts.concurrency,
      lockDuration: this.opts.leaseMs,
      stalledInterval: this.opts.leaseMs,
      // Our own start count gives a job up after max_attempts; BullMQ must not do it first.
      maxStalledCount: this.opts.maxAttempts + 1,
    });
    this.worker.on('error', this.opts.onError);
    this.worker.on('failed', (job, err) => {
      if (!job || job.attemptsMade < (job.opts.attempts ?? 1)) return;
      // Out of retries recording the outcome: record the failure if Redis lets us.
      void this.finish(job.id!, job.data, {
        status: 'failed',
        httpStatus: 500,
        errorType: 'api_error',
        message: `async job could not be completed: ${err.message}`,
        headers: {},
      }).catch(this.opts.onError);
    });
  }

  private async process(run: JobRunner, job: Job<QueuedJobData>, token: string | undefined): Promise<void> {
    const id = job.id!;
    const data = job.data;
    const attempts = Number(
      await this.redis.eval(START_SCRIPT, 2, this.key(id), this.queuedBytesKey, data.owner, data.model, data.createdAt, PENDING_RECORD_TTL_MS, id),
    );
    if (attempts < 0) return;
    const controller = new AbortController();
    this.active.set(id, controller);
    try {
      const outcome = await run({ id, request: data.request, attempts }, controller.signal);
      await this.finish(id, data, outcome);
    } catch (err) {
      if (!(controller.signal.aborted && this.closing)) throw err;
      // Shutdown: back to the queue at once, for this or another instance.
      await this.redis.eval(RELEASE_SCRIPT, 1, this.key(id));
      // Waiting again: its request counts toward max_queued_mb again.
      await this.redis.hset(this.queuedBytesKey, id, dataBytes(data));
      await job.moveToWait(token);
      throw new WaitingError();
    } finally {
      this.active.delete(id);
    }
  }

  private async finish(id: string, data: QueuedJobData, outcome: JobOutcome): Promise<void> {
    const json = JSON.stringify(outcome);
    const { bytes, expiry, total } = this.resultKeys;
    await this.redis.eval(
      FINISH_SCRIPT,
      4,
      this.key(id),
      bytes,
      expiry,
      total,
      data.owner,
      data.model,
      outcome.status,
      json,
      Date.now(),
      data.ttlS * 1000,
      id,
      Buffer.byteLength(json),
    );
  }

  async sweep(): Promise<number> {
    // Finished records carry their own expiry (PEXPIRE at completion): Redis deletes them.
    return 0;
  }

  async depth(): Promise<{ queued: number; running: number }> {
    const [queued, running] = await this.guarded('count the jobs', () => Promise.all([this.queue.count(), this.queue.getActiveCount()]));
    return { queued, running };
  }

  async ping(): Promise<void> {
    await this.guarded('answer a ping', () => this.redis.ping());
  }

  /**
   * Stops the worker and closes the connections. BullMQ's graceful close waits on Redis; with Redis
   * unreachable it would wait forever (and a SIGTERM would never finish), so it gets
   * CLOSE_GRACE_MS, after which the connections are dropped.
   */
  async close(): Promise<void> {
    this.closing = true;
    for (const controller of this.active.values()) controller.abort(new Error('gateway shutting down'));
    const graceful = (async () => {
      await this.worker?.close();
      await this.queue.close();
      await Promise.all([this.workerConnection?.quit(), this.redis.quit()].map((p) => p?.catch(() => undefined)));
    })();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.redis.status === 'ready' ? CLOSE_GRACE_MS : 0);
    });
    const outcome = await Promise.race([graceful.then(() => 'closed' as const, () => 'closed' as const), gaveUp]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      graceful.catch(() => undefined);
      this.workerConnection?.disconnect();
      this.redis.disconnect();
    }
  }
}
