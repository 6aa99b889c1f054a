import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

// How the gateway reads request bodies (src/http/json-body.ts), over a real socket: sizes, encodings,
// charsets and broken JSON each get their own 4xx in the Anthropic envelope, and never reach the upstream.

const MESSAGES = '/anthropic/v1/messages';
let upstream: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    body_limit: '64kb',
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }], max_retries: 0 } },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

const valid = { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] };

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

/** Sends raw bytes with exactly the headers given (chunked when there is no content-length). */
function send(headers: Record<string, string>, chunks: (string | Buffer)[], to: RunningGateway = gw): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${to.url}${MESSAGES}`, { method: 'POST', headers: { 'x-api-key': 'k', ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode!, headers: res.headers, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

function expectError(reply: Reply, status: number, type: string, pattern: RegExp): void {
  expect(reply.status).toBe(status);
  expect(reply.body).toMatchObject({ type: 'error', error: { type } });
  expect(reply.body.error.message).toMatch(pattern);
  expect(reply.body.request_id).toBe(reply.headers['request-id']);
  expect(upstream.requests).toHaveLength(0);
}

describe('request bodies', () => {
  it('a body sent in many small chunks (chunked encoding) is read whole', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'ok' }) });
    const text = JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'é'.repeat(3000) }] });
    const bytes = Buffer.from(text);
    // Split inside multi-byte characters on purpose.
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
    const reply = await send({ 'content-type': 'application/json' }, chunks);
    expect(reply.status).toBe(200);
    expect(upstream.requests[0]!.body.messages[0].content).toBe('é'.repeat(3000));
  });

  it('a gzip-encoded body is inflated', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'ok' }) });
    const reply = await send({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, [gzipSync(JSON.stringify(valid))]);
    expect(reply.status).toBe(200);
    expect(upstream.requests[0]!.body.messages).toEqual(valid.messages);
  });

  it('a declared length over body_limit is a 413 request_too_large, before reading it', async () => {
    const big = JSON.stringify({ ...valid, metadata: { user_id: 'x'.repeat(70 * 1024) } });
    const reply = await send({ 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) }, [big]);
    expectError(reply, 413, 'request_too_large', /too large/);
    expectContractResponse(MESSAGES, 'post', 413, reply.body);
  });

  it('a chunked body that grows past body_limit is a 413 too', async () => {
    const piece = 'x'.repeat(16 * 1024);
    const reply = await send({ 'content-type': 'application/json' }, ['{"model":"', piece, piece, piece, piece, piece, '"}']);
    expectError(reply, 413, 'request_too_large', /too large/);
  });

  it('a gzip bomb is cut at body_limit after inflating', async () => {
    const reply = await send({ 'content-type': 'application/json', 'content-encoding': 'gzip' }, [gzipSync(`{"a":"${'x'.repeat(1024 * 1024)}"}`)]);
    expectError(reply, 413, 'request_too_large', /too large/);
  });

  it('malformed JSON is a 400 naming the parse error', async () => {
    expectError(await send({ 'content-type': 'application/json' }, ['{"model": "x",']), 400, 'invalid_request_error', /not valid JSON/);
  });

  it('a JSON body that is not an object is a 400', async () => {
    expectError(await send({ 'content-type': 'application/json' }, ['"just a string"']), 400, 'invalid_request_error', /not valid JSON: it must be an object/);
  });

  it('a charset other than UTF-8 is refused with a 4xx naming it', async () => {
    const reply = await send({ 'content-type': 'application/json; charset=latin1' }, [JSON.stringify(valid)]);
    expectError(reply, 415, 'invalid_request_error', /charset "LATIN1"/);
    expectContractResponse(MESSAGES, 'post', 415, reply.body);
  });

  it('an unknown content-encoding is refused with a 4xx naming it', async () => {
    const reply = await send({ 'content-type': 'application/json', 'content-encoding': 'zstd-x' }, [JSON.stringify(valid)]);
    expectError(reply, 415, 'invalid_request_error', /content-encoding "zstd-x"/);
    expectContractResponse(MESSAGES, 'post', 415, reply.body);
  });

  it('a body that is not JSON at all is a 400 from the contract, not a 500', async () => {
    const reply = await send({ 'content-type': 'text/plain' }, ['hello']);
    expect(reply.status).toBe(400);
    expect(reply.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(upstream.requests).toHaveLength(0);
  });

  it('charset=utf-8 and +json types are accepted', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'ok' }) });
    const reply = await send({ 'content-type': 'application/json; charset=UTF-8' }, [JSON.stringify(valid)]);
    expect(reply.status).toBe(200);
  });
});

describe('large request bodies', () => {
  let big: RunningGateway;
  beforeAll(async () => {
    big = await startGateway({ default_provider: 'anthropic', providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }] } } });
  });
  afterAll(async () => big?.close());

  it('a body of several MB is decoded as it arrives, multi-byte characters split across chunks included', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'ok' }) });
    // 2-, 3- and 4-byte UTF-8 characters, about 4 MB, sent in pieces of an odd size.
    const content = 'é漢😀'.repeat(500_000);
    const bytes = Buffer.from(JSON.stringify({ ...valid, messages: [{ role: 'user', content }] }));
    expect(bytes.length).toBeGreaterThan(4_000_000);
    const chunks = [];
    for (let i = 0; i < bytes.length; i += 65_521) chunks.push(bytes.subarray(i, i + 65_521));
    const reply = await send({ 'content-type': 'application/json' }, chunks, big);
    expect(reply.status).toBe(200);
    expect(upstream.requests[0]!.body.messages[0].content).toBe(content);
  });
});

describe('request bodies being read at once (limits.bodies_in_flight_mb)', () => {
  let tight: RunningGateway;
  beforeAll(async () => {
    tight = await startGateway({ default_provider: 'anthropic', limits: { bodies_in_flight_mb: 1 }, providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }] } } });
  });
  afterAll(async () => tight?.close());

  /** Starts a chunked upload of `body`, sending all but its last `keep` bytes now; `finish` sends the rest. */
  function upload(body: Buffer, keep: number): { reply: Promise<Reply>; finish(): void } {
    let req!: ReturnType<typeof httpRequest>;
    const reply = new Promise<Reply>((resolve, reject) => {
      req = httpRequest(`${tight.url}${MESSAGES}`, { method: 'POST', headers: { 'x-api-key': 'k', 'content-type': 'application/json' } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
      });
      req.on('error', reject);
    });
    req.write(body.subarray(0, body.length - keep));
    return { reply, finish: () => req.end(body.subarray(body.length - keep)) };
  }

  const bodyOf = (kb: number) => Buffer.from(JSON.stringify({ ...valid, messages: [{ role: 'user', content: 'x'.repeat(kb * 1024) }] }));

  it('past the budget a body still arriving is a 503 overloaded_error with retry-after; once the others are read, it is served', async () => {
    upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'ok' }) }));
    // 700 KB held by a client that has not finished its body...
    const slow = upload(bodyOf(700), 10);
    await new Promise((r) => setTimeout(r, 300));
    // ...leaves no room for another 700 KB.
    const refused = await send({ 'content-type': 'application/json' }, [bodyOf(700)], tight);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body.error).toEqual({ type: 'overloaded_error', message: 'the gateway is reading 1 MB of request bodies already (limits.bodies_in_flight_mb); try again shortly' });
    expectContractResponse(MESSAGES, 'post', 503, refused.body);
    // A small one still fits beside it.
    expect((await send({ 'content-type': 'application/json' }, [bodyOf(100)], tight)).status).toBe(200);
    slow.finish();
    expect((await slow.reply).status).toBe(200);
    // Everything read was given back: the refused size is served now.
    expect((await send({ 'content-type': 'application/json' }, [bodyOf(700)], tight)).status).toBe(200);
  });
});
