import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream, type RecordedRequest } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, spawnGateway, type ChildGateway } from './helpers/child-gateway.js';
import { REDIS_URL, deleteRedisPrefix, pollJob, pollUntilDone, submitJob, testPrefix, userBody, waitFor, warmUp } from './helpers/async.js';

/**
 * The real CLI in child processes, killed with SIGKILL mid-work: no drain, no cleanup, like a
 * crash. Every job submitted before the crash must still complete.
 */

let dir: string;
let upstream: FakeUpstream;
const children: ChildGateway[] = [];

const tagOf = (req: RecordedRequest) => String(req.body?.messages?.at(-1)?.content);
/** Each job's answer names its prompt, so a result can be matched to its job. */
const echo = (delayMs: number) => (req: RecordedRequest) => ({
  kind: 'json' as const,
  body: anthropicMessage({ id: `msg_${tagOf(req)}`, text: `echo ${tagOf(req)}` }),
  delayMs,
});

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conduit-durable-'));
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
  // The instance header tells the upstream which gateway process made each call.
  return { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }], max_retries: 0, headers: { 'x-test-instance': instance } };
}

describe('SQLite: kill -9 with jobs queued and running', () => {
  it('after a restart on the same database every job completes', async () => {
    const config = {
      store: `sqlite:${join(dir, 'jobs.db')}`,
      async: { concurrency: 2, lease_ms: 600 },
      providers: { anthropic: provider('sqlite') },
    };
    upstream.setResponder(echo(800));
    const first = await start('sqlite-first', config);
    await warmUp(first.url);
    const tags = ['j0', 'j1', 'j2', 'j3', 'j4'];
    const ids: string[] = [];
    for (const tag of tags) ids.push(await submitJob(first.url, userBody(tag)));

    await waitFor('two jobs running', () => upstream.requests.length === 2);
    const statuses = await Promise.all(ids.map(async (id) => (await pollJob(first.url, id)).headers['x-bf-async-status']));
    expect(statuses.filter((s) => s === 'running')).toHaveLength(2);
    expect(statuses.filter((s) => s === 'queued')).toHaveLength(3);
    await first.kill();
    const interrupted = upstream.requests.map(tagOf);

    const second = await start('sqlite-second', config);
    for (const [i, id] of ids.entries()) {
      const done = await pollUntilDone(second.url, id, 15_000);
      expect(done.status, second.output()).toBe(200);
      expect(done.body.content).toEqual([{ type: 'text', text: `echo ${tags[i]}` }]);
    }
    // At-least-once: the two interrupted jobs ran again, the queued ones once.
    const calls = upstream.requests.map(tagOf);
    for (const tag of tags) expect(calls.filter((t) => t === tag)).toHaveLength(interrupted.includes(tag) ? 2 : 1);
    await second.stop();
  }, 45_000);
});

describe('Redis: two instances sharing a prefix', () => {
  const prefix = testPrefix();
  let a: ChildGateway;
  let b: ChildGateway;
  const config = (instance: string) => ({
    store: REDIS_URL,
    async: { concurrency: 2, lease_ms: 1000, redis_prefix: prefix },
    providers: { anthropic: provider(instance) },
  });

  beforeAll(async () => {
    [a, b] = await Promise.all([start('redis-a', config('A')), start('redis-b', config('B'))]);
    await Promise.all([warmUp(a.url), warmUp(b.url)]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.kill(), b?.kill()]);
    await deleteRedisPrefix(prefix);
  });

  it('a job submitted on A is answered on B (and on A)', async () => {
    upstream.setResponder(echo(0));
    const id = await submitJob(a.url, userBody('shared'));
    const onB = await pollUntilDone(b.url, id);
    expect(onB.status).toBe(200);
    expect(onB.body.content).toEqual([{ type: 'text', text: 'echo shared' }]);
    const onA = await pollJob(a.url, id);
    expect(onA.status).toBe(200);
    expect(onA.text).toBe(onB.text);
    // Ownership holds across instances too.
    expect((await pollJob(b.url, id, { 'x-api-key': 'someone-else' })).status).toBe(404);
  }, 20_000);

  it('kill -9 A while it runs jobs: B takes them over once their lease lapses, none is lost', async () => {
    upstream.setResponder(echo(1500));
    const tags = ['r0', 'r1', 'r2', 'r3'];
    const ids: string[] = [];
    for (const tag of tags) ids.push(await submitJob(a.url, userBody(tag)));
    // B runs at most two at a time, so A holds at least one of the four.
    await waitFor('A to run a job', () => upstream.requests.some((r) => r.headers['x-test-instance'] === 'A'));
    await a.kill();
    const onA = upstream.requests.filter((r) => r.headers['x-test-instance'] === 'A').map(tagOf);
    expect(onA.length).toBeGreaterThan(0);

    for (const [i, id] of ids.entries()) {
      const done = await pollUntilDone(b.url, id, 20_000);
      expect(done.status, b.output()).toBe(200);
      expect(done.body.content).toEqual([{ type: 'text', text: `echo ${tags[i]}` }]);
    }
    // What A was running when it died, B ran again.
    const onB = upstream.requests.filter((r) => r.headers['x-test-instance'] === 'B').map(tagOf);
    for (const tag of onA) expect(onB).toContain(tag);
  }, 45_000);
});
