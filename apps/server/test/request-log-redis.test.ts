import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellsOf, targetKey } from '../src/request-log/cell.js';
import { RedisRequestLogStore } from '../src/request-log/redis-store.js';
import { testRecord } from '../src/request-log/test-records.js';
import { TrafficReader } from '../src/request-log/traffic.js';
import { REDIS_URL, deleteRedisPrefix, testPrefix } from './helpers/async.js';

const prefix = testPrefix();
let a: RedisRequestLogStore;
let b: RedisRequestLogStore;

beforeAll(() => {
  const opts = { url: REDIS_URL, prefix, maxRecords: 1000, timeoutMs: 2000, onError: () => undefined };
  a = new RedisRequestLogStore(opts);
  b = new RedisRequestLogStore(opts);
});

afterAll(async () => {
  await a.close();
  await b.close();
  await deleteRedisPrefix(prefix);
});

describe('the request log in Redis, shared by instances', () => {
  it('lists what every instance wrote, newest first, page by page and filtered', async () => {
    const first = [testRecord({ id: 'a1' }), testRecord({ id: 'a2', status: 429, errorType: 'rate_limit_error', keyName: 'bob' })];
    await a.write(first, cellsOf(first));
    const second = [testRecord({ id: 'b1', provider: 'openai', model: 'gpt-5' })];
    await b.write(second, cellsOf(second));
    const all = await a.list({ limit: 10 });
    expect(all.records.map((r) => r.id)).toEqual(['b1', 'a2', 'a1']);
    expect(all.hasMore).toBe(false);
    const p1 = await b.list({ limit: 2 });
    expect(p1.records.map((r) => r.id)).toEqual(['b1', 'a2']);
    expect(p1.hasMore).toBe(true);
    const p2 = await b.list({ limit: 2, before: p1.nextBefore! });
    expect(p2.records.map((r) => r.id)).toEqual(['a1']);
    expect(p2.hasMore).toBe(false);
    expect((await a.list({ limit: 10, status: 'error' })).records.map((r) => r.id)).toEqual(['a2']);
    expect((await a.list({ limit: 10, status: 429 })).records.map((r) => r.id)).toEqual(['a2']);
    expect((await a.list({ limit: 10, provider: 'openai' })).records.map((r) => r.id)).toEqual(['b1']);
    expect((await a.list({ limit: 10, key: 'bob' })).records.map((r) => r.id)).toEqual(['a2']);
    // A filtered page stops at the first match past the page.
    const okOnly = await a.list({ limit: 1, status: 'ok' });
    expect(okOnly.records.map((r) => r.id)).toEqual(['b1']);
    expect(okOnly.hasMore).toBe(true);
    expect((await a.list({ limit: 1, status: 'ok', before: okOnly.nextBefore! })).records.map((r) => r.id)).toEqual(['a1']);
  });

  it('sums the per-minute figures of every instance, and the traffic reader reads them', async () => {
    const at = Date.now();
    const minute = Math.floor(at / 60_000) * 60;
    const x = [testRecord({ at, latencyMs: 40, costUsd: 0.25, modelLabel: 'sum-model' })];
    const y = [testRecord({ at, latencyMs: 60, costUsd: 0.5, errorType: 'api_error', status: 500, ttftMs: 5, modelLabel: 'sum-model' })];
    await a.write(x, cellsOf(x));
    await b.write(y, cellsOf(y));
    const cell = (await a.cells(minute, minute)).get(minute)!.get(targetKey('anthropic', 'sum-model'))!;
    expect(cell.requests).toBe(2);
    expect(cell.errors).toBe(1);
    expect(cell.costUsd).toBeCloseTo(0.75, 9);
    expect(cell.latency.reduce((s, n) => s + n, 0)).toBe(2);
    expect(cell.ttft.reduce((s, n) => s + n, 0)).toBe(1);
    const traffic = await new TrafficReader(b).traffic('hour');
    expect(traffic.totals.requests).toBeGreaterThanOrEqual(2);
    expect(traffic.points[59]!.errors).toBeGreaterThanOrEqual(1);
  });

  it('trims records past the retention', async () => {
    await a.prune(Date.now() + 1000);
    expect((await a.list({ limit: 10 })).records).toEqual([]);
  });
});

describe('gateways sharing Redis', () => {
  it('show every instance’s traffic and requests on either one', async () => {
    const { startFakeAnthropic } = await import('@conduit/testkit');
    const { startGateway } = await import('./helpers/gateway.js');
    const request = (await import('supertest')).default;
    const shared = testPrefix();
    const upstream = await startFakeAnthropic();
    const config = {
      store: REDIS_URL,
      async: { redis_prefix: shared },
      request_log: { flush_ms: 50 },
      providers: { anthropic: { type: 'anthropic' as const, base_url: upstream.url, models: ['claude-haiku-4-5'] } },
    };
    const one = await startGateway(config);
    const two = await startGateway(config);
    try {
      const body = { model: 'anthropic/claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] };
      await request(one.url).post('/anthropic/v1/messages').set('x-api-key', 'k').send(body).expect(200);
      await request(two.url).post('/anthropic/v1/messages').set('x-api-key', 'k').send(body).expect(200);
      await request(two.url).post('/anthropic/v1/messages').set('x-api-key', 'k').send(body).expect(200);
      // A record is added when its response closes, which the client may see a moment before.
      await new Promise((resolve) => setImmediate(resolve));
      await one.gateway.requestLog!.writer.flush();
      await two.gateway.requestLog!.writer.flush();
      for (const gw of [one, two]) {
        const traffic = await request(gw.url).get('/admin/v1/stats/traffic');
        expect(traffic.status).toBe(200);
        expect(traffic.body.totals.requests).toBe(3);
        const log = await request(gw.url).get('/admin/v1/requests');
        expect(log.body.data).toHaveLength(3);
      }
      const info = await request(one.url).get('/admin/v1/dashboard');
      expect(info.body.request_log.store).toBe('redis');
    } finally {
      await one.close();
      await two.close();
      await upstream.close();
      await deleteRedisPrefix(shared);
    }
  });
});
