import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { countTokens, createKey, createMessage, getUsage, revokeKey, updateKey } from '@conduit/sdk';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/config/schema.js';
import { deleteRedisPrefix, REDIS_URL, sleep, testPrefix } from './helpers/async.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { ADMIN_KEY, client, message, rateHeaders } from './helpers/governance.js';

/**
 * Two gateway instances sharing one real Redis (a prefix of their own): limits, revocations and
 * the ledger hold across them.
 */

const MESSAGES = '/anthropic/v1/messages';
const SIXTY = 'sk-cdt-sixty-per-minute-0000000000000001';
const BUDGET = 'sk-cdt-budget-across-instances-00000002';

let upstream: FakeUpstream;
const prefixes: string[] = [];
const running: RunningGateway[] = [];

beforeAll(async () => {
  upstream = await startFakeAnthropic();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.close()));
  upstream.reset();
});
afterAll(async () => {
  await upstream?.close();
  await Promise.all(prefixes.map((p) => deleteRedisPrefix(p)));
});

function config(prefix: string, auth: NonNullable<ConfigInput['auth']>, store = REDIS_URL): Parameters<typeof startGateway>[0] {
  return {
    store,
    async: { redis_prefix: prefix },
    pricing: { 'anthropic/claude-haiku-4-5': { input_per_mtok: 1000, output_per_mtok: 1000 } },
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-ant-upstream' }], max_retries: 0 } },
    auth: { admin_key: ADMIN_KEY, ...auth },
  };
}

/** Two instances on the same prefix. */
async function pair(auth: NonNullable<ConfigInput['auth']>): Promise<[RunningGateway, RunningGateway]> {
  const prefix = testPrefix();
  prefixes.push(prefix);
  const a = await startGateway(config(prefix, auth));
  const b = await startGateway(config(prefix, auth));
  running.push(a, b);
  // Compile the contract on both before anything is timed.
  await Promise.all([a, b].map((g) => request(g.url).post(MESSAGES).send({})));
  return [a, b];
}

/** Runs `count` calls of `fn`, at most `concurrency` at a time. */
async function pool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await fn(i);
      }
    }),
  );
  return out;
}

describe('two instances sharing Redis', () => {
  it('a key limited to 60 requests per minute gets exactly 60 of 200 admitted across both', async () => {
    const [a, b] = await pair({ keys: [{ name: 'sixty', value: SIXTY, rpm: 60 }] });
    const started = Date.now();
    const statuses = await pool(200, 20, async (i) => (await createMessage({ client: client(i % 2 ? a.url : b.url, SIXTY), body: message() })).response!.status);
    expect(Date.now() - started).toBeLessThan(50_000);
    expect(statuses.filter((s) => s === 200)).toHaveLength(60);
    expect(statuses.filter((s) => s === 429)).toHaveLength(140);
    expect(upstream.requests).toHaveLength(60);
    // Both instances admitted some: the count is shared, not per instance.
    const { data } = await getUsage({ client: client(a.url, ADMIN_KEY) });
    expect(data!.data.reduce((n, r) => n + r.requests, 0)).toBe(60);
    const last = await createMessage({ client: client(b.url, SIXTY), body: message() });
    expect(last.response!.status).toBe(429);
    expect(rateHeaders(last.response)).toMatchObject({ requestsLimit: 60, requestsRemaining: 0 });
    expectContractResponse(MESSAGES, 'post', 429, last.error);
  }, 60_000);

  it('a key made on one instance works on the other at once; a change and a revocation reach both within a second', async () => {
    const [a, b] = await pair({});
    const { data: key } = await createKey({ client: client(a.url, ADMIN_KEY), body: { name: 'roaming', rpm: 100 } });
    expect((await createMessage({ client: client(b.url, key!.key), body: message() })).response!.status).toBe(200);
    expect((await createMessage({ client: client(a.url, key!.key), body: message() })).response!.status).toBe(200);

    await updateKey({ client: client(a.url, ADMIN_KEY), path: { key_id: key!.id }, body: { rpm: 7 } });
    const changedAt = Date.now();
    for (;;) {
      const res = await createMessage({ client: client(b.url, key!.key), body: message() });
      if (rateHeaders(res.response).requestsLimit === 7) break;
      expect(Date.now() - changedAt).toBeLessThan(1000);
      await sleep(20);
    }

    const { response } = await revokeKey({ client: client(a.url, ADMIN_KEY), path: { key_id: key!.id } });
    expect(response!.status).toBe(200);
    const revokedAt = Date.now();
    // Each instance's first answer after the revocation is already a refusal, on every route.
    const refusals = await Promise.all(
      [a, b].flatMap((g) => [
        createMessage({ client: client(g.url, key!.key), body: message() }),
        countTokens({ client: client(g.url, key!.key), body: { model: 'anthropic/claude-haiku-4-5', messages: message().messages } }),
      ]),
    );
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    for (const r of refusals) {
      expect(r.response!.status).toBe(401);
      expect(r.error?.error.message).toMatch(/revoked/);
    }
  }, 30_000);

  it('a budget is not overspent by more than one request in flight per instance', async () => {
    // Each answer costs (20 + 10) tokens × $1000 per million = $0.03; the budget holds ten.
    upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ usage: { input_tokens: 20, output_tokens: 10 } }), delayMs: 60 }));
    const [a, b] = await pair({ keys: [{ name: 'budget', value: BUDGET, budget_usd: 0.3, budget_period: 'day' }] });
    const seen = { ok: 0, held: 0, spent: 0 };
    // Eight clients per instance, each retrying a 429 (budget held by requests in flight) until it gets 402.
    await Promise.all(
      Array.from({ length: 16 }, async (_, i) => {
        const c = client(i % 2 ? a.url : b.url, BUDGET);
        for (let n = 0; n < 100; n++) {
          const { response } = await createMessage({ client: c, body: message() });
          if (response!.status === 200) seen.ok++;
          else if (response!.status === 429) seen.held++;
          else if (response!.status === 402) {
            seen.spent++;
            return;
          } else throw new Error(`unexpected ${response!.status}`);
          await sleep(5);
        }
      }),
    );
    expect(seen.spent).toBe(16);
    const { data } = await getUsage({ client: client(b.url, ADMIN_KEY) });
    const spent = data!.total_cost_usd;
    expect(data!.data.reduce((n, r) => n + r.requests, 0)).toBe(seen.ok);
    expect(spent).toBeGreaterThanOrEqual(0.3 - 1e-9);
    expect(spent).toBeLessThanOrEqual(0.3 + 2 * 0.03 + 1e-9);
  }, 60_000);
});

describe('Redis unreachable', () => {
  it('refuses with 503 rather than serving without limits, and recovers when Redis is back', async () => {
    const proxy = await tcpProxy(6379);
    const prefix = testPrefix();
    prefixes.push(prefix);
    const key = 'sk-cdt-fail-closed-000000000000000000003';
    const gw = await startGateway(config(prefix, { keys: [{ name: 'k', value: key, rpm: 1000 }] }, `redis://127.0.0.1:${proxy.port}`));
    running.push(gw);
    await request(gw.url).post(MESSAGES).send({});
    expect((await createMessage({ client: client(gw.url, key), body: message() })).response!.status).toBe(200);

    proxy.cut();
    const started = Date.now();
    const refused = await createMessage({ client: client(gw.url, key), body: message() });
    expect(refused.response!.status).toBe(503);
    expect(refused.error?.error.type).toBe('overloaded_error');
    expect(refused.error?.error.message).toMatch(/refusing rather than serving without limits/);
    expect(refused.response!.headers.get('retry-after')).toBe('1');
    expect(Date.now() - started).toBeLessThan(5_000);
    expectContractResponse(MESSAGES, 'post', 503, refused.error);
    // The admin API cannot write either: 503 too.
    const made = await createKey({ client: client(gw.url, ADMIN_KEY), body: { name: 'during-outage' } });
    expect(made.response!.status).toBe(503);
    expectContractResponse('/admin/v1/keys', 'post', 503, made.error);
    const upstreamCalls = upstream.requests.length;

    proxy.restore();
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await createMessage({ client: client(gw.url, key), body: message() })).response!.status;
      if (status === 200) break;
      expect(status).toBe(503);
      await sleep(200);
    }
    expect(status).toBe(200);
    // Nothing went upstream while Redis was away.
    expect(upstream.requests.length).toBe(upstreamCalls + 1);
    await proxy.close();
  }, 30_000);
});

/** A TCP proxy to a local port that can be cut (connections dropped, new ones refused) and restored. */
async function tcpProxy(targetPort: number) {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = createConnection(targetPort);
        sockets.add(client).add(upstream);
        client.pipe(upstream).pipe(client);
        const drop = () => {
          client.destroy();
          upstream.destroy();
        };
        client.on('error', drop).on('close', drop);
        upstream.on('error', drop).on('close', drop);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server.address() as { port: number }).port;
        resolve();
      });
    });
  await listen();
  return {
    get port() {
      return port;
    },
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
      sockets.clear();
    },
    restore: listen,
    async close() {
      this.cut();
    },
  };
}
