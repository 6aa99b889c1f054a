import { readFileSync } from 'node:fs';
import { checkOpenAIRequest, openaiChunks, openaiCompletion, openaiError, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../config/load.js';
import type { ConfigInput } from '../../config/schema.js';
import { GatewayError } from '../../errors.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import type { AttemptContext, SseBatch, SseFrame } from '../types.js';
import { countTokens } from './count-tokens.js';
import { OpenAIProvider } from './openai-provider.js';

let fake: FakeUpstream;
const providers: OpenAIProvider[] = [];

beforeAll(async () => {
  fake = await startFakeOpenAI({ strict: true });
  await countTokens({ model: 'x', messages: [] }, 'gpt-4o'); // loads the tokenizer outside the timed tests
}, 30_000);
afterEach(() => fake.reset());
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await fake.close();
});

function provider(extra: Partial<ConfigInput['providers'][string]> = {}, name = 'openai'): OpenAIProvider {
  const config = parseConfig({ providers: { [name]: { type: 'openai', base_url: `${fake.url}/v1`, keys: [{ value: 'sk-test' }], ...extra } } }, {});
  const p = new OpenAIProvider(name, config.providers[name]!);
  providers.push(p);
  return p;
}

function ctx(model = 'gpt-4o', key: string | null = 'sk-test'): AttemptContext {
  return { model, key: key === null ? { id: 'openai#client' } : { id: 'openai#0', value: key }, clientHeaders: { credential: { kind: 'x-api-key', secret: 'client-gateway-key' } }, signal: new AbortController().signal, requestId: 'req_1' };
}

const request: CreateMessageRequest = { model: 'openai/gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] };

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

async function collect(events: AsyncIterable<SseBatch>): Promise<SseFrame[]> {
  const out: SseFrame[] = [];
  for await (const batch of events) out.push(...batch);
  return out;
}

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

describe('OpenAIProvider', () => {
  it('createMessage: POST {base_url}/chat/completions with Bearer key, translated both ways', async () => {
    fake.enqueue({ kind: 'json', body: openaiCompletion({ id: 'chatcmpl-1', model: 'gpt-4o-2024-08-06', content: 'Hello!', usage: { prompt_tokens: 9, completion_tokens: 2 } }) });
    const { message, headers } = await provider().createMessage(request, ctx());
    expect(message).toMatchObject({ id: 'msg_chatcmpl-1', model: 'gpt-4o-2024-08-06', content: [{ type: 'text', text: 'Hello!' }], usage: { input_tokens: 9, output_tokens: 2 } });
    expect(headers).toBeUndefined();
    const seen = fake.requests[0]!;
    expect(seen.path).toBe('/v1/chat/completions');
    expect(seen.headers.authorization).toBe('Bearer sk-test');
    expect(seen.body).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_completion_tokens: 100 });
  });

  describe('a model that refuses a field the translation added', () => {
    const thinking: CreateMessageRequest = { ...request, max_tokens: 16000, thinking: { type: 'enabled', budget_tokens: 4000 } };

    it('is asked again without it, learns it, and the answer names what was left out', async () => {
      const p = provider();
      fake.enqueue(openaiError(400, "Unsupported parameter: 'reasoning_effort' is not supported with this model.", 'invalid_request_error', 'unsupported_parameter', 'reasoning_effort'));
      fake.enqueue({ kind: 'json', body: openaiCompletion({ content: 'ok' }) });
      const first = await p.createMessage(thinking, ctx());
      expect(first.message.content).toEqual([{ type: 'text', text: 'ok' }]);
      expect(first.headers).toEqual({ 'x-bf-dropped': 'reasoning_effort' });
      expect(fake.requests).toHaveLength(2);
      expect(fake.requests[0]!.body.reasoning_effort).toBe('low');
      expect(fake.requests[1]!.body).not.toHaveProperty('reasoning_effort');

      // Learnt: the next request leaves it out from the start (one call), and still says so.
      fake.enqueue({ kind: 'json', body: openaiCompletion({ content: 'again' }) });
      const second = await p.createMessage(thinking, ctx());
      expect(second.headers).toEqual({ 'x-bf-dropped': 'reasoning_effort' });
      expect(fake.requests).toHaveLength(3);
      expect(fake.requests[2]!.body).not.toHaveProperty('reasoning_effort');
      // Only for that model: another one still gets it.
      fake.enqueue({ kind: 'json', body: openaiCompletion() });
      await p.createMessage(thinking, ctx('o4-mini'));
      expect(fake.requests[3]!.body.reasoning_effort).toBe('low');
    });

    it('recognises the refusal in the message when the error names no param (older servers), streams too', async () => {
      const p = provider();
      fake.enqueue(openaiError(400, 'Unrecognized request argument supplied: stream_options'));
      fake.enqueue({ kind: 'sse', events: openaiChunks({ content: 'streamed', usage: { prompt_tokens: 3, completion_tokens: 1 }, includeUsage: false }) });
      const result = await p.streamMessage({ ...request, stream: true }, ctx());
      const frames = await collect(result.events);
      expect(frames.at(-1)!.event).toBe('message_stop');
      expect(result.headers).toEqual({ 'x-bf-dropped': 'stream_options' });
      expect(fake.requests[1]!.body).not.toHaveProperty('stream_options');
    });

    it('any other 400 is the client’s answer as before: one call, nothing dropped', async () => {
      const p = provider();
      fake.enqueue(openaiError(400, "Invalid 'messages[0].content': string too long.", 'invalid_request_error', 'string_above_max_length', 'messages[0].content'));
      const err = await rejection(p.createMessage(thinking, ctx()));
      expect(err.status).toBe(400);
      expect(err.message).toMatch(/string too long/);
      expect(fake.requests).toHaveLength(1);
      // Nothing was learnt from it.
      fake.enqueue({ kind: 'json', body: openaiCompletion() });
      await p.createMessage(thinking, ctx());
      expect(fake.requests[1]!.body.reasoning_effort).toBe('low');
    });

    it('a refusal repeated after the field was dropped ends with the upstream’s error, not a loop', async () => {
      const p = provider();
      for (let i = 0; i < 3; i++) fake.enqueue(openaiError(400, 'Unrecognized request argument supplied: reasoning_effort'));
      const err = await rejection(p.createMessage(thinking, ctx()));
      expect(err.status).toBe(400);
      expect(fake.requests).toHaveLength(2);
    });
  });

  describe('a model that refuses stop (o3, o4-mini, gpt-5)', () => {
    const withStops: CreateMessageRequest = { ...request, stop_sequences: ['<END>'] };

    it('is asked again without it, learns it, and the gateway enforces the sequences itself: nothing is listed as dropped', async () => {
      const p = provider();
      fake.enqueue({ kind: 'raw', status: 400, headers: { 'content-type': 'application/json' }, body: fixture('openai-o3-stop-unsupported.json') });
      fake.enqueue({ kind: 'json', body: openaiCompletion({ content: 'Done.<END> Extra.' }) });
      const first = await p.createMessage(withStops, ctx('o3'));
      expect(first.message.content).toEqual([{ type: 'text', text: 'Done.' }]);
      expect(first.message).toMatchObject({ stop_reason: 'stop_sequence', stop_sequence: '<END>' });
      expect(first.headers).toBeUndefined();
      expect(fake.requests.map((r) => r.body.stop)).toEqual([['<END>'], undefined]);

      fake.enqueue({ kind: 'sse', events: openaiChunks({ content: 'Again.<END> Extra.', chunkSize: 3, includeUsage: true }) });
      const second = await p.streamMessage({ ...withStops, stream: true }, ctx('o3'));
      const frames = await collect(second.events);
      expect(fake.requests).toHaveLength(3);
      expect(fake.requests[2]!.body).not.toHaveProperty('stop');
      const text = frames.filter((f) => f.event === 'content_block_delta').map((f) => JSON.parse(f.data).delta.text).join('');
      expect(text).toBe('Again.');
      expect(JSON.parse(frames.at(-2)!.data).delta).toEqual({ stop_reason: 'stop_sequence', stop_sequence: '<END>' });
    });
  });

  describe('max_tokens above what the model produces', () => {
    it('OpenAI: lowered to the limit its 400 names, asked once more, remembered for the model, reported', async () => {
      const p = provider();
      fake.enqueue({ kind: 'raw', status: 400, headers: { 'content-type': 'application/json' }, body: fixture('openai-max-tokens-too-large.json') });
      fake.enqueue({ kind: 'json', body: openaiCompletion({ content: 'ok' }) });
      const first = await p.createMessage({ ...request, max_tokens: 32000 }, ctx());
      expect(first.headers).toEqual({ 'x-bf-max-tokens-clamped': '16384' });
      expect(fake.requests.map((r) => r.body.max_completion_tokens)).toEqual([32000, 16384]);
      fake.enqueue({ kind: 'sse', events: openaiChunks({ includeUsage: true }) });
      const second = await p.streamMessage({ ...request, max_tokens: 32000, stream: true }, ctx());
      await collect(second.events);
      expect(second.headers).toEqual({ 'x-bf-max-tokens-clamped': '16384' });
      expect(fake.requests).toHaveLength(3);
      expect(fake.requests[2]!.body.max_completion_tokens).toBe(16384);
      // a request within the limit is sent as it is
      fake.enqueue({ kind: 'json', body: openaiCompletion() });
      expect((await p.createMessage({ ...request, max_tokens: 1000 }, ctx())).headers).toBeUndefined();
      expect(fake.requests[3]!.body.max_completion_tokens).toBe(1000);
    });

    it("vLLM: lowered to the context window less this prompt, for this request only (the next prompt's length differs)", async () => {
      const p = provider({ max_tokens_field: 'max_tokens' });
      for (let i = 0; i < 2; i++) {
        fake.enqueue({ kind: 'raw', status: 400, headers: { 'content-type': 'application/json' }, body: fixture('vllm-max-tokens-too-large.json') });
        fake.enqueue({ kind: 'json', body: openaiCompletion() });
        const result = await p.createMessage({ ...request, max_tokens: 32000 }, ctx('Qwen/Qwen3-8B'));
        expect(result.headers).toEqual({ 'x-bf-max-tokens-clamped': String(32768 - 1211) });
      }
      expect(fake.requests.map((r) => r.body.max_tokens)).toEqual([32000, 31557, 32000, 31557]);
    });

    it('lowered once: a second refusal is the upstream’s error', async () => {
      fake.enqueue({ kind: 'raw', status: 400, headers: { 'content-type': 'application/json' }, body: fixture('openai-max-tokens-too-large.json') });
      fake.enqueue({ kind: 'raw', status: 400, headers: { 'content-type': 'application/json' }, body: fixture('openai-max-tokens-too-large.json') });
      const err = await rejection(provider().createMessage({ ...request, max_tokens: 32000 }, ctx()));
      expect(err.status).toBe(400);
      expect(fake.requests).toHaveLength(2);
    });
  });

  it('a 200 whose body is an error (OpenRouter): its status and message, JSON and stream', async () => {
    const body = fixture('openrouter-200-error.json');
    fake.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body });
    const json = await rejection(provider().createMessage(request, ctx()));
    fake.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body });
    const stream = await rejection(provider().streamMessage({ ...request, stream: true }, ctx()));
    for (const err of [json, stream]) {
      expect(err.status).toBe(503);
      expect(err.type).toBe('overloaded_error');
      expect(err.message).toBe('Provider returned error');
      expect(err.upstream).toMatchObject({ status: 503, kind: 'http' });
    }
  });

  it('while an enforced stop sequence has ended the answer, the rest is read with pings within the idle limit, and the usage arrives at the end', async () => {
    const frames = openaiChunks({ content: 'Short.<END>' + ' tail'.repeat(8), chunkSize: 6, includeUsage: true, usage: { prompt_tokens: 4, completion_tokens: 30 } });
    fake.enqueue({ kind: 'sse', events: frames, chunkDelayMs: 40 });
    // idle_ms 90: a ping at least every 30 ms while nothing else is shown
    const p = provider({ timeouts: { idle_ms: 90 } });
    const result = await p.streamMessage({ ...request, stream: true, stop_sequences: ['1', '2', '3', '4', '<END>'] }, ctx());
    const batches: SseBatch[] = [];
    for await (const batch of result.events) batches.push(batch);
    expect(fake.requests[0]!.body.stop).toEqual(['1', '2', '3', '4']);
    const all = batches.flat();
    const text = all.filter((f) => f.event === 'content_block_delta').map((f) => JSON.parse(f.data).delta.text).join('');
    expect(text).toBe('Short.');
    const stopped = all.findIndex((f) => f.event === 'content_block_stop');
    expect(all.slice(stopped + 1, -2).map((f) => f.event).filter((e) => e !== 'ping')).toEqual([]);
    expect(all.filter((f) => f.event === 'ping').length).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(all.at(-2)!.data)).toMatchObject({ delta: { stop_reason: 'stop_sequence', stop_sequence: '<END>' }, usage: { input_tokens: 4, output_tokens: 30 } });
  });

  it('max_tokens_field: max_tokens', async () => {
    fake.enqueue({ kind: 'json', body: openaiCompletion() });
    await provider({ max_tokens_field: 'max_tokens' }).createMessage(request, ctx());
    expect(fake.requests[0]!.body).toMatchObject({ max_tokens: 100 });
    expect(fake.requests[0]!.body.max_completion_tokens).toBeUndefined();
  });

  it('a provider without keys sends no credential, and never the client’s', async () => {
    const open = await startFakeOpenAI({ requireAuth: false });
    try {
      const config = parseConfig({ providers: { ollama: { type: 'openai', base_url: `${open.url}/v1` } } }, {});
      const p = new OpenAIProvider('ollama', config.providers.ollama!);
      providers.push(p);
      await p.createMessage(request, { ...ctx('llama3.2', null), clientHeaders: { credential: { kind: 'bearer', secret: 'client-key' } } });
      expect(open.requests[0]!.headers.authorization).toBeUndefined();
      expect(open.requests[0]!.headers['x-api-key']).toBeUndefined();
    } finally {
      await open.close();
    }
  });

  it('Azure: deployment URL with api-version, api-key header', async () => {
    const p = provider({ base_url: fake.url, azure: { api_version: '2024-10-21' } }, 'azure');
    await p.createMessage(request, ctx('gpt-4o-prod'));
    const seen = fake.requests[0]!;
    expect(seen.path).toBe('/openai/deployments/gpt-4o-prod/chat/completions');
    expect(seen.query.get('api-version')).toBe('2024-10-21');
    expect(seen.headers['api-key']).toBe('sk-test');
    expect(seen.headers.authorization).toBeUndefined();
  });

  it('Azure: a configured deployment serves every model', async () => {
    await provider({ base_url: `${fake.url}/`, azure: { api_version: '2025-01-01-preview', deployment: 'shared' } }, 'azure').createMessage(request, ctx('gpt-4o'));
    expect(fake.requests[0]!.path).toBe('/openai/deployments/shared/chat/completions');
    expect(fake.requests[0]!.query.get('api-version')).toBe('2025-01-01-preview');
  });

  it('streamMessage: asks for usage, relays translated events, drains the connection', async () => {
    fake.enqueue({ kind: 'sse', events: openaiChunks({ content: 'Hello there', usage: { prompt_tokens: 5, completion_tokens: 3 }, includeUsage: true }) });
    const { events } = await provider().streamMessage({ ...request, stream: true }, ctx());
    const frames = await collect(events);
    expect(frames.map((f) => f.event)).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(JSON.parse(frames.at(-2)!.data).usage).toMatchObject({ input_tokens: 5, output_tokens: 3 });
    expect(fake.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(fake.requests[0]!.headers.accept).toBe('text/event-stream');
  });

  it('a stream without [DONE] ends when the body ends', async () => {
    fake.enqueue({ kind: 'sse', events: openaiChunks({ content: 'x', done: false, includeUsage: true }) });
    const frames = await collect((await provider().streamMessage({ ...request, stream: true }, ctx())).events);
    expect(frames.at(-1)!.event).toBe('message_stop');
  });

  it('a stream broken off mid-way (socket closed) throws, never message_stop', async () => {
    fake.enqueue({ kind: 'sse', events: openaiChunks({ content: 'a long answer that is cut', chunkSize: 4, includeUsage: true }), cutAfter: 3 });
    const { events } = await provider().streamMessage({ ...request, stream: true }, ctx());
    const seen: string[] = [];
    const err = await rejection(
      (async () => {
        for await (const batch of events) seen.push(...batch.map((f) => f.event));
      })(),
    );
    expect(err.status).toBe(502);
    expect(seen).not.toContain('message_stop');
  });

  it('an error chunk inside the stream throws with its message', async () => {
    const frames = openaiChunks({ content: 'partial', includeUsage: true }).slice(0, 2);
    frames.push(`data: ${JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error' } })}\n\n`);
    fake.enqueue({ kind: 'sse', events: frames });
    const { events } = await provider().streamMessage({ ...request, stream: true }, ctx());
    const err = await rejection(collect(events));
    expect(err.message).toContain('The server had an error while processing your request.');
  });

  it('a 200 that is not an event stream, or not a completion, is a 502', async () => {
    fake.enqueue({ kind: 'json', body: openaiCompletion() });
    expect((await rejection(provider().streamMessage({ ...request, stream: true }, ctx()))).status).toBe(502);
    fake.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'text/html' }, body: '<html>proxy</html>' });
    const err = await rejection(provider().createMessage(request, ctx()));
    expect(err.status).toBe(502);
    expect(err.upstream?.kind).toBe('bad_response');
  });

  it.each([
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [503, 'overloaded_error'],
  ])('upstream %i → the same status, %s, with the upstream message', async (status, type) => {
    fake.enqueue({ ...openaiError(status, `upstream says ${status}`), headers: { 'retry-after': '2' } } as any);
    const err = await rejection(provider().createMessage(request, ctx()));
    expect(err.status).toBe(status);
    expect(err.type).toBe(type);
    expect(err.message).toBe(`upstream says ${status}`);
    expect(err.origin).toBe('upstream');
  });

  it('context_length_exceeded is classified for the router', async () => {
    fake.enqueue(openaiError(400, "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens.", 'invalid_request_error', 'context_length_exceeded'));
    const err = await rejection(provider().createMessage(request, ctx()));
    expect(err.upstream?.kind).toBe('context_length');
  });

  it('unsupported features fail with 400 before any upstream call', async () => {
    const err = await rejection(provider().createMessage({ ...request, tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, ctx()));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/provider "openai".*web_search_20250305/);
    expect(fake.requests).toHaveLength(0);
  });

  it('drop_unsupported: dropped, and named in x-bf-dropped (JSON and stream)', async () => {
    const body: CreateMessageRequest = {
      ...request,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      mcp_servers: [{ type: 'url', name: 'm', url: 'https://m.example' }],
    };
    const p = provider({ drop_unsupported: true });
    const json = await p.createMessage(body, ctx());
    expect(json.headers).toEqual({ 'x-bf-dropped': 'mcp_servers, web_search_20250305' });
    fake.enqueue({ kind: 'sse', events: openaiChunks({ includeUsage: true }) });
    const stream = await p.streamMessage({ ...body, stream: true }, ctx());
    expect(stream.headers).toEqual({ 'x-bf-dropped': 'mcp_servers, web_search_20250305' });
    await collect(stream.events);
    for (const r of fake.requests) expect(checkOpenAIRequest(r.body)).toBeNull();
    expect(fake.requests[0]!.body.tools).toBeUndefined();
  });

  it('countTokens is local: no upstream request', async () => {
    const { input_tokens } = await provider().countTokens({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'Hello, world!' }] }, ctx());
    expect(input_tokens).toBe(11);
    expect(fake.requests).toHaveLength(0);
  });
});
