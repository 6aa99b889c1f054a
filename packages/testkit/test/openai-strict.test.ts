import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI } from '../src/index.js';
import type { FakeUpstream, StrictRule } from '../src/index.js';
import { OPENAI_AUTH, openaiRequest, post } from './helpers.js';

const TOOLS = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object' } } },
];
const user = (content: unknown) => ({ role: 'user', content });
const assistantCalls = (...ids: string[]) => ({
  role: 'assistant',
  content: null,
  tool_calls: ids.map((id) => ({ id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } })),
});
const toolAnswer = (id: string, content: unknown = 'sunny') => ({ role: 'tool', tool_call_id: id, content });

/** [what is wrong, request body, text the error message must contain, expected param] */
const VIOLATIONS: Array<[string, Record<string, unknown>, string | RegExp, string | null]> = [
  ['unknown role', openaiRequest({ messages: [{ role: 'human', content: 'hi' }] }), "Invalid value: 'human'", 'messages[0].role'],
  ['tool message with no preceding tool_calls', openaiRequest({ messages: [user('hi'), toolAnswer('call_1')] }), "role 'tool' must be a response", 'messages.[1].role'],
  ['tool message answering an unknown id', openaiRequest({ messages: [user('hi'), assistantCalls('call_1'), toolAnswer('call_9')] }), "'call_9' not found", 'messages.[2].tool_call_id'],
  ['tool call left unanswered before the next user turn', openaiRequest({ messages: [user('hi'), assistantCalls('call_1', 'call_2'), toolAnswer('call_1'), user('and?')] }), 'did not have response messages: call_2', 'messages.[1].role'],
  ['tool message after a user turn', openaiRequest({ messages: [user('hi'), assistantCalls('call_1'), user('wait'), toolAnswer('call_1')] }), 'did not have response messages: call_1', 'messages.[1].role'],
  ['assistant tool_calls at the end with no answers', openaiRequest({ messages: [user('hi'), assistantCalls('call_1')] }), 'did not have response messages: call_1', 'messages.[1].role'],
  ['tool_choice "any"', openaiRequest({ tools: TOOLS, tool_choice: 'any' }), "Invalid value: 'any'", 'tool_choice'],
  ['tool_choice naming a missing tool', openaiRequest({ tools: TOOLS, tool_choice: { type: 'function', function: { name: 'nope' } } }), "'nope'", 'tool_choice'],
  ['tool_choice in the Anthropic shape', openaiRequest({ tools: TOOLS, tool_choice: { type: 'tool', name: 'get_weather' } }), "Invalid value for 'tool_choice'", 'tool_choice'],
  ['tool_choice without tools', openaiRequest({ tool_choice: 'auto' }), "only allowed when 'tools' are specified", 'tool_choice'],
  ['empty content array', openaiRequest({ messages: [user([])] }), "Invalid 'messages[0].content': empty array", 'messages[0].content'],
  ['unknown content part type', openaiRequest({ messages: [user([{ type: 'image', source: {} }])] }), "Invalid value: 'image'", 'messages[0].content[0].type'],
  ['refusal part in a user message', openaiRequest({ messages: [user([{ type: 'refusal', refusal: 'no' }])] }), "Invalid value: 'refusal'", 'messages[0].content[0].type'],
  ['tool message with an image part', openaiRequest({ messages: [user('hi'), assistantCalls('call_1'), toolAnswer('call_1', [{ type: 'image_url', image_url: { url: 'data:' } }])] }), "Invalid value: 'image_url'", 'messages[2].content[0].type'],
  ['tool message with object content', openaiRequest({ messages: [user('hi'), assistantCalls('call_1'), toolAnswer('call_1', { text: 'x' })] }), 'expected a string or an array of text parts', 'messages[2].content'],
  ['tool call arguments as an object', openaiRequest({ messages: [user('hi'), { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }] }, toolAnswer('c')] }), "'messages[1].tool_calls[0].function.arguments': expected a string", 'messages[1].tool_calls[0].function.arguments'],
  ['tool in the Anthropic shape', openaiRequest({ tools: [{ name: 'get_weather', input_schema: { type: 'object' } }] }), "Missing required parameter: 'tools[0].type'", 'tools[0].type'],
  ['tool of a non-function type', openaiRequest({ tools: [{ type: 'custom', function: { name: 'f' } }] }), "Invalid value: 'custom'", 'tools[0].type'],
  ['tool name with a dot', openaiRequest({ tools: [{ type: 'function', function: { name: 'weather.get' } }] }), "'tools[0].function.name': string does not match pattern", 'tools[0].function.name'],
  ['tool name over 64 characters', openaiRequest({ tools: [{ type: 'function', function: { name: 'x'.repeat(65) } }] }), 'does not match pattern', 'tools[0].function.name'],
  ['empty tools array', openaiRequest({ tools: [] }), "Invalid 'tools': empty array", 'tools'],
  ['both max_tokens and max_completion_tokens', openaiRequest({ max_tokens: 10, max_completion_tokens: 10 }), "'max_tokens' and 'max_completion_tokens' cannot both be set", 'max_tokens'],
  ['empty messages', openaiRequest({ messages: [] }), "Invalid 'messages': empty array", 'messages'],
  ['missing messages', { model: 'gpt-test' }, "Missing required parameter: 'messages'", 'messages'],
  ['missing model', { messages: [user('hi')] }, 'you must provide a model parameter', null],
  ['temperature above 2', openaiRequest({ temperature: 2.5 }), "Invalid 'temperature': decimal above maximum value", 'temperature'],
  ['temperature below 0', openaiRequest({ temperature: -0.1 }), "Invalid 'temperature': decimal below minimum value", 'temperature'],
  ['n > 1 with stream', openaiRequest({ n: 2, stream: true }), "Invalid 'n'", 'n'],
  ['more than 4 stop sequences', openaiRequest({ stop: ['a', 'b', 'c', 'd', 'e'] }), "Invalid 'stop': array too long", 'stop'],
  ['a user over 64 characters', openaiRequest({ user: 'u'.repeat(150) }), "Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with length 150 instead.", 'user'],
  ['stream_options without stream', openaiRequest({ stream_options: { include_usage: true } }), "'stream_options' parameter is only allowed when 'stream' is enabled", 'stream_options'],
  ['missing user content', openaiRequest({ messages: [{ role: 'user' }] }), "Missing required parameter: 'messages[0].content'", 'messages[0].content'],
];

describe('fake OpenAI strict mode', () => {
  let fake: FakeUpstream;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());
  beforeEach(() => fake.reset());

  it.each(VIOLATIONS)('rejects %s with a 400 naming it', async (_what, body, message, param) => {
    const res = await post(`${fake.url}/v1/chat/completions`, body, OPENAI_AUTH);
    expect(res.status).toBe(400);
    const { error } = await res.json();
    expect(error.type).toBe('invalid_request_error');
    expect(error.code).toBeNull();
    expect(error.param).toBe(param);
    if (typeof message === 'string') expect(error.message).toContain(message);
    else expect(error.message).toMatch(message);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0].body).toEqual(body);
  });

  it('accepts a valid multi-turn conversation with parallel tool calls', async () => {
    const body = openaiRequest({
      model: 'gpt-test',
      messages: [
        { role: 'developer', content: 'Be brief.' },
        { role: 'system', content: [{ type: 'text', text: 'You check the weather.' }] },
        user([{ type: 'text', text: 'Weather in Paris and the time?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }]),
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
          ],
        },
        toolAnswer('call_b', [{ type: 'text', text: '12:00' }]),
        toolAnswer('call_a', 'sunny'),
        { role: 'assistant', content: [{ type: 'text', text: 'Sunny, noon.' }] },
        user('Thanks. And tomorrow?'),
        assistantCalls('call_c'),
        toolAnswer('call_c', 'rain'),
      ],
      tools: TOOLS,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      parallel_tool_calls: true,
      max_completion_tokens: 100,
      temperature: 2,
      stop: ['a', 'b', 'c', 'd'],
      user: 'u'.repeat(64),
      stream: true,
      stream_options: { include_usage: true },
      n: 1,
    });
    const res = await post(`${fake.url}/v1/chat/completions`, body, OPENAI_AUTH);
    expect(res.status).toBe(200);
    await res.text();
  });

  it('accepts tool_choice auto, none and required', async () => {
    for (const choice of ['auto', 'none', 'required']) {
      const res = await post(`${fake.url}/v1/chat/completions`, openaiRequest({ tools: TOOLS, tool_choice: choice }), OPENAI_AUTH);
      expect(res.status).toBe(200);
      await res.text();
    }
  });
});

describe('fake OpenAI strict options', () => {
  it('strict: false lets requests the API would reject through', async () => {
    const fake = await startFakeOpenAI({ strict: false });
    try {
      const res = await post(`${fake.url}/v1/chat/completions`, openaiRequest({ tools: TOOLS, tool_choice: 'any' }), OPENAI_AUTH);
      expect(res.status).toBe(200);
      await res.text();
    } finally {
      await fake.close();
    }
  });

  it('extraRules add checks after the built-in ones', async () => {
    const noUser: StrictRule = (body) => (body.user !== undefined ? { message: "Unrecognized request argument supplied: 'user'", param: 'user' } : null);
    const fake = await startFakeOpenAI({ extraRules: [noUser] });
    try {
      const res = await post(`${fake.url}/v1/chat/completions`, openaiRequest({ user: 'u1' }), OPENAI_AUTH);
      expect(res.status).toBe(400);
      expect((await res.json()).error).toMatchObject({ param: 'user', message: "Unrecognized request argument supplied: 'user'" });
    } finally {
      await fake.close();
    }
  });
});
