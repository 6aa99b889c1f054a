import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisJobStore } from '../src/jobs/redis-store.js';
import { QueueFullError, type NewJob } from '../src/jobs/types.js';
import { deleteRedisPrefix, REDIS_URL, testPrefix } from './helpers/async.js';

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

function instance(maxQueued: number, maxQueuedBytes = 1 << 30): RedisJobStore {
  // Workers are never started: every job accepted stays queued.
  const store = new RedisJobStore({ url: REDIS_URL, prefix, maxQueued, maxQueuedBytes, concurrency: 1, leaseMs: 30_000, maxAttempts: 3, timeoutMs: 5_000, onError: () => undefined });
  stores.push(store);
  return store;
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
    const make = () => {
      const store = new RedisJobStore({ url: REDIS_URL, prefix: p, maxQueued: 100, maxQueuedBytes: 10 * KB, concurrency: 1, leaseMs: 30_000, maxAttempts: 3, timeoutMs: 5_000, onError: () => undefined });
      stores.push(store);
      return store;
    };
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
      const lone = new RedisJobStore({ url: REDIS_URL, prefix: q, maxQueued: 100, maxQueuedBytes: 10 * KB, concurrency: 1, leaseMs: 30_000, maxAttempts: 3, timeoutMs: 5_000, onError: () => undefined });
      stores.push(lone);
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
      const store = new RedisJobStore({ url: REDIS_URL, prefix: p, maxQueued: 100, maxQueuedBytes: 10 * KB, concurrency: 1, leaseMs: 30_000, maxAttempts: 3, timeoutMs: 5_000, onError: () => undefined });
      stores.push(store);
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
