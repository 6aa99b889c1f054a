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

function instance(maxQueued: number): RedisJobStore {
  // Workers are never started: every job accepted stays queued.
  const store = new RedisJobStore({ url: REDIS_URL, prefix, maxQueued, concurrency: 1, leaseMs: 30_000, maxAttempts: 3, timeoutMs: 5_000, onError: () => undefined });
  stores.push(store);
  return store;
}

const job = (id: string): NewJob => ({
  id,
  owner: 'anonymous',
  model: 'anthropic/claude-x',
  ttlS: 60,
  createdAt: Date.now(),
  request: { body: { model: 'anthropic/claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }, clientHeaders: {}, requestId: 'req_test' },
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
