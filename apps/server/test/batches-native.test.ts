import Anthropic from '@anthropic-ai/sdk';
import { anthropicError, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BATCHES, batchRequest, sdkResults, textOf, waitForBatch } from './helpers/batches.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';

/**
 * `batches: native`: a batch whose every request goes alone to that Anthropic provider is created
 * with the provider's own Message Batches API (half price) and served through Conduit's routes.
 */

let upstream: FakeUpstream;
let gw: RunningGateway;
let client: Anthropic;

const batchCalls = () => upstream.requests.filter((r) => r.path.startsWith('/v1/messages/batches'));
const messageCalls = () => upstream.requests.filter((r) => r.path === '/v1/messages');

beforeAll(async () => {
  upstream = await startFakeAnthropic({ batchProcessingMs: 300 });
  gw = await startGateway({
    default_provider: 'anthropic',
    models: { fast: { target: 'anthropic/claude-haiku-4-5' } },
    providers: {
      anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-native' }], batches: 'native', max_retries: 0 },
      other: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-other' }], max_retries: 0 },
    },
  });
  client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

describe('a batch passed through to the provider', () => {
  it('is created upstream with upstream model ids and the provider key, then tracked, listed and its results served', async () => {
    const created = await client.messages.batches.create({
      requests: [
        batchRequest('one', 'first', { model: 'anthropic/claude-sonnet-4-5' }),
        batchRequest('two', 'second', { model: 'fast', metadata: { user_id: 'u1' } }),
      ],
    });
    expect(created.id).toMatch(/^msgbatch_[A-Za-z0-9_-]{22}$/);
    expect(created.processing_status).toBe('in_progress');
    expectContractResponse(BATCHES, 'post', 200, created);

    const [create] = batchCalls();
    expect(create).toMatchObject({ method: 'POST', path: '/v1/messages/batches' });
    expect(create!.headers['x-api-key']).toBe('sk-native');
    expect(create!.body.requests).toEqual([
      { custom_id: 'one', params: { model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'first' }] } },
      { custom_id: 'two', params: { model: 'claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'second' }], metadata: { user_id: 'u1' } } },
    ]);
    // The gateway's own id, not the upstream's.
    expect(created.id).not.toMatch(/fake/);

    const ended = await waitForBatch(client, created.id);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 2, errored: 0, canceled: 0, expired: 0 });
    expect(ended.results_url).toBe(`${gw.url}${BATCHES}/${created.id}/results`);
    const lines = await sdkResults(client, created.id);
    expect(lines.map((l) => [l.custom_id, textOf(l)])).toEqual([
      ['one', 'batch echo first'],
      ['two', 'batch echo second'],
    ]);
    expect(messageCalls()).toEqual([]);

    const listed = await client.messages.batches.list();
    expect(listed.data.find((b) => b.id === created.id)?.processing_status).toBe('ended');
    const metrics = parsePrometheus((await request(gw.url).get('/metrics')).text);
    expect(sample(metrics, 'conduit_batches_created_total', { mode: 'native' })).toBeGreaterThanOrEqual(1);

    expect(await client.messages.batches.delete(created.id)).toEqual({ id: created.id, type: 'message_batch_deleted' });
    expect(batchCalls().at(-1)).toMatchObject({ method: 'DELETE', path: expect.stringMatching(/^\/v1\/messages\/batches\/msgbatch_fake\d+$/) });
    await expect(client.messages.batches.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it('cancel goes to the provider', async () => {
    const { id } = await client.messages.batches.create({ requests: [batchRequest('c', 'cancel me')] });
    const canceled = await client.messages.batches.cancel(id);
    expect(canceled.cancel_initiated_at).not.toBeNull();
    expect(batchCalls().map((r) => `${r.method} ${r.path.replace(/msgbatch_fake\d+/, 'ID')}`)).toEqual([
      'POST /v1/messages/batches',
      'POST /v1/messages/batches/ID/cancel',
    ]);
    const ended = await waitForBatch(client, id);
    expect(ended.request_counts.canceled).toBe(1);
    expect((await sdkResults(client, id)).map((l) => l.result.type)).toEqual(['canceled']);
  });

  it("another credential gets 404 and the provider is not asked", async () => {
    const { id } = await client.messages.batches.create({ requests: [batchRequest('mine', 'x')] });
    upstream.reset();
    const res = await request(gw.url).get(`${BATCHES}/${id}`).set('x-api-key', 'stranger');
    expect(res.status).toBe(404);
    expect(upstream.requests).toEqual([]);
  });

  it("the provider's refusal is the client's answer, and nothing is kept", async () => {
    upstream.setResponder((req) =>
      req.path === '/v1/messages/batches' ? anthropicError(429, 'rate_limit_error', 'too many batches in progress') : anthropicError(500, 'api_error', 'unexpected'),
    );
    const owner = new Anthropic({ apiKey: 'refused-owner', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    await expect(owner.messages.batches.create({ requests: [batchRequest('r', 'x')] })).rejects.toMatchObject({
      status: 429,
      error: { error: { type: 'rate_limit_error', message: 'too many batches in progress' } },
    });
    expect((await owner.messages.batches.list()).data).toEqual([]);
  });

  it('a batch with fallbacks, or on another provider, is run by the gateway instead', async () => {
    const withFallbacks = await client.messages.batches.create({
      requests: [batchRequest('f', 'with fallbacks', { model: 'anthropic/claude-sonnet-4-5', fallbacks: ['other/claude-haiku-4-5'] })],
    });
    await waitForBatch(client, withFallbacks.id);
    const mixed = await client.messages.batches.create({
      requests: [batchRequest('a', 'native one'), batchRequest('b', 'elsewhere', { model: 'other/claude-haiku-4-5' })],
    });
    await waitForBatch(client, mixed.id);
    expect(batchCalls()).toEqual([]);
    expect(messageCalls()).toHaveLength(3);
    expect((await sdkResults(client, mixed.id)).map((l) => l.result.type)).toEqual(['succeeded', 'succeeded']);
  });
});
