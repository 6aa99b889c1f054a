import { createServer } from 'node:net';
import { anthropicError, anthropicMessage, openaiCompletion, openaiError, startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/config/schema.js';
import { deleteRedisPrefix, REDIS_URL, testPrefix, waitFor } from './helpers/async.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';
import { anthropicProvider, send, served, warmUp } from './helpers/routing.js';

/**
 * Instances sharing Redis share what routing learnt: an open circuit, a cooled-down key, a field a
 * model refused. A second instance does not rediscover a dead provider. Two gateways in this
 * process, each with its own Redis connections and state, stand for two instances.
 */

const COOLDOWN_MS = 2_500;
const prefix = testPrefix();
let primary: FakeUpstream;
let backup: FakeUpstream;
let openai: FakeUpstream;
let a: RunningGateway;
let b: RunningGateway;

function config(store = REDIS_URL): Omit<ConfigInput, 'listen'> {
  return {
    store,
    async: { redis_prefix: prefix },
    providers: {
      main: anthropicProvider(primary.url, { max_retries: 0, models: ['claude-x'], breaker: { failure_threshold: 2, cooldown_ms: COOLDOWN_MS } }),
      keyed: anthropicProvider(primary.url, { max_retries: 0, keys: [{ value: 'sk-keyed-only' }] }),
      backup: anthropicProvider(backup.url, { keys: [{ value: 'sk-backup' }] }),
      oai: { ...anthropicProvider(`${openai.url}/v1`, { max_retries: 0 }), type: 'openai' as const, keys: [{ value: 'sk-o' }] },
    },
  };
}

beforeAll(async () => {
  [primary, backup, openai] = await Promise.all([startFakeAnthropic(), startFakeAnthropic(), startFakeOpenAI()]);
  a = await startGateway(config());
  b = await startGateway(config());
  await Promise.all([warmUp(a), warmUp(b)]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await Promise.all([primary, backup, openai].map((f) => f?.close()));
  await deleteRedisPrefix(prefix);
});
afterEach(() => {
  for (const f of [primary, backup, openai]) f.reset();
});

async function breakerState(gw: RunningGateway, provider: string, model: string): Promise<number | undefined> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  return sample(parsePrometheus(text), 'conduit_circuit_breaker_state', { gen_ai_provider_name: provider, gen_ai_request_model: model });
}

describe('two instances sharing Redis', () => {
  it('after instance A opens a breaker, instance B sends nothing to that target until the cooldown ends', async () => {
    primary.setResponder(() => anthropicError(503, 'overloaded_error', 'down'));
    const body = { model: 'main/claude-x', fallbacks: ['backup/claude-b'] };
    for (let i = 0; i < 2; i++) expect(served(await send(a, body)).provider).toBe('backup');
    const openedAt = primary.requests[1]!.at;
    expect(await breakerState(a, 'main', 'claude-x')).toBe(2);
    // B hears of it (it never called the primary itself).
    await waitFor('instance B to learn the circuit is open', async () => (await breakerState(b, 'main', 'claude-x')) === 2, 2_000);
    primary.setResponder(null); // healthy again, but nobody may know before a probe
    for (let i = 0; i < 5; i++) {
      const r = await send(b, body);
      expect(served(r)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '1', fallbackIndex: '1' });
    }
    expect(Date.now() - openedAt).toBeLessThan(COOLDOWN_MS);
    expect(primary.requests).toHaveLength(2);

    // Cooldown over: B's probe finds the primary back, and A hears that the circuit closed.
    await new Promise((r) => setTimeout(r, openedAt + COOLDOWN_MS - Date.now() + 50));
    expect(served(await send(b, body)).provider).toBe('main');
    expect(primary.requests).toHaveLength(3);
    await waitFor('instance A to learn the circuit closed', async () => (await breakerState(a, 'main', 'claude-x')) === 0, 2_000);
    expect(served(await send(a, body)).provider).toBe('main');
  });

  it('an instance started later reads the open circuits from Redis', async () => {
    primary.setResponder(() => anthropicError(503, 'overloaded_error', 'down'));
    const body = { model: 'main/claude-x', fallbacks: ['backup/claude-b'] };
    for (let i = 0; i < 2; i++) await send(a, body);
    expect(await breakerState(a, 'main', 'claude-x')).toBe(2);
    const c = await startGateway(config());
    try {
      await warmUp(c);
      await waitFor('the new instance to read the state', async () => (await breakerState(c, 'main', 'claude-x')) === 2, 3_000);
      expect(served(await send(c, body))).toMatchObject({ provider: 'backup', attempts: '1' });
      expect(primary.requests).toHaveLength(2);
    } finally {
      await c.close();
    }
    // Let the circuit close again for the tests after.
    primary.setResponder(null);
    await new Promise((r) => setTimeout(r, COOLDOWN_MS + 50));
    await send(a, body);
  });

  it('a key refused on instance A is not used by instance B either', async () => {
    primary.setResponder(() => anthropicError(401, 'authentication_error', 'invalid x-api-key'));
    const body = { model: 'keyed/claude-k', fallbacks: ['backup/claude-b'] };
    expect(served(await send(a, body)).provider).toBe('backup');
    expect(primary.requests).toHaveLength(1);
    await waitFor('instance B to learn of the cooldown', () => b.gateway.router.state.cooldowns.get('keyed#0', 'claude-k') !== undefined, 2_000);
    expect(served(await send(b, body))).toMatchObject({ provider: 'backup', attempts: '1' });
    expect(primary.requests).toHaveLength(1);
  });

  it('a field a model refused on instance A is left out by instance B from the start', async () => {
    openai.setResponder((req) =>
      req.body.reasoning_effort !== undefined
        ? openaiError(400, "Unsupported parameter: 'reasoning_effort' is not supported with this model.", 'invalid_request_error', 'unsupported_parameter', 'reasoning_effort')
        : { kind: 'json', body: openaiCompletion({ model: 'gpt-4o', content: 'ok' }) },
    );
    const body = { model: 'oai/gpt-4o', max_tokens: 4000, thinking: { type: 'enabled', budget_tokens: 2000 } };
    expect((await send(a, body)).status).toBe(200);
    expect(openai.requests).toHaveLength(2);
    await waitFor('instance B to learn the refused field', () => b.gateway.router.state.facts.forProvider('oai').refusedParams('gpt-4o').has('reasoning_effort'), 2_000);
    const r = await send(b, body);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-bf-dropped')).toContain('reasoning_effort');
    expect(openai.requests).toHaveLength(3);
    expect(openai.requests[2]!.body.reasoning_effort).toBeUndefined();
  });
});

describe('Redis unreachable', () => {
  let down: RunningGateway;
  beforeAll(async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    down = await startGateway(config(`redis://127.0.0.1:${port}`));
    await warmUp(down);
  });
  afterAll(() => down?.close());

  it("routing goes on with the instance's own state, and never waits for Redis", async () => {
    primary.setResponder(() => anthropicError(503, 'overloaded_error', 'down'));
    const body = { model: 'main/claude-x', fallbacks: ['backup/claude-b'] };
    for (let i = 0; i < 2; i++) {
      const r = await send(down, body);
      expect(served(r).provider).toBe('backup');
      expect(r.ms).toBeLessThan(1_000);
    }
    // The circuit opened here all the same.
    expect(await breakerState(down, 'main', 'claude-x')).toBe(2);
    expect(served(await send(down, body))).toMatchObject({ provider: 'backup', attempts: '1' });
    expect(primary.requests).toHaveLength(2);
    backup.setResponder(() => ({ kind: 'json', body: anthropicMessage({ model: 'claude-b', text: 'still here' }) }));
    expect((await send(down, { model: 'backup/claude-b' })).json.content[0].text).toBe('still here');
  });
});
