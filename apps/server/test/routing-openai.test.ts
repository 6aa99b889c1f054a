import { anthropicError, openaiChunks, openaiCompletion, openaiError, startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { anthropicProvider, gaps, MESSAGES, send, served, streamedText, warmUp } from './helpers/routing.js';

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let gw: RunningGateway;

const FAST = { connect_ms: 1_000, headers_ms: 300, first_token_ms: 600, idle_ms: 300, total_ms: 5_000 };

beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  openai = await startFakeOpenAI();
  gw = await startGateway({
    providers: {
      anth: anthropicProvider(anthropic.url, { max_retries: 1, timeouts: FAST }),
      oai: {
        ...anthropicProvider(`${openai.url}/v1`, { max_retries: 1, timeouts: FAST }),
        type: 'openai' as const,
        keys: [{ value: 'sk-openai' }],
      },
    },
  });
  await warmUp(gw);
});
afterAll(async () => {
  await gw?.close();
  await anthropic?.close();
  await openai?.close();
});
afterEach(() => {
  anthropic.reset();
  openai.reset();
});

const TEXT = 'alpha beta gamma delta epsilon zeta';
const chunks = (opts: Parameters<typeof openaiChunks>[0] = {}) =>
  openaiChunks({ model: 'gpt-x', content: TEXT, usage: { prompt_tokens: 50, completion_tokens: 7 }, includeUsage: true, ...opts });
// chunk 0: role only (no content yet); 1..n: content pieces; then finish_reason, usage, [DONE]

function expectCleanStream(text: string) {
  const events = expectContractStream(text);
  expect(events.filter((e) => e.event === 'message_start')).toHaveLength(1);
  expect(events.at(-1)!.event).toBe('message_stop');
  return events;
}

function expectBrokenStream(text: string) {
  const events = expectContractStream(text);
  expect(events.at(-1)!.event).toBe('error');
  expect(events.some((e) => e.event === 'message_stop')).toBe(false);
  return events;
}

describe.each([
  ['JSON', false],
  ['stream', true],
])('an OpenAI-type upstream (%s)', (_mode, stream) => {
  it('429 with retry-after-ms: waits that long, then the same model serves', async () => {
    const limited = openaiError(429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded');
    if (limited.kind === 'json') limited.headers = { 'retry-after-ms': '250' };
    openai.enqueue(limited);
    const reply = await send(gw, { model: 'oai/gpt-x', stream });
    expect(reply.status).toBe(200);
    expect(openai.requests).toHaveLength(2);
    expect(gaps(openai.requests)[0]).toBeGreaterThanOrEqual(240);
    expect(served(reply)).toEqual({ provider: 'oai', model: 'gpt-x', attempts: '2', fallbackIndex: '0' });
  });

  it('an Anthropic primary down: the OpenAI fallback serves, with its own model and usage', async () => {
    anthropic.setResponder(() => anthropicError(529, 'overloaded_error', 'Overloaded'));
    openai.enqueue(
      stream
        ? { kind: 'sse', events: chunks({ usage: { prompt_tokens: 50, completion_tokens: 7, cached_tokens: 10 } }) }
        : { kind: 'json', body: openaiCompletion({ model: 'gpt-x', content: TEXT, usage: { prompt_tokens: 50, completion_tokens: 7, cached_tokens: 10 } }) },
    );
    const reply = await send(gw, { model: 'anth/claude-a', fallbacks: ['oai/gpt-x'], stream });
    expect(reply.status).toBe(200);
    expect(anthropic.requests).toHaveLength(2);
    expect(served(reply)).toEqual({ provider: 'oai', model: 'gpt-x', attempts: '3', fallbackIndex: '1' });
    const usage = { input_tokens: 40, cache_read_input_tokens: 10, output_tokens: 7 };
    if (stream) {
      const events = expectCleanStream(reply.text);
      expect(events[0]!.data.message.model).toBe('gpt-x');
      expect(streamedText(events)).toBe(TEXT);
      expect(events.find((e) => e.event === 'message_delta')!.data.usage).toMatchObject({ output_tokens: 7 });
    } else {
      expectContractResponse(MESSAGES, 'post', 200, reply.json);
      expect(reply.json.model).toBe('gpt-x');
      expect(reply.json.usage).toMatchObject(usage);
    }
  });

  it('400 context length: no retry, the next fallback serves', async () => {
    openai.enqueue(openaiError(400, "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens.", 'invalid_request_error', 'context_length_exceeded', 'messages'));
    const reply = await send(gw, { model: 'oai/gpt-x', fallbacks: ['anth/claude-long'], stream });
    expect(reply.status).toBe(200);
    expect(openai.requests).toHaveLength(1);
    expect(anthropic.requests).toHaveLength(1);
    expect(served(reply)).toEqual({ provider: 'anth', model: 'claude-long', attempts: '2', fallbackIndex: '1' });
  });

  it("400 content filter: no retry, no fallback, the provider's reason reaches the client", async () => {
    const reason = 'Your request was rejected as a result of our safety system.';
    openai.enqueue(openaiError(400, reason, 'invalid_request_error', 'content_policy_violation'));
    const reply = await send(gw, { model: 'oai/gpt-x', fallbacks: ['anth/claude-b'], stream });
    expect(reply.status).toBe(400);
    expect(reply.json.error.message).toContain(reason);
    expect(openai.requests).toHaveLength(1);
    expect(anthropic.requests).toHaveLength(0);
  });

  it('no response at all: one timeout, then the fallback at once (a silent route is not asked again)', async () => {
    openai.setResponder(() => ({ kind: 'hang' }));
    const reply = await send(gw, { model: 'oai/gpt-x', fallbacks: ['anth/claude-b'], stream });
    expect(reply.status).toBe(200);
    expect(openai.requests).toHaveLength(1);
    expect(reply.ms).toBeLessThan(3000);
    expect(served(reply).provider).toBe('anth');
  });

  it('a TCP reset before the headers is retried', async () => {
    openai.enqueue({ kind: 'reset' });
    const reply = await send(gw, { model: 'oai/gpt-x', stream });
    expect(reply.status).toBe(200);
    expect(openai.requests).toHaveLength(2);
  });
});

describe('OpenAI-type streams', () => {
  it('a stream without [DONE] that finished (finish_reason) is complete', async () => {
    openai.enqueue({ kind: 'sse', events: chunks({ done: false }) });
    const reply = await send(gw, { model: 'oai/gpt-x', stream: true });
    expect(streamedText(expectCleanStream(reply.text))).toBe(TEXT);
    expect(openai.requests).toHaveLength(1);
  });

  it('a stream cut after some tokens (no finish_reason, no [DONE]) ends with event: error', async () => {
    openai.enqueue({ kind: 'sse', events: chunks(), cutAfter: 3 });
    const reply = await send(gw, { model: 'oai/gpt-x', stream: true });
    const events = expectBrokenStream(reply.text);
    expect(streamedText(events).length).toBeGreaterThan(0);
    expect(openai.requests).toHaveLength(1);
  });

  it('a stream that ends cleanly but early, without finish_reason or [DONE], is an error too', async () => {
    const all = chunks();
    openai.enqueue({ kind: 'sse', events: all.slice(0, 3) });
    const reply = await send(gw, { model: 'oai/gpt-x', stream: true });
    expectBrokenStream(reply.text);
  });

  it('a stream that stalls after some tokens: idle timeout, event: error within the budget', async () => {
    openai.enqueue({ kind: 'sse', events: chunks(), stallAfter: 3 });
    const reply = await send(gw, { model: 'oai/gpt-x', stream: true });
    const events = expectBrokenStream(reply.text);
    expect(events.at(-1)!.data.error.type).toBe('timeout_error');
    expect(reply.ms).toBeGreaterThanOrEqual(290);
    expect(reply.ms).toBeLessThan(2500);
  });

  it('a stream that sends only its role chunk, then stalls, is retried unseen (slow first token)', async () => {
    openai.enqueue({ kind: 'sse', events: chunks(), stallAfter: 1 }, { kind: 'sse', events: chunks() });
    const reply = await send(gw, { model: 'oai/gpt-x', stream: true });
    expect(streamedText(expectCleanStream(reply.text))).toBe(TEXT);
    expect(openai.requests).toHaveLength(2);
  });

  it('a malformed chunk after content ends the stream with event: error; nothing garbled reaches the client', async () => {
    const all = chunks();
    openai.enqueue({ kind: 'sse', events: [...all.slice(0, 3), 'data: {"id":"chatcmpl-x","choices":[{"delta":{"content":"GARB\n\n', ...all.slice(3)] });
    const reply = await send(gw, { model: 'oai/gpt-x', stream: true });
    const events = expectBrokenStream(reply.text);
    // The content the client got is what the upstream sent before the bad chunk, nothing of the bad chunk.
    expect(streamedText(events)).toBe(TEXT.slice(0, 16));
    expect(events.filter((e) => e.event !== 'error').some((e) => JSON.stringify(e.data).includes('GARB'))).toBe(false);
    const next = await send(gw, { model: 'oai/gpt-x', stream: true });
    expectCleanStream(next.text);
  });

  it('a malformed chunk before any content is retried unseen', async () => {
    const all = chunks();
    openai.enqueue({ kind: 'sse', events: [all[0]!, 'data: <html>bad gateway</html>\n\n', ...all.slice(1)] }, { kind: 'sse', events: chunks() });
    const reply = await send(gw, { model: 'oai/gpt-x', stream: true });
    expect(reply.text).not.toContain('<html>');
    expect(streamedText(expectCleanStream(reply.text))).toBe(TEXT);
    expect(openai.requests).toHaveLength(2);
  });
});
