import { request as httpRequest, type IncomingMessage } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream, type RecordedRequest } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix, REDIS_URL, sleep, testPrefix, waitFor } from './helpers/async.js';
import { BATCHES, batchRequest, sdkResults, waitForBatch } from './helpers/batches.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { RESULTS_PAGE, RESULTS_PAGE_CHARS } from '../src/jobs/batches/http.js';

/** A batch's life after it is created: expiry, retention, and results streamed as they are read. */

let upstream: FakeUpstream;
const tagOf = (req: RecordedRequest) => String(req.body?.messages?.at(-1)?.content);

beforeAll(async () => {
  upstream = await startFakeAnthropic({ record: true });
});
afterAll(() => upstream?.close());
afterEach(() => upstream.reset());

const provider = () => ({ anthropic: { type: 'anthropic' as const, base_url: upstream.url, keys: [{ value: 'sk' }], max_retries: 0 } });

describe('expiry and retention', () => {
  it('at expires_at the requests not done end expired, those running are cut; the batch ends', async () => {
    const gw = await startGateway({
      async: { lease_ms: 300, sweep_interval_ms: 50 },
      batches: { concurrency: 1, expiry_s: 1 },
      providers: provider(),
    });
    try {
      // The upstream never answers: the one running request is cut at expiry.
      upstream.setResponder(() => ({ kind: 'hang' }));
      const client = new Anthropic({ apiKey: 'k', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
      const created = await client.messages.batches.create({ requests: [batchRequest('a', '1'), batchRequest('b', '2'), batchRequest('c', '3')] });
      const ended = await waitForBatch(client, created.id, 10_000);
      expect(ended.request_counts).toEqual({ processing: 0, succeeded: 0, errored: 0, canceled: 0, expired: 3 });
      expect(Date.parse(ended.ended_at!)).toBeGreaterThanOrEqual(Date.parse(created.expires_at));
      expect((await sdkResults(client, created.id)).map((l) => l.result.type)).toEqual(['expired', 'expired', 'expired']);
      // Only the first request was ever started.
      expect(upstream.requests.map(tagOf)).toEqual(['1']);
    } finally {
      await gw.close();
    }
  });

  it('after results_ttl_s the results are gone and archived_at is set; after archived_ttl_s the batch is gone', async () => {
    const gw = await startGateway({
      async: { sweep_interval_ms: 50 },
      batches: { expiry_s: 1, results_ttl_s: 1, archived_ttl_s: 1 },
      providers: provider(),
    });
    try {
      upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'kept a while' }) }));
      const client = new Anthropic({ apiKey: 'k', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
      const { id } = await client.messages.batches.create({ requests: [batchRequest('a', '1')] });
      const ended = await waitForBatch(client, id);
      expect(ended.archived_at).toBeNull();
      expect(await sdkResults(client, id)).toHaveLength(1);

      await waitFor('the batch to be archived', async () => (await client.messages.batches.retrieve(id)).archived_at !== null, 5_000);
      const archived = await client.messages.batches.retrieve(id);
      expect(archived.results_url).toBeNull();
      expect(archived.processing_status).toBe('ended');
      const results = await request(gw.url).get(`${BATCHES}/${id}/results`).set('x-api-key', 'k');
      expect(results.status).toBe(404);
      expect(results.body.error.message).toMatch(/is archived: its results were deleted/);

      await waitFor('the archived batch to be deleted', async () => (await request(gw.url).get(`${BATCHES}/${id}`).set('x-api-key', 'k')).status === 404, 5_000);
      expect((await client.messages.batches.list()).data).toEqual([]);
    } finally {
      await gw.close();
    }
  });
});

describe('results are streamed, not buffered', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ batches: { concurrency: 16 }, providers: provider() });
  }, 30_000);
  afterAll(() => gw?.close());

  it('the store is read a page at a time, as fast as the client reads: a client that stops reading stops the reads', async () => {
    // 2,500 results of about 16 kB: 40 MB, far more than the sockets' buffers hold.
    const COUNT = 2_500;
    const text = 'x'.repeat(16_000);
    upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text }) }));
    const client = new Anthropic({ apiKey: 'k', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    const { id } = await client.messages.batches.create({
      requests: Array.from({ length: COUNT }, (_, i) => batchRequest(`r${i}`, String(i))),
    });
    await waitForBatch(client, id, 60_000);

    // Count the store's result pages as the download reads them.
    const store = await gw.gateway.batches.store;
    const read = store.results.bind(store);
    let pages = 0;
    store.results = (...args) => {
      pages++;
      return read(...args);
    };
    try {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        httpRequest(`${gw.url}${BATCHES}/${id}/results`, { headers: { 'x-api-key': 'k' } }, resolve).on('error', reject).end();
      });
      expect(res.statusCode).toBe(200);
      let bytes = 0;
      const firstChunk = new Promise<void>((resolve) => res.once('data', (c: Buffer) => ((bytes += c.length), resolve())));
      await firstChunk;
      res.pause();
      // The gateway writes a page, then waits for the client to take it: with the client paused,
      // it stays at the page or two the sockets' buffers hold, not all five.
      await sleep(1_000);
      expect(pages).toBeGreaterThanOrEqual(1);
      expect(pages).toBeLessThanOrEqual(2);

      let lines = 0;
      let tail = '';
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        const s = tail + c.toString();
        const parts = s.split('\n');
        tail = parts.pop()!;
        lines += parts.length;
      });
      res.resume();
      await new Promise<void>((resolve) => res.once('end', resolve));
      // The first chunk's lines were not counted above; the total is what matters.
      expect(bytes).toBeGreaterThan(COUNT * 16_000);
      expect(pages).toBe(6);
      expect(lines).toBeGreaterThan(COUNT - 10);
    } finally {
      store.results = read;
    }
  }, 90_000);
});

describe('a page of results holds at most RESULTS_PAGE_CHARS (but for its first line)', () => {
  const prefix = testPrefix();
  afterAll(() => deleteRedisPrefix(prefix));

  for (const store of ['sqlite', 'redis'] as const) {
    it(`${store}: 520 short answers then 30 of a megabyte, in the order sent, in pages that never pass the bound`, async () => {
      const gw = await startGateway({
        batches: { concurrency: 8 },
        ...(store === 'redis' ? { store: REDIS_URL, async: { redis_prefix: prefix } } : {}),
        providers: provider(),
      });
      try {
        const big = 'y'.repeat(1_000_000);
        upstream.setResponder((req: RecordedRequest) => ({ kind: 'json', body: anthropicMessage({ text: Number(req.body.messages[0].content) >= 520 ? big : 'short' }) }));
        const client = new Anthropic({ apiKey: 'k', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
        const COUNT = 550;
        const { id } = await client.messages.batches.create({ requests: Array.from({ length: COUNT }, (_, i) => batchRequest(`r${i}`, String(i))) });
        await waitForBatch(client, id, 60_000);
        const service = gw.gateway.batches;
        const read = service.results.bind(service);
        const pages: number[][] = [];
        service.results = async (...args) => {
          const page = await read(...args);
          pages.push(page.map((r) => r.line.length + 1));
          return page;
        };
        try {
          const ids = (await sdkResults(client, id)).map((r) => r.custom_id);
          expect(ids).toEqual(Array.from({ length: COUNT }, (_, i) => `r${i}`));
        } finally {
          service.results = read;
        }
        expect(pages.at(-1)).toEqual([]);
        expect(pages[0]).toHaveLength(RESULTS_PAGE);
        for (const page of pages) if (page.length > 1) expect(page.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(RESULTS_PAGE_CHARS);
        // 20 short lines and 8 of a megabyte, then 8 a page.
        expect(pages.slice(1, -1).map((p) => p.length)).toEqual([28, 8, 8, 6]);
      } finally {
        await gw.close();
      }
    }, 90_000);
  }
});
