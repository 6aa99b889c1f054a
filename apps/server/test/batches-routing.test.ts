import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { anthropicError, anthropicMessage, openaiCompletion, startFakeAnthropic, startFakeOpenAI, type FakeUpstream, type RecordedRequest } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES, sleep, waitFor } from './helpers/async.js';
import { batchRequest, sdkResults, textOf, waitForBatch } from './helpers/batches.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';

/**
 * Each request of a batch runs through the normal plan: aliases, fallbacks, retries, any provider
 * type; a keyless provider gets the client's credential, which the store holds only sealed; batch
 * workers give way to live traffic.
 */

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let tmp: string;
const tagOf = (req: RecordedRequest) => String(req.body?.messages?.at(-1)?.content);

beforeAll(async () => {
  [anthropic, openai] = await Promise.all([startFakeAnthropic(), startFakeOpenAI()]);
  tmp = mkdtempSync(join(tmpdir(), 'conduit-batches-routing-'));
});
afterAll(async () => {
  await Promise.all([anthropic?.close(), openai?.close()]);
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  anthropic.reset();
  openai.reset();
});

async function scrape(gw: RunningGateway) {
  return parsePrometheus((await request(gw.url).get('/metrics')).text);
}

describe('a batch mixing providers, with a failing primary', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({
      async: { sweep_interval_ms: 100 },
      models: { smart: { target: 'primary/claude-x', fallbacks: ['backup/gpt-4o'] } },
      providers: {
        primary: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk-primary' }], max_retries: 1, retry: { base_ms: 1, max_ms: 1 } },
        backup: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: 'sk-backup' }] },
      },
    });
  }, 30_000);
  afterAll(() => gw?.close());

  it("its results show the fallback's answers, and the metrics count them", async () => {
    anthropic.setResponder(() => anthropicError(529, 'overloaded_error', 'primary is overloaded'));
    openai.setResponder((req) => ({
      kind: 'json',
      body: openaiCompletion({ model: String(req.body.model), content: `backup says ${tagOf(req)}` }),
    }));
    const client = new Anthropic({ apiKey: 'client', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    const { id } = await client.messages.batches.create({
      requests: [
        batchRequest('with-fallbacks', 'a', { model: 'primary/claude-x', fallbacks: ['backup/gpt-4o'] }),
        batchRequest('alias', 'b', { model: 'smart' }),
        batchRequest('direct-openai', 'c', { model: 'backup/gpt-4o-mini' }),
        batchRequest('no-fallback', 'd', { model: 'primary/claude-x' }),
      ] as never,
    });
    const ended = await waitForBatch(client, id);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 3, errored: 1, canceled: 0, expired: 0 });
    const lines = await sdkResults(client, id);
    expect(lines.map((l) => [l.custom_id, textOf(l) ?? l.result.type])).toEqual([
      ['with-fallbacks', 'backup says a'],
      ['alias', 'backup says b'],
      ['direct-openai', 'backup says c'],
      ['no-fallback', 'errored'],
    ]);
    // Translated from OpenAI: the answer is an Anthropic message from the backup's model.
    const first = lines[0]!.result;
    expect(first.type === 'succeeded' && first.message.model).toBe('gpt-4o');
    expect(first.type === 'succeeded' && first.message.role).toBe('assistant');
    // The primary was tried (and retried once) before each fallback.
    expect(anthropic.requests.filter((r) => tagOf(r) === 'a')).toHaveLength(2);
    expect(lines[3]!.result).toMatchObject({ type: 'errored', error: { type: 'error', error: { type: 'overloaded_error' } } });

    const metrics = await scrape(gw);
    expect(sample(metrics, 'conduit_batches_created_total', { mode: 'gateway' })).toBe(1);
    expect(sample(metrics, 'conduit_batch_requests_finished_total', { outcome: 'succeeded' })).toBe(3);
    expect(sample(metrics, 'conduit_batch_requests_finished_total', { outcome: 'errored' })).toBe(1);
    expect(sample(metrics, 'conduit_fallbacks_total', { gen_ai_provider_name: 'primary', gen_ai_request_model: 'claude-x' })).toBeGreaterThanOrEqual(2);
    expect(
      sample(metrics, 'conduit_requests_total', {
        gen_ai_operation_name: 'batch_create',
        gen_ai_provider_name: '_none',
        http_response_status_code: '200',
      }),
    ).toBe(1);
    await waitFor('the sweep to sample pending requests', async () => sample(await scrape(gw), 'conduit_batch_requests_pending') === 0);
  });
});

describe('a keyless provider: the client credential is forwarded, and stored only sealed', () => {
  it('reaches the upstream as sent; neither the database nor the results hold it in clear', async () => {
    const path = join(tmp, 'sealed.db');
    // This upstream takes a bearer token as well as x-api-key, as Anthropic's API does.
    const upstream = await startFakeAnthropic({ requireAuth: false });
    const gw = await startGateway({
      store: `sqlite:${path}`,
      async: { sweep_interval_ms: 100 },
      providers: { anthropic: { type: 'anthropic', base_url: upstream.url } },
    });
    try {
      const secret = 'sk-ant-client-secret-0123456789';
      upstream.setResponder((req) =>
        tagOf(req) === 'echo-key'
          ? anthropicError(400, 'invalid_request_error', `bad request from ${String(req.headers.authorization)}`)
          : { kind: 'json', body: anthropicMessage({ text: 'fine' }) },
      );
      const client = new Anthropic({ apiKey: secret, baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
      const { id } = await client.messages.batches.create({
        requests: [batchRequest('plain', 'hello'), batchRequest('leaky', 'echo-key')],
      });
      await waitForBatch(client, id);
      // The official SDK 1.x sends its key as a bearer token: forwarded the same way.
      expect(upstream.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${secret}`, `Bearer ${secret}`]);
      const lines = await sdkResults(client, id);
      expect(textOf(lines[0]!)).toBe('fine');
      // The upstream echoed the key: the stored result says [redacted].
      expect(lines[1]!.result).toMatchObject({ type: 'errored', error: { error: { message: 'bad request from Bearer [redacted]' } } });
      for (const file of readdirSync(tmp).filter((f) => f.startsWith('sealed.db'))) {
        expect(readFileSync(join(tmp, file)).includes(secret), file).toBe(false);
      }
    } finally {
      await gw.close();
      await upstream.close();
    }
  });
});

describe('batch workers give way to live traffic', () => {
  it('no batch request starts while live requests are above batches.yield_above_in_flight', async () => {
    const gw = await startGateway({
      async: { lease_ms: 400, sweep_interval_ms: 100 },
      batches: { concurrency: 2, yield_above_in_flight: 0 },
      providers: { anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk' }] } },
    });
    try {
      let release!: () => void;
      const liveHeld = new Promise<void>((resolve) => (release = resolve));
      let liveDoneAt = Infinity;
      anthropic.setResponder(async (req) => {
        if (tagOf(req) === 'live') {
          await liveHeld;
          liveDoneAt = Date.now();
        }
        return { kind: 'json', body: anthropicMessage({ text: `re ${tagOf(req)}` }) };
      });
      const live = request(gw.url).post(MESSAGES).set('x-api-key', 'k').send(batchRequest('x', 'live').params).then((r) => r);
      await waitFor('the live request upstream', () => anthropic.requests.length === 1);

      const client = new Anthropic({ apiKey: 'k', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
      const { id } = await client.messages.batches.create({ requests: [batchRequest('b1', 'one'), batchRequest('b2', 'two')] });
      await waitFor('the workers to hold back', async () => sample(await scrape(gw), 'conduit_batch_workers_held_back') === 1);
      // Several claim rounds (the pool looks for work every lease_ms / 2) go by: nothing starts.
      await sleep(600);
      expect(anthropic.requests.map(tagOf)).toEqual(['live']);
      expect(gw.gateway.batches.running).toBe(0);

      release();
      expect((await live).status).toBe(200);
      await waitForBatch(client, id);
      const batchCalls = anthropic.requests.filter((r) => tagOf(r) !== 'live');
      expect(batchCalls.map(tagOf).sort()).toEqual(['one', 'two']);
      // Each started only once the live request was over.
      for (const call of batchCalls) expect(call.at).toBeGreaterThanOrEqual(liveDoneAt);
      expect(sample(await scrape(gw), 'conduit_batch_workers_held_back')).toBe(0);
    } finally {
      await gw.close();
    }
  });
});

describe('metrics name each batch operation', () => {
  it('every batch route has its own gen_ai_operation_name, also when refused before its handler', async () => {
    const gw = await startGateway({ providers: { anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk' }] } } });
    try {
      const key = { 'x-api-key': 'k' };
      const unknown = `/anthropic/v1/messages/batches/msgbatch_${'A'.repeat(22)}`;
      expect((await request(gw.url).get('/anthropic/v1/messages/batches?limit=0').set(key)).status).toBe(400);
      expect((await request(gw.url).get('/anthropic/v1/messages/batches').set(key)).status).toBe(200);
      expect((await request(gw.url).post('/anthropic/v1/messages/batches').set(key).send({})).status).toBe(400);
      expect((await request(gw.url).get(unknown).set(key)).status).toBe(404);
      expect((await request(gw.url).post(`${unknown}/cancel`).set(key)).status).toBe(404);
      expect((await request(gw.url).delete(unknown).set(key)).status).toBe(404);
      expect((await request(gw.url).get(`${unknown}/results`).set(key)).status).toBe(404);
      const metrics = await scrape(gw);
      const count = (operation: string, status: string) =>
        sample(metrics, 'conduit_requests_total', { gen_ai_operation_name: operation, gen_ai_provider_name: '_none', http_response_status_code: status });
      expect(count('batch_list', '400')).toBe(1);
      expect(count('batch_list', '200')).toBe(1);
      expect(count('batch_create', '400')).toBe(1);
      expect(count('batch_get', '404')).toBe(1);
      expect(count('batch_cancel', '404')).toBe(1);
      expect(count('batch_delete', '404')).toBe(1);
      expect(count('batch_results', '404')).toBe(1);
    } finally {
      await gw.close();
    }
  });
});
