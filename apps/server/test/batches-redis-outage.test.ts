import { anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './helpers/async.js';
import { BATCHES, batchRequest, waitForBatchHttp } from './helpers/batches.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { ownRedis, type OwnRedis } from './helpers/own-redis.js';

/**
 * A Redis batch store that cannot be reached answers every batch route with a 503 and retry-after
 * within async.store_timeout_ms (never a hang, never a 500), and the gateway recovers on its own once
 * Redis is there. The test runs a Redis server of its own on a port of its own.
 */

const STORE_TIMEOUT_MS = 500;
const KEY = { 'x-api-key': 'k' };

let redis: OwnRedis;
let upstream: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  redis = await ownRedis();
  upstream = await startFakeAnthropic();
  upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'back' }) }));
  // Redis is not running yet.
  gw = await startGateway({
    store: redis.url,
    async: { store_timeout_ms: STORE_TIMEOUT_MS, sweep_interval_ms: 200 },
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk' }] } },
  });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await redis?.dispose();
});

describe('the Redis batch store away, then back', () => {
  it('every batch route answers 503 overloaded_error with retry-after, in bounded time', async () => {
    const id = `msgbatch_${'A'.repeat(22)}`;
    const answers = await Promise.all([
      request(gw.url).post(BATCHES).set(KEY).send({ requests: [batchRequest('a', 'x')] }),
      request(gw.url).get(BATCHES).set(KEY),
      request(gw.url).get(`${BATCHES}/${id}`).set(KEY),
      request(gw.url).post(`${BATCHES}/${id}/cancel`).set(KEY),
      request(gw.url).delete(`${BATCHES}/${id}`).set(KEY),
      request(gw.url).get(`${BATCHES}/${id}/results`).set(KEY),
    ]);
    for (const res of answers) {
      expect(res.status, res.text).toBe(503);
      expect(res.body.error.type).toBe('overloaded_error');
      expect(res.body.error.message).toMatch(/the batch store is unavailable/);
      expect(res.headers['retry-after']).toBe('5');
    }
  });

  it('once Redis is there, batches work without a restart', async () => {
    await redis.start();
    await waitFor('the batch routes to answer', async () => (await request(gw.url).get(BATCHES).set(KEY)).status === 200, 15_000);
    const created = await request(gw.url).post(BATCHES).set(KEY).send({ requests: [batchRequest('a', 'x')] });
    expect(created.status, created.text).toBe(200);
    const ended = await waitForBatchHttp(gw.url, created.body.id, KEY);
    expect(ended.request_counts.succeeded).toBe(1);
  });
});
