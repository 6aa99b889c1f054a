import {
  ConduitError,
  countTokens,
  createConduitClient,
  createMessage,
  getHealth,
  listModels,
  streamMessage,
  type MessageStreamEvent,
} from '@conduit/sdk';
import { anthropicError, anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

let upstream: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    // One attempt per request: a single enqueued upstream error must surface as it is (retries: routing-*.test.ts).
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }], models: ['claude-haiku-4-5'], max_retries: 0 } },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

const body = { model: 'anthropic/claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hello' }] };

describe('the generated SDK against the gateway', () => {
  it('createMessage returns the typed Message', async () => {
    const expected = anthropicMessage({ id: 'msg_sdk', text: 'Hi from upstream', usage: { input_tokens: 3, output_tokens: 4 } });
    upstream.enqueue({ kind: 'json', body: expected });
    const client = createConduitClient({ baseUrl: gw.url, apiKey: 'gw-key' });
    const { data, error, response } = await createMessage({ client, body });
    expect(error).toBeUndefined();
    expect(response?.status).toBe(200);
    expect(data).toEqual(expected);
    expect(data?.content[0]?.type === 'text' && data.content[0].text).toBe('Hi from upstream');
    expect(upstream.requests[0]!.headers['x-api-key']).toBe('sk-up');
  });

  it('an error answer is the typed envelope, and ConduitError wraps it', async () => {
    upstream.enqueue(anthropicError(429, 'rate_limit_error', 'slow down'));
    const client = createConduitClient({ baseUrl: gw.url });
    const { data, error, response } = await createMessage({ client, body });
    expect(data).toBeUndefined();
    expect(response?.status).toBe(429);
    expect(error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } });
    expectContractResponse('/anthropic/v1/messages', 'post', 429, error);
    const wrapped = new ConduitError(response!.status, error, response!.headers.get('request-id'));
    expect([wrapped.status, wrapped.type, wrapped.message]).toEqual([429, 'rate_limit_error', 'slow down']);
    expect(wrapped.requestId).toMatch(/^req_/);
  });

  it('a 400 from validation comes back typed too', async () => {
    const client = createConduitClient({ baseUrl: gw.url });
    const { error, response } = await createMessage({ client, body: { ...body, max_tokens: -1 } });
    expect(response?.status).toBe(400);
    expect(error?.error.type).toBe('invalid_request_error');
    expect(error?.error.message).toMatch(/max_tokens/);
  });

  it('streamMessage yields typed events ending in message_stop', async () => {
    const msg = anthropicMessage({ text: 'streamed words arrive one by one' });
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(msg, { textChunkSize: 6 }) });
    const client = createConduitClient({ baseUrl: gw.url });
    const events: MessageStreamEvent[] = [];
    for await (const ev of streamMessage({ client, body })) events.push(ev);
    expect(events[0]!.type).toBe('message_start');
    expect(events.at(-1)!.type).toBe('message_stop');
    const text = events
      .map((e) => (e.type === 'content_block_delta' && e.delta.type === 'text_delta' ? e.delta.text : ''))
      .join('');
    expect(text).toBe('streamed words arrive one by one');
  });

  it('streamMessage throws a ConduitError when the stream is cut', async () => {
    const msg = anthropicMessage({ text: 'this answer will be cut short' });
    // Its continuation fails too: the stream ends with event: error.
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(msg, { textChunkSize: 4 }), cutAfter: 4 }, { kind: 'json', status: 503, body: { type: 'error', error: { type: 'overloaded_error', message: 'down' } } });
    const client = createConduitClient({ baseUrl: gw.url });
    const seen: string[] = [];
    const err = await (async () => {
      for await (const ev of streamMessage({ client, body })) seen.push(ev.type);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConduitError);
    expect(seen).not.toContain('message_stop');
  });

  it('countTokens, listModels and getHealth', async () => {
    const client = createConduitClient({ baseUrl: gw.url });
    const count = await countTokens({ client, body: { model: 'anthropic/claude-haiku-4-5', messages: body.messages } });
    expect(count.data?.input_tokens).toBeGreaterThan(0);
    const models = await listModels({ client });
    expect(models.data?.data.map((m) => m.id)).toEqual(['anthropic/claude-haiku-4-5']);
    const health = await getHealth({ client });
    expect(health.data).toEqual({ status: 'ok' });
  });
});
