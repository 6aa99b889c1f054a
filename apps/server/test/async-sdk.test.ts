import { AsyncTimeoutError, ConduitError, createConduitClient, getAsync, submitAsync, waitForAsync } from '@conduit/sdk';
import { anthropicError, anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { userBody, warmUp } from './helpers/async.js';

let upstream: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }], max_retries: 0 } },
  });
  await warmUp(gw.url);
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

describe('@conduit/sdk async helpers', () => {
  it('submitAsync → getAsync (pending) → waitForAsync (completed), typed by status', async () => {
    const client = createConduitClient({ baseUrl: gw.url, apiKey: 'client-key' });
    const expected = anthropicMessage({ id: 'msg_sdk', text: 'from the SDK' });
    upstream.enqueue({ kind: 'json', body: expected, delayMs: 500 });

    const job = await submitAsync(userBody('sdk'), { client, resultTtlSeconds: 60 });
    expect(job.status).toBe('queued');
    expect(job.id).toMatch(/^job_/);
    expect(job.message).toMatchObject({ id: job.id, content: [] });

    const pending = await getAsync(job.id, { client });
    expect(['queued', 'running']).toContain(pending.status);

    const done = await waitForAsync(job.id, { client, intervalMs: 50, timeoutMs: 8000 });
    expect(done.status).toBe('completed');
    if (done.status !== 'completed') throw new Error('unreachable');
    expect(done.message).toEqual(expected);
    expect(done.headers.get('x-bf-provider')).toBe('anthropic');
  });

  it('a failed job is a value with its ConduitError; unknown ids and refused submits throw', async () => {
    const client = createConduitClient({ baseUrl: gw.url, apiKey: 'client-key' });
    upstream.enqueue(anthropicError(400, 'invalid_request_error', 'bad prompt'));
    const job = await submitAsync(userBody('fails'), { client });
    const done = await waitForAsync(job.id, { client, intervalMs: 50, timeoutMs: 8000 });
    expect(done.status).toBe('failed');
    if (done.status !== 'failed') throw new Error('unreachable');
    expect(done.error).toBeInstanceOf(ConduitError);
    expect(done.error.status).toBe(400);
    expect(done.error.type).toBe('invalid_request_error');

    const other = createConduitClient({ baseUrl: gw.url, apiKey: 'other-key' });
    await expect(getAsync(job.id, { client: other })).rejects.toMatchObject({ status: 404, type: 'not_found_error' });
    await expect(submitAsync(userBody('x', { model: 'nosuch/m' }), { client })).rejects.toMatchObject({ status: 400 });
  });

  it('waitForAsync gives up after timeoutMs with AsyncTimeoutError', async () => {
    const client = createConduitClient({ baseUrl: gw.url, apiKey: 'client-key' });
    upstream.enqueue({ kind: 'hang' });
    const job = await submitAsync(userBody('never'), { client });
    const err = await waitForAsync(job.id, { client, intervalMs: 50, timeoutMs: 300 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AsyncTimeoutError);
    expect((err as AsyncTimeoutError).id).toBe(job.id);
  });
});
