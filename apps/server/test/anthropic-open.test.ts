// The native path is open to what Anthropic adds: kinds the contract does not know, unknown fields,
// Anthropic's own `fallbacks`, and every anthropic-* header reach Anthropic-type upstreams unchanged.
import { request as httpRequest } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import { createConduitClient, createMessage, getModel } from '@conduit/sdk';
import { anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CreateMessageRequest } from '../src/generated/types.gen.js';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, samples } from './helpers/prometheus.js';

const MESSAGES = '/anthropic/v1/messages';
let upstream: FakeUpstream;
let gw: RunningGateway;
let client: Anthropic;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    providers: {
      anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-upstream' }], models: ['claude-sonnet-4-5'], max_retries: 0 },
    },
    models: { 'claude-fast': { target: 'anthropic/claude-haiku-4-5' } },
  });
  client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

/** A Claude Code-like turn using kinds this contract does not know yet, in every open union. */
const futureRequest = {
  model: 'anthropic/claude-sonnet-4-5',
  max_tokens: 256,
  system: [{ type: 'text', text: 'You are terse.', cache_control: { type: 'ephemeral' } }],
  tools: [
    { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
    { type: 'tool_search_tool_bm25_20251119', name: 'tool_search_tool_bm25' },
    { type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { enabled: false } },
    { type: 'browser_toolset_20260115', name: 'browser' },
  ],
  tool_choice: { type: 'auto_strict', fallback: 'auto' },
  thinking: { type: 'interleaved', budget_tokens: 2048 },
  context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
  speed: 'fast',
  inference_geo: 'eu',
  fallbacks: 'default',
  messages: [
    { role: 'user', content: [{ type: 'browser_state', url: 'https://example.com', title: 'Example' }, { type: 'text', text: 'Find the weather tool.' }] },
    {
      role: 'assistant',
      content: [
        { type: 'compaction', content: 'Earlier: the user asked about tools.' },
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'tool_search_tool_bm25', input: { query: 'weather' } },
        { type: 'tool_search_tool_result', tool_use_id: 'srvtoolu_1', content: { type: 'tool_search_tool_search_result', tool_references: [] } },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      ],
    },
    {
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'tool_reference', tool_name: 'get_weather' }, { type: 'text', text: '18°C' }] }],
    },
  ],
};

describe('kinds and fields the contract does not know go to Anthropic unchanged', () => {
  it('JSON: the upstream receives the body as sent (model id aside), and its answer comes back as it is', async () => {
    const answer = {
      ...anthropicMessage({ id: 'msg_future', model: 'claude-sonnet-4-5', text: 'Sunny.' }),
      content: [
        { type: 'compaction', content: 'summary' },
        { type: 'text', text: 'Sunny.' },
      ],
      context_management: { applied_edits: [] },
    };
    upstream.enqueue({ kind: 'json', body: answer });
    const res = await fetch(gw.url + MESSAGES, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'client-key' },
      body: JSON.stringify(futureRequest),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(answer);
    const seen = upstream.requests[0]!;
    expect(seen.body).toEqual({ ...futureRequest, model: 'claude-sonnet-4-5' });
  });

  it('stream: the same body upstream (with stream: true), and the events relayed', async () => {
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(anthropicMessage({ text: 'Sunny today.' }), { textChunkSize: 4 }) });
    const message = await client.messages.stream({ ...(futureRequest as unknown as Anthropic.MessageCreateParams) }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: 'Sunny today.' }]);
    expect(upstream.requests[0]!.body).toEqual({ ...futureRequest, model: 'claude-sonnet-4-5', stream: true });
  });

  it('through the generated SDK: an unknown block and tool type-check and travel unchanged', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'ok' }) });
    const conduit = createConduitClient({ baseUrl: gw.url, apiKey: 'client-key' });
    const body: CreateMessageRequest = {
      model: 'anthropic/claude-sonnet-4-5',
      max_tokens: 16,
      tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs' }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'browser_state', url: 'https://example.com' }] }],
    };
    const { data, error } = await createMessage({ client: conduit, body });
    expect(error).toBeUndefined();
    expect(data?.content).toEqual([{ type: 'text', text: 'ok' }]);
    expect(upstream.requests[0]!.body.tools).toEqual(body.tools);
    expect(upstream.requests[0]!.body.messages).toEqual(body.messages);
  });

  it('fallbacks: the gateway keeps its string entries and forwards Anthropic\'s own form', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'a' }) }, { kind: 'json', body: anthropicMessage({ text: 'b' }) });
    const send = (fallbacks: unknown) =>
      fetch(gw.url + MESSAGES, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }], fallbacks }),
      });
    expect((await send('default')).status).toBe(200);
    expect((await send(['anthropic/claude-haiku-4-5', { model: 'claude-opus-4-1' }])).status).toBe(200);
    expect(upstream.requests[0]!.body.fallbacks).toBe('default');
    expect(upstream.requests[1]!.body.fallbacks).toEqual([{ model: 'claude-opus-4-1' }]);
  });

  it('a known kind still gets its precise validation', async () => {
    const res = await fetch(gw.url + MESSAGES, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...futureRequest, tools: [{ type: 'web_search_20250305', name: 'search' }] }),
    });
    const body = await res.json();
    expect(res.status).toBe(400);
    expect(body.error.message).toBe('tools.0.name: must be equal to constant');
    expectContractResponse(MESSAGES, 'post', 400, body);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('anthropic-* headers', () => {
  it('every anthropic-* header the client sends reaches the upstream; version and beta unchanged', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'ok' }) });
    await client.messages.create(
      { model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }], user_profile_id: 'uprof_123' } as Anthropic.MessageCreateParams,
      { headers: { 'anthropic-beta': 'context-management-2025-06-27,fast-mode-2026-02-01', 'anthropic-future-flag': 'on', 'anthropic-version': '2026-01-01' } },
    );
    const seen = upstream.requests[0]!.headers;
    expect(seen['anthropic-user-profile-id']).toBe('uprof_123');
    expect(seen['anthropic-future-flag']).toBe('on');
    expect(seen['anthropic-beta']).toBe('context-management-2025-06-27,fast-mode-2026-02-01');
    expect(seen['anthropic-version']).toBe('2026-01-01');
    // The client's credential is not the provider's: the configured key went instead.
    expect(seen['x-api-key']).toBe('sk-upstream');
  });

  it('a header the request names in Connection is hop-by-hop and stays here', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'ok' }) });
    const body = JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] });
    const status = await new Promise<number>((resolve, reject) => {
      const url = new URL(gw.url + MESSAGES);
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            connection: 'keep-alive, Anthropic-Hop-Trace',
            'anthropic-hop-trace': 'this hop only',
            'anthropic-end-to-end': 'forward me',
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    const seen = upstream.requests[0]!.headers;
    expect(seen['anthropic-hop-trace']).toBeUndefined();
    expect(seen['anthropic-end-to-end']).toBe('forward me');
  });

  it('an async job replays the anthropic-* headers it was submitted with', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'later' }) });
    const submit = await fetch(gw.url + MESSAGES, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'x-bf-async': 'true', 'anthropic-workspace-id': 'wrkspc_1' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(submit.status).toBe(202);
    const id = submit.headers.get('x-bf-async-id')!;
    for (let i = 0; i < 100; i++) {
      const poll = await fetch(gw.url + MESSAGES, { method: 'POST', headers: { 'x-api-key': 'k', 'x-bf-async-id': id } });
      await poll.text();
      if (poll.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(upstream.requests[0]!.headers['anthropic-workspace-id']).toBe('wrkspc_1');
  });
});

/** Every request /metrics has counted so far, whatever its labels. */
async function requestsCounted(): Promise<number> {
  const text = await (await fetch(gw.url + '/metrics')).text();
  return samples(parsePrometheus(text), 'conduit_requests_total').reduce((sum, s) => sum + s.value, 0);
}

describe('preconnect probes', () => {
  it.each([
    ['HEAD', '/anthropic'],
    ['GET', '/anthropic'],
    ['HEAD', '/anthropic/v1'],
    ['GET', '/anthropic/v1/'],
  ])('%s %s answers 200 with no body and is not counted as a request', async (method, path) => {
    const before = await requestsCounted();
    const res = await fetch(gw.url + path, { method });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect(res.headers.get('request-id')).toMatch(/^req_/);
    expect(await requestsCounted()).toBe(before);
  });
});

describe('GET /anthropic/v1/models/{model_id}', () => {
  it('the official SDK retrieves a provider model (its id URL-encoded) and an alias', async () => {
    const model = await client.models.retrieve('anthropic/claude-sonnet-4-5');
    expect(model).toMatchObject({ id: 'anthropic/claude-sonnet-4-5', type: 'model', display_name: 'claude-sonnet-4-5 (anthropic)' });
    expectContractResponse('/anthropic/v1/models/{model_id}', 'get', 200, model);
    const alias = await client.models.retrieve('claude-fast');
    expect(alias).toMatchObject({ id: 'claude-fast', type: 'model', display_name: 'claude-fast (→ anthropic/claude-haiku-4-5)' });
    const listed = await client.models.list();
    expect(listed.data.map((m) => m.id)).toEqual(['anthropic/claude-sonnet-4-5', 'claude-fast']);
  });

  it('answers the unencoded provider/model form too', async () => {
    const res = await fetch(`${gw.url}/anthropic/v1/models/anthropic/claude-sonnet-4-5`);
    expect(res.status).toBe(200);
    expect((await res.json()).id).toBe('anthropic/claude-sonnet-4-5');
  });

  it('an unknown model is 404 not_found_error, through both SDKs', async () => {
    const err = await client.models.retrieve('anthropic/claude-nonexistent').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect((err as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const conduit = createConduitClient({ baseUrl: gw.url });
    const { error, response } = await getModel({ client: conduit, path: { model_id: 'nope' } });
    expect(response?.status).toBe(404);
    expect(error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expectContractResponse('/anthropic/v1/models/{model_id}', 'get', 404, error);
  });

  it('a 404 echoes at most a short prefix of a huge id', async () => {
    const res = await fetch(`${gw.url}/anthropic/v1/models/${'m'.repeat(5000)}`);
    expect(res.status).toBe(404);
    expect((await res.text()).length).toBeLessThan(600);
  });
});
