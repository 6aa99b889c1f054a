import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisJobStore, type RedisStoreOptions } from '../src/jobs/redis-store.js';
import { QueueFullError, type NewJob } from '../src/jobs/types.js';
import { deleteRedisPrefix, REDIS_URL, testPrefix, waitFor } from './helpers/async.js';

/**
 * `async.max_queued` holds across instances: two stores sharing a Redis prefix (two gateway
 * instances) taking a burst of submits at once never queue more than the cap between them.
 */

const prefix = testPrefix();
const stores: RedisJobStore[] = [];

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await deleteRedisPrefix(prefix);
});

/** A store on `at` (an instance of the gateway), closed after the tests. */
function storeOn(at: string, limits: Pick<RedisStoreOptions, 'maxQueued' | 'maxQueuedBytes' | 'maxResultsBytes'>): RedisJobStore {
  const store = new RedisJobStore({ url: REDIS_URL, prefix: at, ...limits, concurrency: 1, leaseMs: 30_000, maxAttempts: 3, timeoutMs: 5_000, onError: () => undefined });
  stores.push(store);
  return store;
}

function instance(maxQueued: number): RedisJobStore {
  // Workers are never started: every job accepted stays queued.
  return storeOn(prefix, { maxQueued, maxQueuedBytes: 1 << 30 });
}

const job = (id: string, content = 'hi'): NewJob => ({
  id,
  owner: 'anonymous',
  model: 'anthropic/claude-x',
  ttlS: 60,
  createdAt: Date.now(),
  request: { body: { model: 'anthropic/claude-x', max_tokens: 5, messages: [{ role: 'user', content }] }, clientHeaders: {}, requestId: 'req_test' },
});

describe('max_queued across instances', () => {
  it('a burst of submits to two instances at once queues exactly the cap, the rest are refused', async () => {
    const a = instance(3);
    const b = instance(3);
    await Promise.all([a.ping(), b.ping()]);
    const submits = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).submit(job(`job_cap_${i}`)));
    const results = await Promise.allSettled(submits);
    const accepted = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(17);
    for (const r of refused) expect(r.reason).toBeInstanceOf(QueueFullError);
    expect((await a.depth()).queued).toBe(3);
    // Nothing is left held: a place frees up only when a job leaves the queue.
    await expect(b.submit(job('job_cap_late'))).rejects.toBeInstanceOf(QueueFullError);
  });
});

describe('max_queued_mb across instances', () => {
  const KB = 1024;
  /** A job whose stored data is a little over `kb` KB. */
  const sized = (id: string, kb: number) => job(id, 'x'.repeat(kb * KB));

  it('a burst of 3 KB submits to two instances under a 10 KB cap queues exactly three; a job always fits an empty queue', async () => {
    const p = testPrefix();
    const make = () => storeOn(p, { maxQueued: 100, maxQueuedBytes: 10 * KB });
    try {
      const a = make();
      const b = make();
      await Promise.all([a.ping(), b.ping()]);
      const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => (i % 2 === 0 ? a : b).submit(sized(`job_bytes_${i}`, 3))));
      const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(results.length - refused.length).toBe(3);
      for (const r of refused) {
        expect(r.reason).toBeInstanceOf(QueueFullError);
        expect(r.reason.message).toMatch(/max_queued_mb/);
      }
      expect((await a.depth()).queued).toBe(3);
    } finally {
      await deleteRedisPrefix(p);
    }
    const q = testPrefix();
    try {
      const lone = storeOn(q, { maxQueued: 100, maxQueuedBytes: 10 * KB });
      // Larger than the whole cap, into an empty queue: accepted; then nothing more fits beside it.
      await lone.submit(sized('job_big', 20));
      await expect(lone.submit(job('job_small'))).rejects.toThrow(/max_queued_mb/);
    } finally {
      await deleteRedisPrefix(q);
    }
  });

  it('forgets the bytes of a submit that never queued its job (its instance died), and of a job a worker started', async () => {
    const p = testPrefix();
    const redis = new Redis(REDIS_URL);
    try {
      const store = storeOn(p, { maxQueued: 100, maxQueuedBytes: 10 * KB });
      await store.submit(sized('job_first', 3));
      // A submit whose instance died after its place was granted: an entry with no job and no place held.
      await redis.hset(`${p}:queued-bytes`, 'job_ghost', String(1 << 30));
      await store.submit(sized('job_second', 3));
      expect(await redis.hexists(`${p}:queued-bytes`, 'job_ghost')).toBe(0);
      await expect(store.submit(sized('job_third', 5))).rejects.toThrow(/max_queued_mb/);

      // A worker starts the first job (and hangs on it): its bytes no longer count, so 5 KB fits now.
      let started!: () => void;
      const running = new Promise<void>((resolve) => (started = resolve));
      store.start(async (_job, signal) => {
        started();
        await new Promise((resolve) => signal.addEventListener('abort', resolve));
        return { status: 'failed', httpStatus: 500, errorType: 'api_error', message: 'stopped', headers: {} };
      });
      await running;
      expect(await redis.hexists(`${p}:queued-bytes`, 'job_first')).toBe(0);
      await store.submit(sized('job_third', 5));
    } finally {
      redis.disconnect();
      await deleteRedisPrefix(p);
    }
  });
});

describe('max_results_mb across instances', () => {
  const KB = 1024;

  it('results finished through one instance fill the limit for both; an expired one leaves the count at the next submit', async () => {
    const p = testPrefix();
    const redis = new Redis(REDIS_URL);
    try {
      const a = storeOn(p, { maxQueued: 100, maxQueuedBytes: 1 << 30, maxResultsBytes: 10 * KB });
      const b = storeOn(p, { maxQueued: 100, maxQueuedBytes: 1 << 30, maxResultsBytes: 10 * KB });
      await Promise.all([a.ping(), b.ping()]);
      // Only a runs jobs; each answers with about 4 KB.
      a.start(async () => ({ status: 'completed', headers: {}, body: 'x'.repeat(4 * KB) }));
      const finish = async (store: RedisJobStore, next: NewJob) => {
        await store.submit(next);
        await waitFor(`${next.id} to complete`, async () => (await b.get(next.id))?.status === 'completed');
      };
      await finish(a, job('job_res_1'));
      await finish(b, job('job_res_2'));
      // 8 KB kept, under the limit: one more is taken, and its result carries the total past it.
      await finish(b, { ...job('job_res_3'), ttlS: 2 });
      expect(await a.resultBytes()).toBeGreaterThan(12 * KB);
      const refused = a.submit(job('job_res_4'));
      await expect(refused).rejects.toThrow(/async result store is full \(the results of finished jobs kept until they expire hold 0\.01 MB, async\.max_results_mb\)/);
      await expect(refused).rejects.toMatchObject({ retryAfterS: 60 });
      await expect(b.submit(job('job_res_4'))).rejects.toBeInstanceOf(QueueFullError);
      expect(await redis.exists(`${p}:job:job_res_4`)).toBe(0);

      // The last result expires (Redis deletes it); the next submit takes its bytes off and fits.
      await waitFor('job_res_3 to expire', async () => (await b.get('job_res_3')) === undefined, 5_000);
      await finish(b, job('job_res_4'));
      expect(await redis.hexists(`${p}:result-bytes`, 'job_res_3')).toBe(0);
      expect(await redis.zscore(`${p}:result-expiry`, 'job_res_3')).toBeNull();
      // The total is the sum of the results kept: the first two and the fourth.
      const each = await redis.hgetall(`${p}:result-bytes`);
      expect(Object.keys(each).sort()).toEqual(['job_res_1', 'job_res_2', 'job_res_4']);
      expect(await a.resultBytes()).toBe(Object.values(each).reduce((sum, v) => sum + Number(v), 0));
      expect(await a.resultBytes()).toBeGreaterThan(12 * KB);
    } finally {
      redis.disconnect();
      await deleteRedisPrefix(p);
    }
  });
});
