import Anthropic from '@anthropic-ai/sdk';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream, type RecordedRequest } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/config/schema.js';
import { REDIS_URL, deleteRedisPrefix, sleep, testPrefix, waitFor } from './helpers/async.js';
import { BATCHES, batchRequest, sdkResults, textOf, waitForBatch } from './helpers/batches.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

/**
 * The official @anthropic-ai/sdk's messages.batches (and beta.messages.batches) against Conduit,
 * with each store: create, retrieve, list with paging, cancel, delete, results.
 */

let upstream: FakeUpstream;
const tagOf = (req: RecordedRequest) => String(req.body?.messages?.at(-1)?.content);
/** Each request's answer names its prompt. */
const echo = (delayMs = 0) => (req: RecordedRequest) => ({
  kind: 'json' as const,
  body: anthropicMessage({ model: String(req.body?.model), text: `echo ${tagOf(req)}` }),
  delayMs,
});

beforeAll(async () => {
  upstream = await startFakeAnthropic();
});
afterAll(async () => {
  await upstream?.close();
});
afterEach(() => upstream.reset());

type StoreKind = 'sqlite' | 'redis';

function config(kind: StoreKind, prefix: string): Omit<ConfigInput, 'listen'> {
  return {
    store: kind === 'sqlite' ? 'sqlite::memory:' : REDIS_URL,
    async: { lease_ms: 2000, sweep_interval_ms: 100, redis_prefix: prefix },
    batches: { concurrency: 4 },
    default_provider: 'anthropic',
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-upstream' }], max_retries: 0 } },
  };
}

describe.each<StoreKind>(['sqlite', 'redis'])('Message Batches with the official SDK, %s store', (kind) => {
  const prefix = testPrefix();
  let gw: RunningGateway;
  let client: Anthropic;

  beforeAll(async () => {
    gw = await startGateway(config(kind, prefix));
    client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
  }, 30_000);
  afterAll(async () => {
    await gw?.close();
    if (kind === 'redis') await deleteRedisPrefix(prefix);
  });

  it('create → retrieve until ended → results: every request answered, in order, as the messages route would', async () => {
    upstream.setResponder(echo());
    const created = await client.messages.batches.create({
      requests: [batchRequest('first', 'one'), batchRequest('second', 'two'), batchRequest('third', 'three')],
    });
    expect(created.id).toMatch(/^msgbatch_[A-Za-z0-9_-]{22}$/);
    expect(created.type).toBe('message_batch');
    expect(['in_progress', 'ended']).toContain(created.processing_status);
    const sum = Object.values(created.request_counts).reduce((a, b) => a + b, 0);
    expect(sum).toBe(3);
    expect(Date.parse(created.expires_at) - Date.parse(created.created_at)).toBe(24 * 3600 * 1000);
    expect(created.archived_at).toBeNull();
    expect(created.cancel_initiated_at).toBeNull();

    const ended = await waitForBatch(client, created.id);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: 3, errored: 0, canceled: 0, expired: 0 });
    expect(ended.ended_at).not.toBeNull();
    expect(ended.results_url).toBe(`${gw.url}${BATCHES}/${created.id}/results`);
    expectContractResponse(`${BATCHES}/{message_batch_id}`, 'get', 200, ended);

    const lines = await sdkResults(client, created.id);
    expect(lines.map((l) => l.custom_id)).toEqual(['first', 'second', 'third']);
    expect(lines.map(textOf)).toEqual(['echo one', 'echo two', 'echo three']);
    // Each request went upstream like a messages call: the upstream model id, the provider's key.
    expect(upstream.requests.map((r) => r.body.model)).toEqual(['claude-sonnet-4-5', 'claude-sonnet-4-5', 'claude-sonnet-4-5']);
    expect(upstream.requests.every((r) => r.headers['x-api-key'] === 'sk-upstream')).toBe(true);
    for (const line of lines) expect(line.result.type === 'succeeded' && line.result.message.model).toBe('claude-sonnet-4-5');
  });

  it('the results are JSON Lines in the contract, one line per request', async () => {
    upstream.setResponder(echo());
    const { id } = await client.messages.batches.create({ requests: [batchRequest('a', 'x'), batchRequest('b', 'y')] });
    await waitForBatch(client, id);
    const res = await request(gw.url).get(`${BATCHES}/${id}/results`).set('x-api-key', 'client-key').buffer(true).parse((r, cb) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => cb(null, text));
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-jsonl/);
    const text = res.body as string;
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    const { contract } = await import('./helpers/contract.js');
    for (const line of lines) expect(contract.validateSchema('MessageBatchIndividualResponse', JSON.parse(line))).toEqual([]);
  });

  it('an upstream failure is an errored line with the envelope the sync call would have answered', async () => {
    upstream.setResponder((req) =>
      tagOf(req) === 'bad'
        ? { kind: 'json', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long' } } }
        : echo()(req),
    );
    const { id } = await client.messages.batches.create({ requests: [batchRequest('ok', 'fine'), batchRequest('ko', 'bad')] });
    const ended = await waitForBatch(client, id);
    expect(ended.request_counts).toMatchObject({ succeeded: 1, errored: 1 });
    const [ok, ko] = await sdkResults(client, id);
    expect(textOf(ok!)).toBe('echo fine');
    expect(ko!.result).toEqual({
      type: 'errored',
      error: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long' }, request_id: expect.stringMatching(/^req_/) },
    });
  });

  it('list pages newest first with limit, after_id and before_id (SDK auto-paging too)', async () => {
    const lister = new Anthropic({ apiKey: `lister-${kind}`, baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    upstream.setResponder(echo());
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await lister.messages.batches.create({ requests: [batchRequest(`r${i}`, `t${i}`)] })).id);
    const newestFirst = [...ids].reverse();
    const page = await lister.messages.batches.list({ limit: 2 });
    expect(page.data.map((b) => b.id)).toEqual(newestFirst.slice(0, 2));
    expect(page.has_more).toBe(true);
    expect(page.first_id).toBe(newestFirst[0]);
    expect(page.last_id).toBe(newestFirst[1]);
    const next = await page.getNextPage();
    expect(next.data.map((b) => b.id)).toEqual(newestFirst.slice(2, 4));
    const all: string[] = [];
    for await (const batch of lister.messages.batches.list({ limit: 2 })) all.push(batch.id);
    expect(all).toEqual(newestFirst);
    const back = await lister.messages.batches.list({ limit: 2, before_id: newestFirst[4] });
    expect(back.data.map((b) => b.id)).toEqual(newestFirst.slice(2, 4));
    const raw = await request(gw.url).get(`${BATCHES}?limit=2`).set('x-api-key', `lister-${kind}`);
    expectContractResponse(BATCHES, 'get', 200, raw.body);
    // Another credential sees none of them.
    const other = new Anthropic({ apiKey: 'nobody', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    expect((await other.messages.batches.list()).data).toEqual([]);
  });

  it('cancel: what has not started ends canceled, a running request finishes; then delete', async () => {
    // The first request is held upstream while the batch is cancelled.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    upstream.setResponder(async (req) => {
      if (tagOf(req) === 'slow') await held;
      return echo()(req);
    });
    const slowGw = await startGateway({ ...config(kind, `${prefix}-cancel`), batches: { concurrency: 1 } });
    try {
      const sdk = new Anthropic({ apiKey: 'client-key', baseURL: slowGw.anthropicBaseUrl, maxRetries: 0 });
      const { id } = await sdk.messages.batches.create({
        requests: [batchRequest('slow', 'slow'), batchRequest('b', 'b'), batchRequest('c', 'c')],
      });
      await waitFor('the first request upstream', () => upstream.requests.length === 1);
      const canceling = await sdk.messages.batches.cancel(id);
      expect(canceling.processing_status).toBe('canceling');
      expect(canceling.cancel_initiated_at).not.toBeNull();
      expect(canceling.request_counts).toEqual({ processing: 1, succeeded: 0, errored: 0, canceled: 2, expired: 0 });
      expectContractResponse(`${BATCHES}/{message_batch_id}/cancel`, 'post', 200, canceling);
      // Not ended yet: results and delete are refused.
      const early = await request(slowGw.url).get(`${BATCHES}/${id}/results`).set('x-api-key', 'client-key');
      expect(early.status).toBe(409);
      expect(early.body.error.type).toBe('conflict_error');
      await expect(sdk.messages.batches.delete(id)).rejects.toMatchObject({ status: 409 });

      release();
      const ended = await waitForBatch(sdk, id);
      expect(ended.request_counts).toEqual({ processing: 0, succeeded: 1, errored: 0, canceled: 2, expired: 0 });
      expect((await sdkResults(sdk, id)).map((l) => [l.custom_id, l.result.type])).toEqual([
        ['slow', 'succeeded'],
        ['b', 'canceled'],
        ['c', 'canceled'],
      ]);
      expect(upstream.requests).toHaveLength(1);
      // Cancelling an ended batch changes nothing.
      expect((await sdk.messages.batches.cancel(id)).processing_status).toBe('ended');

      const deleted = await sdk.messages.batches.delete(id);
      expect(deleted).toEqual({ id, type: 'message_batch_deleted' });
      await expect(sdk.messages.batches.retrieve(id)).rejects.toMatchObject({ status: 404 });
      await expect(sdk.messages.batches.delete(id)).rejects.toMatchObject({ status: 404 });
    } finally {
      release();
      await slowGw.close();
      if (kind === 'redis') await deleteRedisPrefix(`${prefix}-cancel`);
    }
  });

  it('the beta variants (client.beta.messages.batches) work the same, anthropic-beta reaching the upstream', async () => {
    upstream.setResponder(echo());
    const created = await client.beta.messages.batches.create({
      requests: [batchRequest('beta-1', 'b1')],
      betas: ['message-batches-2024-09-24'],
    });
    const ended = await (async () => {
      for (;;) {
        const b = await client.beta.messages.batches.retrieve(created.id, { betas: ['message-batches-2024-09-24'] });
        if (b.processing_status === 'ended') return b;
        await sleep(50);
      }
    })();
    expect(ended.request_counts.succeeded).toBe(1);
    const lines = [];
    for await (const line of await client.beta.messages.batches.results(created.id)) lines.push(line);
    expect(lines.map((l) => l.custom_id)).toEqual(['beta-1']);
    expect(upstream.requests[0]!.headers['anthropic-beta']).toBe('message-batches-2024-09-24');
    const listed = await client.beta.messages.batches.list({ limit: 1 });
    expect(listed.data[0]!.id).toBe(created.id);
    // Older SDKs and Claude-style clients add ?beta=true.
    const withQuery = await request(gw.url).get(`${BATCHES}/${created.id}?beta=true`).set('x-api-key', 'client-key');
    expect(withQuery.status).toBe(200);
    const cancel = await client.beta.messages.batches.cancel(created.id);
    expect(cancel.processing_status).toBe('ended');
    expect(await client.beta.messages.batches.delete(created.id)).toEqual({ id: created.id, type: 'message_batch_deleted' });
  });

  it("a batch belongs to the credential that created it: any other gets 404, wherever it asks", async () => {
    upstream.setResponder(echo());
    const { id } = await client.messages.batches.create({ requests: [batchRequest('mine', 'x')] });
    await waitForBatch(client, id);
    const stranger = new Anthropic({ apiKey: 'someone-else', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    await expect(stranger.messages.batches.retrieve(id)).rejects.toMatchObject({ status: 404 });
    await expect(stranger.messages.batches.cancel(id)).rejects.toMatchObject({ status: 404 });
    await expect(stranger.messages.batches.delete(id)).rejects.toMatchObject({ status: 404 });
    const results = await request(gw.url).get(`${BATCHES}/${id}/results`).set('x-api-key', 'someone-else');
    expect(results.status).toBe(404);
    expect(results.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    // The same key as a bearer token is the same owner.
    const bearer = await request(gw.url).get(`${BATCHES}/${id}`).set('authorization', 'Bearer client-key');
    expect(bearer.status).toBe(200);
    // Unknown and malformed ids look the same.
    expect((await request(gw.url).get(`${BATCHES}/msgbatch_nope`).set('x-api-key', 'client-key')).status).toBe(404);
  });
});
