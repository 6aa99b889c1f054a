import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import { anthropicError, anthropicMessage, anthropicSseEvents, parseSse, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';

const MESSAGES = '/anthropic/v1/messages';
let upstream: FakeUpstream;
let gw: RunningGateway;
let client: Anthropic;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    providers: {
      // One attempt per request: these tests pin what a single upstream answer becomes (retries: routing-*.test.ts).
      anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-upstream-key' }], models: ['claude-sonnet-4-5'], max_retries: 0 },
    },
  });
  client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

const toolMessage = anthropicMessage({
  id: 'msg_tool_1',
  model: 'claude-sonnet-4-5',
  content: [
    { type: 'text', text: 'Let me look that up.' },
    { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } },
  ],
  stop_reason: 'tool_use',
  usage: { input_tokens: 420, output_tokens: 37 },
});

describe('anthropic provider through the official SDK', () => {
  it('messages.create returns exactly the upstream Message', async () => {
    const expected = anthropicMessage({ id: 'msg_1', model: 'claude-sonnet-4-5', text: 'Bonjour!', usage: { input_tokens: 12, output_tokens: 4 } });
    upstream.enqueue({ kind: 'json', body: expected });
    const { data: message, response } = await client.messages
      .create({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] })
      .withResponse();
    expect(message).toEqual(expected);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(response.headers.get('x-bf-provider')).toBe('anthropic');
    expect(response.headers.get('x-bf-model')).toBe('claude-sonnet-4-5');
    expectContractResponse(MESSAGES, 'post', 200, message);
    // The upstream saw its own model id and the configured key, never the client's.
    const seen = upstream.requests[0]!;
    expect(seen.path).toBe('/v1/messages');
    expect(seen.body.model).toBe('claude-sonnet-4-5');
    expect(seen.headers['x-api-key']).toBe('sk-upstream-key');
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('relays a large answer whole (well past any error-body cap)', async () => {
    const expected = anthropicMessage({ text: 'é'.repeat(150_000) + ' end', usage: { input_tokens: 5, output_tokens: 60_000 } });
    upstream.enqueue({ kind: 'json', body: expected });
    const message = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 8_000, messages: [{ role: 'user', content: 'long' }] });
    expect(message).toEqual(expected);
  });

  it('messages.stream().finalMessage() collects what the upstream streamed', async () => {
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(toolMessage, { ping: true }), chunkDelayMs: 2 });
    const stream = client.messages.stream({
      model: 'claude-sonnet-4-5',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
    });
    const final = await stream.finalMessage();
    // The SDK adds its own client-side fields (parsed_output, stop_details); everything else is the upstream's.
    const { parsed_output: _p, stop_details: _s, ...collected } = final as typeof final & { parsed_output?: unknown; stop_details?: unknown };
    expect(collected).toEqual(toolMessage);
    expect(upstream.requests[0]!.body.stream).toBe(true);
  });

  it('relays the SSE bytes in Anthropic grammar, validated against openapi.yaml', async () => {
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(toolMessage) });
    const res = await request(gw.url)
      .post(MESSAGES)
      .set('x-api-key', 'client-key')
      .send({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    const events = expectContractStream(res.text);
    // Relayed event for event, data unchanged.
    const sent = anthropicSseEvents(toolMessage).join('');
    expect(events).toEqual(parseSse(sent));
    expect(events.at(-1)!.event).toBe('message_stop');
  });

  it('a tool_use round trip reaches the upstream untouched', async () => {
    upstream.enqueue({ kind: 'json', body: toolMessage });
    const first = await client.messages.create({
      model: 'claude-sonnet-4-5',
      max_tokens: 200,
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    const toolUse = first.content.find((b) => b.type === 'tool_use')!;
    expect(toolUse).toMatchObject({ name: 'get_weather', input: { city: 'Paris', unit: 'celsius' } });
    const followUp = anthropicMessage({ text: 'It is 21°C in Paris.' });
    upstream.enqueue({ kind: 'json', body: followUp });
    const messages: Anthropic.MessageParam[] = [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: first.content as Anthropic.ContentBlockParam[] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.type === 'tool_use' ? toolUse.id : '', content: [{ type: 'text', text: '21°C' }] }] },
    ];
    const second = await client.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 200, tools: [{ name: 'get_weather', input_schema: { type: 'object' } }], messages });
    expect(second).toEqual(followUp);
    expect(upstream.requests[1]!.body.messages).toEqual(JSON.parse(JSON.stringify(messages)));
  });

  it('an upstream 429 surfaces as the SDK RateLimitError with the upstream message', async () => {
    upstream.enqueue(anthropicError(429, 'rate_limit_error', 'Number of requests has exceeded your rate limit'));
    const err = await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).status).toBe(429);
    expect((err as Error).message).toContain('Number of requests has exceeded your rate limit');
  });

  it('an upstream 529 surfaces as status 529 overloaded_error, also for streams', async () => {
    upstream.enqueue(anthropicError(529, 'overloaded_error', 'Overloaded'));
    const err = await client.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } });

    upstream.enqueue(anthropicError(529, 'overloaded_error', 'Overloaded'));
    const streamErr = await client.messages
      .stream({ model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect((streamErr as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
  });
});

describe('headers and body forwarding', () => {
  it('forwards anthropic-version and anthropic-beta unchanged, and unknown top-level fields', async () => {
    const res = await request(gw.url)
      .post(MESSAGES)
      .set('authorization', 'Bearer client-key')
      .set('anthropic-version', '2026-01-01')
      .set('anthropic-beta', 'mcp-client-2025-04-04,context-1m-2025-08-07')
      .send({
        model: 'claude-sonnet-4-5',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
        brand_new_field: { x: 1 },
        fallbacks: ['anthropic/claude-haiku-4-5', { model: 'claude-opus-4-1' }],
      });
    expect(res.status).toBe(200);
    const seen = upstream.requests[0]!;
    expect(seen.headers['anthropic-version']).toBe('2026-01-01');
    expect(seen.headers['anthropic-beta']).toBe('mcp-client-2025-04-04,context-1m-2025-08-07');
    expect(seen.body.brand_new_field).toEqual({ x: 1 });
    // Gateway fallbacks (strings) are ours; Anthropic's own object items pass through.
    expect(seen.body.fallbacks).toEqual([{ model: 'claude-opus-4-1' }]);
  });

  it('accepts server-tool result blocks from earlier turns and forwards them unchanged', async () => {
    const messages = [
      { role: 'user', content: 'Read https://example.com for me' },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_fetch', input: { url: 'https://example.com' } },
          { type: 'web_fetch_tool_result', tool_use_id: 'srvtoolu_1', content: { type: 'web_fetch_result', url: 'https://example.com', content: { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Example' } } } },
          { type: 'text', text: 'It says Example.' },
        ],
      },
      { role: 'user', content: 'Thanks' },
    ];
    const res = await request(gw.url).post(MESSAGES).send({ model: 'claude-sonnet-4-5', max_tokens: 10, messages });
    expect(res.status).toBe(200);
    expect(upstream.requests[0]!.body.messages).toEqual(messages);
  });

  it('forwards the client credential when the provider has no keys', async () => {
    const open = await startGateway({ providers: { anthropic: { type: 'anthropic', base_url: upstream.url } } });
    try {
      await request(open.url).post(MESSAGES).set('x-api-key', 'users-own-key').send({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'a' }] }).expect(200);
      expect(upstream.requests[0]!.headers['x-api-key']).toBe('users-own-key');
      await request(open.url).post(MESSAGES).set('authorization', 'Bearer oauth-token').send({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'a' }] });
      expect(upstream.requests[1]!.headers.authorization).toBe('Bearer oauth-token');
    } finally {
      await open.close();
    }
  });
});

describe('invalid requests never reach the upstream', () => {
  async function expectInvalid(body: unknown, pattern: RegExp, raw = false) {
    const req = request(gw.url).post(MESSAGES).set('x-api-key', 'k').set('content-type', 'application/json');
    const res = await (raw ? req.send(body as string) : req.send(body as object));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    expect(res.body.error.message).toMatch(pattern);
    expect(res.headers['request-id']).toBe(res.body.request_id);
    expectContractResponse(MESSAGES, 'post', 400, res.body);
    expect(upstream.requests).toHaveLength(0);
  }

  it('missing max_tokens is a 400 naming max_tokens', () =>
    expectInvalid({ model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'x' }] }, /max_tokens/));

  it('malformed JSON is a 400, not a 500', () => expectInvalid('{"model": "x", "max_tokens": 1,', /not valid JSON/, true));

  it('temperature out of range names the field', () =>
    expectInvalid({ model: 'm', max_tokens: 1, temperature: 3, messages: [{ role: 'user', content: 'x' }] }, /temperature/));

  it('a bad content block names the missing field of the block the client meant', () =>
    expectInvalid(
      { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64' } }] }] },
      /^messages\.0\.content\.0\.source\.media_type: must have required property 'media_type'$/,
    ));

  it('a known block kind is held to its own fields, named once', () =>
    expectInvalid({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'text', body: 'x' }] }] }, /^messages\.0\.content\.0\.text: must have required property 'text'$/));

  it('a block without a type names the missing type', () =>
    expectInvalid({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ text: 'x' }] }] }, /^messages\.0\.content\.0\.type: must have required property 'type'$/));

  it('an unknown provider lists the configured ones', () =>
    expectInvalid({ model: 'mystery/model-x', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }, /unknown provider "mystery".*configured providers: anthropic/));

  it('an unknown provider in fallbacks is refused up front', () =>
    expectInvalid({ model: 'm', max_tokens: 1, fallbacks: ['nowhere/x'], messages: [{ role: 'user', content: 'x' }] }, /fallbacks\[0\]: unknown provider "nowhere"/));

  it('an invalid x-bf-async-job-result-ttl header is a 400', async () => {
    const res = await request(gw.url)
      .post(MESSAGES)
      .set('x-bf-async-job-result-ttl', 'soon')
      .send({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/x-bf-async-job-result-ttl/);
  });
});

describe('streams', () => {
  it('an upstream stream cut mid-way that nothing can finish ends with event: error, never message_stop', async () => {
    const events = anthropicSseEvents(anthropicMessage({ text: 'one two three four five six seven eight' }), { textChunkSize: 4 });
    // The continuation on the same target fails as well.
    const down = anthropicError(503, 'overloaded_error', 'down');
    upstream.enqueue({ kind: 'sse', events, cutAfter: 5 }, down);
    const res = await request(gw.url).post(MESSAGES).send({ model: 'm', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] });
    const parsed = expectContractStream(res.text);
    expect(parsed.at(-1)!.event).toBe('error');
    expect(parsed.some((e) => e.event === 'message_stop')).toBe(false);
    expect(upstream.requests).toHaveLength(2);

    upstream.enqueue({ kind: 'sse', events, cutAfter: 5 }, down);
    const err = await client.messages.stream({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] }).finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
  });

  it('sends ping events while the upstream is silent', async () => {
    const slow = await startGateway(
      { providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'k' }] } } },
      { pingIntervalMs: 50 },
    );
    try {
      upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(anthropicMessage({ text: 'late' })), firstChunkDelayMs: 400 });
      const res = await request(slow.url).post(MESSAGES).send({ model: 'm', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] });
      const events = expectContractStream(res.text);
      const firstStart = events.findIndex((e) => e.event === 'message_start');
      expect(firstStart).toBeGreaterThanOrEqual(0);
      expect(events.filter((e) => e.event === 'ping').length).toBeGreaterThanOrEqual(2);
      expect(events.at(-1)!.event).toBe('message_stop');
    } finally {
      await slow.close();
    }
  });

  it('a client that disconnects aborts the upstream request', async () => {
    let upstreamClosed: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    let received: () => void;
    const arrived = new Promise<void>((r) => (received = r));
    const holding: Server = createServer((req: IncomingMessage, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(anthropicSseEvents(anthropicMessage({ text: 'x' }))[0]);
      received();
      req.socket.on('close', () => upstreamClosed());
    });
    await new Promise<void>((r) => holding.listen(0, '127.0.0.1', r));
    const port = (holding.address() as AddressInfo).port;
    const hold = await startGateway({ providers: { anthropic: { type: 'anthropic', base_url: `http://127.0.0.1:${port}`, keys: [{ value: 'k' }] } } });
    try {
      const controller = new AbortController();
      const pending = fetch(`${hold.url}${MESSAGES}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'm', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'x' }] }),
        signal: controller.signal,
      }).then(async (r) => {
        for await (const _ of r.body as unknown as AsyncIterable<Uint8Array>) {
          /* drain */
        }
      });
      await arrived;
      controller.abort();
      await pending.catch(() => undefined);
      await expect(Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 2000))])).resolves.toBe('closed');
    } finally {
      await hold.close();
      holding.closeAllConnections();
      holding.close();
    }
  });
});

describe('other endpoints', () => {
  it('count_tokens is forwarded to the upstream', async () => {
    const res = await client.messages.countTokens({ model: 'anthropic/claude-sonnet-4-5', messages: [{ role: 'user', content: 'Hello there, how are you?' }] });
    expect(res.input_tokens).toBeGreaterThan(0);
    expect(upstream.requests[0]!.path).toBe('/v1/messages/count_tokens');
    expect(upstream.requests[0]!.body.model).toBe('claude-sonnet-4-5');
  });

  it('models lists the configured models as provider/model', async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toEqual(['anthropic/claude-sonnet-4-5']);
    const res = await request(gw.url).get('/anthropic/v1/models?limit=1');
    expectContractResponse('/anthropic/v1/models', 'get', 200, res.body);
  });

  it('unknown routes answer 404 in the envelope with a request-id', async () => {
    const res = await request(gw.url).get('/anthropic/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(res.headers['request-id']).toMatch(/^req_/);
  });

  it('health answers ok', async () => {
    const res = await request(gw.url).get('/health');
    expect(res.status).toBe(200);
    expectContractResponse('/health', 'get', 200, res.body);
  });
});
