/**
 * Bedrock and Vertex are routing targets like any other: fallbacks across provider types (Claude
 * on Vertex → Claude on Bedrock → Anthropic or an OpenAI-compatible server), retries on Bedrock's
 * throttling, async jobs and metrics, all through the real gateway and the signature- and
 * token-checking fakes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FAKE_BEDROCK_CREDENTIALS,
  anthropicMessage,
  bedrockError,
  bedrockInvokeFrames,
  bedrockStreamReply,
  createFakeServiceAccount,
  openaiChunks,
  startFakeAnthropic,
  startFakeBedrock,
  startFakeOpenAI,
  startFakeVertex,
  vertexError,
  type FakeUpstream,
  type FakeVertex,
} from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pollUntilDone, submitJob } from './helpers/async.js';
import { expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';
import { send, served, streamedText, warmUp } from './helpers/routing.js';

const VERTEX = 'vertex/claude-sonnet-4-5@20250929';
const BEDROCK = 'bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0';
const ANTHROPIC = 'anthropic/claude-sonnet-4-5';
const OPENAI = 'openai/gpt-4o';

const sa = createFakeServiceAccount();
let vertex: FakeVertex;
let bedrock: FakeUpstream;
let anthropic: FakeUpstream;
let openai: FakeUpstream;
let gw: RunningGateway;

/** Small backoffs and timeouts: fault scenarios take milliseconds. */
const fast = { retry: { base_ms: 20, max_ms: 80, max_retry_after_ms: 2_000, key_cooldown_ms: 60_000 }, timeouts: { connect_ms: 1_000, headers_ms: 2_000, first_token_ms: 2_000, idle_ms: 2_000, total_ms: 10_000 } };

beforeAll(async () => {
  [vertex, bedrock, anthropic, openai] = await Promise.all([startFakeVertex({ serviceAccounts: [sa] }), startFakeBedrock(), startFakeAnthropic(), startFakeOpenAI()]);
  const keyFile = join(mkdtempSync(join(tmpdir(), 'conduit-cloud-')), 'sa.json');
  writeFileSync(keyFile, sa.keyFile(`${vertex.url}/token`));
  gw = await startGateway({
    models: { claude: { target: VERTEX, fallbacks: [BEDROCK, ANTHROPIC] } },
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
      anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk-ant' }], max_retries: 0, ...fast },
      openai: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: 'sk-oai' }], max_retries: 0, ...fast },
    },
  });
  await warmUp(gw);
}, 30_000);
afterEach(() => {
  for (const f of [vertex, bedrock, anthropic, openai]) f.reset();
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([vertex, bedrock, anthropic, openai].map((f) => f?.close()));
});

const predictions = () => vertex.requests.filter((r) => r.path !== '/token');

describe('fallbacks across provider types', () => {
  it('Vertex 503 → Bedrock throttled (retried, then throttled again) → Anthropic serves', async () => {
    vertex.enqueue(vertexError(503, 'UNAVAILABLE', 'The service is currently unavailable.'));
    bedrock.enqueue(bedrockError(429, 'ThrottlingException', 'Too many requests'), bedrockError(429, 'ThrottlingException', 'Too many requests'));
    const reply = await send(gw, { model: 'claude' });
    expect(reply.status).toBe(200);
    expect(served(reply)).toEqual({ provider: 'anthropic', model: 'claude-sonnet-4-5', attempts: '4', fallbackIndex: '2' });
    expect(predictions()).toHaveLength(1);
    expect(bedrock.requests).toHaveLength(2);
    expect(anthropic.requests).toHaveLength(1);
  });

  it('a throttled Bedrock attempt is retried on Bedrock and serves', async () => {
    bedrock.enqueue(bedrockError(429, 'ThrottlingException', 'Too many requests'));
    const reply = await send(gw, { model: BEDROCK });
    expect(reply.status).toBe(200);
    expect(served(reply)).toMatchObject({ provider: 'bedrock', attempts: '2', fallbackIndex: '0' });
    expect(reply.json.content).toEqual([{ type: 'text', text: 'Hello from the fake Bedrock upstream.' }]);
  });

  it('streams: Vertex fails before content, Bedrock’s stream is cut before content, the OpenAI fallback streams', async () => {
    vertex.enqueue(vertexError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded.'));
    bedrock.enqueue(bedrockError(503, 'ModelNotReadyException', 'Model is not ready for inference.'), bedrockStreamReply(bedrockInvokeFrames(anthropicMessage({ text: 'never shown' })), { cutAfter: 1 }));
    openai.enqueue({ kind: 'sse', events: openaiChunks({ content: 'Served by OpenAI after two clouds failed.', includeUsage: true }) });
    const reply = await send(gw, { model: VERTEX, stream: true, fallbacks: [BEDROCK, OPENAI] });
    expect(reply.status).toBe(200);
    expect(served(reply)).toEqual({ provider: 'openai', model: 'gpt-4o', attempts: '4', fallbackIndex: '2' });
    expect(streamedText(reply.events!)).toBe('Served by OpenAI after two clouds failed.');
    expectContractStream(reply.text);
  });

  it('Bedrock as the fallback of Vertex, in the other direction too', async () => {
    vertex.enqueue(vertexError(500, 'INTERNAL', 'Internal error encountered.'));
    const reply = await send(gw, { model: VERTEX, fallbacks: [BEDROCK] });
    expect(served(reply)).toMatchObject({ provider: 'bedrock', fallbackIndex: '1' });
    bedrock.enqueue(bedrockError(503, 'ServiceUnavailableException', 'Service unavailable'), bedrockError(503, 'ServiceUnavailableException', 'Service unavailable'));
    const back = await send(gw, { model: BEDROCK, fallbacks: [VERTEX] });
    expect(served(back)).toMatchObject({ provider: 'vertex', attempts: '3', fallbackIndex: '1' });
  });

  it('a client error on Bedrock (ValidationException) is final: no fallback', async () => {
    bedrock.enqueue(bedrockError(400, 'ValidationException', 'messages: bad'));
    const reply = await send(gw, { model: BEDROCK, fallbacks: [ANTHROPIC] });
    expect(reply.status).toBe(400);
    expect(anthropic.requests).toHaveLength(0);
  });
});

describe('async jobs and metrics', () => {
  it('an async job on Bedrock: 202 now, the Message on the poll, with the x-bf headers', async () => {
    const id = await submitJob(gw.url, { model: BEDROCK, max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    const done = await pollUntilDone(gw.url, id);
    expect(done.status).toBe(200);
    expect(done.headers['x-bf-provider']).toBe('bedrock');
    expect(done.body.content).toEqual([{ type: 'text', text: 'Hello from the fake Bedrock upstream.' }]);
  });

  it('an async job on Vertex that fails over to Anthropic', async () => {
    vertex.enqueue(vertexError(503, 'UNAVAILABLE', 'unavailable'));
    const id = await submitJob(gw.url, { model: VERTEX, fallbacks: [ANTHROPIC], max_tokens: 20, messages: [{ role: 'user', content: 'Hi' }] });
    const done = await pollUntilDone(gw.url, id);
    expect(done.status).toBe(200);
    expect(done.headers['x-bf-provider']).toBe('anthropic');
    expect(done.headers['x-bf-fallback-index']).toBe('1');
  });

  it('requests to Bedrock and Vertex are counted under their provider names', async () => {
    await send(gw, { model: BEDROCK });
    await send(gw, { model: VERTEX });
    const all = parsePrometheus((await request(gw.url).get('/metrics')).text);
    const chat = { gen_ai_operation_name: 'chat', http_response_status_code: '200', error_type: '' };
    expect(sample(all, 'conduit_requests_total', { ...chat, gen_ai_provider_name: 'bedrock', gen_ai_request_model: 'anthropic.claude-sonnet-4-5-20250929-v1:0' })).toBeGreaterThanOrEqual(1);
    expect(sample(all, 'conduit_requests_total', { ...chat, gen_ai_provider_name: 'vertex', gen_ai_request_model: 'claude-sonnet-4-5@20250929' })).toBeGreaterThanOrEqual(1);
  });
});
