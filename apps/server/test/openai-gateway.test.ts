/**
 * The openai provider type in the running gateway beyond the SDK contract: presets by name and
 * zero-config, Azure, long tool names, stream endings, and error statuses.
 */
import Anthropic from '@anthropic-ai/sdk';
import { openaiChunks, openaiError, parseSse, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config/load.js';
import { contract, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

const MESSAGES = '/anthropic/v1/messages';
let fake: FakeUpstream;
const gateways: RunningGateway[] = [];

beforeAll(async () => {
  fake = await startFakeOpenAI({ strict: true });
});
afterEach(() => fake.reset());
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await fake?.close();
});

/**
 * Starts a gateway and sends it one request the contract rejects, so the request validator is built
 * here (in a hook with a generous timeout) rather than inside the first timed test.
 */
async function gateway(...args: Parameters<typeof startGateway>): Promise<{ gw: RunningGateway; client: Anthropic }> {
  const gw = await startGateway(...args);
  gateways.push(gw);
  const warm = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(warm.status).toBe(400);
  return { gw, client: new Anthropic({ apiKey: 'x', baseURL: gw.anthropicBaseUrl, maxRetries: 0 }) };
}

const HOOK_MS = 30_000;

async function rawStream(gw: RunningGateway, body: object): Promise<string> {
  const res = await fetch(`${gw.url}${MESSAGES}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ ...body, stream: true }),
  });
  expect(res.status).toBe(200);
  return res.text();
}

const hi = { max_tokens: 20, messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('presets', () => {
  let groq: Anthropic;
  let zero: Anthropic;
  const zeroEnv = () => ({ OPENAI_API_KEY: 'sk-zero', OPENAI_BASE_URL: `${fake.url}/v1`, DEEPSEEK_API_KEY: 'ds', DEEPSEEK_BASE_URL: `${fake.url}/v1` });
  beforeAll(async () => {
    ({ client: groq } = await gateway(
      { providers: { groq: { type: 'openai', max_retries: 0 } } },
      { env: { GROQ_API_KEY: 'gsk-test', GROQ_BASE_URL: `${fake.url}/v1` } },
    ));
    ({ client: zero } = await gateway({ ...configFromEnv(zeroEnv()), store: 'sqlite::memory:' }, { env: zeroEnv() }));
  }, HOOK_MS);

  it('`groq: { type: openai }` needs only GROQ_API_KEY (the URL comes from the preset, here redirected by GROQ_BASE_URL)', async () => {
    const client = groq;
    const message = await client.messages.create({ model: 'groq/llama-3.3-70b-versatile', ...hi });
    expect(message.content[0]).toMatchObject({ type: 'text' });
    expect(fake.requests[0]!.headers.authorization).toBe('Bearer gsk-test');
    expect(fake.requests[0]!.body.model).toBe('llama-3.3-70b-versatile');
  });

  it('zero-config: every preset whose key is set is a provider', async () => {
    const client = zero;
    await client.messages.create({ model: 'openai/gpt-4o-mini', ...hi });
    await client.messages.create({ model: 'deepseek/deepseek-chat', ...hi });
    expect(fake.requests.map((r) => [r.headers.authorization, r.body.model, r.body.max_completion_tokens ?? r.body.max_tokens])).toEqual([
      ['Bearer sk-zero', 'gpt-4o-mini', 20],
      ['Bearer ds', 'deepseek-chat', 20],
    ]);
    expect(fake.requests[1]!.body).toHaveProperty('max_tokens', 20); // DeepSeek takes max_tokens
  });
});

describe('azure', () => {
  let client: Anthropic;
  beforeAll(async () => {
    ({ client } = await gateway({
      providers: { azure: { type: 'openai', base_url: fake.url, keys: [{ value: 'az-key' }], azure: { api_version: '2024-10-21' }, max_retries: 0 } },
    }));
  }, HOOK_MS);

  it('deployment URL, api-version and api-key; the model part names the deployment', async () => {
    await client.messages.create({ model: 'azure/my-gpt4o', ...hi });
    const final = await client.messages.stream({ model: 'azure/my-gpt4o', ...hi }).finalMessage();
    expect(final.stop_reason).toBe('end_turn');
    for (const seen of fake.requests) {
      expect(seen.path).toBe('/openai/deployments/my-gpt4o/chat/completions');
      expect(seen.query.get('api-version')).toBe('2024-10-21');
      expect(seen.headers['api-key']).toBe('az-key');
      expect(seen.headers.authorization).toBeUndefined();
    }
  });
});

describe('through the gateway', () => {
  let gw: RunningGateway;
  let client: Anthropic;
  beforeAll(async () => {
    ({ gw, client } = await gateway({ providers: { openai: { type: 'openai', base_url: `${fake.url}/v1`, keys: [{ value: 'sk-test' }], max_retries: 0 } } }));
  }, HOOK_MS);

  it('tool names over 64 characters are shortened upstream and restored in the answer (JSON and stream)', async () => {
    const long = `mcp__company_knowledge_base__${'search_internal_documents_by_topic_'.repeat(2)}v2`;
    expect(long.length).toBeGreaterThan(64);
    const params = {
      model: 'openai/gpt-4o',
      max_tokens: 50,
      tools: [{ name: long, input_schema: { type: 'object' as const, properties: {} } }],
      tool_choice: { type: 'tool' as const, name: long },
      messages: [{ role: 'user' as const, content: 'CALL_TOOL please' }],
    };
    const created = await client.messages.create(params);
    const streamed = await client.messages.stream(params).finalMessage();
    for (const message of [created, streamed]) {
      expect(message.content).toEqual([{ type: 'tool_use', id: 'call_fakeUpstreamToolCall01', name: long, input: {} }]);
      expect(message.stop_reason).toBe('tool_use');
    }
    const sent = fake.requests[0]!.body;
    expect(sent.tools[0].function.name).toHaveLength(64);
    expect(sent.tool_choice).toEqual({ type: 'function', function: { name: sent.tools[0].function.name } });

    // the next turn sends the shortened name again, so the upstream sees one consistent tool
    fake.reset();
    await client.messages.create({
      ...params,
      tool_choice: { type: 'auto' },
      messages: [...params.messages, { role: 'assistant', content: created.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_fakeUpstreamToolCall01', content: 'nothing found' }] }],
    });
    expect(fake.requests[0]!.body.messages[1].tool_calls[0].function.name).toBe(sent.tools[0].function.name);
  });

  it('a stream without [DONE] ends with message_stop when the body ends', async () => {
    fake.enqueue({ kind: 'sse', events: openaiChunks({ content: 'No DONE here', includeUsage: true, done: false }) });
    const events = expectContractStream(await rawStream(gw, { model: 'openai/gpt-4o', ...hi }));
    expect(events.at(-1)!.event).toBe('message_stop');
    expect(events.find((e) => e.event === 'message_delta')!.data.usage.output_tokens).toBeGreaterThan(0);
  });

  it('an error chunk mid-stream ends the client stream with event: error carrying its message', async () => {
    const frames = openaiChunks({ content: 'Partial answer before the failure', chunkSize: 8, includeUsage: true }).slice(0, 3);
    frames.push(`data: ${JSON.stringify({ error: { message: 'upstream overloaded mid-stream', type: 'server_error', code: 503 } })}\n\n`);
    fake.enqueue({ kind: 'sse', events: frames });
    const raw = await rawStream(gw, { model: 'openai/gpt-4o', ...hi });
    const events = parseSse(raw);
    expect(events.at(-1)).toMatchObject({ event: 'error', data: { type: 'error', error: { message: expect.stringContaining('upstream overloaded mid-stream') } } });
    expect(events.map((e) => e.event)).not.toContain('message_stop');
    expectContractStream(raw);
  });

  it('a malformed chunk ends the stream with event: error, never with garbage', async () => {
    const frames = openaiChunks({ content: 'Some text here', chunkSize: 4, includeUsage: true });
    frames.splice(3, 0, 'data: {"id": "chatcmpl-x", "choices": [{"delta": {"content": "bro\n\n');
    fake.enqueue({ kind: 'sse', events: frames });
    const raw = await rawStream(gw, { model: 'openai/gpt-4o', ...hi });
    expect(parseSse(raw).at(-1)!.event).toBe('error');
    expectContractStream(raw);
  });

  // 401/403 with the gateway's own key are the router's concern (it answers 502: the client's credential is not at
  // fault); the provider's mapping of every status is pinned in src/providers/openai/openai-provider.test.ts.
  it.each([
    [404, 'not_found_error', Anthropic.NotFoundError],
    [500, 'api_error', Anthropic.InternalServerError],
    [503, 'overloaded_error', Anthropic.InternalServerError],
  ])('upstream %i → the SDK error with that status, type %s', async (status, type, ErrorClass) => {
    fake.enqueue(openaiError(status, `upstream failed with ${status}`));
    const err = (await client.messages.create({ model: `openai/gpt-4o-status-${status}`, ...hi }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(ErrorClass);
    expect(err.status).toBe(status);
    expect((err.error as any).error).toEqual({ type, message: `upstream failed with ${status}` });
    // openapi.yaml lists no 503 for createMessage (the upstream's status is kept): check the envelope itself.
    expect(contract.validateSchema('ErrorResponse', err.error)).toEqual([]);
  });

  it('context_length_exceeded → 400 invalid_request_error with the upstream message', async () => {
    fake.enqueue(openaiError(400, "This model's maximum context length is 128000 tokens.", 'invalid_request_error', 'context_length_exceeded', 'messages'));
    const err = (await client.messages.create({ model: 'openai/gpt-4o', ...hi }).catch((e: unknown) => e)) as InstanceType<typeof Anthropic.APIError>;
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err.error as any).error).toEqual({ type: 'invalid_request_error', message: "This model's maximum context length is 128000 tokens." });
  });
});
