import {
  getDashboardInfo,
  getJobStats,
  getProviderStats,
  getTrafficStats,
  listRequests,
} from '@conduit/sdk';
import { anthropicError, openaiError, startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pollUntilDone, submitJob } from './helpers/async.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { ADMIN_KEY, client } from './helpers/governance.js';

const MESSAGES = '/anthropic/v1/messages';
const ALICE = 'sk-cdt-alice-dashboard-000000000000000001';
const UPSTREAM_KEY = 'sk-ant-upstream-held-by-the-gateway';

let healthy: FakeUpstream;
let flaky: FakeUpstream;
let openai: FakeUpstream;
let gw: RunningGateway;

/**
 * Writes the request log's waiting records. A request's record is added when its response closes,
 * which the client may see a moment before: one turn of the event loop first.
 */
async function flushed(gw: RunningGateway): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await gw.gateway.requestLog!.writer.flush();
}

const hello = (model: string, extra: object = {}) => ({ model, max_tokens: 32, messages: [{ role: 'user', content: 'Hello dashboard' }], ...extra });

beforeAll(async () => {
  healthy = await startFakeAnthropic();
  flaky = await startFakeAnthropic();
  flaky.setResponder(() => anthropicError(503, 'overloaded_error', 'flaky is down'));
  openai = await startFakeOpenAI();
  gw = await startGateway({
    log_bodies: true,
    pricing: { 'anthropic/claude-haiku-4-5': { input_per_mtok: 1000, output_per_mtok: 1000 } },
    providers: {
      anthropic: { type: 'anthropic', base_url: healthy.url, keys: [{ value: UPSTREAM_KEY }], models: ['claude-haiku-4-5'], max_retries: 0 },
      flaky: {
        type: 'anthropic',
        base_url: flaky.url,
        keys: [{ value: UPSTREAM_KEY }],
        models: ['claude-haiku-4-5'],
        max_retries: 1,
        retry: { base_ms: 1, max_ms: 2 },
        breaker: { failure_threshold: 4, cooldown_ms: 60_000 },
      },
      oai: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: 'sk-openai' }], models: ['gpt-4o'], max_retries: 0 },
    },
    models: { main: { target: 'flaky/claude-haiku-4-5', fallbacks: ['anthropic/claude-haiku-4-5'] } },
    auth: { admin_key: ADMIN_KEY, keys: [{ name: 'alice', value: ALICE }] },
  });
  // Traffic: two plain requests, two that fail over from flaky (two attempts each there), one refused by the
  // upstream's validation, and one that teaches the gateway a refused parameter of gpt-4o.
  for (let i = 0; i < 2; i++) await request(gw.url).post(MESSAGES).set('x-api-key', ALICE).send(hello('anthropic/claude-haiku-4-5')).expect(200);
  for (let i = 0; i < 2; i++) {
    const res = await request(gw.url).post(MESSAGES).set('x-api-key', ALICE).send(hello('main')).expect(200);
    expect(res.headers['x-bf-provider']).toBe('anthropic');
  }
  healthy.enqueue(anthropicError(400, 'invalid_request_error', 'no such thing'));
  await request(gw.url).post(MESSAGES).set('x-api-key', ALICE).send(hello('anthropic/claude-haiku-4-5')).expect(400);
  openai.enqueue(openaiError(400, "Unsupported parameter: 'reasoning_effort' is not supported with this model.", 'invalid_request_error', 'unsupported_parameter', 'reasoning_effort'));
  await request(gw.url)
    .post(MESSAGES)
    .set('x-api-key', ALICE)
    .send(hello('oai/gpt-4o', { max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 } }))
    .expect(200);
  await flushed(gw);
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([healthy?.close(), flaky?.close(), openai?.close()]);
});

const admin = () => client(gw.url, ADMIN_KEY);

describe('the dashboard API with gateway auth', () => {
  it('takes only the admin key', async () => {
    for (const path of ['/admin/v1/dashboard', '/admin/v1/stats/traffic', '/admin/v1/stats/providers', '/admin/v1/stats/jobs', '/admin/v1/requests']) {
      const none = await request(gw.url).get(path);
      expect(none.status, path).toBe(401);
      expectContractResponse(path, 'get', 401, none.body);
      expect((await request(gw.url).get(path).set('x-api-key', ALICE)).status, path).toBe(401);
      expect((await request(gw.url).get(path).set('authorization', `Bearer ${ADMIN_KEY}`)).status, path).toBe(200);
    }
  });

  it('tells the app, without a key, that it must ask for the admin key', async () => {
    const res = await request(gw.url).get('/ui/auth.json');
    expect(res.status).toBe(200);
    expectContractResponse('/ui/auth.json', 'get', 200, res.body);
    expect(res.body).toEqual({ auth: 'admin_key' });
  });

  it('tells the dashboard how the gateway is set up', async () => {
    const { data, response } = await getDashboardInfo({ client: admin() });
    expectContractResponse('/admin/v1/dashboard', 'get', 200, data);
    expect(response?.status).toBe(200);
    expect(data!.auth).toBe('admin_key');
    expect(data!.keys_api).toBe(true);
    expect(data!.log_bodies).toBe(true);
    expect(data!.providers.map((p) => p.name)).toEqual(['anthropic', 'flaky', 'oai']);
    expect(data!.request_log).toMatchObject({ enabled: true, store: 'sqlite', retention_hours: 24, max_records: 100_000 });
  });

  it('shows the traffic of the last hour and day', async () => {
    for (const window of ['hour', 'day'] as const) {
      const { data } = await getTrafficStats({ client: admin(), query: { window } });
      expectContractResponse('/admin/v1/stats/traffic', 'get', 200, data);
      expect(data!.window).toBe(window);
      expect(data!.totals.requests).toBe(6);
      expect(data!.totals.errors).toBe(1);
      expect(data!.totals.fallbacks).toBe(2);
      expect(data!.totals.output_tokens).toBeGreaterThan(0);
      expect(data!.totals.cost_usd).toBeGreaterThan(0);
      expect(data!.totals.p50_ms).not.toBeNull();
      expect(data!.points.at(-1)!.requests).toBeGreaterThan(0);
    }
  });

  it('shows each provider and model: breaker, last hour, retries and fallbacks, what was learnt', async () => {
    const { data } = await getProviderStats({ client: admin() });
    expectContractResponse('/admin/v1/stats/providers', 'get', 200, data);
    const model = (p: string, m: string) => data!.providers.find((x) => x.name === p)!.models.find((x) => x.model === m)!;
    const down = model('flaky', 'claude-haiku-4-5');
    expect(down.breaker.state).toBe('open');
    expect(down.breaker.retry_in_ms).toBeGreaterThan(0);
    expect(down.fallbacks).toBe(2);
    expect(down.retries).toBe(2);
    expect(down.last_fallback_at).not.toBeNull();
    const backup = model('anthropic', 'claude-haiku-4-5');
    expect(backup.breaker.state).toBe('closed');
    expect(backup.last_hour.requests).toBe(5);
    expect(backup.last_hour.fallbacks).toBe(2);
    expect(backup.last_hour.errors).toBe(1);
    expect(backup.fallbacks).toBe(0);
    expect(model('oai', 'gpt-4o').learned).toEqual({ refused_params: ['reasoning_effort'], output_limit: null, refuses_continuation: false });
  });

  it('lists recent requests, newest first, with what served them, and the prompt when log_bodies is on', async () => {
    const { data } = await listRequests({ client: admin() });
    expectContractResponse('/admin/v1/requests', 'get', 200, data);
    expect(data!.data).toHaveLength(6);
    expect(data!.data.every((r) => r.path.startsWith('/anthropic/'))).toBe(true);
    const [newest] = data!.data;
    expect(newest!.provider).toBe('oai');
    expect(newest!.key_name).toBe('alice');
    expect(JSON.parse(newest!.body!).messages[0].content).toBe('Hello dashboard');
    const failedOver = data!.data.filter((r) => r.requested_model === 'main');
    expect(failedOver).toHaveLength(2);
    for (const r of failedOver) expect(r).toMatchObject({ provider: 'anthropic', fallback_index: 1, attempts: 3, status: 200 });
    const refused = await listRequests({ client: admin(), query: { status: 'error' } });
    expect(refused.data!.data.map((r) => r.status)).toEqual([400]);
    expect(refused.data!.data[0]!.error).toMatch(/no such thing/);
    expect((await listRequests({ client: admin(), query: { provider: 'oai' } })).data!.data).toHaveLength(1);
    expect((await listRequests({ client: admin(), query: { key: 'alice' } })).data!.data).toHaveLength(6);
    // Page by page.
    const p1 = await listRequests({ client: admin(), query: { limit: 4 } });
    expect(p1.data!.has_more).toBe(true);
    const p2 = await listRequests({ client: admin(), query: { limit: 4, before: p1.data!.next_before! } });
    expect(p2.data!.data).toHaveLength(2);
    expect(p2.data!.has_more).toBe(false);
    expect([...p1.data!.data, ...p2.data!.data].map((r) => r.id)).toEqual(data!.data.map((r) => r.id));
  });

  it('keeps its own polls out of the request log and the traffic', async () => {
    for (let i = 0; i < 3; i++) await getTrafficStats({ client: admin() });
    await flushed(gw);
    const { data } = await listRequests({ client: admin() });
    expect(data!.data).toHaveLength(6);
  });

  it('answers bad parameters with a 400 naming them', async () => {
    for (const [query, field] of [
      ['window=week', 'window'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['status=teapot', 'status'],
      ['before=not-a-cursor', 'before'],
    ] as const) {
      const path = field === 'window' ? '/admin/v1/stats/traffic' : '/admin/v1/requests';
      const res = await request(gw.url).get(`${path}?${query}`).set('x-api-key', ADMIN_KEY);
      expect(res.status, query).toBe(400);
      expect(res.body.error.type).toBe('invalid_request_error');
      expect(res.body.error.message, query).toContain(field);
    }
  });

  it('counts async jobs by state', async () => {
    const id = await submitJob(gw.url, hello('anthropic/claude-haiku-4-5'), { 'x-api-key': ALICE });
    await pollUntilDone(gw.url, id, 8_000, { 'x-api-key': ALICE });
    const { data } = await getJobStats({ client: admin() });
    expectContractResponse('/admin/v1/stats/jobs', 'get', 200, data);
    expect(data!.jobs).toEqual({ queued: 0, running: 0, completed: 1, failed: 0 });
    expect(data!.batches_supported).toBe(true);
    expect(data!.batches).toEqual([]);
  });

  it('shows each Message Batch not yet ended, whoever made it, with its progress', async () => {
    // The upstream holds every request, so the batch stays in progress while it is looked at.
    healthy.setResponder(() => ({ kind: 'hang' }));
    try {
      const ask = (customId: string) => ({ custom_id: customId, params: hello('anthropic/claude-haiku-4-5') });
      const created = await request(gw.url).post('/anthropic/v1/messages/batches').set('x-api-key', ALICE).send({ requests: [ask('a'), ask('b'), ask('c')] });
      expect(created.status).toBe(200);
      const { data } = await getJobStats({ client: admin() });
      expectContractResponse('/admin/v1/stats/jobs', 'get', 200, data);
      expect(data!.batches).toEqual([
        { id: created.body.id, processing_status: 'in_progress', created_at: created.body.created_at, request_counts: { processing: 3, succeeded: 0, errored: 0, canceled: 0, expired: 0 } },
      ]);
      await request(gw.url).post(`/anthropic/v1/messages/batches/${created.body.id}/cancel`).set('x-api-key', ALICE).expect(200);
    } finally {
      healthy.setResponder(null);
    }
  });
});

describe('the dashboard API with auth off', () => {
  let open: RunningGateway;
  beforeAll(async () => {
    open = await startGateway({ providers: { anthropic: { type: 'anthropic', base_url: healthy.url, models: ['claude-haiku-4-5'] } } });
  });
  afterAll(async () => {
    await open?.close();
  });

  it('answers this machine without a key and says auth is off; prompts are not shown', async () => {
    await request(open.url).post(MESSAGES).set('x-api-key', 'client-own-key').send(hello('anthropic/claude-haiku-4-5')).expect(200);
    await flushed(open);
    expect((await request(open.url).get('/ui/auth.json')).body).toEqual({ auth: 'off' });
    const info = await getDashboardInfo({ client: client(open.url) });
    expect(info.data).toMatchObject({ auth: 'off', keys_api: false, log_bodies: false });
    const log = await listRequests({ client: client(open.url) });
    expect(log.data!.data).toHaveLength(1);
    expect(log.data!.data[0]!.key_id).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(log.data!.data[0]).not.toHaveProperty('body');
    expect(JSON.stringify(log.data)).not.toContain('client-own-key');
    // The keys API stays what it was without auth: no such route.
    expect((await request(open.url).get('/admin/v1/keys')).status).toBe(404);
  });
});

describe('prompts in the request log', () => {
  let gwBodies: RunningGateway;
  beforeAll(async () => {
    gwBodies = await startGateway({
      log_bodies: true,
      request_log: { max_body_chars: 400 },
      providers: { anthropic: { type: 'anthropic', base_url: healthy.url, models: ['claude-haiku-4-5'] } },
    });
  });
  afterAll(async () => {
    await gwBodies?.close();
  });

  it('keeps MCP tokens out, and cuts a long body at max_body_chars', async () => {
    const token = 'mcp-token-that-must-never-be-stored-0001';
    await request(gwBodies.url)
      .post(MESSAGES)
      .set('x-api-key', 'client-own-key')
      .send(hello('anthropic/claude-haiku-4-5', { mcp_servers: [{ type: 'url', name: 'tools', url: 'https://mcp.example/sse', authorization_token: token }] }));
    await request(gwBodies.url)
      .post(MESSAGES)
      .set('x-api-key', 'client-own-key')
      .send({ ...hello('anthropic/claude-haiku-4-5'), messages: [{ role: 'user', content: 'x'.repeat(2000) }] })
      .expect(200);
    await flushed(gwBodies);
    const { data } = await listRequests({ client: client(gwBodies.url) });
    const [long, withMcp] = data!.data;
    expect(long!.body).toHaveLength(400);
    expect(long!.body_truncated).toBe(true);
    expect(withMcp!.body).toContain('[redacted]');
    expect(withMcp!.body_truncated).toBe(false);
    expect(JSON.stringify(data)).not.toContain(token);
  });

  it('counts the records it could not store in conduit_request_log_dropped_total', async () => {
    const store = gwBodies.gateway.requestLog!.store;
    const write = store.write.bind(store);
    store.write = async () => {
      throw new Error('disk full');
    };
    try {
      await request(gwBodies.url).post(MESSAGES).set('x-api-key', 'client-own-key').send(hello('anthropic/claude-haiku-4-5')).expect(200);
      await request(gwBodies.url).post(MESSAGES).set('x-api-key', 'client-own-key').send(hello('anthropic/claude-haiku-4-5')).expect(200);
      await flushed(gwBodies);
    } finally {
      store.write = write;
    }
    const metrics = await request(gwBodies.url).get('/metrics');
    expect(metrics.text).toMatch(/^conduit_request_log_dropped_total 2$/m);
  });

  it('refuses a repeated parameter with a 400', async () => {
    const res = await request(gwBodies.url).get('/admin/v1/requests?limit=5&limit=6');
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
  });
});
