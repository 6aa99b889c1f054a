import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { SseFrame } from '../providers/types.js';
import { committedStream, readUntilContent } from './stream-commit.js';
import { GuardedStream } from './stream-guard.js';

const target = { provider: 'p', model: 'm' };
const frame = (event: string, extra: object = {}): SseFrame => ({ event, data: JSON.stringify({ type: event, ...extra }) });
const START = frame('message_start', { message: {} });
const DELTA = frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'hi' } });
const STOP = frame('message_stop');

/** Yields the frames, waiting `gaps[i]` ms before frame i; after the last frame it waits `tail` ms (or forever). */
async function* source(frames: SseFrame[], gaps: number[] = [], tail?: number, signal?: AbortSignal): AsyncGenerator<SseFrame> {
  for (let i = 0; i < frames.length; i++) {
    if (gaps[i]) await new Promise((r) => setTimeout(r, gaps[i]));
    yield frames[i]!;
  }
  if (tail !== undefined) await new Promise((r) => setTimeout(r, tail));
  else await new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
}

function guard(events: AsyncIterable<SseFrame>, limits: { firstTokenMs?: number; idleMs?: number; totalMs?: number } = {}) {
  const now = Date.now();
  const timeouts: GatewayError[] = [];
  const firstTokenMs = limits.firstTokenMs ?? 5_000;
  const totalMs = limits.totalMs ?? 10_000;
  const stream = new GuardedStream(events, {
    target,
    firstTokenBy: now + firstTokenMs,
    firstTokenMs,
    idleMs: limits.idleMs ?? 5_000,
    deadline: now + totalMs,
    totalMs,
    onTimeout: (err) => timeouts.push(err),
  });
  return { stream, timeouts };
}

async function drain(it: AsyncIterable<SseFrame>): Promise<SseFrame[]> {
  const out: SseFrame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

describe('GuardedStream', () => {
  it('passes a healthy stream through unchanged', async () => {
    const { stream } = guard(source([START, frame('ping'), DELTA, STOP], [], 0));
    expect(await drain(stream)).toEqual([START, frame('ping'), DELTA, STOP]);
  });

  it('times out when no content arrives in time; message_start and ping do not count', async () => {
    const { stream, timeouts } = guard(source([START, frame('ping')]), { firstTokenMs: 60 });
    const started = Date.now();
    const err = await drain(stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).upstream?.kind).toBe('timeout_first_token');
    expect((err as GatewayError).status).toBe(504);
    expect(timeouts).toEqual([err]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('times out on silence after content (idle), and throws even if the source ignores the abort', async () => {
    const { stream } = guard(source([START, DELTA], [], 2_000), { idleMs: 60 });
    const got: SseFrame[] = [];
    const err = await (async () => {
      for await (const f of stream) got.push(f);
    })().catch((e: unknown) => e);
    expect(got).toEqual([START, DELTA]);
    expect((err as GatewayError).upstream?.kind).toBe('timeout_idle');
    expect((err as GatewayError).message).toMatch(/went silent mid-stream within 60 ms/);
  });

  it('the overall deadline wins over a longer idle limit', async () => {
    const { stream } = guard(source([START, DELTA, DELTA, DELTA], [0, 0, 30, 30], 2_000), { idleMs: 5_000, totalMs: 100 });
    const err = await drain(stream).catch((e: unknown) => e);
    expect((err as GatewayError).upstream?.kind).toBe('timeout_deadline');
  });

  it('refuses a malformed frame: not JSON, or a type that is not the event name', async () => {
    for (const bad of [{ event: 'content_block_delta', data: '{"type":"content_block_delta","ind' }, { event: 'content_block_delta', data: '{"type":"message_stop"}' }]) {
      const { stream } = guard(source([START, bad, STOP], [], 0));
      const got: SseFrame[] = [];
      const err = await (async () => {
        for await (const f of stream) got.push(f);
      })().catch((e: unknown) => e);
      expect(got).toEqual([START]);
      expect((err as GatewayError).upstream?.kind).toBe('bad_response');
    }
  });

  it('text deltas: passes every well-formed one (compact or not) and refuses near misses', async () => {
    const good = [
      DELTA,
      frame('content_block_delta', { index: 12, delta: { type: 'text_delta', text: 'q"uo\\te \n\t\u0001 é 😀' } }),
      { event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"\\u00e9\\/"}}' },
      { event: 'content_block_delta', data: '{ "type": "content_block_delta", "index": 0, "delta": { "type": "text_delta", "text": "spaced" } }' },
    ];
    const { stream } = guard(source([START, ...good, STOP], [], 0));
    expect(await drain(stream)).toEqual([START, ...good, STOP]);
    const prefix = '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":';
    for (const data of [
      `${prefix}"a"}`,
      `${prefix}"a"}}}`,
      `${prefix}"a\\x"}}`,
      `${prefix}"a\\u12"}}`,
      `${prefix}"a\u0001"}}`,
      `${prefix}"a"b"}}`,
      '{"type":"content_block_delta","index":01,"delta":{"type":"text_delta","text":"a"}}',
    ]) {
      const { stream: bad } = guard(source([START, { event: 'content_block_delta', data }, STOP], [], 0));
      const err = await drain(bad).catch((e: unknown) => e);
      expect((err as GatewayError).upstream?.kind, data).toBe('bad_response');
    }
  });

  it("turns the upstream's error event into a GatewayError with the matching status", async () => {
    const { stream } = guard(source([START, frame('error', { error: { type: 'overloaded_error', message: 'Overloaded' } })], [], 0));
    const err = await drain(stream).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 529, type: 'overloaded_error', message: 'Overloaded', upstream: { status: 529, kind: 'http' } });
  });
});

describe('readUntilContent + committedStream', () => {
  it('buffers up to the first content event, then replays everything in order', async () => {
    const { stream } = guard(source([START, frame('ping'), frame('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }), DELTA, STOP], [], 0));
    const head = await readUntilContent(stream, target);
    expect(head.map((f) => f.event)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta']);
    const ends: boolean[] = [];
    const all = await drain(committedStream(head, stream, { onEnd: (c) => ends.push(c) }));
    expect(all.map((f) => f.event)).toEqual(['message_start', 'ping', 'content_block_start', 'content_block_delta', 'message_stop']);
    expect(ends).toEqual([true]);
  });

  it('a stream that ends before any content is a retryable bad response', async () => {
    const { stream } = guard(source([START], [], 0));
    await expect(readUntilContent(stream, target)).rejects.toMatchObject({ status: 502, upstream: { kind: 'bad_response' } });
  });

  it('reports a failure after commit and ends uncompleted', async () => {
    const { stream } = guard(source([START, DELTA], [], 2_000), { idleMs: 50 });
    const head = await readUntilContent(stream, target);
    const errors: unknown[] = [];
    const ends: boolean[] = [];
    const err = await drain(committedStream(head, stream, { onError: (e) => errors.push(e), onEnd: (c) => ends.push(c) })).catch((e: unknown) => e);
    expect(errors).toEqual([err]);
    expect(ends).toEqual([false]);
  });
});
