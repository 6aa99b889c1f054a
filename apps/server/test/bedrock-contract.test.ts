/**
 * The official Anthropic SDK against `bedrock/<model>`: the real gateway in front of the testkit's
 * fake Bedrock Runtime, which recomputes every SigV4 signature and checks bodies as Bedrock does.
 * Claude models go through InvokeModel (Anthropic's body in Bedrock's envelope), others through
 * Converse. For each case the JSON answer and the streamed answer agree and validate against openapi.yaml.
 */
import Anthropic from '@anthropic-ai/sdk';
import {
  FAKE_BEDROCK_API_KEY,
  FAKE_BEDROCK_CREDENTIALS,
  anthropicMessage,
  bedrockError,
  bedrockExceptionFrame,
  bedrockInvokeFrames,
  bedrockStreamReply,
  restOfAnswer,
  converseResponse,
  converseStreamFrames,
  parseSse,
  startFakeBedrock,
  type ConverseReplyOptions,
  type FakeReply,
  type FakeUpstream,
} from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

const MESSAGES = '/anthropic/v1/messages';
const CLAUDE = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const LLAMA = 'meta.llama3-3-70b-instruct-v1:0';

let fake: FakeUpstream;
let gw: RunningGateway;
let client: Anthropic;

const bedrock = (over: Record<string, unknown> = {}) => ({
  type: 'bedrock' as const,
  region: 'us-east-1',
  base_url: fake.url,
  aws: { access_key_id: FAKE_BEDROCK_CREDENTIALS.accessKeyId, secret_access_key: FAKE_BEDROCK_CREDENTIALS.secretAccessKey },
  max_retries: 0,
  ...over,
});

beforeAll(async () => {
  fake = await startFakeBedrock();
  gw = await startGateway({
    providers: {
      bedrock: bedrock(),
      keyed: bedrock({ aws: undefined, api_key: FAKE_BEDROCK_API_KEY }),
      wrongsecret: bedrock({ aws: { access_key_id: FAKE_BEDROCK_CREDENTIALS.accessKeyId, secret_access_key: 'not-the-secret' } }),
      lenient: bedrock({ drop_unsupported: true }),
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

/** The id (each Converse answer's comes from its own request id) and the SDK's own fields left out. */
function withoutClientFields(message: Anthropic.Message): Record<string, unknown> {
  const { id: _id, parsed_output: _parsed, stop_details: _details, ...rest } = message as Anthropic.Message & Record<string, unknown>;
  return rest;
}

async function rawStream(params: Params, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}${MESSAGES}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify({ ...params, stream: true }),
  });
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
  expect(fake.requests).toHaveLength(3);
  return created;
}

/** The fake answers with `message` (Claude): as JSON, or as Bedrock's event stream of it. */
function claudeAnswers(message: ReturnType<typeof anthropicMessage>): void {
  fake.setResponder((req): FakeReply => (req.path.endsWith('/invoke') ? { kind: 'json', body: message } : bedrockStreamReply(bedrockInvokeFrames(message))));
}

function converseAnswers(spec: ConverseReplyOptions): void {
  fake.setResponder((req): FakeReply => (req.path.endsWith('/converse') ? { kind: 'json', body: converseResponse(spec) } : bedrockStreamReply(converseStreamFrames(spec))));
}

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('Claude on Bedrock (InvokeModel) through the official Anthropic SDK', () => {
  it('text: Anthropic’s body in Bedrock’s envelope, signed; create and stream agree', async () => {
    claudeAnswers(anthropicMessage({ id: 'msg_bdrk_01Text', model: 'claude-sonnet-4-5-20250929', text: 'Hello from Claude on Bedrock.', usage: { input_tokens: 12, output_tokens: 7 } }));
    const message = await createAndStream({ model: `bedrock/${CLAUDE}`, max_tokens: 200, system: 'Be brief.', temperature: 0.3, messages: [{ role: 'user', content: 'Hi' }] } as Params);
    expect(message).toMatchObject({ id: 'msg_bdrk_01Text', content: [{ type: 'text', text: 'Hello from Claude on Bedrock.' }], stop_reason: 'end_turn', usage: { input_tokens: 12, output_tokens: 7 } });
    const [json, stream] = fake.requests;
    expect(json!.path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke');
    expect(stream!.path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream');
    expect(json!.body).toEqual({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 200, system: 'Be brief.', temperature: 0.3, messages: [{ role: 'user', content: 'Hi' }] });
    expect(stream!.body).not.toHaveProperty('stream');
    expect(String(json!.headers.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAFAKEBEDROCK00001\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
    expect(json!.headers['x-api-key']).toBeUndefined();
  });

  it('the stream is relayed as Anthropic sends it: no invocation metrics, x-bf headers name Bedrock', async () => {
    claudeAnswers(anthropicMessage({ model: 'claude-sonnet-4-5-20250929', text: 'Streamed.' }));
    const res = await rawStream({ model: `bedrock/${PROFILE}`, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
    expect(res.headers.get('x-bf-provider')).toBe('bedrock');
    expect(res.headers.get('x-bf-model')).toBe(PROFILE);
    const text = await res.text();
    expect(text).toContain('event: message_stop\ndata: {"type":"message_stop"}\n\n');
    expect(text).not.toContain('invocationMetrics');
    expect(fake.requests[0]!.path).toBe('/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke-with-response-stream');
  });

  it('tools round trip: tool_use, then the tool_result goes back in Anthropic’s shape', async () => {
    claudeAnswers(anthropicMessage({ content: [{ type: 'tool_use', id: 'toolu_bdrk_01', name: 'get_weather', input: { city: 'Paris' } }], usage: { input_tokens: 300, output_tokens: 20 } }));
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Paris?' };
    const first = await createAndStream({ model: `bedrock/${CLAUDE}`, max_tokens: 300, tools: [weatherTool], tool_choice: { type: 'auto' }, messages: [question] });
    expect(first.content).toEqual([{ type: 'tool_use', id: 'toolu_bdrk_01', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(first.stop_reason).toBe('tool_use');
    fake.reset();
    claudeAnswers(anthropicMessage({ text: 'Sunny, 24°C in Paris.' }));
    const history: Anthropic.MessageParam[] = [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_bdrk_01', content: 'Sunny, 24°C' }] }];
    const second = await createAndStream({ model: `bedrock/${CLAUDE}`, max_tokens: 300, tools: [weatherTool], messages: history });
    expect(second.content).toEqual([{ type: 'text', text: 'Sunny, 24°C in Paris.' }]);
    expect(fake.requests[0]!.body.messages).toEqual(JSON.parse(JSON.stringify(history)));
    expect(fake.requests[0]!.body.tools).toEqual([weatherTool]);
  });

  it('thinking: thinking and signature come back; the request’s thinking goes as it is', async () => {
    claudeAnswers(anthropicMessage({ content: [{ type: 'thinking', thinking: 'Compare 9.11 and 9.9 digit by digit.', signature: 'EqoBCkgIARABFake' }, { type: 'text', text: '9.9 is larger.' }] }));
    const message = await createAndStream({ model: `bedrock/${CLAUDE}`, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'Which is larger, 9.11 or 9.9?' }] });
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Compare 9.11 and 9.9 digit by digit.', signature: 'EqoBCkgIARABFake' },
      { type: 'text', text: '9.9 is larger.' },
    ]);
    expect(fake.requests[0]!.body.thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
  });

  it('stop sequences: sent as they are, stop_sequence comes back', async () => {
    claudeAnswers(anthropicMessage({ text: 'One, two', stop_reason: 'stop_sequence', stop_sequence: 'three' }));
    const message = await createAndStream({ model: `bedrock/${CLAUDE}`, max_tokens: 50, stop_sequences: ['three'], messages: [{ role: 'user', content: 'Count' }] });
    expect([message.stop_reason, message.stop_sequence]).toEqual(['stop_sequence', 'three']);
    expect(fake.requests[0]!.body.stop_sequences).toEqual(['three']);
  });

  it('betas: the ones Bedrock knows go as anthropic_beta, the others are dropped and named in x-bf-dropped', async () => {
    claudeAnswers(anthropicMessage({ text: 'ok' }));
    const res = await fetch(`${gw.url}${MESSAGES}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-beta': 'interleaved-thinking-2025-05-14,files-api-2025-04-14,fine-grained-tool-streaming-2025-05-14' },
      body: JSON.stringify({ model: `bedrock/${CLAUDE}`, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-bf-dropped')).toBe('files-api-2025-04-14, fine-grained-tool-streaming-2025-05-14');
    expect(fake.requests[0]!.body.anthropic_beta).toEqual(['interleaved-thinking-2025-05-14']);
    expect(fake.requests[0]!.headers['anthropic-beta']).toBeUndefined();
  });

  it('a Bedrock API key: sent as a bearer token', async () => {
    claudeAnswers(anthropicMessage({ text: 'ok' }));
    const message = await client.messages.create({ model: `keyed/${CLAUDE}`, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    expect(message.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(fake.requests[0]!.headers.authorization).toBe(`Bearer ${FAKE_BEDROCK_API_KEY}`);
  });

  it('errors: ThrottlingException is a RateLimitError (429); ValidationException a BadRequestError naming it', async () => {
    fake.enqueue(bedrockError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.'));
    const throttled = await client.messages.create({ model: `bedrock/${CLAUDE}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(throttled).toBeInstanceOf(Anthropic.RateLimitError);
    expect((throttled as Error).message).toContain('ThrottlingException: Too many requests');
    expectContractResponse(MESSAGES, 'post', 429, (throttled as InstanceType<typeof Anthropic.RateLimitError>).error);
    fake.enqueue(bedrockError(400, 'ValidationException', 'messages.0.content: field required'));
    const invalid = await client.messages.create({ model: `bedrock/${CLAUDE}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(Anthropic.BadRequestError);
    expect((invalid as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'ValidationException: messages.0.content: field required' } });
  });

  it('a signature Bedrock refuses is the gateway’s credential problem: 502, never the client’s 403', async () => {
    const res = await fetch(`${gw.url}${MESSAGES}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'x' },
      body: JSON.stringify({ model: `wrongsecret/${CLAUDE}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body.error.type).toBe('api_error');
    expect(body.error.message).toMatch(/the upstream refused the gateway's credentials: InvalidSignatureException: The request signature we calculated does not match/);
    expect(fake.requests).toHaveLength(1);
  });

  it('an exception inside the stream after content, and the continuation refused too: event: error with its type, never message_stop', async () => {
    const frames = bedrockInvokeFrames(anthropicMessage({ text: 'This answer will be interrupted by throttling.' }));
    fake.enqueue(
      bedrockStreamReply([...frames.slice(0, 4), bedrockExceptionFrame('throttlingException', 'Too many tokens, please wait before trying again.')]),
      bedrockError(400, 'ValidationException', 'messages: final assistant content cannot end with trailing whitespace'),
    );
    const res = await rawStream({ model: `bedrock/${CLAUDE}`, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
    const raw = await res.text();
    const events = parseSse(raw);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'error', error: { type: 'rate_limit_error' } } });
    expect(events.map((e) => e.event)).not.toContain('message_stop');
    expectContractStream(raw);
    expect(fake.requests).toHaveLength(2);
  });

  it('an event-stream message whose prelude claims 4 GB fails the attempt on its four bytes: a 502 naming the limit, or the fallback', async () => {
    const claims4GB = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    // The fake sends the prelude and then nothing: a gateway that waited for the bytes it claims would hang.
    fake.enqueue(bedrockStreamReply([claims4GB, new Uint8Array(16)], { stallAfter: 1 }));
    const res = await rawStream({ model: `bedrock/${CLAUDE}`, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
    expect(res.status).toBe(502);
    const body = await res.json();
    expectContractResponse(MESSAGES, 'post', 502, body);
    expect(body.error).toEqual({
      type: 'api_error',
      message: `bedrock/${CLAUDE}: the upstream event stream is corrupt: a message's prelude gives a length of 4294967295 bytes, over the limit of 16777216`,
    });
    fake.enqueue(bedrockStreamReply([claims4GB, new Uint8Array(16)], { stallAfter: 1 }), bedrockStreamReply(bedrockInvokeFrames(anthropicMessage({ text: 'From the fallback.' }))));
    const rescued = await rawStream({ model: `bedrock/${CLAUDE}`, fallbacks: [`keyed/${CLAUDE}`], max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] } as Params);
    expect(rescued.status).toBe(200);
    expect(rescued.headers.get('x-bf-provider')).toBe('keyed');
    const raw = await rescued.text();
    expectContractStream(raw);
    expect(parseSse(raw).at(-1)!.event).toBe('message_stop');
    expect(fake.requests).toHaveLength(3);
  });

  it("a stream cut mid-way is continued on Bedrock itself with an assistant prefill (Claude's own body): the SDK's finalMessage is the whole answer", async () => {
    const story = 'This answer is going to be cut off before it ends, and then finished all the same.';
    const params: Params = { model: `bedrock/${CLAUDE}`, max_tokens: 100, messages: [{ role: 'user', content: 'Tell me a story' }] };
    fake.enqueue(bedrockStreamReply(bedrockInvokeFrames(anthropicMessage({ text: story }), { textChunkSize: 4 }), { cutAfter: 6 }));
    fake.setResponder((req) => bedrockStreamReply(bedrockInvokeFrames(anthropicMessage({ text: restOfAnswer(req.body, story) }), { textChunkSize: 4 })));
    const message = await client.messages.stream(params).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: story }]);
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1]!.path).toMatch(/invoke-with-response-stream$/);
    expect(fake.requests[1]!.body.messages).toEqual([params.messages[0], { role: 'assistant', content: story.slice(0, 16).trimEnd() }]);
  });

  it('Converse models are not continued: a cut stream ends with event: error', async () => {
    const cut = bedrockStreamReply(converseStreamFrames({ text: 'A Llama answer that is going to be cut off.' }), { cutAfter: 4 });
    fake.enqueue(cut);
    const raw = await (await rawStream({ model: 'bedrock/meta.llama3-3-70b-instruct-v1:0', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] })).text();
    expect(parseSse(raw).at(-1)!.event).toBe('error');
    expect(fake.requests).toHaveLength(1);
  });

  it('count_tokens through Bedrock’s CountTokens, on the foundation model behind a profile', async () => {
    const result = await client.messages.countTokens({ model: `bedrock/${PROFILE}`, system: 'Be brief.', messages: [{ role: 'user', content: 'How many tokens is this?' }] });
    expect(result.input_tokens).toBe(9);
    expect(fake.requests[0]!.path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/count-tokens');
    const inner = JSON.parse(Buffer.from(fake.requests[0]!.body.input.invokeModel.body, 'base64').toString('utf8'));
    expect(inner).toMatchObject({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 1, system: 'Be brief.' });
    expect(inner).not.toHaveProperty('model');
  });

  it('a model id that would leave its path segment is a 400 naming the field, before any call', async () => {
    for (const [body, field] of [
      [{ model: 'bedrock/../../admin' }, 'model'],
      [{ model: `bedrock/${CLAUDE}`, fallbacks: ['bedrock/anthropic.claude/../x'] }, 'fallbacks[0]'],
    ] as const) {
      const res = await fetch(`${gw.url}${MESSAGES}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'x' },
        body: JSON.stringify({ max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...body }),
      });
      expect(res.status).toBe(400);
      const json = await res.json();
      expect(json.error.type).toBe('invalid_request_error');
      expect(json.error.message).toMatch(new RegExp(`^${field.replace(/[[\]]/g, '\\$&')}: ".*" is not a Bedrock model id`));
    }
    expect(fake.requests).toHaveLength(0);
  });
});

describe('other Bedrock models (Converse) through the official Anthropic SDK', () => {
  it('text: translated both ways; create and stream agree', async () => {
    converseAnswers({ text: 'Hello from Llama on Bedrock.', usage: { inputTokens: 14, outputTokens: 6, cacheReadInputTokens: 4 } });
    const message = await createAndStream({ model: `bedrock/${LLAMA}`, max_tokens: 200, system: 'Be brief.', top_p: 0.9, messages: [{ role: 'user', content: 'Hi' }] } as Params);
    expect(message).toMatchObject({
      model: LLAMA,
      content: [{ type: 'text', text: 'Hello from Llama on Bedrock.' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 14, output_tokens: 6, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 },
    });
    expect(message.id).toMatch(/^msg_bdrk_fake-bedrock-\d+$/);
    expect(fake.requests[0]!.path).toBe('/model/meta.llama3-3-70b-instruct-v1%3A0/converse');
    expect(fake.requests[1]!.path).toBe('/model/meta.llama3-3-70b-instruct-v1%3A0/converse-stream');
    expect(fake.requests[0]!.body).toEqual({
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      inferenceConfig: { maxTokens: 200, topP: 0.9 },
    });
  });

  it('tools round trip', async () => {
    converseAnswers({ text: 'Let me look.', toolUses: [{ toolUseId: 'tooluse_01', name: 'get_weather', input: { city: 'Oslo' } }] });
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Oslo?' };
    const first = await createAndStream({ model: `bedrock/${LLAMA}`, max_tokens: 200, tools: [weatherTool], tool_choice: { type: 'any' }, messages: [question] });
    expect(first.content).toEqual([
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', id: 'tooluse_01', name: 'get_weather', input: { city: 'Oslo' } },
    ]);
    expect(first.stop_reason).toBe('tool_use');
    expect(fake.requests[0]!.body.toolConfig).toEqual({ tools: [{ toolSpec: { name: 'get_weather', description: 'Current weather for a city', inputSchema: { json: weatherTool.input_schema } } }], toolChoice: { any: {} } });
    fake.reset();
    converseAnswers({ text: 'It is snowing in Oslo.' });
    const second = await createAndStream({
      model: `bedrock/${LLAMA}`,
      max_tokens: 200,
      tools: [weatherTool],
      messages: [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tooluse_01', content: 'Snow, -3°C' }] }],
    });
    expect(second.content).toEqual([{ type: 'text', text: 'It is snowing in Oslo.' }]);
    expect(fake.requests[0]!.body.messages.at(-1)).toEqual({ role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_01', content: [{ text: 'Snow, -3°C' }] } }] });
  });

  it('thinking: reasoning comes back as a thinking block; the request’s thinking is named in x-bf-dropped', async () => {
    converseAnswers({ reasoning: { text: 'Think about it.' }, text: '42.' });
    const params: Params = { model: `bedrock/${LLAMA}`, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'Meaning of life?' }] };
    const message = await createAndStream(params);
    expect(message.content).toEqual([
      { type: 'thinking', thinking: 'Think about it.', signature: '' },
      { type: 'text', text: '42.' },
    ]);
    const res = await client.messages.create(params).withResponse();
    expect(res.response.headers.get('x-bf-dropped')).toBe('thinking');
  });

  it('stop sequences: inferenceConfig.stopSequences; the one matched comes back', async () => {
    converseAnswers({ text: 'One, two', stopReason: 'stop_sequence' });
    const message = await createAndStream({ model: `bedrock/${LLAMA}`, max_tokens: 50, stop_sequences: ['three'], messages: [{ role: 'user', content: 'Count' }] });
    expect([message.stop_reason, message.stop_sequence]).toEqual(['stop_sequence', 'three']);
    expect(fake.requests[0]!.body.inferenceConfig.stopSequences).toEqual(['three']);
  });

  it('an unsupported feature is a 400 naming it; with drop_unsupported it is dropped and named', async () => {
    const params = { model: `bedrock/${LLAMA}`, max_tokens: 50, mcp_servers: [{ type: 'url', name: 'm', url: 'https://mcp.example.com' }], messages: [{ role: 'user', content: 'hi' }] } as unknown as Params;
    const err = await client.messages.create(params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ error: { message: expect.stringContaining('provider "bedrock" (Bedrock Converse) does not support mcp_servers') } });
    expect(fake.requests).toHaveLength(0);
    converseAnswers({ text: 'ok' });
    const res = await client.messages.create({ ...params, model: `lenient/${LLAMA}` }).withResponse();
    expect(res.response.headers.get('x-bf-dropped')).toBe('mcp_servers');
  });

  it('count_tokens: counted locally where the model has no CountTokens, and remembered', async () => {
    const params = { model: `bedrock/${LLAMA}`, messages: [{ role: 'user' as const, content: 'How many tokens is this sentence?' }] };
    const first = await client.messages.countTokens(params);
    expect(first.input_tokens).toBeGreaterThan(5);
    expect(fake.requests).toHaveLength(1);
    const second = await client.messages.countTokens(params);
    expect(second.input_tokens).toBe(first.input_tokens);
    expect(fake.requests).toHaveLength(1);
  });

  it('a ConverseStream exception after content: event: error, never message_stop', async () => {
    const frames = converseStreamFrames({ text: 'A long answer that will fail half way through.' });
    fake.enqueue(bedrockStreamReply([...frames.slice(0, 4), bedrockExceptionFrame('modelStreamErrorException', 'Model stream error')]));
    const raw = await (await rawStream({ model: `bedrock/${LLAMA}`, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] })).text();
    const events = parseSse(raw);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { error: { type: 'api_error', message: expect.stringContaining('modelStreamErrorException') } } });
    expect(events.map((e) => e.event)).not.toContain('message_stop');
    expectContractStream(raw);
  });
});
