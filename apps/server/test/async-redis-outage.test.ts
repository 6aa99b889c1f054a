import { anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse } from './helpers/contract.js';
import { MESSAGES, pollJob, pollUntilDone, testPrefix, userBody, waitFor, warmUp } from './helpers/async.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { ownRedis, type OwnRedis } from './helpers/own-redis.js';

/**
 * The Redis job store going away, at start-up or later, must answer async submits and polls with a
 * 503 and a retry-after within the request's budget (never a hang, never a 500), /ready must say
 * the store is down, and everything must recover on its own once Redis is back. The test runs a
 * Redis server of its own on a port of its own (the shared one at 6379 is never touched).
 */

const STORE_TIMEOUT_MS = 500;

let redis: OwnRedis;
let upstream: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  redis = await ownRedis();
  upstream = await startFakeAnthropic();
  upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'done' }) }));
  // Redis is not running yet: the gateway starts against a closed port.
  gw = await startGateway({
    store: redis.url,
    async: { redis_prefix: testPrefix(), lease_ms: 2_000 },
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }], max_retries: 0 } },
  });
  await warmUp(gw.url);
});
afterAll(async () => {
  // Closing needs Redis (workers hand their jobs back): bring it back if a test left it down.
  if (!redis.running) await redis.start().catch(() => undefined);
  await gw?.close();
  await redis.dispose();
  await upstream?.close();
}, 30_000);

/** Submits a job; returns the answer and how long it took. */
async function submit(): Promise<{ res: request.Response; ms: number }> {
  const started = Date.now();
  const res = await request(gw.url).post(MESSAGES).set({ 'x-api-key': 'client-key', 'x-bf-async': 'true' }).send(userBody('later'));
  return { res, ms: Date.now() - started };
}

function expectStoreDown(res: request.Response, ms: number): void {
  expect(res.status, res.text).toBe(503);
  expectContractResponse(MESSAGES, 'post', 503, res.body);
  expect(res.body.error.type).toBe('overloaded_error');
  expect(res.body.error.message).toMatch(/^the async job store is unavailable \(.*\); retry later$/);
  expect(res.headers['retry-after']).toBe('5');
  // Within the request's budget: the store timeout and some slack, not the 150 s it once took.
  expect(ms).toBeLessThan(STORE_TIMEOUT_MS + 1_500);
}

async function readiness(): Promise<{ status: number; store: string }> {
  const res = await request(gw.url).get('/ready');
  return { status: res.status, store: res.body.checks.store };
}

describe('the Redis job store going away', () => {
  it('unreachable at start-up: submits and polls answer 503 with retry-after at once, /ready says why', async () => {
    const { res, ms } = await submit();
    expectStoreDown(res, ms);
    const started = Date.now();
    const poll = await pollJob(gw.url, 'job_AAAAAAAAAAAAAAAAAAAAAA');
    expectStoreDown(poll, Date.now() - started);
    const ready = await readiness();
    expect(ready.status).toBe(503);
    // Which words depend on where ioredis is in its reconnect loop when /ready asks: between two
    // attempts the store is "not connected", during one the attempt fails ("could not be reached").
    expect(ready.store).toMatch(/^error: Redis (is not connected|could not be reached)/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('once Redis is there, the gateway finds it on its own and jobs run', async () => {
    await redis.start();
    await waitFor('/ready to say the store is back', async () => (await readiness()).status === 200, 15_000);
    const { res } = await submit();
    expect(res.status).toBe(202);
    const done = await pollUntilDone(gw.url, res.headers['x-bf-async-id'] as string);
    expect(done.status).toBe(200);
    expect(done.body.content[0].text).toBe('done');
  });

  it('lost later: 503 with retry-after within the budget, not a 500; back again, it recovers', async () => {
    await redis.stop();
    await waitFor('/ready to see the store gone', async () => (await readiness()).status === 503, 10_000);
    for (let i = 0; i < 3; i++) {
      const { res, ms } = await submit();
      expectStoreDown(res, ms);
    }
    const started = Date.now();
    expectStoreDown(await pollJob(gw.url, 'job_AAAAAAAAAAAAAAAAAAAAAA'), Date.now() - started);

    await redis.start();
    await waitFor('/ready to say the store is back', async () => (await readiness()).status === 200, 15_000);
    const { res } = await submit();
    expect(res.status).toBe(202);
    const done = await pollUntilDone(gw.url, res.headers['x-bf-async-id'] as string, 15_000);
    expect(done.status).toBe(200);
  }, 45_000);
});

describe('shutting down while Redis is unreachable', () => {
  it('the gateway closes within a few seconds instead of waiting for Redis forever (a SIGTERM must finish)', async () => {
    if (!redis.running) await redis.start();
    const other = await startGateway({
      store: redis.url,
      async: { redis_prefix: testPrefix(), store_timeout_ms: STORE_TIMEOUT_MS },
      providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }], max_retries: 0 } },
    });
    const res = await request(other.url).post(MESSAGES).set({ 'x-api-key': 'client-key', 'x-bf-async': 'true' }).send(userBody('now'));
    expect(res.status).toBe(202);
    await pollUntilDone(other.url, res.headers['x-bf-async-id'] as string);
    await redis.stop();
    const started = Date.now();
    const outcome = await Promise.race([
      other.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still closing after 10 s'), 10_000)),
    ]);
    expect(outcome).toBe('closed');
    expect(Date.now() - started).toBeLessThan(6_000);
    await redis.start();
  }, 30_000);
});
