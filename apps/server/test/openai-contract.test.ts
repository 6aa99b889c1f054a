/**
 * The official Anthropic SDK against `openai/<model>`: the real gateway in front of the testkit's
 * strict fake OpenAI upstream. For each case the JSON answer and the streamed answer of the same
 * request must agree, validate against openapi.yaml, and every request the upstream saw must pass
 * the checks the real Chat Completions API makes.
 */
import Anthropic from '@anthropic-ai/sdk';
import {
  checkOpenAIRequest,
  openaiChunks,
  openaiCompletion,
  openaiError,
  parseSse,
  startFakeOpenAI,
  type FakeReply,
  type FakeUpstream,
  type OpenAIReplyOptions,
} from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { countTokens } from '../src/providers/openai/count-tokens.js';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

const MESSAGES = '/anthropic/v1/messages';
const PNG_1x1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

let fake: FakeUpstream;
let gw: RunningGateway;
let client: Anthropic;

beforeAll(async () => {
  fake = await startFakeOpenAI({ strict: true });
  gw = await startGateway({
    providers: {
      // One attempt per request: these tests pin what a single upstream answer becomes.
      openai: { type: 'openai', base_url: `${fake.url}/v1`, keys: [{ value: 'sk-test' }], max_retries: 0 },
      lenient: { type: 'openai', base_url: `${fake.url}/v1`, keys: [{ value: 'sk-test' }], max_retries: 0, drop_unsupported: true },
    },
  });
  client = new Anthropic({ apiKey: 'x', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
  // Build the request validator (first request) and load the tokenizer here, outside the timed tests.
  const warm = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(warm.status).toBe(400);
  await countTokens({ model: 'x', messages: [] }, 'gpt-4o');
}, 30_000);
afterEach(() => fake.reset());
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

type Params = Anthropic.MessageCreateParamsNonStreaming;

/** The fake answers every request with the same completion: as JSON, or streamed as real chunks (interleaved parallel tool calls). */
function answerWith(spec: OpenAIReplyOptions, patch: (choice: Record<string, any>) => void = () => undefined): void {
  fake.setResponder((req): FakeReply => {
    if (req.body.stream !== true) {
      const body = openaiCompletion(spec);
      patch(body.choices[0]);
      return { kind: 'json', body };
    }
    const frames = openaiChunks({ ...spec, includeUsage: req.body.stream_options?.include_usage === true, interleaveToolCalls: true, chunkSize: 5 });
    return {
      kind: 'sse',
      events: frames.map((frame) => {
        const data = frame.slice('data: '.length).trim();
        if (data === '[DONE]') return frame;
        const chunk = JSON.parse(data);
        if (chunk.choices?.[0]?.finish_reason) patch(chunk.choices[0]);
        return `data: ${JSON.stringify(chunk)}\n\n`;
      }),
    };
  });
}

/** The id, and the fields the SDK adds on its side (parsed_output, stop_details), left out of comparisons. */
function withoutClientFields(message: Anthropic.Message): Record<string, unknown> {
  const { id: _id, parsed_output: _parsed, stop_details: _details, ...rest } = message as Anthropic.Message & Record<string, unknown>;
  return rest;
}

/** The raw SSE text the gateway sends for a streamed request. */
async function rawStream(params: Params): Promise<string> {
  const res = await fetch(`${gw.url}${MESSAGES}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ ...params, stream: true }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
  return res.text();
}

/**
 * messages.create, messages.stream().finalMessage() and a raw stream of the same request: the two
 * messages agree (ids aside), both validate, and so does the raw event stream.
 */
async function createAndStream(params: Params): Promise<Anthropic.Message> {
  const created = await client.messages.create(params);
  expectContractResponse(MESSAGES, 'post', 200, created);
  const final = await client.messages.stream(params).finalMessage();
  expect(withoutClientFields(final)).toEqual(withoutClientFields(created));
  expectContractStream(await rawStream(params));
  expect(fake.requests).toHaveLength(3);
  for (const r of fake.requests) expect(checkOpenAIRequest(r.body), JSON.stringify(r.body)).toBeNull();
  return created;
}

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
const screenshotTool: Anthropic.Tool = {
  name: 'screenshot',
  description: 'Screenshot of a web page',
  input_schema: { type: 'object', properties: { url: { type: 'string' } }, required: ['url'] },
};

describe('openai provider through the official Anthropic SDK', () => {
  it('text: create and stream agree; usage is the upstream’s', async () => {
    answerWith({ id: 'chatcmpl-text1', model: 'gpt-4o-2024-08-06', content: 'Hello from Conduit, translated.', usage: { prompt_tokens: 14, completion_tokens: 6, cached_tokens: 4 } });
    const message = await createAndStream({ model: 'openai/gpt-4o', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
    expect(message).toMatchObject({
      id: 'msg_chatcmpl-text1',
      type: 'message',
      role: 'assistant',
      model: 'gpt-4o-2024-08-06',
      content: [{ type: 'text', text: 'Hello from Conduit, translated.' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 6, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 },
    });
    expect(fake.requests[0]!.body).toMatchObject({
      model: 'gpt-4o',
      max_completion_tokens: 200,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(fake.requests[1]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('parallel tools, multi-turn: tool_use → tool_result with an image → answer', async () => {
    const tools = [weatherTool, screenshotTool];
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Paris, and a screenshot of example.com?' };
    answerWith({
      id: 'chatcmpl-tools1',
      content: null,
      tool_calls: [
        { id: 'call_weather01', name: 'get_weather', arguments: '{"city":"Paris"}' },
        { id: 'call_shot02', name: 'screenshot', arguments: '{"url":"https://example.com"}' },
      ],
      usage: { prompt_tokens: 120, completion_tokens: 30 },
    });
    const first = await createAndStream({ model: 'openai/gpt-4o', max_tokens: 300, tools, messages: [question] });
    expect(first.content).toEqual([
      { type: 'tool_use', id: 'call_weather01', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_shot02', name: 'screenshot', input: { url: 'https://example.com' } },
    ]);
    expect(first.stop_reason).toBe('tool_use');
    expect(first.usage).toMatchObject({ input_tokens: 120, output_tokens: 30 });
    expect(fake.requests[0]!.body.tools).toEqual([
      { type: 'function', function: { name: 'get_weather', description: 'Current weather for a city', parameters: weatherTool.input_schema } },
      { type: 'function', function: { name: 'screenshot', description: 'Screenshot of a web page', parameters: screenshotTool.input_schema } },
    ]);

    fake.reset();
    answerWith({ id: 'chatcmpl-tools2', content: 'Paris is sunny at 24°C; the page shows a heading.', usage: { prompt_tokens: 900, completion_tokens: 15 } });
    const second = await createAndStream({
      model: 'openai/gpt-4o',
      max_tokens: 300,
      tools,
      messages: [
        question,
        { role: 'assistant', content: first.content },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'call_weather01', content: 'Sunny, 24°C' },
            {
              type: 'tool_result',
              tool_use_id: 'call_shot02',
              content: [
                { type: 'text', text: 'Screenshot taken.' },
                { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1x1 } },
              ],
            },
            { type: 'text', text: 'Summarise both.' },
          ],
        },
      ],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'Paris is sunny at 24°C; the page shows a heading.' }]);
    expect(second.stop_reason).toBe('end_turn');
    expect(fake.requests[0]!.body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris, and a screenshot of example.com?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_weather01', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_shot02', type: 'function', function: { name: 'screenshot', arguments: '{"url":"https://example.com"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_weather01', content: 'Sunny, 24°C' },
      { role: 'tool', tool_call_id: 'call_shot02', content: 'Screenshot taken.\n[1 image attached in the next user message]' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Image returned by tool call call_shot02:' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1x1}` } },
          { type: 'text', text: 'Summarise both.' },
        ],
      },
    ]);
  });

  it('thinking: reasoning_content becomes a thinking block before the text', async () => {
    answerWith({ id: 'chatcmpl-think1', reasoning_content: 'I need 17 times 23. That is 391.', content: '17 × 23 = 391', usage: { prompt_tokens: 20, completion_tokens: 40 } });
    const message = await createAndStream({
      model: 'openai/o4-mini',
      max_tokens: 4096,
      thinking: { type: 'enabled', budget_tokens: 2048 },
      messages: [{ role: 'user', content: 'What is 17 * 23?' }],
    });
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'I need 17 times 23. That is 391.', signature: '' },
      { type: 'text', text: '17 × 23 = 391' },
    ]);
    expect(message.usage).toMatchObject({ input_tokens: 20, output_tokens: 40 });
    expect(fake.requests[0]!.body).toMatchObject({ model: 'o4-mini', reasoning_effort: 'low', max_completion_tokens: 4096 });
  });

  it('images: base64 and url', async () => {
    answerWith({ id: 'chatcmpl-img1', content: 'Two images of a single pixel.', usage: { prompt_tokens: 600, completion_tokens: 8 } });
    const message = await createAndStream({
      model: 'openai/gpt-4o',
      max_tokens: 100,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What do these show?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1x1 } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/pixel.png' } },
          ],
        },
      ],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Two images of a single pixel.' }]);
    expect(fake.requests[0]!.body.messages[0].content).toEqual([
      { type: 'text', text: 'What do these show?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_1x1}` } },
      { type: 'image_url', image_url: { url: 'https://example.com/pixel.png' } },
    ]);
  });

  it('stop sequences: sent as stop; stop_reason stop_sequence with the string the upstream reports', async () => {
    answerWith({ id: 'chatcmpl-stop1', content: '1, 2, 3', usage: { prompt_tokens: 12, completion_tokens: 5 } }, (choice) => {
      choice.stop_reason = 'END'; // vLLM reports the matched stop string
    });
    const message = await createAndStream({ model: 'openai/gpt-4o', max_tokens: 50, stop_sequences: ['END', '###'], messages: [{ role: 'user', content: 'Count to 5, then END' }] });
    expect(message.stop_reason).toBe('stop_sequence');
    expect(message.stop_sequence).toBe('END');
    expect(fake.requests[0]!.body.stop).toEqual(['END', '###']);
  });
});

describe('openai provider failures through the official Anthropic SDK', () => {
  it('an unsupported feature is a 400 naming it and the provider; nothing reaches the upstream', async () => {
    const err = await client.messages
      .create({
        model: 'openai/gpt-4o',
        max_tokens: 50,
        tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }],
        messages: [{ role: 'user', content: 'Search the news' }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    const apiErr = err as InstanceType<typeof Anthropic.BadRequestError>;
    expect(apiErr.status).toBe(400);
    const detail = (apiErr.error as { error: { type: string; message: string } }).error;
    expect(detail.message).toContain('web_search_20250305');
    expect(detail.message).toContain('provider "openai"');
    expectContractResponse(MESSAGES, 'post', 400, apiErr.error);
    expect((apiErr.error as any).error.type).toBe('invalid_request_error');
    expect(fake.requests).toHaveLength(0);
  });

  it('drop_unsupported: 200, the feature dropped, x-bf-dropped lists it', async () => {
    answerWith({ content: 'Here is what I know without searching.', usage: { prompt_tokens: 10, completion_tokens: 8 } });
    const params: Params = {
      model: 'lenient/gpt-4o',
      max_tokens: 50,
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
      messages: [{ role: 'user', content: 'Search the news' }],
    };
    const { data, response } = await client.messages.create(params).withResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get('x-bf-dropped')).toBe('web_search_20250305');
    expectContractResponse(MESSAGES, 'post', 200, data);
    const streamed = await client.messages.stream(params).withResponse();
    expect(streamed.response.headers.get('x-bf-dropped')).toBe('web_search_20250305');
    await streamed.data.finalMessage();
    for (const r of fake.requests) {
      expect(r.body.tools).toBeUndefined();
      expect(checkOpenAIRequest(r.body)).toBeNull();
    }
  });

  it('an upstream 429 is the SDK RateLimitError with status 429', async () => {
    fake.enqueue(openaiError(429, 'Rate limit reached for gpt-4o in organization org-x on tokens per min.', 'tokens', 'rate_limit_exceeded'));
    const err = await client.messages.create({ model: 'openai/gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).status).toBe(429);
    expect((err as Error).message).toContain('Rate limit reached for gpt-4o');
    expectContractResponse(MESSAGES, 'post', 429, (err as InstanceType<typeof Anthropic.RateLimitError>).error);
  });

  it('a stream cut mid-way: the SDK stream rejects and the raw SSE ends with event: error', async () => {
    const cut: FakeReply = { kind: 'sse', events: openaiChunks({ content: 'This answer is going to be cut off before it ends.', chunkSize: 6, includeUsage: true }), cutAfter: 4 };
    fake.enqueue(cut, cut);
    const params: Params = { model: 'openai/gpt-4o', max_tokens: 100, messages: [{ role: 'user', content: 'Tell me a story' }] };
    await expect(client.messages.stream(params).finalMessage()).rejects.toThrow();
    const raw = await rawStream(params);
    const events = parseSse(raw);
    expect(events.at(-1)!.event).toBe('error');
    expect(events.map((e) => e.event)).not.toContain('message_stop');
    expect(events.some((e) => e.event === 'content_block_delta')).toBe(true);
    expectContractStream(raw);
  });

  it('count_tokens is answered locally, never by an upstream call', async () => {
    const result = await client.messages.countTokens({
      model: 'openai/gpt-4o',
      system: 'Be brief.',
      tools: [weatherTool],
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
    });
    expect(result.input_tokens).toBeGreaterThan(20);
    expect(fake.requests).toHaveLength(0);
  });
});
