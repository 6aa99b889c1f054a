import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { anthropicError, anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/config/schema.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { expectContractResponse } from './helpers/contract.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';
import {
  MESSAGES,
  REDIS_URL,
  deleteRedisPrefix,
  pollJob,
  pollUntilDone,
  sleep,
  submitJob,
  testPrefix,
  userBody,
  waitFor,
  warmUp,
} from './helpers/async.js';

let upstream: FakeUpstream;
let tmp: string;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  tmp = mkdtempSync(join(tmpdir(), 'conduit-async-jobs-'));
});
afterAll(async () => {
  await upstream?.close();
  rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => upstream.reset());

type StoreKind = 'sqlite' | 'redis';

function gatewayConfig(kind: StoreKind, prefix: string, asyncOverrides: Record<string, unknown> = {}): Omit<ConfigInput, 'listen'> {
  return {
    store: kind === 'sqlite' ? 'sqlite::memory:' : REDIS_URL,
    async: { lease_ms: 2000, sweep_interval_ms: 200, redis_prefix: prefix, ...asyncOverrides },
    default_provider: 'anthropic',
    providers: {
      anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-upstream-key' }], max_retries: 0 },
      backup: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-backup-key' }], max_retries: 0 },
    },
  };
}

describe.each<StoreKind>(['sqlite', 'redis'])('async jobs with the %s store', (kind) => {
  const prefix = testPrefix();
  let gw: RunningGateway;
  let client: Anthropic;

  beforeAll(async () => {
    gw = await startGateway(gatewayConfig(kind, prefix));
    await warmUp(gw.url);
    client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
  });
  afterAll(async () => {
    await gw?.close();
    if (kind === 'redis') await deleteRedisPrefix(prefix);
  });

  it('submit → poll → complete through the official SDK: 202 with the job id, then the upstream Message', async () => {
    const expected = anthropicMessage({ id: 'msg_async_1', model: 'claude-sonnet-4-5', text: 'Done in the background.' });
    upstream.enqueue({ kind: 'json', body: expected });
    const params = { model: 'anthropic/claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user' as const, content: 'Hi' }] };

    const submitted = await client.messages.create(params, { headers: { 'x-bf-async': 'true' } }).withResponse();
    expect(submitted.response.status).toBe(202);
    const id = submitted.response.headers.get('x-bf-async-id')!;
    expect(id).toMatch(/^job_[A-Za-z0-9_-]{22}$/);
    expect(submitted.response.headers.get('x-bf-async-status')).toBe('queued');
    expect(submitted.data).toEqual({
      id,
      type: 'message',
      role: 'assistant',
      content: [],
      model: 'anthropic/claude-sonnet-4-5',
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    });
    expectContractResponse(MESSAGES, 'post', 202, submitted.data);

    // Poll the way an SDK user would: the same call, the body sent again, plus x-bf-async-id.
    let polled = await client.messages.create(params, { headers: { 'x-bf-async-id': id } }).withResponse();
    for (let i = 0; polled.response.status === 202 && i < 100; i++) {
      expect(polled.data.content).toEqual([]);
      await sleep(50);
      polled = await client.messages.create(params, { headers: { 'x-bf-async-id': id } }).withResponse();
    }
    expect(polled.response.status).toBe(200);
    expect(polled.data).toEqual(expected);
    expectContractResponse(MESSAGES, 'post', 200, polled.data);
    expect(polled.response.headers.get('x-bf-async-id')).toBe(id);
    expect(polled.response.headers.get('x-bf-async-status')).toBe('completed');
    expect(polled.response.headers.get('x-bf-provider')).toBe('anthropic');
    expect(polled.response.headers.get('x-bf-model')).toBe('claude-sonnet-4-5');

    // Ran once, with the configured key; polls never reach the upstream.
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]!.body.model).toBe('claude-sonnet-4-5');
    expect(upstream.requests[0]!.headers['x-api-key']).toBe('sk-upstream-key');
  });

  it('a job still running answers 202 with empty content; polls with an empty or unrelated body work', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'slow answer' }), delayMs: 1000 });
    const id = await submitJob(gw.url, userBody('take your time'));
    await waitFor('the upstream call', () => upstream.requests.length === 1);

    const pending = await pollJob(gw.url, id);
    expect(pending.status).toBe(202);
    expect(pending.headers['x-bf-async-status']).toBe('running');
    expect(pending.headers['x-bf-async-id']).toBe(id);
    expect(pending.body).toMatchObject({ id, content: [], stop_reason: null, model: 'anthropic/claude-sonnet-4-5' });
    expectContractResponse(MESSAGES, 'post', 202, pending.body);

    // A body that is no CreateMessageRequest at all is ignored on a poll.
    const withJunk = await pollJob(gw.url, id).send({ hello: 'world' });
    expect(withJunk.status).toBe(202);

    const done = await pollUntilDone(gw.url, id);
    expect(done.status).toBe(200);
    expect(done.body.content).toEqual([{ type: 'text', text: 'slow answer' }]);
  });

  it('the polled result is exactly the sync answer, fallbacks and all', async () => {
    const backupMessage = anthropicMessage({ id: 'msg_from_backup', model: 'claude-backup', text: 'from the fallback' });
    upstream.setResponder((req) =>
      req.body.model === 'claude-primary' ? anthropicError(500, 'api_error', 'primary is down') : { kind: 'json', body: backupMessage },
    );
    const body = userBody('fall back please', { model: 'anthropic/claude-primary', fallbacks: ['backup/claude-backup'] });

    const sync = await request(gw.url).post(MESSAGES).set('x-api-key', 'client-key').send(body);
    expect(sync.status).toBe(200);
    const id = await submitJob(gw.url, body);
    const polled = await pollUntilDone(gw.url, id);

    expect(polled.status).toBe(200);
    expect(polled.text).toBe(sync.text);
    const bfHeaders = (h: Record<string, string>) =>
      Object.fromEntries(Object.entries(h).filter(([k]) => k.startsWith('x-bf-') && !k.startsWith('x-bf-async')));
    expect(bfHeaders(polled.headers)).toEqual(bfHeaders(sync.headers));
    expect(polled.headers['x-bf-provider']).toBe('backup');
    expect(polled.headers['x-bf-fallback-index']).toBe('1');
    expect(polled.headers['x-bf-attempts']).toBe('2');
  });

  it('a failed job answers with the error the sync call gives, status and envelope, marked not to retry', async () => {
    upstream.setResponder(() => anthropicError(400, 'invalid_request_error', 'messages.0.content: too many images'));
    const body = userBody('bad request');
    const sync = await request(gw.url).post(MESSAGES).set('x-api-key', 'client-key').send(body);
    expect(sync.status).toBe(400);

    const id = await submitJob(gw.url, body);
    const polled = await pollUntilDone(gw.url, id);
    expect(polled.status).toBe(400);
    expect(polled.headers['x-bf-async-status']).toBe('failed');
    expect(polled.headers['x-should-retry']).toBe('false');
    expect(polled.body.error).toEqual(sync.body.error);
    expect(polled.body.request_id).toBe(polled.headers['request-id']);
    expectContractResponse(MESSAGES, 'post', 400, polled.body);
    // The failure is stored: a second poll gives it again without another upstream call.
    const calls = upstream.requests.length;
    const again = await pollJob(gw.url, id);
    expect(again.status).toBe(400);
    expect(again.body.error).toEqual(sync.body.error);
    expect(upstream.requests.length).toBe(calls);
  });

  it('a result lives x-bf-async-job-result-ttl seconds from completion, then 404', async () => {
    // The job runs longer than its TTL: expiry counts from completion, not from submit.
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'short-lived' }), delayMs: 1200 });
    const id = await submitJob(gw.url, userBody('ttl'), { 'x-bf-async-job-result-ttl': '1' });
    const done = await pollUntilDone(gw.url, id);
    expect(done.status).toBe(200);
    const completedAt = Date.now();

    await sleep(Math.max(0, completedAt + 1100 - Date.now()));
    const expired = await pollJob(gw.url, id);
    expect(expired.status).toBe(404);
    expect(expired.body.error.type).toBe('not_found_error');
    expect(expired.headers['x-bf-async-status']).toBeUndefined();
    expectContractResponse(MESSAGES, 'post', 404, expired.body);
  });

  it('a job belongs to the credential that submitted it: any other gets 404, the same key as a bearer token works', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'for alice only' }) });
    const id = await submitJob(gw.url, userBody('secret'), { 'x-api-key': 'alice-key' });

    const asBob = await pollJob(gw.url, id, { 'x-api-key': 'bob-key' });
    expect(asBob.status).toBe(404);
    expect(asBob.body.error.type).toBe('not_found_error');
    const anonymous = await pollJob(gw.url, id, {});
    expect(anonymous.status).toBe(404);
    // The answer does not tell "someone else's" from "unknown".
    const unknown = await pollJob(gw.url, 'job_AAAAAAAAAAAAAAAAAAAAAA', { 'x-api-key': 'bob-key' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toBe(asBob.body.error.message);

    const asAlice = await pollUntilDone(gw.url, id, 8_000, { authorization: 'Bearer alice-key' });
    expect(asAlice.status).toBe(200);
    expect(asAlice.body.content[0].text).toBe('for alice only');
  });

  it('jobs are counted on /metrics: accepted, finished by outcome, queue depth', async () => {
    const scrape = async () => parsePrometheus((await request(gw.url).get('/metrics')).text);
    const before = await scrape();
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'counted' }) });
    const id = await submitJob(gw.url, userBody('count me'));
    expect((await pollUntilDone(gw.url, id)).status).toBe(200);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(delta('conduit_async_jobs_queued_total')).toBe(1);
    expect(delta('conduit_async_jobs_finished_total', { outcome: 'completed' })).toBe(1);
    expect(sample(after, 'conduit_async_queue_depth')).toBeDefined();
  });

  it('an orderly stop hands a running job straight back to the queue; the next instance runs it', async () => {
    const store = kind === 'sqlite' ? `sqlite:${join(tmp, 'handback.db')}` : REDIS_URL;
    // A long lease: only an explicit hand-back lets the job run again within the test.
    const config = { ...gatewayConfig(kind, `${prefix}-handback`, { lease_ms: 60_000 }), store };
    const first = await startGateway(config);
    let second: RunningGateway | undefined;
    try {
      upstream.enqueue({ kind: 'hang' }, { kind: 'json', body: anthropicMessage({ text: 'second time lucky' }) });
      const id = await submitJob(first.url, userBody('hand me back'));
      await waitFor('the job to start', () => upstream.requests.length === 1);
      await first.close();
      second = await startGateway(config);
      const done = await pollUntilDone(second.url, id);
      expect(done.status).toBe(200);
      expect(done.body.content[0].text).toBe('second time lucky');
      expect(upstream.requests).toHaveLength(2);
    } finally {
      await second?.close();
      if (kind === 'redis') await deleteRedisPrefix(`${prefix}-handback`);
    }
  }, 30_000);

  it('past max_queued waiting jobs a submit gets 429 rate_limit_error with retry-after', async () => {
    const small = await startGateway(gatewayConfig(kind, `${prefix}-small`, { concurrency: 1, max_queued: 1 }));
    try {
      upstream.setResponder(() => ({ kind: 'hang' }));
      const running = await submitJob(small.url, userBody('first'));
      await waitFor('the first job to run', async () => (await pollJob(small.url, running)).headers['x-bf-async-status'] === 'running');
      const queued = await submitJob(small.url, userBody('second'));
      expect((await pollJob(small.url, queued)).headers['x-bf-async-status']).toBe('queued');

      const refused = await request(small.url).post(MESSAGES).set({ 'x-api-key': 'client-key', 'x-bf-async': 'true' }).send(userBody('third'));
      expect(refused.status).toBe(429);
      expect(refused.body.error.type).toBe('rate_limit_error');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['x-bf-async-id']).toBeUndefined();
      expectContractResponse(MESSAGES, 'post', 429, refused.body);
      expect(upstream.requests).toHaveLength(1);
    } finally {
      await small.close();
      if (kind === 'redis') await deleteRedisPrefix(`${prefix}-small`);
    }
  }, 30_000);

  it('past async.max_queued_mb of waiting requests a submit gets 429 naming the limit; a job always fits an empty queue', async () => {
    const small = await startGateway(gatewayConfig(kind, `${prefix}-bytes`, { concurrency: 1, max_queued: 100, max_queued_mb: 0.25 }));
    try {
      upstream.setResponder(() => ({ kind: 'hang' }));
      const running = await submitJob(small.url, userBody('first'));
      await waitFor('the first job to run', async () => (await pollJob(small.url, running)).headers['x-bf-async-status'] === 'running');
      // 300 KB, more than the whole 256 KB: nothing waits, so it is queued ...
      const big = await submitJob(small.url, userBody('x'.repeat(300 * 1024)));
      expect((await pollJob(small.url, big)).headers['x-bf-async-status']).toBe('queued');
      // ... and nothing fits beside it.
      const refused = await request(small.url).post(MESSAGES).set({ 'x-api-key': 'client-key', 'x-bf-async': 'true' }).send(userBody('small'));
      expect(refused.status).toBe(429);
      expect(refused.body.error.type).toBe('rate_limit_error');
      expect(refused.body.error.message).toMatch(/async queue is full \(.*0\.25 MB, async\.max_queued_mb\)/);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.headers['x-bf-async-id']).toBeUndefined();
      expectContractResponse(MESSAGES, 'post', 429, refused.body);
      expect(await small.gateway.jobs.depth()).toMatchObject({ queued: 1 });
    } finally {
      await small.close();
      if (kind === 'redis') await deleteRedisPrefix(`${prefix}-bytes`);
    }
  }, 30_000);
  it('while the results kept hold async.max_results_mb a submit gets 429 naming the limit; the results are still served, and room comes back as they expire', async () => {
    const small = await startGateway(gatewayConfig(kind, `${prefix}-results`, { max_results_mb: 0.01 }));
    try {
      // Each answer is about 6 KB: the first two fit under 10 KB when they are submitted, and fill it.
      upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'r'.repeat(6 * 1024) }) }));
      const kept = await submitJob(small.url, userBody('first'));
      expect((await pollUntilDone(small.url, kept)).status).toBe(200);
      const expiring = await submitJob(small.url, userBody('second'), { 'x-bf-async-job-result-ttl': '3' });
      expect((await pollUntilDone(small.url, expiring)).status).toBe(200);

      const refused = await request(small.url).post(MESSAGES).set({ 'x-api-key': 'client-key', 'x-bf-async': 'true' }).send(userBody('third'));
      expect(refused.status).toBe(429);
      expect(refused.body.error.type).toBe('rate_limit_error');
      expect(refused.body.error.message).toMatch(/async result store is full \(.*0\.01 MB, async\.max_results_mb\); retry later/);
      expect(refused.headers['retry-after']).toBe('60');
      expect(refused.headers['x-bf-async-id']).toBeUndefined();
      expectContractResponse(MESSAGES, 'post', 429, refused.body);
      expect(upstream.requests).toHaveLength(2);
      // Nothing accepted is lost: both results are served; a sync call is not held to the limit.
      expect((await pollJob(small.url, kept)).status).toBe(200);
      expect((await pollJob(small.url, expiring)).status).toBe(200);
      expect((await request(small.url).post(MESSAGES).set({ 'x-api-key': 'client-key' }).send(userBody('sync'))).status).toBe(200);

      // The second result expires: its room comes back (SQLite: at the sweep; Redis: at the next submit).
      let accepted: request.Response | undefined;
      await waitFor(
        'a submit to be accepted again',
        async () => {
          const res = await request(small.url).post(MESSAGES).set({ 'x-api-key': 'client-key', 'x-bf-async': 'true' }).send(userBody('fourth'));
          if (res.status === 202) accepted = res;
          else {
            expect(res.status).toBe(429);
            await sleep(100);
          }
          return accepted !== undefined;
        },
        10_000,
      );
      expect((await pollJob(small.url, expiring)).status).toBe(404);
      expect((await pollUntilDone(small.url, accepted!.headers['x-bf-async-id']!)).status).toBe(200);
    } finally {
      await small.close();
      if (kind === 'redis') await deleteRedisPrefix(`${prefix}-results`);
    }
  }, 30_000);
});

describe('async job requests the gateway refuses at submit', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(gatewayConfig('sqlite', 'unused'));
    await warmUp(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
  });

  const post = (headers: Record<string, string>, body: object) =>
    request(gw.url).post(MESSAGES).set({ 'x-api-key': 'client-key', ...headers }).send(body);

  it('stream: true with x-bf-async: true → 400 invalid_request_error, nothing queued', async () => {
    const res = await post({ 'x-bf-async': 'true' }, userBody('x', { stream: true }));
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
    expect(res.body.error.message).toMatch(/stream/);
    expect(res.headers['x-bf-async-id']).toBeUndefined();
    expectContractResponse(MESSAGES, 'post', 400, res.body);
    expect(await gw.gateway.jobs.depth()).toEqual({ queued: 0, running: 0 });
  });

  it('an x-bf-async value other than true/false → 400 naming the header', async () => {
    const res = await post({ 'x-bf-async': 'yes' }, userBody('x'));
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
    expect(res.body.error.message).toContain('x-bf-async');
  });

  it.each(['0', '-5', '1.5', 'soon', '86401', '99999999999999999999999'])('x-bf-async-job-result-ttl: %s → 400 naming the header', async (ttl) => {
    const res = await post({ 'x-bf-async': 'true', 'x-bf-async-job-result-ttl': ttl }, userBody('x'));
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
    expect(res.body.error.message).toContain('x-bf-async-job-result-ttl');
  });

  it('a model no provider serves is refused at submit, like a sync call', async () => {
    const res = await post({ 'x-bf-async': 'true' }, userBody('x', { model: 'nosuch/model-1' }));
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('nosuch');
    const fallback = await post({ 'x-bf-async': 'true' }, userBody('x', { fallbacks: ['nosuch/model-2'] }));
    expect(fallback.status).toBe(400);
    expect(await gw.gateway.jobs.depth()).toEqual({ queued: 0, running: 0 });
    expect(upstream.requests).toHaveLength(0);
  });

  it('a body the contract rejects is refused at submit', async () => {
    const res = await post({ 'x-bf-async': 'true' }, { model: 'anthropic/claude-sonnet-4-5', messages: [] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toContain('max_tokens');
  });

  it('x-bf-async: false is an ordinary sync call', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ id: 'msg_sync', text: 'now' }) });
    const res = await post({ 'x-bf-async': 'false' }, userBody('x'));
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('msg_sync');
    expect(res.headers['x-bf-async-id']).toBeUndefined();
  });

  it('polling an id that was never issued → 404 not_found_error', async () => {
    for (const id of ['job_0123456789abcdefghijkl', 'not-a-job-id']) {
      const res = await pollJob(gw.url, id);
      expect(res.status).toBe(404);
      expect(res.body.error.type).toBe('not_found_error');
      expectContractResponse(MESSAGES, 'post', 404, res.body);
    }
  });
});
