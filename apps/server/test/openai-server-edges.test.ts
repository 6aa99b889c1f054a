/**
 * Real behaviour of public OpenAI-compatible servers, through the real gateway and the official
 * Anthropic SDK. Each case serves a fixture named after the server it imitates
 * (src/providers/openai/__fixtures__), as JSON to messages.create and as chunks to
 * messages.stream(): the two answers must be the same (or the same failure), and every stream must
 * follow openapi.yaml's event grammar.
 */
import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { openaiChunks, openaiCompletion, startFakeOpenAI, type FakeReply, type FakeUpstream, type RecordedRequest } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

const MESSAGES = '/anthropic/v1/messages';
const fixture = (name: string) => readFileSync(new URL(`../src/providers/openai/__fixtures__/${name}`, import.meta.url), 'utf8');

let fake: FakeUpstream;
let gw: RunningGateway;
let client: Anthropic;

beforeAll(async () => {
  fake = await startFakeOpenAI({ strict: true });
  const upstream = `${fake.url}/v1`;
  const quick = { base_ms: 5, max_ms: 20, max_retry_after_ms: 1_000, key_cooldown_ms: 1_000 };
  gw = await startGateway({
    providers: {
      // One attempt per request: these tests pin what one upstream answer becomes.
      openai: { type: 'openai', base_url: upstream, keys: [{ value: 'sk-test' }], max_retries: 0 },
      ollama: { type: 'openai', base_url: upstream, keys: [{ value: 'ollama' }], max_retries: 0 },
      llamacpp: { type: 'openai', base_url: upstream, keys: [{ value: 'none' }], max_retries: 0, max_tokens_field: 'max_tokens' },
      vllm: { type: 'openai', base_url: upstream, keys: [{ value: 'none' }], max_retries: 1, retry: quick, max_tokens_field: 'max_tokens' },
      openrouter: { type: 'openai', base_url: upstream, keys: [{ value: 'sk-or' }], max_retries: 0 },
      azure: { type: 'openai', base_url: fake.url, keys: [{ value: 'az-key' }], max_retries: 0, azure: { api_version: '2024-10-21' } },
      deepseek: { type: 'openai', base_url: upstream, keys: [{ value: 'sk-ds' }], max_retries: 0 },
    },
  });
  client = new Anthropic({ apiKey: 'x', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
  const warm = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(warm.status).toBe(400);
}, 30_000);
afterEach(() => fake.reset());
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

type Params = Anthropic.MessageCreateParamsNonStreaming;

/** The upstream answers JSON requests with one fixture and stream requests with another. */
function serve(json: string, chunks: string | string[], extra: Partial<Extract<FakeReply, { kind: 'sse' }>> = {}): void {
  fake.setResponder((req): FakeReply => {
    if (req.body.stream === true) return { kind: 'sse', events: Array.isArray(chunks) ? chunks : [chunks], ...extra };
    return { kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: json };
  });
}

/** The raw SSE text the gateway sends for a streamed request. */
async function rawStream(params: Params): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(`${gw.url}${MESSAGES}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ ...params, stream: true }),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Fields the SDK adds on its side; left out of comparisons. */
function comparable(message: Anthropic.Message): Record<string, unknown> {
  const { parsed_output: _p, stop_details: _d, ...rest } = message as Anthropic.Message & Record<string, unknown>;
  return rest;
}

/** create() and stream().finalMessage() of the same request: the same message, id included; the raw stream follows the contract. */
async function sameAnswer(params: Params): Promise<Anthropic.Message> {
  const created = await client.messages.create(params);
  expectContractResponse(MESSAGES, 'post', 200, created);
  const final = await client.messages.stream(params).finalMessage();
  expect(comparable(final)).toEqual(comparable(created));
  const raw = await rawStream(params);
  expect(raw.status).toBe(200);
  expectContractStream(raw.text);
  return created;
}

/** create() and stream().finalMessage() both fail; returns both errors and the raw stream's events. */
async function sameFailure(params: Params): Promise<{ json: InstanceType<typeof Anthropic.APIError>; stream: unknown; raw: { status: number; events: Array<{ event: string; data: any }> } }> {
  const json = await client.messages.create(params).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(json).toBeInstanceOf(Anthropic.APIError);
  const stream = await client.messages
    .stream(params)
    .finalMessage()
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(stream).toBeInstanceOf(Error);
  const raw = await rawStream(params);
  return { json: json as InstanceType<typeof Anthropic.APIError>, stream, raw: { status: raw.status, events: raw.status === 200 ? expectContractStream(raw.text) : [] } };
}

const fileWrite: Anthropic.Tool = {
  name: 'file_write',
  description: 'Write content to a file',
  input_schema: { type: 'object', properties: { filePath: { type: 'string' }, content: { type: 'string' } }, required: ['filePath', 'content'] },
};
const weather: Anthropic.Tool = { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

describe('tool calls', () => {
  it('Ollama: parallel calls that reuse index 0 with a new id are separate tool_use blocks', async () => {
    serve(fixture('ollama-parallel-tools-same-index.json'), fixture('ollama-parallel-tools-same-index.chunks.txt'));
    const message = await sameAnswer({
      model: 'ollama/qwen2.5-coder:7b',
      max_tokens: 500,
      tools: [fileWrite],
      messages: [{ role: 'user', content: 'Create hello.py with print("hello") and world.py with print("world").' }],
    });
    expect(message.content).toEqual([
      { type: 'tool_use', id: 'call_k3m9x2qd', name: 'file_write', input: { filePath: 'hello.py', content: 'print("hello")' } },
      { type: 'tool_use', id: 'call_p7t4w1zn', name: 'file_write', input: { filePath: 'world.py', content: 'print("world")' } },
    ]);
    expect(message).toMatchObject({ stop_reason: 'tool_use', usage: { input_tokens: 187, output_tokens: 58 } });
  });

  it('llama.cpp: arguments sent as a JSON object become the input, in the answer and in the stream', async () => {
    serve(fixture('llama-cpp-tool-args-object.json'), fixture('llama-cpp-tool-args-object.chunks.txt'));
    const message = await sameAnswer({ model: 'llamacpp/qwen3-coder', max_tokens: 300, tools: [weather], messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(message.content).toEqual([
      { type: 'text', text: 'Checking the forecast.' },
      { type: 'tool_use', id: 'NlWWnBjxTd4RpvUDYGOpAHqxh4G3pJsY', name: 'get_weather', input: { city: 'Paris', unit: 'celsius', days: [1, 2] } },
    ]);
  });

  it('llama.cpp: arguments that are not valid JSON are the same failure streamed or not (502 api_error), never a 500', async () => {
    serve(fixture('llama-cpp-malformed-tool-args.json'), fixture('llama-cpp-malformed-tool-args.chunks.txt'));
    const { json, raw } = await sameFailure({
      model: 'llamacpp/qwen3.6',
      max_tokens: 300,
      tools: [{ name: 'thread_fetch_messages', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'Fetch thread t_81' }],
    });
    expect(json.status).toBe(502);
    expect((json.error as any).error.type).toBe('api_error');
    const message = (json.error as any).error.message as string;
    expect(message).toContain('tool call Qz7Lp2Xv9Nc4Rb1Ty6Hw3Ks8Dm5Fj0Ga (thread_fetch_messages) has arguments that are not a JSON object');
    // The stream had shown its text by then: it ends with the same error as an event.
    expect(raw.events.at(-1)).toEqual({ event: 'error', data: { type: 'error', error: { type: 'api_error', message } } });
    expect(raw.events.map((e) => e.event)).not.toContain('message_stop');
  });
});

describe('answers that end badly', () => {
  it('vLLM: finish_reason "abort" with no error object is an error, JSON and stream; never message_stop', async () => {
    serve(fixture('vllm-abort.json'), fixture('vllm-abort.chunks.txt'));
    const { json, raw } = await sameFailure({ model: 'openai/Qwen3-8B', max_tokens: 100, messages: [{ role: 'user', content: 'Count to ten' }] });
    expect(json.status).toBe(502);
    expect((json.error as any).error.message).toContain('aborted the generation (finish_reason "abort")');
    expect(raw.events.some((e) => e.event === 'content_block_delta')).toBe(true);
    expect(raw.events.at(-1)!.event).toBe('error');
    expect(raw.events.map((e) => e.event)).not.toContain('message_stop');
  });

  it('vLLM: an abort before any content is retried like a 5xx, streamed or not', async () => {
    const answer = { id: 'chatcmpl-retry', model: 'Qwen/Qwen3-8B', content: 'One, two, three.', usage: { prompt_tokens: 24, completion_tokens: 6 } };
    let calls = 0;
    fake.setResponder((req): FakeReply => {
      calls++;
      const first = calls % 2 === 1;
      if (req.body.stream === true) {
        return { kind: 'sse', events: first ? [fixture('vllm-abort-before-content.chunks.txt')] : openaiChunks({ ...answer, includeUsage: true }) };
      }
      return first ? { kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: fixture('vllm-abort.json') } : { kind: 'json', body: openaiCompletion(answer) };
    });
    const { data, response } = await client.messages.create({ model: 'vllm/Qwen/Qwen3-8B', max_tokens: 100, messages: [{ role: 'user', content: 'Count' }] }).withResponse();
    expect(response.headers.get('x-bf-attempts')).toBe('2');
    const streamed = await client.messages.stream({ model: 'vllm/Qwen/Qwen3-8B', max_tokens: 100, messages: [{ role: 'user', content: 'Count' }] }).withResponse();
    expect(streamed.response.headers.get('x-bf-attempts')).toBe('2');
    expect(comparable(await streamed.data.finalMessage())).toEqual(comparable(data));
    expect(data.content).toEqual([{ type: 'text', text: 'One, two, three.' }]);
  });

  it('OpenRouter: an HTTP 200 whose body is an error has that error\'s status and message, JSON and stream', async () => {
    serve(fixture('openrouter-200-error.json'), fixture('openrouter-200-error.chunks.txt'));
    const { json, stream, raw } = await sameFailure({ model: 'openrouter/meta-llama/llama-3.3-70b-instruct', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
    for (const err of [json, stream as InstanceType<typeof Anthropic.APIError>]) {
      expect(err).toBeInstanceOf(Anthropic.InternalServerError);
      expect(err.status).toBe(503);
      expect((err.error as any).error).toEqual({ type: 'overloaded_error', message: 'Provider returned error' });
    }
    expect(raw.status).toBe(503);
    expectContractResponse(MESSAGES, 'post', 503, json.error);
  });
});

describe('stream framing', () => {
  it('Azure OpenAI: the first chunk has an empty id and model; message_start takes them from the next, as the JSON answer has them', async () => {
    serve(fixture('azure-first-chunk-empty-id.json'), fixture('azure-first-chunk-empty-id.chunks.txt'));
    const message = await sameAnswer({ model: 'azure/gpt-4o', max_tokens: 50, messages: [{ role: 'user', content: 'Say this is a test!' }] });
    expect(message).toMatchObject({ id: 'msg_chatcmpl-BqZ7xW2nR4tY8uI0oP3aS6dF9gH1j', model: 'gpt-4o-2024-11-20', content: [{ type: 'text', text: 'This is a test.' }] });
    expect(fake.requests[0]!.path).toBe('/openai/deployments/gpt-4o/chat/completions');
  });

  it('llama-cpp-python (sse-starlette): CR LF line ends with every CR and LF in separate reads', async () => {
    const text = fixture('llama-cpp-python-crlf.chunks.txt');
    // Cut after every CR: each CR LF arrives as two writes, a few ms apart.
    const pieces = text.split(/(?<=\r)/);
    expect(pieces.length).toBeGreaterThan(10);
    serve(fixture('llama-cpp-python-crlf.json'), pieces, { chunkDelayMs: 2 });
    const message = await sameAnswer({ model: 'openai/qwen2.5-3b', max_tokens: 50, messages: [{ role: 'user', content: 'Two lines' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Line one. Line two.' }]);
  });
});

describe('stop sequences', () => {
  const six = ['<A>', '<B>', '<C>', '<D>', '<E>', '<STOP>'];

  it('more than four: four go upstream, the gateway cuts at the others; the same answer streamed', async () => {
    const reply = { id: 'chatcmpl-stop6', model: 'gpt-4o-2024-08-06', content: 'First part, then <STOP> and what comes after.', usage: { prompt_tokens: 20, completion_tokens: 12 } };
    fake.setResponder((req): FakeReply =>
      req.body.stream === true ? { kind: 'sse', events: openaiChunks({ ...reply, chunkSize: 4, includeUsage: true }) } : { kind: 'json', body: openaiCompletion(reply) },
    );
    const message = await sameAnswer({ model: 'openai/gpt-4o', max_tokens: 100, stop_sequences: six, messages: [{ role: 'user', content: 'Go' }] });
    expect(message).toMatchObject({ content: [{ type: 'text', text: 'First part, then ' }], stop_reason: 'stop_sequence', stop_sequence: '<STOP>', usage: { output_tokens: 12 } });
    for (const r of fake.requests) expect(r.body.stop).toEqual(['<A>', '<B>', '<C>', '<D>']);
  });

  it('o3 refuses stop: learnt from its 400, then every sequence is enforced by the gateway, nothing listed as dropped', async () => {
    const reply = { id: 'chatcmpl-o3', model: 'o3-2025-04-16', content: 'Answer: 42\n\nExplanation follows.', usage: { prompt_tokens: 9, completion_tokens: 30 } };
    fake.setResponder((req): FakeReply => {
      if (req.body.model === 'o3' && req.body.stop !== undefined) return { kind: 'raw', status: 400, headers: { 'content-type': 'application/json' }, body: fixture('openai-o3-stop-unsupported.json') };
      return req.body.stream === true ? { kind: 'sse', events: openaiChunks({ ...reply, chunkSize: 3, includeUsage: true }) } : { kind: 'json', body: openaiCompletion(reply) };
    });
    const params: Params = { model: 'openai/o3', max_tokens: 200, stop_sequences: ['\n\n'], messages: [{ role: 'user', content: 'What is 6 x 7?' }] };
    const { data, response } = await client.messages.create(params).withResponse();
    expect(response.headers.get('x-bf-dropped')).toBeNull();
    expect(data).toMatchObject({ content: [{ type: 'text', text: 'Answer: 42' }], stop_reason: 'stop_sequence', stop_sequence: '\n\n' });
    expect(fake.requests.map((r) => r.body.stop)).toEqual([['\n\n'], undefined]);
    const final = await client.messages.stream(params).finalMessage();
    expect(comparable(final)).toEqual(comparable(data));
    // learnt: the stream went without stop from the start
    expect(fake.requests).toHaveLength(3);
    expect(fake.requests[2]!.body).not.toHaveProperty('stop');
  });
});

describe('what Claude Code sends', () => {
  it('metadata.user_id over 64 characters goes to OpenAI as a stable 64-character hash', async () => {
    const userId = JSON.stringify({ device_id: 'a1b2c3d4'.repeat(8), account_uuid: '7f3e9a2c-1b4d-4e8f-9a6b-2c5d8e1f4a7b', session_id: '3c9e1f7a-5b2d-4a8e-b6c4-9d2e7f1a3b5c' });
    expect(userId.length).toBeGreaterThan(64);
    fake.setResponder((): FakeReply => ({ kind: 'json', body: openaiCompletion({ content: 'ok' }) }));
    for (let i = 0; i < 2; i++) await client.messages.create({ model: 'openai/gpt-4o', max_tokens: 10, metadata: { user_id: userId }, messages: [{ role: 'user', content: 'Hi' }] });
    const [a, b] = fake.requests.map((r: RecordedRequest) => r.body.user);
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toBe(a);
  });

  it('max_tokens 32000 on gpt-4o (16384 at most): clamped from its 400, asked again once, remembered, reported', async () => {
    const reply = { id: 'chatcmpl-clamp', model: 'gpt-4o-2024-08-06', content: 'A long answer, in short.', usage: { prompt_tokens: 30, completion_tokens: 7 } };
    fake.setResponder((req): FakeReply => {
      if (req.body.model === 'gpt-4o' && req.body.max_completion_tokens > 16384) {
        return { kind: 'raw', status: 400, headers: { 'content-type': 'application/json' }, body: fixture('openai-max-tokens-too-large.json') };
      }
      return req.body.stream === true ? { kind: 'sse', events: openaiChunks({ ...reply, includeUsage: true }) } : { kind: 'json', body: openaiCompletion(reply) };
    });
    const params: Params = { model: 'openai/gpt-4o', max_tokens: 32000, messages: [{ role: 'user', content: 'Write it all' }] };
    // An explicit timeout: the SDK otherwise insists on streaming for a max_tokens this large.
    const { data, response } = await client.messages.create(params, { timeout: 60_000 }).withResponse();
    expect(response.headers.get('x-bf-max-tokens-clamped')).toBe('16384');
    expect(fake.requests.map((r) => r.body.max_completion_tokens)).toEqual([32000, 16384]);
    const streamed = await client.messages.stream(params).withResponse();
    expect(streamed.response.headers.get('x-bf-max-tokens-clamped')).toBe('16384');
    expect(comparable(await streamed.data.finalMessage())).toEqual(comparable(data));
    // remembered: one call, already clamped
    expect(fake.requests.map((r) => r.body.max_completion_tokens)).toEqual([32000, 16384, 16384]);
  });

  it('DeepSeek (preset): earlier thinking goes back as reasoning_content, which its thinking mode requires on tool-call turns', async () => {
    fake.setResponder((req): FakeReply => {
      const missing = (req.body.messages as Array<Record<string, unknown>>).findIndex((m) => m.role === 'assistant' && Array.isArray(m.tool_calls) && typeof m.reasoning_content !== 'string');
      if (missing !== -1) return { kind: 'raw', status: 400, headers: { 'content-type': 'application/json' }, body: fixture('deepseek-missing-reasoning-content.json').replace('index 1', `index ${missing}`) };
      return { kind: 'json', body: openaiCompletion({ model: 'deepseek-reasoner', reasoning_content: 'It is sunny, say so.', content: 'Sunny in Paris.' }) };
    });
    const history: Anthropic.MessageParam[] = [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'I should call get_weather for Paris.', signature: '' },
          { type: 'tool_use', id: 'call_00_weather', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_00_weather', content: 'Sunny, 24°C' }] },
    ];
    const params: Params = { model: 'deepseek/deepseek-reasoner', max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 1024 }, tools: [weather], messages: history };
    const { data, response } = await client.messages.create(params).withResponse();
    expect(data.content).toEqual([
      { type: 'thinking', thinking: 'It is sunny, say so.', signature: '' },
      { type: 'text', text: 'Sunny in Paris.' },
    ]);
    expect(response.headers.get('x-bf-dropped')).toBeNull();
    expect(fake.requests[0]!.body.messages[1]).toMatchObject({ role: 'assistant', reasoning_content: 'I should call get_weather for Paris.' });
    // The same history to a provider without the option: the thinking is dropped, and says so.
    fake.setResponder((): FakeReply => ({ kind: 'json', body: openaiCompletion({ content: 'Sunny in Paris.' }) }));
    const plain = await client.messages.create({ ...params, model: 'openai/gpt-4o', thinking: undefined }).withResponse();
    expect(plain.response.headers.get('x-bf-dropped')).toBe('thinking');
    expect(fake.requests[1]!.body.messages[1]).not.toHaveProperty('reasoning_content');
  });
});
