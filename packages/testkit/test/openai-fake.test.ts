import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_OPENAI_TEXT, startFakeOpenAI } from '../src/index.js';
import type { FakeUpstream } from '../src/index.js';
import { OPENAI_AUTH, REQUEST_TIMEOUT_MS, openaiRequest, post, sseOf } from './helpers.js';

// 'What is the weather like today?' has 31 characters: ceil(31 / 4) = 8 tokens.
const PROMPT_TOKENS = 8;

describe('fake OpenAI default replies', () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('answers with a chat.completion echoing the model, with cached_tokens in usage', async () => {
    const res = await post(`${fake.url}/v1/chat/completions`, openaiRequest(), OPENAI_AUTH);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
    const body = await res.json();
    expect(body).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-test',
      choices: [{ index: 0, message: { role: 'assistant', content: DEFAULT_OPENAI_TEXT }, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: PROMPT_TOKENS,
        completion_tokens: 9,
        total_tokens: PROMPT_TOKENS + 9,
        prompt_tokens_details: { cached_tokens: 0 },
      },
    });
    expect(body.id).toMatch(/^chatcmpl-/);
  });

  it('streams chunks ending in [DONE], without a usage chunk unless asked', async () => {
    const events = await sseOf(await post(`${fake.url}/v1/chat/completions`, openaiRequest({ stream: true }), OPENAI_AUTH));
    expect(events.every((e) => e.event === '')).toBe(true);
    expect(events.at(-1)!.data).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => e.data);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'gpt-test')).toBe(true);
    expect(chunks.every((c) => c.choices.length === 1 && !('usage' in c))).toBe(true);
    expect(chunks[0].choices[0].delta).toMatchObject({ role: 'assistant', content: '' });
    const pieces = chunks.map((c) => c.choices[0].delta.content).filter((t) => t);
    expect(pieces).toHaveLength(10);
    expect(pieces.join('')).toBe(DEFAULT_OPENAI_TEXT);
    expect(chunks.at(-1).choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
  });

  it('adds a usage chunk with empty choices when stream_options.include_usage is set', async () => {
    const req = openaiRequest({ stream: true, stream_options: { include_usage: true } });
    const events = await sseOf(await post(`${fake.url}/v1/chat/completions`, req, OPENAI_AUTH));
    const chunks = events.slice(0, -1).map((e) => e.data);
    const last = chunks.at(-1);
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: PROMPT_TOKENS, completion_tokens: 9, total_tokens: PROMPT_TOKENS + 9, prompt_tokens_details: { cached_tokens: 0 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  it('serves the bare /chat/completions path', async () => {
    const res = await post(`${fake.url}/chat/completions`, openaiRequest(), OPENAI_AUTH);
    expect(res.status).toBe(200);
    expect((await res.json()).object).toBe('chat.completion');
  });

  it('serves Azure deployments with the api-key header and no model in the body', async () => {
    const { model: _omitted, ...body } = openaiRequest();
    const res = await post(`${fake.url}/openai/deployments/my-gpt/chat/completions?api-version=2024-10-21`, body, { 'api-key': 'azure-key' });
    expect(res.status).toBe(200);
    expect((await res.json()).model).toBe('my-gpt');
    expect(fake.requests[0].query.get('api-version')).toBe('2024-10-21');
  });

  it('answers 401 with the OpenAI error body when no key is sent', async () => {
    const res = await post(`${fake.url}/v1/chat/completions`, openaiRequest(), { 'x-api-key': 'wrong-provider' });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null, code: null });
    expect(body.error.message).toMatch(/API key/);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects a body that is not JSON', async () => {
    const res = await post(`${fake.url}/v1/chat/completions`, '{not json', OPENAI_AUTH);
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toMatch(/parse the JSON body/);
  });

  it('calls the first tool when the last user message says CALL_TOOL', async () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
      { type: 'function', function: { name: 'other' } },
    ];
    const req = openaiRequest({ tools, messages: [{ role: 'user', content: [{ type: 'text', text: 'CALL_TOOL now' }] }] });
    const body = await (await post(`${fake.url}/v1/chat/completions`, req, OPENAI_AUTH)).json();
    expect(body.choices[0].finish_reason).toBe('tool_calls');
    expect(body.choices[0].message.content).toBeNull();
    expect(body.choices[0].message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{}' } },
    ]);

    const events = await sseOf(await post(`${fake.url}/v1/chat/completions`, { ...req, stream: true }, OPENAI_AUTH));
    const deltas = events.slice(0, -1).map((e) => e.data.choices[0]);
    expect(deltas[0].delta.tool_calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'get_weather', arguments: '' } });
    const args = deltas.flatMap((c) => c.delta.tool_calls ?? []).map((t: any) => t.function.arguments).join('');
    expect(args).toBe('{}');
    expect(deltas.at(-1)!.finish_reason).toBe('tool_calls');
  });

  it('lists models and answers unknown routes with 404', async () => {
    const models = await fetch(`${fake.url}/v1/models`, { headers: OPENAI_AUTH, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect((await models.json()).object).toBe('list');
    const missing = await post(`${fake.url}/v1/responses`, {}, OPENAI_AUTH);
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.message).toBe('Invalid URL (POST /v1/responses)');
  });
});

describe('fake OpenAI options', () => {
  it('streamChunks sets the number of content chunks', async () => {
    const fake = await startFakeOpenAI({ streamChunks: 50 });
    try {
      const events = await sseOf(await post(`${fake.url}/v1/chat/completions`, openaiRequest({ stream: true }), OPENAI_AUTH));
      const pieces = events.slice(0, -1).map((e) => e.data.choices[0].delta.content).filter((t) => t);
      expect(pieces).toHaveLength(50);
    } finally {
      await fake.close();
    }
  });

  it('record: false keeps no requests', async () => {
    const fake = await startFakeOpenAI({ record: false });
    try {
      await (await post(`${fake.url}/v1/chat/completions`, openaiRequest(), OPENAI_AUTH)).text();
      expect(fake.requests).toHaveLength(0);
    } finally {
      await fake.close();
    }
  });
});
