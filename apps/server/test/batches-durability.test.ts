import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream, type RecordedRequest } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_URL, deleteRedisPrefix, testPrefix, waitFor } from './helpers/async.js';
import { BATCHES, batchRequest, waitForBatchHttp } from './helpers/batches.js';
import { ensureBuilt, spawnGateway, type ChildGateway } from './helpers/child-gateway.js';

/**
 * The real CLI in child processes, killed with SIGKILL in the middle of a batch: no drain, no
 * cleanup. After a restart (or on another instance sharing the store) every request of the batch
 * ends succeeded, exactly once in the results.
 */

let dir: string;
let upstream: FakeUpstream;
const children: ChildGateway[] = [];
const KEY = { 'x-api-key': 'client-key' };

const tagOf = (req: RecordedRequest) => String(req.body?.messages?.at(-1)?.content);
const echo = (delayMs: number) => (req: RecordedRequest) => ({
  kind: 'json' as const,
  body: anthropicMessage({ text: `echo ${tagOf(req)}` }),
  delayMs,
});

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conduit-batch-durable-'));
  upstream = await startFakeAnthropic();
}, 120_000);
afterEach(() => upstream.reset());
afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function start(name: string, config: Record<string, unknown>): Promise<ChildGateway> {
  const child = await spawnGateway(join(dir, `${name}.yaml`), config);
  children.push(child);
  return child;
}

function provider(instance: string) {
  return { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }], max_retries: 0, headers: { 'x-test-instance': instance } };
}

async function createBatch(url: string, count: number): Promise<string> {
  const requests = Array.from({ length: count }, (_, i) => batchRequest(`req-${i}`, `t${i}`));
  const res = await request(url).post(BATCHES).set(KEY).send({ requests });
  if (res.status !== 200) throw new Error(`create answered ${res.status}: ${res.text}`);
  return res.body.id as string;
}

/** Every result line, parsed. */
async function resultLines(url: string, id: string): Promise<any[]> {
  const res = await request(url)
    .get(`${BATCHES}/${id}/results`)
    .set(KEY)
    .buffer(true)
    .parse((r, cb) => {
      let text = '';
      r.on('data', (c: Buffer) => (text += c.toString()));
      r.on('end', () => cb(null, text));
    });
  expect(res.status).toBe(200);
  return (res.body as string)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** Each request once, succeeded, with its own answer. */
function expectEachSucceededOnce(lines: any[], count: number): void {
  expect(lines).toHaveLength(count);
  expect(new Set(lines.map((l) => l.custom_id)).size).toBe(count);
  lines.forEach((line, i) => {
    expect(line.custom_id).toBe(`req-${i}`);
    expect(line.result.type).toBe('succeeded');
    expect(line.result.message.content).toEqual([{ type: 'text', text: `echo t${i}` }]);
  });
}

describe('SQLite: kill -9 in the middle of a batch', () => {
  it('after a restart on the same database, every request ends succeeded exactly once', async () => {
    const COUNT = 120;
    const config = {
      store: `sqlite:${join(dir, 'batches.db')}`,
      async: { lease_ms: 600, sweep_interval_ms: 200 },
      batches: { concurrency: 4 },
      providers: { anthropic: provider('sqlite') },
    };
    upstream.setResponder(echo(150));
    const first = await start('sqlite-first', config);
    const id = await createBatch(first.url, COUNT);
    // Some requests done, four under way: then the process dies.
    await waitFor('some requests done', () => upstream.requests.filter((r) => r.progress.finished).length >= 12, 20_000);
    await first.kill();
    const before = upstream.requests.length;
    expect(before).toBeLessThan(COUNT);

    const second = await start('sqlite-second', config);
    const ended = await waitForBatchHttp(second.url, id, KEY, 60_000);
    expect(ended.request_counts).toEqual({ processing: 0, succeeded: COUNT, errored: 0, canceled: 0, expired: 0 });
    expectEachSucceededOnce(await resultLines(second.url, id), COUNT);
    // At least once: the requests under way at the kill ran again; none ran more than twice.
    const calls = new Map<string, number>();
    for (const r of upstream.requests) calls.set(tagOf(r), (calls.get(tagOf(r)) ?? 0) + 1);
    expect(calls.size).toBe(COUNT);
    expect(Math.max(...calls.values())).toBeLessThanOrEqual(2);
    await second.stop();
  }, 90_000);
});

describe('Redis: two instances share one batch', () => {
  const prefix = testPrefix();
  afterAll(() => deleteRedisPrefix(prefix));
  const config = (instance: string) => ({
    store: REDIS_URL,
    async: { lease_ms: 1000, sweep_interval_ms: 200, redis_prefix: prefix },
    batches: { concurrency: 2 },
    providers: { anthropic: provider(instance) },
  });

  it('both run requests of a batch created on one; kill -9 one, the other finishes: each request once', async () => {
    const COUNT = 60;
    upstream.setResponder(echo(100));
    const [a, b] = await Promise.all([start('redis-a', config('A')), start('redis-b', config('B'))]);
    const id = await createBatch(a.url, COUNT);
    const instanceOf = (r: RecordedRequest) => r.headers['x-test-instance'];
    await waitFor('both instances at work', () => upstream.requests.some((r) => instanceOf(r) === 'A') && upstream.requests.some((r) => instanceOf(r) === 'B'), 20_000);
    await a.kill();

    const ended = await waitForBatchHttp(b.url, id, KEY, 60_000);
    expect(ended.request_counts.succeeded).toBe(COUNT);
    expectEachSucceededOnce(await resultLines(b.url, id), COUNT);
    // Ownership holds across instances.
    expect((await request(b.url).get(`${BATCHES}/${id}`).set('x-api-key', 'someone-else')).status).toBe(404);
    await b.stop();
  }, 90_000);
});
