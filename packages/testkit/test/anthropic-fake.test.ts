import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_ANTHROPIC_TEXT, checkEventOrder, startFakeAnthropic } from '../src/index.js';
import type { FakeUpstream } from '../src/index.js';
import { ANTHROPIC_AUTH, REQUEST_TIMEOUT_MS, anthropicRequest, post, sseOf } from './helpers.js';

// 'What is the weather like today?' has 31 characters: ceil(31 / 4) = 8 tokens.
const PROMPT_TOKENS = 8;

describe('fake Anthropic default replies', () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startFakeAnthropic();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it('answers a non-streaming request with a Message echoing the model', async () => {
    const res = await post(`${fake.url}/v1/messages`, anthropicRequest(), ANTHROPIC_AUTH);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    const body = await res.json();
    expect(body).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-test',
      content: [{ type: 'text', text: DEFAULT_ANTHROPIC_TEXT }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: PROMPT_TOKENS, output_tokens: 10, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
    expect(body.id).toMatch(/^msg_/);
  });

  it('streams the real event sequence with the text split into 10 deltas', async () => {
    const res = await post(`${fake.url}/v1/messages`, anthropicRequest({ stream: true }), ANTHROPIC_AUTH);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = await sseOf(res);
    expect(checkEventOrder(events)).toEqual([]);
    for (const e of events) expect(e.data.type).toBe(e.event);
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      ...Array(10).fill('content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    const start = events[0].data.message;
    expect(start).toMatchObject({ model: 'claude-test', content: [], stop_reason: null, usage: { input_tokens: PROMPT_TOKENS, output_tokens: 1 } });
    const text = events.filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text).join('');
    expect(text).toBe(DEFAULT_ANTHROPIC_TEXT);
    expect(events.at(-2)!.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: 10 },
    });
  });

  it('decides streaming by the body, even when the client accepts JSON', async () => {
    const res = await post(`${fake.url}/v1/messages`, anthropicRequest({ stream: true }), { ...ANTHROPIC_AUTH, accept: 'application/json' });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await res.text();
  });

  it('answers 401 authentication_error without x-api-key and still records the request', async () => {
    const res = await post(`${fake.url}/v1/messages`, anthropicRequest(), { authorization: 'Bearer test-key' });
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body).toMatchObject({ type: 'error', error: { type: 'authentication_error', message: 'x-api-key header is required' } });
    expect(body.request_id).toMatch(/^req_/);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects a messages request without max_tokens like the API', async () => {
    const { max_tokens: _omitted, ...body } = anthropicRequest();
    const res = await post(`${fake.url}/v1/messages`, body, ANTHROPIC_AUTH);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toEqual({ type: 'invalid_request_error', message: 'max_tokens: Field required' });
  });

  it('counts tokens with the same count the messages reply reports', async () => {
    const { max_tokens: _omitted, ...body } = anthropicRequest();
    const res = await post(`${fake.url}/v1/messages/count_tokens`, body, ANTHROPIC_AUTH);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ input_tokens: PROMPT_TOKENS });
  });

  it('lists models', async () => {
    const res = await fetch(`${fake.url}/v1/models`, { headers: ANTHROPIC_AUTH, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const body = await res.json();
    expect(body.has_more).toBe(false);
    expect(body.data.length).toBeGreaterThan(0);
    expect(body.data[0]).toMatchObject({ type: 'model', id: body.first_id });
    expect(body.data.at(-1).id).toBe(body.last_id);
  });

  it('calls the first tool when the last user turn says CALL_TOOL', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' } }, { name: 'other', input_schema: { type: 'object' } }];
    const req = anthropicRequest({ tools, messages: [{ role: 'user', content: [{ type: 'text', text: 'please CALL_TOOL' }] }] });
    const body = await (await post(`${fake.url}/v1/messages`, req, ANTHROPIC_AUTH)).json();
    expect(body.stop_reason).toBe('tool_use');
    expect(body.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: {} }]);

    const events = await sseOf(await post(`${fake.url}/v1/messages`, { ...req, stream: true }, ANTHROPIC_AUTH));
    expect(checkEventOrder(events)).toEqual([]);
    const json = events.filter((e) => e.data.delta?.type === 'input_json_delta').map((e) => e.data.delta.partial_json).join('');
    expect(JSON.parse(json)).toEqual({});
  });

  it('answers unknown routes with a not_found_error envelope', async () => {
    const res = await post(`${fake.url}/v1/complete`, {}, ANTHROPIC_AUTH);
    expect(res.status).toBe(404);
    expect((await res.json()).error.type).toBe('not_found_error');
  });
});

describe('fake Anthropic streamChunks option', () => {
  it('splits the default stream into the requested number of deltas', async () => {
    const fake = await startFakeAnthropic({ streamChunks: 50 });
    try {
      const events = await sseOf(await post(`${fake.url}/v1/messages`, anthropicRequest({ stream: true }), ANTHROPIC_AUTH));
      const deltas = events.filter((e) => e.event === 'content_block_delta');
      expect(deltas).toHaveLength(50);
      expect(deltas.every((e) => e.data.delta.text.length > 0)).toBe(true);
      expect(checkEventOrder(events)).toEqual([]);
    } finally {
      await fake.close();
    }
  });
});
