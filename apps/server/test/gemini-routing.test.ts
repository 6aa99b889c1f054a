/**
 * Gemini is a routing target like any other: fallbacks across provider types (Claude on Vertex →
 * Claude on Bedrock → Gemini, and Gemini → Anthropic), its quota errors' retry delays, key
 * cooldowns, streams that fail before content, async jobs and metrics; and what it cannot carry is
 * refused by name (the next fallback takes the request as it is) or dropped and listed. All through
 * the real gateway and the signature-, token- and key-checking fakes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FAKE_BEDROCK_CREDENTIALS,
  FAKE_GEMINI_API_KEY,
  bedrockError,
  createFakeServiceAccount,
  geminiError,
  geminiQuotaError,
  geminiSseFrames,
  geminiStreamChunks,
  startFakeAnthropic,
  startFakeBedrock,
  startFakeGemini,
  startFakeVertex,
  vertexError,
  type FakeGemini,
  type FakeUpstream,
  type FakeVertex,
} from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntilDone, submitJob } from './helpers/async.js';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';
import { send, served, streamedText, warmUp } from './helpers/routing.js';

const VERTEX = 'vertex/claude-sonnet-4-5@20250929';
const BEDROCK = 'bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0';
const GEMINI = 'gemini/gemini-2.5-pro';
const ANTHROPIC = 'anthropic/claude-sonnet-4-5';
const GEMINI_TEXT = 'Hello from the fake Gemini upstream.';

const sa = createFakeServiceAccount();
let vertex: FakeVertex;
let bedrock: FakeUpstream;
let gemini: FakeGemini;
let anthropic: FakeUpstream;
let gw: RunningGateway;

/** Small backoffs and timeouts: fault scenarios take milliseconds. */
const fast = { retry: { base_ms: 20, max_ms: 80, max_retry_after_ms: 2_000, key_cooldown_ms: 60_000 }, timeouts: { connect_ms: 1_000, headers_ms: 2_000, first_token_ms: 2_000, idle_ms: 2_000, total_ms: 10_000 } };

beforeAll(async () => {
  [vertex, bedrock, gemini, anthropic] = await Promise.all([startFakeVertex({ serviceAccounts: [sa] }), startFakeBedrock(), startFakeGemini({ apiKeys: [FAKE_GEMINI_API_KEY, 'AIzaSecondKey'] }), startFakeAnthropic()]);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'conduit-gemini-routing-')), 'sa.json');
  writeFileSync(keyFile, sa.keyFile(`${vertex.url}/token`));
  const geminiProvider = (over: Record<string, unknown> = {}) => ({ type: 'gemini' as const, base_url: `${gemini.url}/v1beta`, keys: [{ value: FAKE_GEMINI_API_KEY }], max_retries: 1, ...fast, ...over });
  gw = await startGateway({
    models: { claude: { target: VERTEX, fallbacks: [BEDROCK, GEMINI] } },
    providers: {
      vertex: { type: 'vertex', project: 'fake-project', region: 'us-east5', base_url: vertex.url, credentials_file: keyFile, max_retries: 0, ...fast },
      bedrock: {
        type: 'bedrock',
        region: 'us-east-1',
        base_url: bedrock.url,
        aws: { access_key_id: FAKE_BEDROCK_CREDENTIALS.accessKeyId, secret_access_key: FAKE_BEDROCK_CREDENTIALS.secretAccessKey },
        max_retries: 1,
        ...fast,
      },
      gemini: geminiProvider(),
      lenient: geminiProvider({ drop_unsupported: true }),
      twokeys: geminiProvider({ keys: [{ value: 'AIzaRevokedKey', weight: 1000 }, { value: 'AIzaSecondKey', weight: 1 }] }),
      anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk-ant' }], max_retries: 0, ...fast },
    },
  });
  await warmUp(gw);
}, 30_000);
afterEach(() => {
  for (const f of [vertex, bedrock, gemini, anthropic]) f.reset();
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([vertex, bedrock, gemini, anthropic].map((f) => f?.close()));
});

const predictions = () => vertex.requests.filter((r) => r.path !== '/token');

describe('fallbacks across provider types, ending on Gemini', () => {
  it('Vertex 503 → Bedrock throttled (retried, throttled again) → Gemini serves', async () => {
    vertex.enqueue(vertexError(503, 'UNAVAILABLE', 'The service is currently unavailable.'));
    bedrock.enqueue(bedrockError(429, 'ThrottlingException', 'Too many requests'), bedrockError(429, 'ThrottlingException', 'Too many requests'));
    const reply = await send(gw, { model: 'claude' });
    expect(reply.status).toBe(200);
    expect(served(reply)).toEqual({ provider: 'gemini', model: 'gemini-2.5-pro', attempts: '4', fallbackIndex: '2' });
    expect(reply.json.content).toEqual([{ type: 'text', text: GEMINI_TEXT }]);
    expectContractResponse('/anthropic/v1/messages', 'post', 200, reply.json);
    expect([predictions().length, bedrock.requests.length, gemini.requests.length]).toEqual([1, 2, 1]);
  });

  it('streams: Vertex and Bedrock fail before content, Gemini streams the answer', async () => {
    vertex.enqueue(vertexError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.'));
    bedrock.enqueue(bedrockError(503, 'ServiceUnavailableException', 'Service unavailable'), bedrockError(503, 'ServiceUnavailableException', 'Service unavailable'));
    const reply = await send(gw, { model: VERTEX, stream: true, fallbacks: [BEDROCK, GEMINI] });
    expect(reply.status).toBe(200);
    expect(served(reply)).toEqual({ provider: 'gemini', model: 'gemini-2.5-pro', attempts: '4', fallbackIndex: '2' });
    expect(streamedText(reply.events!)).toBe(GEMINI_TEXT);
    expectContractStream(reply.text);
  });

  it('Gemini first: UNAVAILABLE retried, then the Anthropic fallback serves; a Gemini stream cut before content falls back too', async () => {
    gemini.enqueue(geminiError(503, 'UNAVAILABLE', 'The model is overloaded.'), geminiError(503, 'UNAVAILABLE', 'The model is overloaded.'));
    const reply = await send(gw, { model: GEMINI, fallbacks: [ANTHROPIC] });
    expect(served(reply)).toMatchObject({ provider: 'anthropic', attempts: '3', fallbackIndex: '1' });
    gemini.enqueue({ kind: 'sse', events: geminiSseFrames(geminiStreamChunks({ text: 'never shown' })), cutAfter: 0 }, { kind: 'sse', events: [], cutAfter: 0 });
    const stream = await send(gw, { model: GEMINI, stream: true, fallbacks: [BEDROCK] });
    expect(served(stream)).toMatchObject({ provider: 'bedrock', fallbackIndex: '1' });
    expect(streamedText(stream.events!)).toBe('Hello from the fake Bedrock upstream.');
  });

  // Each case its own model: a 429 cools the key down for that model (for its retry delay).
  it('a quota error whose retry delay is above the cap goes to the next fallback at once; a short one is waited out', async () => {
    gemini.enqueue(geminiQuotaError(37));
    const long = await send(gw, { model: 'gemini/gemini-2.5-flash-lite', fallbacks: [ANTHROPIC] });
    expect(served(long)).toMatchObject({ provider: 'anthropic', attempts: '2', fallbackIndex: '1' });
    expect(gemini.requests).toHaveLength(1);
    gemini.reset();
    gemini.enqueue(geminiQuotaError(1));
    const short = await send(gw, { model: 'gemini/gemini-2.5-flash', fallbacks: [ANTHROPIC] });
    expect(served(short)).toMatchObject({ provider: 'gemini', attempts: '2', fallbackIndex: '0' });
    expect(gemini.requests[1]!.at - gemini.requests[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('a key Gemini refuses is cooled down and the provider’s other key serves', async () => {
    const first = await send(gw, { model: 'twokeys/gemini-2.5-pro' });
    expect(served(first)).toMatchObject({ provider: 'twokeys', attempts: '2' });
    expect(gemini.requests.map((r) => r.headers['x-goog-api-key'])).toEqual(['AIzaRevokedKey', 'AIzaSecondKey']);
    gemini.reset();
    await send(gw, { model: 'twokeys/gemini-2.5-pro' });
    expect(gemini.requests.map((r) => r.headers['x-goog-api-key'])).toEqual(['AIzaSecondKey']);
  });

  it('a client error on Gemini (INVALID_ARGUMENT) is final: no fallback', async () => {
    gemini.enqueue(geminiError(400, 'INVALID_ARGUMENT', 'Request contains an invalid argument.'));
    const reply = await send(gw, { model: GEMINI, fallbacks: [ANTHROPIC] });
    expect(reply.status).toBe(400);
    expect(anthropic.requests).toHaveLength(0);
  });
});

describe('what Gemini cannot carry, through the gateway', () => {
  const compaction = {
    messages: [
      { role: 'user', content: 'Summarise our work so far.' },
      { role: 'assistant', content: [{ type: 'compaction', content: 'Earlier: the user set up the project.' }, { type: 'text', text: 'Done.' }] },
      { role: 'user', content: 'Go on.' },
    ],
  };

  it('a kind the contract does not know is refused by name before any call; an Anthropic fallback gets the request unchanged', async () => {
    const refused = await send(gw, { model: GEMINI, max_tokens: 100, ...compaction });
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toContain('provider "gemini" (Gemini generateContent) does not support compaction');
    expect(gemini.requests).toHaveLength(0);
    const request = { model: GEMINI, max_tokens: 100, fallbacks: [ANTHROPIC], ...compaction };
    const reply = await send(gw, request);
    expect(served(reply)).toMatchObject({ provider: 'anthropic', fallbackIndex: '1' });
    const { model: _model, fallbacks: _fallbacks, ...rest } = request;
    expect(anthropic.requests[0]!.body).toEqual({ ...rest, model: 'claude-sonnet-4-5' });
  });

  it('a tool whose references multiply past what a request may hold is refused by name at once; the fallback gets it unchanged', async () => {
    // About 300 KB: 5,000 allOf parts that each point at a list of 50,000 names.
    const names = Array.from({ length: 50_000 }, (_, i) => `p${i}`);
    const hostile = { name: 'hostile', input_schema: { type: 'object', $defs: { R: { required: names } }, allOf: Array.from({ length: 5_000 }, () => ({ $ref: '#/$defs/R' })) } };
    const request = { model: GEMINI, max_tokens: 100, tools: [hostile], messages: [{ role: 'user', content: 'Hi' }] };
    const refused = await send(gw, request);
    expect(refused.status).toBe(400);
    expect(refused.json.error.message).toContain('provider "gemini" (Gemini generateContent) does not support tool hostile');
    expect(gemini.requests).toHaveLength(0);
    const reply = await send(gw, { ...request, fallbacks: [ANTHROPIC] });
    expect(served(reply)).toMatchObject({ provider: 'anthropic', fallbackIndex: '1' });
    expect(anthropic.requests[0]!.body.tools).toEqual([hostile]);
  });

  it('with drop_unsupported it is dropped and listed, with the tuning fields; no trace of it goes upstream', async () => {
    const reply = await send(gw, { model: 'lenient/gemini-2.5-pro', max_tokens: 100, service_tier: 'auto', context_management: { edits: [] }, ...compaction });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-bf-dropped')!.split(', ').sort()).toEqual(['compaction', 'context_management', 'service_tier']);
    expect(JSON.stringify(gemini.requests[0]!.body)).not.toContain('compaction');
  });
});

describe('async jobs and metrics', () => {
  it('an async job on Gemini: 202 now, the Message on the poll', async () => {
    const id = await submitJob(gw.url, { model: GEMINI, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    const done = await pollUntilDone(gw.url, id);
    expect(done.status).toBe(200);
    expect(done.headers['x-bf-provider']).toBe('gemini');
    expect(done.body.content[0]).toEqual({ type: 'text', text: GEMINI_TEXT });
  });

  it('requests to Gemini are counted under its provider name and model', async () => {
    await send(gw, { model: GEMINI });
    const all = parsePrometheus((await request(gw.url).get('/metrics')).text);
    expect(sample(all, 'conduit_requests_total', { gen_ai_operation_name: 'chat', http_response_status_code: '200', error_type: '', gen_ai_provider_name: 'gemini', gen_ai_request_model: 'gemini-2.5-pro' })).toBeGreaterThanOrEqual(1);
  });
});
