/**
 * The official Anthropic SDK against `vertex/<model>`: the real gateway in front of the testkit's
 * fake Vertex AI, whose token endpoint checks the gateway's service-account assertions and whose
 * prediction routes refuse requests without a valid token. create() and stream().finalMessage()
 * agree, and every answer and stream validates against openapi.yaml.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import {
  anthropicAnswer,
  anthropicError,
  anthropicErrorEvent,
  anthropicMessage,
  anthropicSseEvents,
  createFakeServiceAccount,
  parseSse,
  startFakeVertex,
  vertexError,
  type FakeReply,
  type FakeVertex,
} from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

const MESSAGES = '/anthropic/v1/messages';
const MODEL = 'claude-sonnet-4-5@20250929';
const PREDICT = `/v1/projects/fake-project/locations/us-east5/publishers/anthropic/models/${MODEL}`;

const sa = createFakeServiceAccount();
let fake: FakeVertex;
let gw: RunningGateway;
let client: Anthropic;

beforeAll(async () => {
  fake = await startFakeVertex({ serviceAccounts: [sa] });
  const dir = mkdtempSync(join(tmpdir(), 'conduit-vertex-'));
  const keyFile = join(dir, 'sa.json');
  writeFileSync(keyFile, sa.keyFile(`${fake.url}/token`));
  const stranger = join(dir, 'stranger.json');
  writeFileSync(stranger, createFakeServiceAccount('stranger@fake-project.iam.gserviceaccount.com').keyFile(`${fake.url}/token`));
  const vertex = (over: Record<string, unknown> = {}) => ({ type: 'vertex' as const, project: 'fake-project', region: 'us-east5', base_url: fake.url, credentials_file: keyFile, max_retries: 0, ...over });
  gw = await startGateway({
    providers: {
      vertex: vertex(),
      global: vertex({ region: 'global', project: 'fake-project' }),
      stranger: vertex({ credentials_file: stranger }),
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
const predictions = () => fake.requests.filter((r) => r.path !== '/token');

function withoutClientFields(message: Anthropic.Message): Record<string, unknown> {
  const { parsed_output: _parsed, stop_details: _details, ...rest } = message as Anthropic.Message & Record<string, unknown>;
  return rest;
}

async function rawStream(params: Params, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}${MESSAGES}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-version': '2023-06-01', ...headers },
    body: JSON.stringify({ ...params, stream: true }),
  });
}

async function createAndStream(params: Params): Promise<Anthropic.Message> {
  const created = await client.messages.create(params);
  expectContractResponse(MESSAGES, 'post', 200, created);
  const final = await client.messages.stream(params).finalMessage();
  expect(withoutClientFields(final)).toEqual(withoutClientFields(created));
  const raw = await rawStream(params);
  expect(raw.status).toBe(200);
  expectContractStream(await raw.text());
  expect(predictions()).toHaveLength(3);
  return created;
}

function answers(message: ReturnType<typeof anthropicMessage>): void {
  fake.setResponder((req): FakeReply => (req.path.endsWith(':streamRawPredict') ? { kind: 'sse', events: anthropicSseEvents(message) } : { kind: 'json', body: message }));
}

const weatherTool: Anthropic.Tool = {
  name: 'get_weather',
  description: 'Current weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('Claude on Vertex AI through the official Anthropic SDK', () => {
  it('text: rawPredict / streamRawPredict with Vertex’s body and an OAuth token from the service account', async () => {
    answers(anthropicMessage({ id: 'msg_vrtx_01Text', model: 'claude-sonnet-4-5-20250929', text: 'Hello from Claude on Vertex.', usage: { input_tokens: 11, output_tokens: 6 } }));
    const message = await createAndStream({ model: `vertex/${MODEL}`, max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
    expect(message).toMatchObject({ id: 'msg_vrtx_01Text', content: [{ type: 'text', text: 'Hello from Claude on Vertex.' }], usage: { input_tokens: 11, output_tokens: 6 } });
    const [json, stream] = predictions();
    expect(json!.path).toBe(`${PREDICT}:rawPredict`);
    expect(stream!.path).toBe(`${PREDICT}:streamRawPredict`);
    expect(json!.body).toEqual({ anthropic_version: 'vertex-2023-10-16', max_tokens: 200, system: 'Be brief.', messages: [{ role: 'user', content: 'Hi' }] });
    expect(stream!.body).toMatchObject({ anthropic_version: 'vertex-2023-10-16', stream: true });
    expect(stream!.body).not.toHaveProperty('model');
    expect(fake.issuedTokens).toContain(String(json!.headers.authorization).replace('Bearer ', ''));
    expect(json!.headers['x-api-key']).toBeUndefined();
  });

  it('one token serves many requests: fetched once, cached', async () => {
    answers(anthropicMessage({ text: 'ok' }));
    const before = fake.issuedTokens.length;
    for (let i = 0; i < 3; i++) await client.messages.create({ model: `vertex/${MODEL}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(fake.issuedTokens.length - before).toBeLessThanOrEqual(1);
    expect(new Set(predictions().map((r) => r.headers.authorization)).size).toBe(1);
  });

  it('tools round trip', async () => {
    answers(anthropicMessage({ content: [{ type: 'tool_use', id: 'toolu_vrtx_01', name: 'get_weather', input: { city: 'Rome' } }] }));
    const question: Anthropic.MessageParam = { role: 'user', content: 'Weather in Rome?' };
    const first = await createAndStream({ model: `vertex/${MODEL}`, max_tokens: 300, tools: [weatherTool], messages: [question] });
    expect(first.content).toEqual([{ type: 'tool_use', id: 'toolu_vrtx_01', name: 'get_weather', input: { city: 'Rome' } }]);
    fake.reset();
    answers(anthropicMessage({ text: 'Rome: 28°C.' }));
    const history: Anthropic.MessageParam[] = [question, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_vrtx_01', content: '28°C' }] }];
    const second = await createAndStream({ model: `vertex/${MODEL}`, max_tokens: 300, tools: [weatherTool], messages: history });
    expect(second.content).toEqual([{ type: 'text', text: 'Rome: 28°C.' }]);
    expect(predictions()[0]!.body.messages).toEqual(JSON.parse(JSON.stringify(history)));
  });

  it('thinking and stop sequences', async () => {
    answers(anthropicMessage({ content: [{ type: 'thinking', thinking: 'Counting…', signature: 'sigVrtx' }, { type: 'text', text: 'one two' }], stop_reason: 'stop_sequence', stop_sequence: 'three' }));
    const message = await createAndStream({ model: `vertex/${MODEL}`, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 }, stop_sequences: ['three'], messages: [{ role: 'user', content: 'Count' }] });
    expect(message.content).toEqual([{ type: 'thinking', thinking: 'Counting…', signature: 'sigVrtx' }, { type: 'text', text: 'one two' }]);
    expect([message.stop_reason, message.stop_sequence]).toEqual(['stop_sequence', 'three']);
    expect(predictions()[0]!.body).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 1024 }, stop_sequences: ['three'] });
  });

  it('the client’s betas go as the anthropic-beta header', async () => {
    answers(anthropicMessage({ text: 'ok' }));
    const res = await fetch(`${gw.url}${MESSAGES}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'x', 'anthropic-beta': 'context-1m-2025-08-07' },
      body: JSON.stringify({ model: `vertex/${MODEL}`, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }),
    });
    expect(res.status).toBe(200);
    expect(predictions()[0]!.headers['anthropic-beta']).toBe('context-1m-2025-08-07');
  });

  it('the global location', async () => {
    answers(anthropicMessage({ text: 'ok' }));
    await client.messages.create({ model: `global/${MODEL}`, max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] });
    expect(predictions()[0]!.path).toBe(`/v1/projects/fake-project/locations/global/publishers/anthropic/models/${MODEL}:rawPredict`);
  });

  it('errors: quota is a RateLimitError; a model error in Anthropic’s envelope keeps its type', async () => {
    fake.enqueue(vertexError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.'));
    const quota = await client.messages.create({ model: `vertex/${MODEL}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(quota).toBeInstanceOf(Anthropic.RateLimitError);
    expect((quota as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ error: { type: 'rate_limit_error', message: expect.stringContaining('RESOURCE_EXHAUSTED: Quota exceeded') } });
    expectContractResponse(MESSAGES, 'post', 429, (quota as InstanceType<typeof Anthropic.RateLimitError>).error);
    fake.enqueue(anthropicError(529, 'overloaded_error', 'Overloaded'));
    const overloaded = await client.messages.create({ model: `vertex/${MODEL}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(overloaded).toMatchObject({ status: 529, error: { error: { type: 'overloaded_error', message: 'Overloaded' } } });
  });

  it('a service account the token endpoint refuses: 502, the gateway’s credentials, never the client’s', async () => {
    const res = await fetch(`${gw.url}${MESSAGES}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'x' },
      body: JSON.stringify({ model: `stranger/${MODEL}`, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(502);
    expect((await res.json()).error.message).toMatch(/refused the gateway's credentials: .*token endpoint refused the service account stranger@/);
    expect(predictions()).toHaveLength(0);
  });

  it('a stream that fails after content, and whose continuation fails too: the original event: error, never message_stop', async () => {
    const events = anthropicSseEvents(anthropicMessage({ text: 'This will be interrupted by an overload.' }), { textChunkSize: 5 });
    fake.enqueue({ kind: 'sse', events: [...events.slice(0, 5), anthropicErrorEvent('overloaded_error', 'Overloaded')] }, vertexError(503, 'UNAVAILABLE', 'unavailable'));
    const raw = await (await rawStream({ model: `vertex/${MODEL}`, max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] })).text();
    const parsed = parseSse(raw);
    expect(parsed.at(-1)).toMatchObject({ event: 'error', data: { error: { type: 'overloaded_error', message: 'Overloaded' } } });
    expect(parsed.map((e) => e.event)).not.toContain('message_stop');
    expectContractStream(raw);
  });

  it("a stream cut mid-way is continued on Vertex itself with an assistant prefill (Claude's own body): the SDK's finalMessage is the whole answer", async () => {
    const story = 'Once upon a time a fox met a dog, and they talked until the sun went down.';
    const params: Params = { model: `vertex/${MODEL}`, max_tokens: 100, messages: [{ role: 'user', content: 'Tell me a story' }] };
    fake.enqueue(anthropicAnswer({ ...params, stream: true }, story, { cutAfter: 8 }));
    fake.setResponder((req) => anthropicAnswer(req.body, story));
    const message = await client.messages.stream(params).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: story }]);
    const calls = predictions();
    expect(calls.map((c) => c.path.split(':').at(-1))).toEqual(['streamRawPredict', 'streamRawPredict']);
    expect(calls[1]!.body).toMatchObject({ anthropic_version: 'vertex-2023-10-16', messages: [params.messages[0], { role: 'assistant', content: story.slice(0, 20).trimEnd() }] });
  });

  it('count_tokens through count-tokens:rawPredict, with the model in the body', async () => {
    const result = await client.messages.countTokens({ model: `vertex/${MODEL}`, messages: [{ role: 'user', content: 'How many tokens is this?' }] });
    expect(result.input_tokens).toBe(6);
    expect(predictions()[0]!.path).toBe('/v1/projects/fake-project/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict');
    expect(predictions()[0]!.body).toMatchObject({ anthropic_version: 'vertex-2023-10-16', model: MODEL });
  });

  it('a model id that would leave its path segment is a 400 naming the field, before any call', async () => {
    for (const model of ['vertex/../../../v1/projects/other', 'vertex/claude:rawPredict?x=', 'vertex/a/b']) {
      const res = await fetch(`${gw.url}${MESSAGES}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'x' },
        body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(/^model: ".*" is not a Vertex AI model id/);
    }
    expect(predictions()).toHaveLength(0);
  });
});
