import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MESSAGES } from './helpers/async.js';
import { BATCHES, batchRequest } from './helpers/batches.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

/**
 * A batch is checked as it arrives: every request as the messages route checks a body, plus the
 * batch's own rules and limits. The first refusal answers 400 (or 413, 429) naming the request, and
 * nothing of the batch is kept or run.
 */

let upstream: FakeUpstream;
let gw: RunningGateway;
const KEY = { 'x-api-key': 'client-key' };

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    body_limit: '4kb',
    batches: { max_requests: 5, body_limit: '16kb', max_pending_requests: 8 },
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }] } },
  });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

/** A raw POST: supertest re-encodes Buffer bodies sent as JSON. */
function post(headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${gw.url}${BATCHES}`, { method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const submit = (body: unknown, headers: Record<string, string> = KEY) => request(gw.url).post(BATCHES).set(headers).send(body as object);

async function refused(body: unknown, status = 400): Promise<string> {
  const res = await submit(body);
  expect(res.status, res.text).toBe(status);
  expectContractResponse(BATCHES, 'post', status, res.body);
  return res.body.error.message as string;
}

/** The batch route's refusal of `params` as its second request, and the messages route's refusal of it as a body. */
async function bothRefusals(params: Record<string, unknown>): Promise<{ batch: string; messages: string }> {
  const messages = await request(gw.url).post(MESSAGES).set(KEY).send(params);
  expect(messages.status, messages.text).toBe(400);
  const batch = await refused({ requests: [batchRequest('ok', 'fine'), { custom_id: 'second', params }] });
  return { batch, messages: messages.body.error.message };
}

describe('creating a batch: each request is checked as the messages route checks a body', () => {
  const valid = batchRequest('x', 'y').params;
  // Contract refusals name each field ("; " between them); the others are one sentence.
  it.each<[string, 'fields' | 'sentence', Record<string, unknown>]>([
    ['a missing field', 'fields', { model: 'anthropic/m', messages: [{ role: 'user', content: 'hi' }] }],
    ['a wrong type', 'fields', { ...valid, max_tokens: 'many' }],
    ['a block of a known kind missing a field', 'fields', { ...valid, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', data: 'xx' } }] }] }],
    ['a value outside an enum', 'fields', { ...valid, messages: [{ role: 'system', content: 'x' }] }],
    ['a closed union given an unknown kind', 'fields', { ...valid, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'ftp', url: 'x' } }] }] }],
    ['a model id with control characters', 'fields', { ...valid, model: 'anthropic/claude\nx' }],
    ['a string fallback that is no provider/model', 'fields', { ...valid, fallbacks: ['no-slash'] }],
    ['empty content', 'sentence', { ...valid, messages: [{ role: 'user', content: '' }] }],
    ['an unknown provider', 'sentence', { ...valid, model: 'nowhere/model' }],
    ['a fallback on an unknown provider', 'sentence', { ...valid, fallbacks: ['nowhere/model'] }],
  ])('%s: the same verdict, named as requests.1.params', async (_what, form, params) => {
    const { batch, messages } = await bothRefusals(params);
    const issues = form === 'fields' ? messages.split('; ') : [messages];
    expect(batch).toBe(issues.map((issue) => `requests.1.params.${issue}`).join('; '));
  });

  it('a request the messages route accepts (unknown fields, unknown block kinds) is accepted', async () => {
    const params = {
      ...batchRequest('x', 'y').params,
      future_field: { anything: true },
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'tool_reference_2099', whatever: 1 }] }],
    };
    const res = await submit({ requests: [{ custom_id: 'open', params }] });
    expect(res.status, res.text).toBe(200);
    expectContractResponse(BATCHES, 'post', 200, res.body);
  });
});

describe("creating a batch: the batch's own rules", () => {
  it('custom_id: required, 1 to 64 of [a-zA-Z0-9_-], unique within the batch', async () => {
    expect(await refused({ requests: [{ params: batchRequest('a', 'b').params }] })).toBe("requests.0.custom_id: must have required property 'custom_id'");
    expect(await refused({ requests: [batchRequest('has space', 'x')] })).toMatch(/^requests\.0\.custom_id: must match pattern/);
    expect(await refused({ requests: [batchRequest('x'.repeat(65), 'x')] })).toMatch(/^requests\.0\.custom_id: must NOT have more than 64 characters/);
    expect(await refused({ requests: [batchRequest('', 'x')] })).toMatch(/^requests\.0\.custom_id: must NOT have fewer than 1 characters/);
    expect(await refused({ requests: [batchRequest('a', '1'), batchRequest('b', '2'), batchRequest('a', '3')] })).toBe(
      'requests.2.custom_id: "a" is the custom_id of requests.0 too; each must be unique within the batch',
    );
    expect(await refused({ requests: [{ custom_id: 'p' }] })).toBe("requests.0.params: must have required property 'params'");
  });

  it('stream: true and max_tokens: 0 are refused in a batch', async () => {
    expect(await refused({ requests: [batchRequest('s', 'x', { stream: true })] })).toMatch(/^requests\.0\.params\.stream: streaming is not supported in a batch/);
    expect(await refused({ requests: [batchRequest('z', 'x', { max_tokens: 0 })] })).toMatch(/^requests\.0\.params\.max_tokens: must be at least 1 in a batch/);
  });

  it('the body: a JSON object with a list of 1 to batches.max_requests requests', async () => {
    expect(await refused({})).toMatch(/requests: must have required property 'requests'/);
    expect(await refused({ requests: [] })).toBe('requests: must NOT have fewer than 1 items');
    expect(await refused({ requests: 'all' })).toMatch(/^requests: must be an array/);
    const six = Array.from({ length: 6 }, (_, i) => batchRequest(`r${i}`, `${i}`));
    expect(await refused({ requests: six })).toBe('requests: must NOT have more than 5 items (batches.max_requests)');
    const text = await request(gw.url).post(BATCHES).set({ ...KEY, 'content-type': 'text/plain' }).send('hello');
    expect(text.status).toBe(400);
    expect(text.body.error.message).toMatch(/request body: required/);
    const broken = await request(gw.url).post(BATCHES).set({ ...KEY, 'content-type': 'application/json' }).send('{"requests": [{"custom_id": "a", "params": {');
    expect(broken.status).toBe(400);
    expect(broken.body.error.message).toMatch(/not valid JSON/);
  });

  it('413 for a batch over batches.body_limit, and for one request over body_limit', async () => {
    const big = Array.from({ length: 5 }, (_, i) => batchRequest(`r${i}`, 'x'.repeat(3500)));
    const whole = await submit({ requests: big });
    expect(whole.status).toBe(413);
    expect(whole.body.error).toEqual({ type: 'request_too_large', message: expect.stringMatching(/batches\.body_limit/) });
    const one = await submit({ requests: [batchRequest('a', 'x'), batchRequest('b', 'x'.repeat(5000))] });
    expect(one.status).toBe(413);
    expect(one.body.error.message).toMatch(/requests\.1: over 4096 bytes \(body_limit/);
  });

  it('a gzip body is read as it inflates; one that does not inflate is a 400', async () => {
    const gzip = { ...KEY, 'content-type': 'application/json', 'content-encoding': 'gzip' };
    const ok = await post(gzip, gzipSync(JSON.stringify({ requests: [batchRequest('gz', 'zipped')] })));
    expect(ok.status, ok.text).toBe(200);
    expect(JSON.parse(ok.text).request_counts.processing + JSON.parse(ok.text).request_counts.succeeded).toBe(1);
    const corrupt = await post(gzip, Buffer.from('this is not gzip at all'));
    expect(corrupt.status).toBe(400);
    expect(JSON.parse(corrupt.text).error.message).toMatch(/^request body could not be read: /);
    const declared = await post({ ...KEY, 'content-type': 'application/json', 'content-length': String(20_000) }, Buffer.alloc(20_000, 0x20));
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text).error.message).toMatch(/batches\.body_limit/);
  });

  it('429 with retry-after when the batch would take pending requests past batches.max_pending_requests', async () => {
    // The upstream never answers, so accepted requests stay pending.
    upstream.setResponder(() => ({ kind: 'hang' }));
    const owner = { 'x-api-key': 'pending-owner' };
    const first = await submit({ requests: Array.from({ length: 5 }, (_, i) => batchRequest(`a${i}`, `${i}`)) }, owner);
    expect(first.status).toBe(200);
    const second = await submit({ requests: Array.from({ length: 4 }, (_, i) => batchRequest(`b${i}`, `${i}`)) }, owner);
    expect(second.status).toBe(429);
    expect(second.headers['retry-after']).toBe('5');
    expect(second.body.error.type).toBe('rate_limit_error');
    expect(second.body.error.message).toMatch(/batches\.max_pending_requests/);
    // The refused batch left nothing.
    const listed = await request(gw.url).get(BATCHES).set(owner);
    expect(listed.body.data.map((b: { id: string }) => b.id)).toEqual([first.body.id]);
    await request(gw.url).post(`${BATCHES}/${first.body.id}/cancel`).set(owner);
  });

  it('a refused batch leaves nothing behind and calls no upstream', async () => {
    const owner = { 'x-api-key': 'refused-owner' };
    const requests = Array.from({ length: 5 }, (_, i) => batchRequest(`r${i}`, `${i}`));
    requests[4] = batchRequest('r4', '', {});
    const res = await submit({ requests }, owner);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/^requests\.4\.params\.messages\.0: all messages must have non-empty content/);
    const listed = await request(gw.url).get(BATCHES).set(owner);
    expect(listed.body.data).toEqual([]);
    expect(upstream.requests).toHaveLength(0);
  });
});
