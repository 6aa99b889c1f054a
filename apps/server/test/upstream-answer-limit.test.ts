/**
 * An upstream's answer is held only up to MAX_UPSTREAM_ANSWER (64 MB): a JSON answer past it, or one
 * stream event that never ends, fails the attempt with a 502 naming the limit, and the plan goes on
 * to the next target, instead of the gateway's memory growing until the request's deadline.
 */
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ERROR_MESSAGE } from '../src/errors.js';
import { MAX_UPSTREAM_ANSWER } from '../src/providers/transport.js';
import { MAX_HEAD_EVENTS } from '../src/routing/stream-commit.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  openai = await startFakeOpenAI();
  gw = await startGateway({
    providers: {
      anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk-a' }], max_retries: 0 },
      openai: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: 'sk-o' }], max_retries: 0 },
    },
  });
});
afterEach(() => {
  anthropic.setResponder(null);
  openai.setResponder(null);
});
afterAll(async () => {
  await gw?.close();
  await anthropic?.close();
  await openai?.close();
});

const post = (body: object) =>
  fetch(`${gw.url}/anthropic/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'x' }, body: JSON.stringify(body) });
const ask = { max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] };
/** A JSON text one byte past the limit: `{"pad":"xxx…"}`. */
const oversized = () => `{"pad":"${'x'.repeat(MAX_UPSTREAM_ANSWER - 9)}"}`;

describe('an upstream answer past 64 MB', () => {
  it('a JSON answer past the limit is a 502 naming it; the next request is served', async () => {
    expect(oversized().length).toBe(MAX_UPSTREAM_ANSWER + 1);
    anthropic.setResponder(() => ({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: oversized() }));
    const res = await post({ model: 'anthropic/claude-sonnet-4-5', ...ask });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expectContractResponse('/anthropic/v1/messages', 'post', 502, body);
    expect(body.error.type).toBe('api_error');
    expect(body.error.message).toContain("anthropic/claude-sonnet-4-5: the upstream's answer is larger than 67108864 bytes");
    anthropic.setResponder(null);
    const ok = await post({ model: 'anthropic/claude-sonnet-4-5', ...ask });
    expect(ok.status).toBe(200);
    expectContractResponse('/anthropic/v1/messages', 'post', 200, await ok.json());
  });

  it('a stream event that never ends fails the attempt, and the fallback answers', async () => {
    const piece = 'x'.repeat(1024 * 1024);
    // 65 MB of one event's data, no blank line ever
    openai.setResponder(() => ({ kind: 'sse', events: ['data: {"id":"c","choices":[{"index":0,"delta":{"content":"', ...Array.from({ length: 65 }, () => piece)] }));
    const res = await post({ model: 'openai/gpt-4o', fallbacks: ['anthropic/claude-sonnet-4-5'], stream: true, ...ask });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain('event: message_stop');
    expect(text).not.toContain('event: error');
    expect([res.headers.get('x-bf-provider'), res.headers.get('x-bf-fallback-index'), res.headers.get('x-bf-attempts')]).toEqual(['anthropic', '1', '2']);
  });

  it('without a fallback, the stream that never ends its event is a 502 naming the limit', async () => {
    const piece = 'x'.repeat(1024 * 1024);
    openai.setResponder(() => ({ kind: 'sse', events: ['data: {"id":"c","choices":[{"index":0,"delta":{"content":"', ...Array.from({ length: 65 }, () => piece)] }));
    const res = await post({ model: 'openai/gpt-4o', stream: true, ...ask });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expectContractResponse('/anthropic/v1/messages', 'post', 502, body);
    expect(body.error.type).toBe('api_error');
    expect(body.error.message).toContain("openai/gpt-4o: one event of the upstream's stream is larger than 67108864 characters");
  });

  it('an upstream that sends pings without end before any content: a 502 naming the limit once it passes, or the fallback', async () => {
    const start = 'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":0}}}\n\n';
    const pings = Array.from({ length: MAX_HEAD_EVENTS + 10 }, () => 'event: ping\ndata: {"type":"ping"}\n\n');
    // Then nothing: a gateway that held the pings until the first-token limit would answer only after it.
    anthropic.setResponder(() => ({ kind: 'sse', events: [start, ...pings, 'x'], stallAfter: pings.length + 1 }));
    const res = await post({ model: 'anthropic/claude-sonnet-4-5', stream: true, ...ask });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { error: { type: string; message: string } };
    expectContractResponse('/anthropic/v1/messages', 'post', 502, body);
    expect(body.error).toEqual({
      type: 'api_error',
      message: `anthropic/claude-sonnet-4-5: the upstream sent more than ${MAX_HEAD_EVENTS} events or ${MAX_UPSTREAM_ANSWER} characters before any content`,
    });
    const rescued = await post({ model: 'anthropic/claude-sonnet-4-5', fallbacks: ['openai/gpt-4o'], stream: true, ...ask });
    expect(rescued.status).toBe(200);
    expect(rescued.headers.get('x-bf-provider')).toBe('openai');
    expect(await rescued.text()).toContain('event: message_stop');
  });

  it("an upstream's own error message of a megabyte reaches the client cut at MAX_ERROR_MESSAGE, its length said", async () => {
    const huge = 'overloaded '.repeat(100_000);
    // In a 200 body (an OpenAI-compatible server that answers errors with 200)...
    openai.setResponder(() => ({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { message: huge, type: 'server_error' } }) }));
    const res = await post({ model: 'openai/gpt-4o', ...ask });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const body = (await res.json()) as { error: { message: string } };
    expectContractResponse('/anthropic/v1/messages', 'post', res.status, body);
    expect(body.error.message.length).toBeLessThan(MAX_ERROR_MESSAGE + 40);
    expect(body.error.message).toMatch(/… \(\d+ characters\)$/);
    // ...and in an error event after content.
    anthropic.setResponder(() => ({
      kind: 'sse',
      events: [
        'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":0}}}\n\n',
        'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}\n\n',
        `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: huge } })}\n\n`,
      ],
    }));
    const stream = await post({ model: 'anthropic/claude-sonnet-4-5', stream: true, ...ask });
    const text = await stream.text();
    const errors = text.split('\n\n').filter((block) => block.startsWith('event: error\n'));
    expect(errors).toHaveLength(1);
    expect(text).not.toContain('event: message_stop');
    const event = JSON.parse(errors[0]!.slice(errors[0]!.indexOf('data: ') + 6)) as { error: { type: string; message: string } };
    expect(event.error.type).toBe('overloaded_error');
    expect(event.error.message.length).toBeLessThan(MAX_ERROR_MESSAGE + 40);
  });
});
