import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { SseBatch, SseFrame } from '../providers/types.js';
import { committedStream, readUntilContent } from './stream-commit.js';
import { GuardedStream } from './stream-guard.js';

const target = { provider: 'p', model: 'm' };
const frame = (event: string, extra: object = {}): SseFrame => ({ event, data: JSON.stringify({ type: event, ...extra }) });
const START = frame('message_start', { message: {} });
const DELTA = frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'hi' } });
const STOP = frame('message_stop');

/**
 * Yields each item as a batch (a frame alone, or an array of frames that arrived together), waiting
 * `gaps[i]` ms before item i; after the last it waits `tail` ms (or forever).
 */
async function* source(items: (SseFrame | SseFrame[])[], gaps: number[] = [], tail?: number, signal?: AbortSignal): AsyncGenerator<SseBatch> {
  for (let i = 0; i < items.length; i++) {
    if (gaps[i]) await new Promise((r) => setTimeout(r, gaps[i]));
    const item = items[i]!;
    yield Array.isArray(item) ? item : [item];
  }
  if (tail !== undefined) await new Promise((r) => setTimeout(r, tail));
  else await new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
}

function guard(events: AsyncIterable<SseBatch>, limits: { firstTokenMs?: number; idleMs?: number; totalMs?: number } = {}) {
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

async function drain(it: AsyncIterable<SseBatch>): Promise<SseFrame[]> {
  const out: SseFrame[] = [];
  for await (const batch of it) out.push(...batch);
  return out;
}

describe('GuardedStream', () => {
  it('passes a healthy stream through unchanged', async () => {
    const { stream } = guard(source([START, frame('ping'), DELTA, STOP], [], 0));
    const out = await drain(stream);
    const text = (frames: SseFrame[]) => frames.map(({ event, data }) => ({ event, data }));
    expect(text(out)).toEqual(text([START, frame('ping'), DELTA, STOP]));
    // what the guard parsed to check it travels on with the frame, so usage readers do not parse it again
    for (const f of out) if (f.value !== undefined) expect(f.value).toEqual(JSON.parse(f.data));
    expect(out[0]!.value).toEqual(JSON.parse(START.data));
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
      for await (const batch of stream) got.push(...batch);
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
        for await (const batch of stream) got.push(...batch);
      })().catch((e: unknown) => e);
      expect(got).toEqual([START]);
      expect((err as GatewayError).upstream?.kind).toBe('bad_response');
    }
  });

  it('a batch with a bad event behind good ones delivers the good ones, then throws', async () => {
    const bad = { event: 'content_block_delta', data: '<html>502</html>' };
    const { stream } = guard(source([[START, DELTA, bad, STOP]], [], 0));
    const batches: SseBatch[] = [];
    const err = await (async () => {
      for await (const batch of stream) batches.push(batch);
    })().catch((e: unknown) => e);
    expect(batches).toEqual([[START, DELTA]]);
    expect((err as GatewayError).upstream?.kind).toBe('bad_response');
    expect(stream.sawContent).toBe(true);
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

  it('a batch holding the first content event is read whole and replayed as one batch', async () => {
    const { stream } = guard(source([[START, DELTA, DELTA], STOP], [], 0));
    const head = await readUntilContent(stream, target);
    expect(head).toEqual([START, DELTA, DELTA]);
    const batches: SseBatch[] = [];
    for await (const batch of committedStream(head, stream, { onEnd: () => undefined })) batches.push(batch);
    expect(batches).toEqual([[START, DELTA, DELTA], [STOP]]);
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
