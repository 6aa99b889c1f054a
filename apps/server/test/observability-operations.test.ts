import { anthropicError, anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { MESSAGES, pollJob, submitJob, userBody, waitFor } from './helpers/async.js';
import { parsePrometheus, sample, samples, type PromSample } from './helpers/prometheus.js';

/**
 * /metrics tells the gateway's operations apart: chat, count_tokens, list_models, async_submit and
 * async_poll each have their own series (gen_ai_operation_name), labelled with the provider/model
 * the request resolved to, or `_none` when it names none.
 */

const MODEL = 'claude-sonnet-4-5';
const HAIKU = 'claude-haiku-4-5';
const COUNT_TOKENS = '/anthropic/v1/messages/count_tokens';
const NONE = { gen_ai_provider_name: '_none', gen_ai_request_model: '_none' };
const SONNET = { gen_ai_provider_name: 'anthropic', gen_ai_request_model: MODEL };
const op = (name: string, target: Record<string, string>) => ({ gen_ai_operation_name: name, ...target });

let upstream: FakeUpstream;
let gw: RunningGateway;
let all: PromSample[];
/** Every conduit_requests_total sample as "operation provider/model status error_type" → value. */
let requestCounts: Record<string, number>;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    pricing: { [`anthropic/${MODEL}`]: { input_per_mtok: 3, output_per_mtok: 15 } },
    // `fast` is an alias: count_tokens is labelled with what it resolves to.
    models: { fast: { target: `anthropic/${HAIKU}` } },
    providers: {
      anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-upstream-key' }], max_retries: 0, models: [MODEL, HAIKU] },
      backup: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-backup-key' }], max_retries: 0 },
    },
  });
  const url = gw.url;
  const key = { 'x-api-key': 'client-key' };

  // One chat call, with known usage.
  upstream.enqueue({ kind: 'json', body: anthropicMessage({ model: MODEL, text: 'Hi', usage: { input_tokens: 100, output_tokens: 20 } }) });
  expect((await request(url).post(MESSAGES).set(key).send(userBody('Hello'))).status).toBe(200);

  // count_tokens: through an alias; failed by the provider; unknown provider; rejected by validation.
  const counted = await request(url).post(COUNT_TOKENS).set(key).send({ model: 'fast', messages: [{ role: 'user', content: 'Count me' }] });
  expect(counted.status).toBe(200);
  expect(typeof counted.body.input_tokens).toBe('number');
  expect(upstream.requests.at(-1)!.body.model).toBe(HAIKU);
  upstream.enqueue(anthropicError(529, 'overloaded_error', 'Overloaded'));
  const overloaded = await request(url).post(COUNT_TOKENS).set(key).send({ model: MODEL, messages: [{ role: 'user', content: 'x' }] });
  expect(overloaded.status).toBe(529);
  expect((await request(url).post(COUNT_TOKENS).set(key).send({ model: 'nope/x', messages: [{ role: 'user', content: 'x' }] })).status).toBe(400);
  expect((await request(url).post(COUNT_TOKENS).set(key).send({ model: MODEL })).status).toBe(400);

  // Model listings: one answered, one rejected by validation.
  const listed = await request(url).get('/anthropic/v1/models').set(key);
  expect(listed.status).toBe(200);
  expect(listed.body.data.map((m: { id: string }) => m.id)).toContain(`anthropic/${MODEL}`);
  expect((await request(url).get('/anthropic/v1/models?limit=0').set(key)).status).toBe(400);

  // An async job whose upstream call waits until released: one poll while pending, one once done.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  upstream.setResponder(async () => {
    await gate;
    return { kind: 'json', body: anthropicMessage({ model: MODEL, text: 'Done later', usage: { input_tokens: 5, output_tokens: 3 } }) };
  });
  // The first target of the plan labels the submit, not the fallback.
  const id = await submitJob(url, userBody('Later', { fallbacks: [`backup/${HAIKU}`] }));
  expect((await pollJob(url, id)).status).toBe(202);
  release();
  await waitFor('the job to finish', async () => (await gw.gateway.jobs.get(id))?.outcome !== undefined);
  const done = await pollJob(url, id);
  expect(done.status).toBe(200);
  expect(done.body.content[0].text).toBe('Done later');
  upstream.setResponder(null);

  // Polls that name no job of the caller's; submits refused before a target is known.
  expect((await pollJob(url, id, { 'x-api-key': 'someone-else' })).status).toBe(404);
  expect((await pollJob(url, 'job_AAAAAAAAAAAAAAAAAAAAAA')).status).toBe(404);
  expect((await request(url).post(MESSAGES).set({ ...key, 'x-bf-async': 'true' }).send(userBody('x', { model: 'nope/x' }))).status).toBe(400);
  expect((await request(url).post(MESSAGES).set({ ...key, 'x-bf-async': 'true' }).send({ model: MODEL, messages: [] })).status).toBe(400);

  // A route that does not exist.
  expect((await request(url).get('/anthropic/v1/nothing-here').set(key)).status).toBe(404);

  const scraped = await request(url).get('/metrics');
  expect(scraped.status).toBe(200);
  all = parsePrometheus(scraped.text);
  requestCounts = {};
  for (const s of samples(all, 'conduit_requests_total')) {
    const l = s.labels;
    requestCounts[`${l.gen_ai_operation_name} ${l.gen_ai_provider_name}/${l.gen_ai_request_model} ${l.http_response_status_code} ${l.error_type}`] = s.value;
  }
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('/metrics by operation', () => {
  it('counts every request under its operation and the provider/model it resolved to', () => {
    expect(requestCounts).toEqual({
      'chat anthropic/claude-sonnet-4-5 200 ': 1,
      'chat _none/_none 404 not_found_error': 1,
      'count_tokens anthropic/claude-haiku-4-5 200 ': 1,
      'count_tokens anthropic/claude-sonnet-4-5 529 overloaded_error': 1,
      'count_tokens _none/_none 400 invalid_request_error': 2,
      'list_models _none/_none 200 ': 1,
      'list_models _none/_none 400 invalid_request_error': 1,
      'async_submit anthropic/claude-sonnet-4-5 202 ': 1,
      'async_submit _none/_none 400 invalid_request_error': 2,
      'async_poll anthropic/claude-sonnet-4-5 202 ': 1,
      'async_poll anthropic/claude-sonnet-4-5 200 ': 1,
      'async_poll _none/_none 404 not_found_error': 2,
    });
  });

  it('keeps the chat series to chat calls: tokens, durations, upstream time and cost of the one call', () => {
    const chat = op('chat', SONNET);
    expect(sample(all, 'gen_ai_server_request_duration_seconds_count', chat)).toBe(1);
    expect(sample(all, 'gen_ai_client_token_usage_sum', { ...chat, gen_ai_token_type: 'input' })).toBe(100);
    expect(sample(all, 'gen_ai_client_token_usage_sum', { ...chat, gen_ai_token_type: 'output' })).toBe(20);
    expect(sample(all, 'conduit_upstream_duration_seconds_count', chat)).toBe(1);
    expect(sample(all, 'conduit_gateway_overhead_seconds_count', chat)).toBe(1);
    // 100×3 + 20×15 micro-dollars; the async job's tokens are not the submit's or the poll's.
    expect(sample(all, 'conduit_cost_usd_total', chat)).toBeCloseTo(0.0006, 9);
    expect(samples(all, 'conduit_cost_usd_total').filter((s) => s.value !== 0)).toHaveLength(1);
  });

  it('times count_tokens calls as upstream calls, without token usage', () => {
    const haiku = op('count_tokens', { gen_ai_provider_name: 'anthropic', gen_ai_request_model: HAIKU });
    expect(sample(all, 'gen_ai_server_request_duration_seconds_count', haiku)).toBe(1);
    expect(sample(all, 'conduit_upstream_duration_seconds_count', haiku)).toBe(1);
    expect(sample(all, 'conduit_upstream_duration_seconds_sum', haiku)).toBeGreaterThan(0);
    expect(sample(all, 'conduit_upstream_duration_seconds_count', op('count_tokens', SONNET))).toBe(1);
    expect(sample(all, 'gen_ai_client_token_usage_count', { ...haiku, gen_ai_token_type: 'input' })).toBe(0);
    expect(sample(all, 'gen_ai_server_request_duration_seconds_count', op('count_tokens', NONE))).toBe(2);
  });

  it('gives model listings and async submits and polls their own durations, and no upstream time', () => {
    expect(sample(all, 'gen_ai_server_request_duration_seconds_count', op('list_models', NONE))).toBe(2);
    expect(sample(all, 'gen_ai_server_request_duration_seconds_count', op('async_submit', SONNET))).toBe(1);
    expect(sample(all, 'gen_ai_server_request_duration_seconds_count', op('async_poll', SONNET))).toBe(2);
    expect(sample(all, 'conduit_gateway_overhead_seconds_count', op('async_poll', SONNET))).toBe(2);
    expect(sample(all, 'conduit_upstream_duration_seconds_count', op('async_submit', SONNET))).toBe(0);
    expect(sample(all, 'conduit_upstream_duration_seconds_count', op('async_poll', SONNET))).toBe(0);
    // The submit is labelled with the plan's first target, not its fallback.
    expect(samples(all, 'conduit_requests_total', { gen_ai_provider_name: 'backup' })).toEqual([]);
  });
});
