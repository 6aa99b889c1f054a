import Anthropic from '@anthropic-ai/sdk';
import { anthropicAnswer, anthropicErrorEvent, anthropicMessage, anthropicSseEvents, countInputTokens, startFakeAnthropic, type FakeReply, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { comments, expectBrokenStream, expectOneMessage, finalUsage, LONG_TEXT } from './helpers/continuation.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { captureLog, linesWith, type CapturedLog } from './helpers/log.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';
import { anthropicProvider, send, served, streamedText, warmUp } from './helpers/routing.js';

/**
 * A stream that breaks after part of the answer reached the client is finished in the same stream:
 * the text already sent goes back as the start of the assistant's answer, first to the same
 * target, else to the next fallback that can continue. The fakes answer a continuation request
 * with the rest of the text, so the text the client assembles must equal the uncut answer.
 */

let primary: FakeUpstream;
let backup: FakeUpstream;
let gw: RunningGateway;
let log: CapturedLog;

const FAST = { connect_ms: 1_000, headers_ms: 400, first_token_ms: 500, idle_ms: 300, total_ms: 8_000 };
const QUESTION = [{ role: 'user', content: 'Tell me about the fox.' }];
/** message_start, ping, content_block_start: the frames before the first text delta. */
const HEAD = 3;

beforeAll(async () => {
  primary = await startFakeAnthropic();
  backup = await startFakeAnthropic();
  log = captureLog();
  gw = await startGateway(
    {
      providers: {
        main: anthropicProvider(primary.url, { max_retries: 1, timeouts: FAST }),
        backup: anthropicProvider(backup.url, { keys: [{ value: 'sk-backup' }], timeouts: FAST }),
      },
    },
    { logger: log.logger },
  );
  await warmUp(gw);
});
afterAll(async () => {
  await gw?.close();
  await primary?.close();
  await backup?.close();
});
afterEach(() => {
  primary.reset();
  backup.reset();
});

/** The first answer to `model`: the whole text, with faults. */
function first(model: string, faults: Parameters<typeof anthropicAnswer>[2]): FakeReply {
  return anthropicAnswer({ model, stream: true, messages: QUESTION }, LONG_TEXT, faults);
}

/** Every later request (a continuation) gets the rest of the text after its prefill. */
function continuesFrom(fake: FakeUpstream): void {
  fake.setResponder((req) => anthropicAnswer(req.body, LONG_TEXT));
}

const ask = (model: string, extra: Record<string, unknown> = {}) => send(gw, { model, max_tokens: 1000, messages: QUESTION, stream: true, ...extra });

describe('a stream cut after 40 tokens', () => {
  it('is continued on the same target: one seamless message, equal to the uncut answer', async () => {
    primary.enqueue(first('claude-x', { cutAfter: HEAD + 40 }));
    continuesFrom(primary);
    const reply = await ask('main/claude-x');
    const events = expectOneMessage(reply.text);
    expect(streamedText(events)).toBe(LONG_TEXT);
    // Two calls, both to the same target; the second carries the 40 tokens sent, as a prefill.
    expect(primary.requests).toHaveLength(2);
    expect(backup.requests).toHaveLength(0);
    const sent = LONG_TEXT.slice(0, 160);
    const continuation = primary.requests[1]!.body;
    expect(continuation.messages).toEqual([...QUESTION, { role: 'assistant', content: sent.trimEnd() }]);
    // The 40 tokens already written are not asked for again.
    expect(continuation.max_tokens).toBe(1000 - 40);
    expect(reply.ms).toBeLessThan(2_000);
    // Usage adds up both attempts: each read the prompt; the cut one wrote 40 tokens, the continuation the rest.
    const rest = LONG_TEXT.length - sent.trimEnd().length;
    expect(finalUsage(events)).toMatchObject({
      output_tokens: 40 + Math.ceil(rest / 4),
      input_tokens: countInputTokens(primary.requests[0]!.body) + countInputTokens(continuation),
    });
    // The headers left with the first attempt; the stream's last line says what happened.
    expect(served(reply)).toMatchObject({ provider: 'main', attempts: '1' });
    expect(comments(reply.text)).toEqual(['x-bf-attempts: 2; continuations: cut on main/claude-x: continued on main/claude-x (1 attempt)']);
  });

  it('through the official SDK: stream().finalMessage() is the uncut answer', async () => {
    primary.enqueue(first('claude-x', { cutAfter: HEAD + 40 }));
    continuesFrom(primary);
    const client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    const message = await client.messages.stream({ model: 'main/claude-x', max_tokens: 1000, messages: [{ role: 'user', content: 'Tell me about the fox.' }] }).finalMessage();
    expect(message.content).toEqual([{ type: 'text', text: LONG_TEXT }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage.output_tokens).toBe(40 + Math.ceil((LONG_TEXT.length - LONG_TEXT.slice(0, 160).trimEnd().length) / 4));
    expect(primary.requests).toHaveLength(2);
  });

  it('JSON: a cut answer is asked again on the same target, whole', async () => {
    const whole = JSON.stringify(anthropicMessage({ model: 'claude-x', text: LONG_TEXT }));
    primary.enqueue({ kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: whole.slice(0, 200) });
    continuesFrom(primary);
    const started = Date.now();
    const reply = await send(gw, { model: 'main/claude-x', max_tokens: 1000, messages: QUESTION });
    expect(reply.status).toBe(200);
    expect(reply.json.content[0].text).toBe(LONG_TEXT);
    expect(primary.requests).toHaveLength(2);
    // JSON never carries a prefill: the whole answer again.
    expect(primary.requests[1]!.body.messages).toEqual(QUESTION);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('other breaks after content are continued the same way', () => {
  it('a stall past idle_ms: the silent stream is given up after 300 ms and the answer goes on', async () => {
    primary.enqueue(first('claude-x', { stallAfter: HEAD + 20 }));
    continuesFrom(primary);
    const reply = await ask('main/claude-x');
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(primary.requests).toHaveLength(2);
    expect(primary.requests[1]!.body.messages.at(-1).content).toBe(LONG_TEXT.slice(0, 80).trimEnd());
    expect(reply.ms).toBeGreaterThanOrEqual(290);
    expect(reply.ms).toBeLessThan(2_500);
    expect(comments(reply.text)[0]).toContain('stall on main/claude-x: continued on main/claude-x');
  });

  it('a malformed chunk: never shown, the answer goes on from the last good one', async () => {
    const reply1 = first('claude-x', {}) as Extract<FakeReply, { kind: 'sse' }>;
    const garbled = 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"GARB\n\n';
    primary.enqueue({ ...reply1, events: [...reply1.events.slice(0, HEAD + 25), garbled, ...reply1.events.slice(HEAD + 25)] });
    continuesFrom(primary);
    const reply = await ask('main/claude-x');
    expect(reply.text).not.toContain('GARB');
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(primary.requests).toHaveLength(2);
    expect(reply.ms).toBeLessThan(2_000);
    expect(comments(reply.text)[0]).toContain('malformed on main/claude-x: continued');
  });

  it("the upstream's own error event mid-stream", async () => {
    const reply1 = first('claude-x', {}) as Extract<FakeReply, { kind: 'sse' }>;
    primary.enqueue({ ...reply1, events: [...reply1.events.slice(0, HEAD + 30), anthropicErrorEvent('overloaded_error', 'Overloaded')] });
    continuesFrom(primary);
    const reply = await ask('main/claude-x');
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(primary.requests).toHaveLength(2);
    expect(comments(reply.text)[0]).toContain('upstream_error on main/claude-x: continued');
  });

  it('the same target failing again: the next fallback that can continue takes the answer up', async () => {
    primary.enqueue(first('claude-x', { cutAfter: HEAD + 40 }));
    primary.setResponder(() => ({ kind: 'json', status: 529, body: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } } }));
    continuesFrom(backup);
    const reply = await ask('main/claude-x', { fallbacks: ['backup/claude-b'] });
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    // The cut stream, then the same target twice (its retry), then the fallback.
    expect(primary.requests).toHaveLength(3);
    expect(backup.requests).toHaveLength(1);
    expect(backup.requests[0]!.body.model).toBe('claude-b');
    expect(backup.requests[0]!.body.fallbacks).toBeUndefined();
    expect(comments(reply.text)).toEqual(['x-bf-attempts: 4; continuations: cut on main/claude-x: continued on backup/claude-b (3 attempts)']);
  });

  it('a cut after the final message_delta: the answer was whole, only message_stop is added', async () => {
    const whole = first('claude-x', {}) as Extract<FakeReply, { kind: 'sse' }>;
    primary.enqueue({ ...whole, cutAfter: whole.events.length - 1 });
    continuesFrom(primary);
    const reply = await ask('main/claude-x');
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(primary.requests).toHaveLength(1);
    expect(comments(reply.text)).toEqual(['x-bf-attempts: 1; continuations: cut on main/claude-x: continued on main/claude-x (0 attempts)']);
  });

  it('a continuation that breaks too is continued again, up to the limit', async () => {
    primary.enqueue(first('claude-x', { cutAfter: HEAD + 10 }));
    primary.enqueue(anthropicAnswer({ messages: [...QUESTION, { role: 'assistant', content: LONG_TEXT.slice(0, 40).trimEnd() }], stream: true }, LONG_TEXT, { cutAfter: HEAD + 10 }));
    continuesFrom(primary);
    const reply = await ask('main/claude-x');
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(primary.requests).toHaveLength(3);
    expect(primary.requests[2]!.body.messages.at(-1).content).toBe(LONG_TEXT.slice(0, 80).trimEnd());
  });

  it('the log line and /metrics name each continuation', async () => {
    primary.enqueue(first('claude-metrics', { cutAfter: HEAD + 5 }));
    continuesFrom(primary);
    const reply = await ask('main/claude-metrics');
    expectOneMessage(reply.text);
    const lines = await linesWith(log, 'request', 1);
    const line = lines.filter((l) => l.requested_model === 'main/claude-metrics').at(-1)!;
    expect(line.attempts).toBe(2);
    expect(line.continuations).toEqual([{ reason: 'cut', outcome: 'continued', from: 'main/claude-metrics', to: 'main/claude-metrics', attempts: 1 }]);
    // Usage the log (and any spend ledger) sees is the whole answer's.
    expect(line.output_tokens).toBe(finalUsage(expectOneMessage(reply.text)).output_tokens);
    const metrics = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    expect(sample(metrics, 'conduit_stream_continuations_total', { reason: 'cut', outcome: 'continued' })).toBeGreaterThanOrEqual(1);
  });
});

describe('breaks that cannot be continued end with event: error', () => {
  it('inside a tool call: its arguments were half sent, and a stream cannot take them back', async () => {
    const tool = anthropicMessage({ model: 'claude-x', content: [{ type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { query: 'a long query string to cut' } }] });
    primary.enqueue({ kind: 'sse', events: anthropicSseEvents(tool, { textChunkSize: 4 }), cutAfter: 6 });
    continuesFrom(primary);
    const reply = await ask('main/claude-x', { tools: [{ name: 'lookup', input_schema: { type: 'object' } }] });
    expectBrokenStream(reply.text);
    expect(primary.requests).toHaveLength(1);
    expect(comments(reply.text)[0]).toContain('cut on main/claude-x: impossible');
  });

  it('with extended thinking (Anthropic refuses a prefill there) and no other way to continue', async () => {
    primary.enqueue(first('claude-x', { cutAfter: HEAD + 10 }));
    continuesFrom(primary);
    const reply = await ask('main/claude-x', { max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 } });
    expect(expectBrokenStream(reply.text).at(-1)!.data.error.message).toMatch(/^main\/claude-x: the upstream connection failed/);
    expect(primary.requests).toHaveLength(1);
  });

  it('when every target that could continue fails: the original failure, not the last attempt', async () => {
    primary.enqueue(first('claude-x', { cutAfter: HEAD + 10 }));
    primary.setResponder(() => ({ kind: 'json', status: 503, body: { type: 'error', error: { type: 'overloaded_error', message: 'down' } } }));
    const reply = await ask('main/claude-x');
    const events = expectBrokenStream(reply.text);
    expect(events.at(-1)!.data.error.message).toMatch(/^main\/claude-x: the upstream connection failed/);
    expect(streamedText(events)).toBe(LONG_TEXT.slice(0, 40));
    expect(primary.requests).toHaveLength(3);
    expect(comments(reply.text)).toEqual(['x-bf-attempts: 3; continuations: cut on main/claude-x: failed (2 attempts)']);
  });
});

describe('timeouts fail over at once', () => {
  describe.each([
    ['JSON', false, FAST.headers_ms],
    ['stream', true, FAST.first_token_ms],
  ])('%s', (_mode, stream, limit) => {
    it('a silent primary with a fallback: one attempt on the primary, the answer from the fallback within the limit plus its time', async () => {
      primary.setResponder(() => ({ kind: 'hang' }));
      continuesFrom(backup);
      const reply = await send(gw, { model: 'main/claude-silent', fallbacks: ['backup/claude-b'], max_tokens: 1000, messages: QUESTION, stream });
      expect(reply.status).toBe(200);
      const text = stream ? streamedText(expectOneMessage(reply.text)) : reply.json.content[0].text;
      expect(text).toBe(LONG_TEXT);
      expect(primary.requests).toHaveLength(1);
      expect(backup.requests).toHaveLength(1);
      const fallbackMs = Date.now() - backup.requests[0]!.at;
      expect(reply.ms).toBeGreaterThanOrEqual(limit - 10);
      // headers_ms is kept by undici to about a second.
      expect(reply.ms).toBeLessThan(limit + (stream ? 300 : 1_300) + fallbackMs);
      expect(served(reply)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '2', fallbackIndex: '1' });
    });

    it('a first token (JSON: headers) slower than the limit: the fallback answers', async () => {
      primary.setResponder((req) => ({ ...anthropicAnswer(req.body, LONG_TEXT), ...(stream ? { firstChunkDelayMs: 3_000 } : { delayMs: 3_000 }) }));
      continuesFrom(backup);
      const reply = await send(gw, { model: 'main/claude-slow', fallbacks: ['backup/claude-b'], max_tokens: 1000, messages: QUESTION, stream });
      const text = stream ? streamedText(expectOneMessage(reply.text)) : reply.json.content[0].text;
      expect(text).toBe(LONG_TEXT);
      expect(primary.requests).toHaveLength(1);
      expect(reply.ms).toBeGreaterThanOrEqual(limit - 10);
      expect(reply.ms).toBeLessThan(2_500);
      expect(served(reply).provider).toBe('backup');
    });
  });
});

describe('limits', () => {
  it('limits.max_stream_continuations: past it the break ends the stream', async () => {
    const once = await startGateway({ limits: { max_stream_continuations: 1 }, providers: { main: anthropicProvider(primary.url, { max_retries: 0, timeouts: FAST }) } });
    try {
      await warmUp(once);
      primary.enqueue(first('claude-x', { cutAfter: HEAD + 10 }));
      primary.enqueue(anthropicAnswer({ messages: [...QUESTION, { role: 'assistant', content: LONG_TEXT.slice(0, 40).trimEnd() }], stream: true }, LONG_TEXT, { cutAfter: HEAD + 10 }));
      continuesFrom(primary);
      const reply = await send(once, { model: 'main/claude-x', max_tokens: 1000, messages: QUESTION, stream: true });
      const events = expectBrokenStream(reply.text);
      expect(streamedText(events)).toBe(LONG_TEXT.slice(0, 80));
      expect(primary.requests).toHaveLength(2);
      expect(comments(reply.text)[0]).toBe('x-bf-attempts: 2; continuations: cut on main/claude-x: continued on main/claude-x (1 attempt), cut on main/claude-x: impossible (0 attempts)');
    } finally {
      await once.close();
    }
  });

  it('limits.max_continuation_chars: an answer longer than that when it breaks is not continued', async () => {
    const short = await startGateway({ limits: { max_continuation_chars: 100 }, providers: { main: anthropicProvider(primary.url, { timeouts: FAST }) } });
    try {
      await warmUp(short);
      primary.enqueue(first('claude-x', { cutAfter: HEAD + 30 }));
      continuesFrom(primary);
      const reply = await send(short, { model: 'main/claude-x', max_tokens: 1000, messages: QUESTION, stream: true });
      expect(streamedText(expectBrokenStream(reply.text))).toBe(LONG_TEXT.slice(0, 120));
      expect(primary.requests).toHaveLength(1);
    } finally {
      await short.close();
    }
  });

  it('stream_fallback_prefill still starts, with a warning naming what replaced it', async () => {
    const warned = captureLog('warn');
    const old = await startGateway({ stream_fallback_prefill: true, providers: { main: anthropicProvider(primary.url) } }, { logger: warned.logger });
    try {
      const line = warned.lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('stream_fallback_prefill is deprecated'));
      expect(line?.level).toBe(40);
      expect(line?.msg).toContain('providers.<name>.continuation');
      expect(line?.msg).toContain('limits.max_stream_continuations: 0');
    } finally {
      await old.close();
    }
  });
});
