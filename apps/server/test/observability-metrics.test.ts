import Anthropic from '@anthropic-ai/sdk';
import { anthropicError, anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, sample, samples, type PromSample } from './helpers/prometheus.js';

const MODEL = 'claude-sonnet-4-5';
const TARGET = { gen_ai_provider_name: 'anthropic', gen_ai_request_model: MODEL };
/** The per-request series carry the operation too. */
const CHAT = { ...TARGET, gen_ai_operation_name: 'chat' };
// $3 in / $15 out / $0.30 cache reads per million tokens.
const PRICING = { input_per_mtok: 3, output_per_mtok: 15, cache_read_per_mtok: 0.3 };

let upstream: FakeUpstream;
let gw: RunningGateway;
let client: Anthropic;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    pricing: { [`anthropic/${MODEL}`]: PRICING },
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-upstream-key' }], max_retries: 0 } },
  });
  client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

async function scrape(): Promise<PromSample[]> {
  const res = await request(gw.url).get('/metrics');
  expect(res.status).toBe(200);
  // openapi.yaml declares text/plain for getMetrics.
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return parsePrometheus(res.text);
}

/** Every histogram series has cumulative buckets ending in +Inf = _count. */
function expectWellFormedHistogram(all: PromSample[], name: string, labels: Record<string, string>): void {
  const buckets = samples(all, `${name}_bucket`, labels);
  expect(buckets.length).toBeGreaterThan(1);
  for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
  expect(buckets.at(-1)!.labels.le).toBe('+Inf');
  expect(buckets.at(-1)!.value).toBe(sample(all, `${name}_count`, labels));
}

describe('/metrics after traffic through the gateway', () => {
  it('counts requests, tokens, latency, time to first token and cost for the provider/model that served', async () => {
    const before = await scrape();
    expect(samples(before, 'conduit_requests_total')).toEqual([]);

    // One JSON request and one stream, with known usage.
    upstream.enqueue({
      kind: 'json',
      body: anthropicMessage({ model: MODEL, text: 'Hi', usage: { input_tokens: 100, output_tokens: 20, cache_read_input_tokens: 50 } }),
    });
    await client.messages.create({ model: `anthropic/${MODEL}`, max_tokens: 50, messages: [{ role: 'user', content: 'Hello' }] });
    const streamed = anthropicMessage({ model: MODEL, text: 'A streamed answer in pieces.', usage: { input_tokens: 30, output_tokens: 7 } });
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(streamed, { textChunks: 4 }), firstChunkDelayMs: 5 });
    await client.messages.stream({ model: MODEL, max_tokens: 50, messages: [{ role: 'user', content: 'Stream it' }] }).finalMessage();

    const all = await scrape();
    expect(sample(all, 'conduit_requests_total', { ...CHAT, http_response_status_code: '200', error_type: '' })).toBe(2);

    const gen = CHAT;
    // Input counts the whole prompt: 100 uncached + 50 cache reads, then 30.
    expect(sample(all, 'gen_ai_client_token_usage_sum', { ...gen, gen_ai_token_type: 'input' })).toBe(180);
    expect(sample(all, 'gen_ai_client_token_usage_count', { ...gen, gen_ai_token_type: 'input' })).toBe(2);
    expect(sample(all, 'gen_ai_client_token_usage_sum', { ...gen, gen_ai_token_type: 'output' })).toBe(27);
    expectWellFormedHistogram(all, 'gen_ai_client_token_usage', { ...gen, gen_ai_token_type: 'output' });

    expect(sample(all, 'gen_ai_server_request_duration_seconds_count', gen)).toBe(2);
    expect(sample(all, 'gen_ai_server_request_duration_seconds_sum', gen)).toBeGreaterThan(0);
    expectWellFormedHistogram(all, 'gen_ai_server_request_duration_seconds', gen);
    // Only the stream has a first token; the upstream held it back 5 ms.
    expect(sample(all, 'gen_ai_server_time_to_first_token_seconds_count', gen)).toBe(1);
    expect(sample(all, 'gen_ai_server_time_to_first_token_seconds_sum', gen)).toBeGreaterThanOrEqual(0.004);

    expect(sample(all, 'conduit_upstream_duration_seconds_count', CHAT)).toBe(2);
    expect(sample(all, 'conduit_upstream_duration_seconds_sum', CHAT)).toBeGreaterThan(0);
    expect(sample(all, 'conduit_gateway_overhead_seconds_count', CHAT)).toBe(2);
    // Overhead is what is left of the total once upstream time is taken out.
    const total = sample(all, 'gen_ai_server_request_duration_seconds_sum', gen)!;
    const up = sample(all, 'conduit_upstream_duration_seconds_sum', CHAT)!;
    expect(sample(all, 'conduit_gateway_overhead_seconds_sum', CHAT)).toBeCloseTo(total - up, 6);

    // (100×3 + 20×15 + 50×0.3) + (30×3 + 7×15) = 615 + 195 micro-dollars.
    expect(sample(all, 'conduit_cost_usd_total', CHAT)).toBeCloseTo(0.00081, 9);
    // Nothing in flight once the answers are in.
    expect(sample(all, 'conduit_requests_in_flight')).toBe(0);
  });

  it('labels upstream failures with the provider/model and error type, and requests that reached none with _none', async () => {
    upstream.enqueue(anthropicError(529, 'overloaded_error', 'Overloaded'));
    const failed = await request(gw.url)
      .post('/anthropic/v1/messages')
      .send({ model: `anthropic/${MODEL}`, max_tokens: 10, messages: [{ role: 'user', content: 'x' }] });
    expect(failed.status).toBe(529);
    const invalid = await request(gw.url).post('/anthropic/v1/messages').send({ model: MODEL, messages: [] });
    expect(invalid.status).toBe(400);

    const all = await scrape();
    expect(sample(all, 'conduit_requests_total', { ...CHAT, http_response_status_code: '529', error_type: 'overloaded_error' })).toBe(1);
    expect(
      sample(all, 'conduit_requests_total', {
        gen_ai_operation_name: 'chat',
        gen_ai_provider_name: '_none',
        gen_ai_request_model: '_none',
        http_response_status_code: '400',
        error_type: 'invalid_request_error',
      }),
    ).toBe(1);
  });

  it('counts a stream cut mid-way as a failure even though its status was 200', async () => {
    const cut = anthropicSseEvents(anthropicMessage({ model: MODEL, text: 'This answer will be cut short.' }), { textChunks: 5 });
    // Its continuation fails too: the stream ends with event: error.
    upstream.enqueue({ kind: 'sse', events: cut, cutAfter: 4 }, { kind: 'json', status: 503, body: { type: 'error', error: { type: 'overloaded_error', message: 'down' } } });
    const res = await request(gw.url)
      .post('/anthropic/v1/messages')
      .send({ model: MODEL, max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(200);
    expect(res.text).toContain('event: error');

    const all = await scrape();
    const failures = samples(all, 'conduit_requests_total', { ...CHAT, http_response_status_code: '200' }).filter(
      (s) => s.labels.error_type !== '',
    );
    expect(failures.map((s) => [s.labels.error_type, s.value])).toEqual([['api_error', 1]]);
    expect(sample(all, 'conduit_stream_continuations_total', { reason: 'cut', outcome: 'failed' })).toBe(1);
  });

  it('exposes the hooks routing and async jobs report to', async () => {
    const m = gw.gateway.metrics;
    m.retry('anthropic', MODEL);
    m.retry('anthropic', MODEL);
    m.fallback('anthropic', MODEL);
    m.breakerState('anthropic', MODEL, 'open');
    m.jobQueued();
    m.jobOutcome('succeeded');
    m.jobOutcome('failed');
    m.jobOutcome('succeeded');
    m.jobQueueDepth(3);

    const all = await scrape();
    expect(sample(all, 'conduit_retries_total', TARGET)).toBe(2);
    expect(sample(all, 'conduit_fallbacks_total', TARGET)).toBe(1);
    expect(sample(all, 'conduit_circuit_breaker_state', TARGET)).toBe(2);
    expect(sample(all, 'conduit_async_jobs_queued_total')).toBe(1);
    expect(sample(all, 'conduit_async_jobs_finished_total', { outcome: 'succeeded' })).toBe(2);
    expect(sample(all, 'conduit_async_jobs_finished_total', { outcome: 'failed' })).toBe(1);
    expect(sample(all, 'conduit_async_queue_depth')).toBe(3);

    m.breakerState('anthropic', MODEL, 'closed');
    expect(sample(await scrape(), 'conduit_circuit_breaker_state', TARGET)).toBe(0);
  });

  it('labels a model by name once configured or served; any other name is `_other`, and served names are capped', async () => {
    const { Metrics } = await import('../src/observability/metrics.js');
    const m = new Metrics({ maxTargets: 3 });
    m.configureModel('anthropic', 'configured');
    for (let i = 0; i < 10; i++) m.target('chat', 'anthropic', `made-up-${i}`).requests(404, 'not_found_error').inc();
    // Served models get their own label, up to the cap (the configured one counts towards it).
    for (let i = 0; i < 5; i++) m.served('anthropic', `real-${i}`);
    for (const model of ['configured', 'real-0', 'real-1', 'real-2', 'real-3']) m.target('chat', 'anthropic', model).requests(200, null).inc();
    m.target('count_tokens', 'anthropic', 'real-1').requests(200, null).inc();
    expect(m.target('count_tokens', 'anthropic', 'real-1')).not.toBe(m.target('chat', 'anthropic', 'real-1'));
    // Routing's counters and the breaker gauge follow the same rule.
    m.retry('anthropic', 'made-up-1');
    m.retry('anthropic', 'real-0');
    m.breakerState('anthropic', 'made-up-1', 'open');
    m.breakerState('anthropic', 'real-0', 'open');

    const all = parsePrometheus(await m.scrape());
    const models = new Set(samples(all, 'conduit_requests_total').map((s) => s.labels.gen_ai_request_model));
    expect([...models].sort()).toEqual(['_other', 'configured', 'real-0', 'real-1']);
    expect(sample(all, 'conduit_requests_total', { gen_ai_operation_name: 'chat', gen_ai_request_model: '_other', http_response_status_code: '404' })).toBe(10);
    // real-2 and real-3 served after the cap was reached.
    expect(sample(all, 'conduit_requests_total', { gen_ai_operation_name: 'chat', gen_ai_request_model: '_other', http_response_status_code: '200' })).toBe(2);
    expect(sample(all, 'conduit_requests_total', { gen_ai_operation_name: 'count_tokens', gen_ai_request_model: 'real-1' })).toBe(1);
    expect(samples(all, 'conduit_retries_total').map((s) => [s.labels.gen_ai_request_model, s.value])).toEqual([
      ['_other', 1],
      ['real-0', 1],
    ]);
    expect(samples(all, 'conduit_circuit_breaker_state').map((s) => s.labels.gen_ai_request_model)).toEqual(['real-0']);
  });
});
