/**
 * The official Anthropic SDK against `gemini/<model>`: the real gateway in front of the testkit's
 * fake Gemini, which checks bodies as Gemini does (unknown fields and schema keywords, thought
 * signatures) and answers in Gemini's shapes. For each case create() and stream().finalMessage()
 * agree, and every answer and stream validates against openapi.yaml. The same on Vertex AI.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import {
  FAKE_GEMINI_API_KEY,
  createFakeServiceAccount,
  geminiError,
  geminiQuotaError,
  geminiResponse,
  geminiSseFrames,
  geminiStreamChunks,
  isValidThoughtSignature,
  parseSse,
  resolveGeminiSignatures,
  startFakeGemini,
  type FakeGemini,
  type FakeReply,
  type GeminiReplyOptions,
} from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

const MESSAGES = '/anthropic/v1/messages';
const PRO = 'gemini-2.5-pro';
const G3 = 'gemini-3-pro-preview';

const sa = createFakeServiceAccount();
let fake: FakeGemini;
let gw: RunningGateway;
let client: Anthropic;

beforeAll(async () => {
  fake = await startFakeGemini({ vertex: { project: 'fake-project', serviceAccounts: [sa] } });
  const keyFile = join(mkdtempSync(join(tmpdir(), 'conduit-gemini-')), 'sa.json');
  writeFileSync(keyFile, sa.keyFile(`${fake.url}/token`));
  const gemini = (over: Record<string, unknown> = {}) => ({ type: 'gemini' as const, base_url: `${fake.url}/v1beta`, keys: [{ value: FAKE_GEMINI_API_KEY }], max_retries: 0, ...over });
  gw = await startGateway({
    providers: {
      gemini: gemini(),
      lenient: gemini({ drop_unsupported: true }),
      badkey: gemini({ keys: [{ value: 'AIzaNotAKeyGeminiKnows' }] }),
      vertexgemini: { type: 'gemini', base_url: fake.url, vertex: { project: 'fake-project', region: 'us-central1', credentials_file: keyFile }, max_retries: 0 },
    },
  });
  client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
  const warm = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(warm.status).toBe(400);
}, 30_000);
afterEach(() => fake.reset());
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

type Params = Anthropic.MessageCreateParamsNonStreaming;
const calls = () => fake.requests.filter((r) => r.path !== '/token');

/** The id (each answer's comes from its own responseId) and the SDK's own fields left out. */
function withoutClientFields(message: Anthropic.Message): Record<string, unknown> {
  const { id: _id, parsed_output: _parsed, stop_details: _details, ...rest } = message as Anthropic.Message & Record<string, unknown>;
  return rest;
}

async function rawStream(params: Params): Promise<Response> {
  return fetch(`${gw.url}${MESSAGES}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ ...params, stream: true }),
  });
}

/** The fake answers every generateContent with `spec` as JSON, every stream with the same answer streamed (same signatures). */
function answers(spec: GeminiReplyOptions): void {
  const resolved = resolveGeminiSignatures(spec);
  fake.setResponder((req): FakeReply => (req.path.includes(':streamGenerateContent') ? { kind: 'sse', events: geminiSseFrames(geminiStreamChunks(resolved)) } : { kind: 'json', body: geminiResponse(resolved) }));
}

/** create, stream().finalMessage() and a raw stream of one request: the messages agree, everything validates. */
async function createAndStream(params: Params): Promise<Anthropic.Message> {
  const created = await client.messages.create(params);
  expectContractResponse(MESSAGES, 'post', 200, created);
  const final = await client.messages.stream(params).finalMessage();
  expect(withoutClientFields(final)).toEqual(withoutClientFields(created));
  const raw = await rawStream(params);
  expect(raw.status).toBe(200);
  expectContractStream(await raw.text());
  expect(calls()).toHaveLength(3);
  return created;
}

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('Gemini through the official Anthropic SDK', () => {
  it('text: generateContent and streamGenerateContent?alt=sse with the key in x-goog-api-key; create and stream agree', async () => {
    answers({ text: 'Hello from Gemini.', responseId: 'resp01', modelVersion: PRO, usage: { promptTokenCount: 12, candidatesTokenCount: 5, cachedContentTokenCount: 4 } });
    const message = await createAndStream({ model: `gemini/${PRO}`, max_tokens: 200, system: 'Be brief.', temperature: 0.3, top_k: 20, messages: [{ role: 'user', content: 'Hi' }] } as Params);
    expect(message).toMatchObject({
      id: 'msg_resp01',
      model: PRO,
      content: [{ type: 'text', text: 'Hello from Gemini.' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 8, output_tokens: 5, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 },
    });
    const [json, stream] = calls();
    expect(json!.path).toBe(`/v1beta/models/${PRO}:generateContent`);
    expect(`${stream!.path}?${stream!.query}`).toBe(`/v1beta/models/${PRO}:streamGenerateContent?alt=sse`);
    expect(json!.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { maxOutputTokens: 200, temperature: 0.3, topK: 20 },
    });
    expect(stream!.body).toEqual(json!.body);
    expect(json!.headers['x-goog-api-key']).toBe(FAKE_GEMINI_API_KEY);
    expect(json!.headers['x-api-key']).toBeUndefined();
    expect(json!.headers.authorization).toBeUndefined();
  });

  it('tools round trip on Gemini 3: the thought signature comes back on the next turn exactly where Gemini put it', async () => {
    answers({ thoughts: 'The user wants the weather in Paris.', functionCalls: [{ name: 'get_weather', args: { city: 'Paris' }, signature: true }], modelVersion: G3 });
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Paris?' };
    const tools = [{ ...weatherTool, input_schema: { ...weatherTool.input_schema, $schema: 'http://json-schema.org/draft-07/schema#', additionalProperties: false } }] as Anthropic.Tool[];
    const first = await createAndStream({ model: `gemini/${G3}`, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, tools, tool_choice: { type: 'auto' }, messages: [question] });
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([
      { type: 'thinking', thinking: 'The user wants the weather in Paris.', signature: expect.stringMatching(/^gemini:call:/) },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'Paris' } },
    ]);
    const signature = (first.content[0] as Anthropic.ThinkingBlock).signature.slice('gemini:call:'.length);
    expect(isValidThoughtSignature(signature)).toBe(true);
    expect(calls()[0]!.body.tools).toEqual([{ functionDeclarations: [{ name: 'get_weather', description: 'Current weather for a city', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] } }] }]);
    expect(calls()[0]!.body.toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });

    fake.reset();
    answers({ text: 'Sunny, 24°C in Paris.', modelVersion: G3, textSignature: true });
    const toolUse = first.content[1] as Anthropic.ToolUseBlock;
    const history: Anthropic.MessageParam[] = [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'Sunny, 24°C' }] }];
    const second = await createAndStream({ model: `gemini/${G3}`, max_tokens: 2048, tools, messages: history });
    expect(second.content).toEqual([
      { type: 'text', text: 'Sunny, 24°C in Paris.' },
      { type: 'thinking', thinking: '', signature: expect.stringMatching(/^gemini:text:/) },
    ]);
    expect(calls()[0]!.body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: signature }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: 'Sunny, 24°C' } } }] },
    ]);
  });

  it('a signature altered by the client: Gemini’s "Corrupted thought signature" as a BadRequestError', async () => {
    answers({ functionCalls: [{ name: 'get_weather', args: { city: 'Rome' }, signature: true }], modelVersion: G3 });
    const first = await client.messages.create({ model: `gemini/${G3}`, max_tokens: 500, tools: [weatherTool], messages: [{ role: 'user', content: 'Rome?' }] });
    const [thinking, toolUse] = first.content as [Anthropic.ThinkingBlock, Anthropic.ToolUseBlock];
    const altered = { ...thinking, signature: thinking.signature.replace(/.(?=.{4}$)/, (c) => (c === 'A' ? 'B' : 'A')) };
    const err = await client.messages
      .create({
        model: `gemini/${G3}`,
        max_tokens: 500,
        tools: [weatherTool],
        messages: [{ role: 'user', content: 'Rome?' }, { role: 'assistant', content: [altered, toolUse] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: '28°C' }] }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ error: { type: 'invalid_request_error', message: 'INVALID_ARGUMENT: Corrupted thought signature.' } });
  });

  it('thinking: thinkingConfig with the budget; thought summaries come back as thinking', async () => {
    answers({ thoughts: 'Compare 9.11 and 9.9 digit by digit.', thoughtsSignature: true, text: '9.9 is larger.', usage: { thoughtsTokenCount: 30, candidatesTokenCount: 5 } });
    const message = await createAndStream({ model: `gemini/${PRO}`, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'Which is larger, 9.11 or 9.9?' }] });
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Compare 9.11 and 9.9 digit by digit.', signature: expect.stringMatching(/^gemini:thought:/) },
      { type: 'text', text: '9.9 is larger.' },
    ]);
    expect(message.usage.output_tokens).toBe(35);
    expect(calls()[0]!.body.generationConfig).toEqual({ maxOutputTokens: 4096, thinkingConfig: { includeThoughts: true, thinkingBudget: 2048 } });
  });

  it('stop sequences: stopSequences; Gemini stops before the sequence (and does not say so: end_turn)', async () => {
    const message = await createAndStream({ model: `gemini/${PRO}`, max_tokens: 50, stop_sequences: ['Gemini'], messages: [{ role: 'user', content: 'Say hello' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the fake ' }]);
    expect([message.stop_reason, message.stop_sequence]).toEqual(['end_turn', null]);
    expect(calls()[0]!.body.generationConfig.stopSequences).toEqual(['Gemini']);
  });

  it('errors: quota is a RateLimitError with its retry delay; a bad request a BadRequestError; a blocked prompt a 400 naming the reason', async () => {
    fake.enqueue(geminiQuotaError(12));
    const quota = await client.messages.create({ model: `gemini/${PRO}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).withResponse().catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(Anthropic.RateLimitError);
    expect((quota as InstanceType<typeof Anthropic.RateLimitError>).headers.get('retry-after')).toBe('12');
    expectContractResponse(MESSAGES, 'post', 429, (quota as InstanceType<typeof Anthropic.RateLimitError>).error);
    fake.enqueue(geminiError(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.'));
    const invalid = await client.messages.create({ model: `gemini/${PRO}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect((invalid as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ error: { type: 'invalid_request_error', message: 'INVALID_ARGUMENT: Request contains an invalid argument.' } });
    fake.enqueue({ kind: 'json', body: geminiResponse({ blockReason: 'PROHIBITED_CONTENT' }) });
    const blocked = await client.messages.create({ model: `gemini/${PRO}`, max_tokens: 10, messages: [{ role: 'user', content: 'something blocked' }] }).catch((e: unknown) => e);
    expect(blocked).toBeInstanceOf(Anthropic.BadRequestError);
    expect((blocked as Error).message).toContain("blocked by Gemini's content filter (PROHIBITED_CONTENT)");
    // Streamed, the block comes in the first chunk: the same 400, before the stream begins.
    fake.enqueue({ kind: 'sse', events: geminiSseFrames(geminiStreamChunks({ blockReason: 'SAFETY' })) });
    const streamed = await rawStream({ model: `gemini/${PRO}`, max_tokens: 10, messages: [{ role: 'user', content: 'something blocked' }] });
    expect(streamed.status).toBe(400);
    const body = await streamed.json();
    expectContractResponse(MESSAGES, 'post', 400, body);
    expect(body.error.message).toContain("blocked by Gemini's content filter (SAFETY)");
  });

  it('max_tokens above what the model produces: asked again with the model’s limit, remembered, and said in x-bf-max-tokens-clamped', async () => {
    const params: Params = { model: 'gemini/gemini-2.0-flash', max_tokens: 32_000, messages: [{ role: 'user', content: 'Hi' }] };
    // The SDK wants a timeout of its own for a non-streaming request this large.
    const first = await client.messages.create(params, { timeout: 60_000 }).withResponse();
    expect(first.data.content).toEqual([{ type: 'text', text: 'Hello from the fake Gemini upstream.' }]);
    expect(first.response.headers.get('x-bf-max-tokens-clamped')).toBe('8192');
    expect(calls().map((r) => r.body.generationConfig.maxOutputTokens)).toEqual([32_000, 8192]);
    fake.reset();
    const streamed = await client.messages.stream(params).withResponse();
    expect(streamed.response.headers.get('x-bf-max-tokens-clamped')).toBe('8192');
    await streamed.data.finalMessage();
    expect(calls().map((r) => r.body.generationConfig.maxOutputTokens)).toEqual([8192]);
  });

  it('a key Gemini does not take is the gateway’s credential problem: 502, never the client’s', async () => {
    const res = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'x' }, body: JSON.stringify({ model: `badkey/${PRO}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(res.status).toBe(502);
    expect((await res.json()).error.message).toMatch(/the upstream refused the gateway's credentials: INVALID_ARGUMENT: API key not valid/);
  });

  it('an error chunk after content: event: error with its type, never message_stop', async () => {
    const chunks = geminiStreamChunks({ text: 'This answer will be interrupted by an overload.', chunkSize: 6 });
    fake.enqueue({ kind: 'sse', events: [...geminiSseFrames(chunks.slice(0, 3)), `data: ${JSON.stringify({ error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } })}\r\n\r\n`] });
    const raw = await (await rawStream({ model: `gemini/${PRO}`, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] })).text();
    const events = parseSse(raw);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: expect.stringContaining('UNAVAILABLE mid-stream') } } });
    expect(events.map((e) => e.event)).not.toContain('message_stop');
    expectContractStream(raw);
  });

  it('a stream cut mid-way: the SDK stream rejects; the raw stream ends with event: error', async () => {
    const cut: FakeReply = { kind: 'sse', events: geminiSseFrames(geminiStreamChunks({ text: 'This answer is going to be cut off before it ends.', chunkSize: 5 })), cutAfter: 4 };
    fake.enqueue(cut, cut);
    const params: Params = { model: `gemini/${PRO}`, max_tokens: 100, messages: [{ role: 'user', content: 'Tell me a story' }] };
    await expect(client.messages.stream(params).finalMessage()).rejects.toThrow();
    const raw = await (await rawStream(params)).text();
    const events = parseSse(raw);
    expect(events.at(-1)!.event).toBe('error');
    expect(events.map((e) => e.event)).not.toContain('message_stop');
    expect(events.some((e) => e.event === 'content_block_delta')).toBe(true);
    expectContractStream(raw);
  });

  it('count_tokens through countTokens, with the system instruction and tools', async () => {
    const result = await client.messages.countTokens({ model: `gemini/${PRO}`, system: 'Be brief.', tools: [weatherTool], messages: [{ role: 'user', content: 'How many tokens is this?' }] });
    expect(result.input_tokens).toBe(9);
    expect(calls()[0]!.path).toBe(`/v1beta/models/${PRO}:countTokens`);
    expect(calls()[0]!.body.generateContentRequest).toMatchObject({ model: `models/${PRO}`, systemInstruction: { parts: [{ text: 'Be brief.' }] }, tools: [{ functionDeclarations: [{ name: 'get_weather' }] }] });
  });

  it('what Gemini cannot carry: refused by name before any call, or dropped and listed with drop_unsupported', async () => {
    const params = { model: `gemini/${PRO}`, max_tokens: 50, tools: [weatherTool, { type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'hi' }] } as unknown as Params;
    const err = await client.messages.create(params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ error: { message: expect.stringContaining('provider "gemini" (Gemini generateContent) does not support web_search_20250305') } });
    expect(calls()).toHaveLength(0);
    const res = await client.messages.create({ ...params, model: `lenient/${PRO}`, metadata: { user_id: 'u-1' } }).withResponse();
    expect(res.response.headers.get('x-bf-dropped')).toBe('metadata, web_search_20250305');
  });

  it('a model id that would leave its path segment is a 400 naming the field, before any call', async () => {
    for (const [model, field] of [['gemini/../../v1beta/files', 'model'], ['gemini/gemini:countTokens', 'model']] as const) {
      const res = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'x' }, body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }) });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(new RegExp(`^${field}: ".*" is not a Gemini model id`));
    }
    expect(calls()).toHaveLength(0);
  });
});

describe('Gemini on Vertex AI through the official Anthropic SDK', () => {
  const VERTEX_MODELS = '/v1/projects/fake-project/locations/us-central1/publishers/google/models';

  it('text and a tools round trip on publishers/google with an OAuth token; create and stream agree', async () => {
    answers({ functionCalls: [{ name: 'get_weather', args: { city: 'Oslo' }, signature: true }], modelVersion: G3 });
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Oslo?' };
    const first = await createAndStream({ model: `vertexgemini/${G3}`, max_tokens: 500, tools: [weatherTool], messages: [question] });
    const [json, stream] = calls();
    expect(json!.path).toBe(`${VERTEX_MODELS}/${G3}:generateContent`);
    expect(`${stream!.path}?${stream!.query}`).toBe(`${VERTEX_MODELS}/${G3}:streamGenerateContent?alt=sse`);
    expect(fake.issuedTokens).toContain(String(json!.headers.authorization).replace('Bearer ', ''));
    expect(json!.headers['x-goog-api-key']).toBeUndefined();
    fake.reset();
    answers({ text: 'Snow in Oslo.', modelVersion: G3 });
    const toolUse = first.content.find((b) => b.type === 'tool_use') as Anthropic.ToolUseBlock;
    const second = await createAndStream({
      model: `vertexgemini/${G3}`,
      max_tokens: 500,
      tools: [weatherTool],
      messages: [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: toolUse.id, content: 'Snow' }] }],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'Snow in Oslo.' }]);
  });

  it('count_tokens on Vertex: contents at the top level', async () => {
    const result = await client.messages.countTokens({ model: `vertexgemini/${PRO}`, messages: [{ role: 'user', content: 'How many tokens is this?' }] });
    expect(result.input_tokens).toBe(6);
    expect(calls()[0]!.path).toBe(`${VERTEX_MODELS}/${PRO}:countTokens`);
    expect(calls()[0]!.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'How many tokens is this?' }] }] });
  });
});
