import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { relaySse } from './anthropic/relay-sse.js';
import { ChunkRelay, type ChunkDecoder } from './chunk-relay.js';
import { UpstreamBody } from './transport.js';
import type { SseBatch, SseFrame } from './types.js';

const target = { provider: 'up', model: 'm' };

/** An upstream body fed by hand, with what it asked of its connection. */
function upstream() {
  const calls: string[] = [];
  const c = {
    paused: false,
    abort: () => calls.push('abort'),
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
  } as unknown as Dispatcher.DispatchController;
  return { body: new UpstreamBody(c), calls };
}

const sse = (event: string, data: object) => Buffer.from(`event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`);
const names = (batch: SseBatch | undefined) => batch?.map((f) => f.event);

describe('relaySse (a plain iterator over the upstream body)', () => {
  it('gives one batch per chunk and, at message_stop, stops reading and keeps the connection for reuse', async () => {
    const { body, calls } = upstream();
    const events = relaySse(body, target, new AbortController().signal);
    body.push(Buffer.concat([sse('message_start', {}), sse('content_block_start', { index: 0 })]));
    expect(names((await events.next()).value)).toEqual(['message_start', 'content_block_start']);
    const waiting = events.next();
    body.push(sse('content_block_delta', { index: 0 }));
    expect(names((await waiting).value)).toEqual(['content_block_delta']);
    body.push(Buffer.from('event: message_stop\ndata: {"type":"m'));
    body.push(Buffer.from('essage_stop"}\n\n'));
    body.push(Buffer.from('event: late\ndata: {"type":"late"}\n\n'));
    expect(names((await events.next()).value)).toEqual(['message_stop']);
    expect(await events.next()).toEqual({ done: true, value: undefined });
    body.end();
    expect(calls).not.toContain('abort');
  });

  it('a stream that ends before message_stop delivers what came, then fails with a 502 naming the cut', async () => {
    const { body, calls } = upstream();
    const events = relaySse(body, target, new AbortController().signal);
    body.push(sse('message_start', {}));
    body.push(Buffer.from('event: ping\ndata: {"type":"ping"}'));
    body.end();
    expect(names((await events.next()).value)).toEqual(['message_start']);
    expect(names((await events.next()).value)).toEqual(['ping']);
    const err = await events.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(502);
    expect((err as GatewayError).message).toContain('ended before message_stop');
    expect(await events.next()).toEqual({ done: true, value: undefined });
    expect(calls).toEqual([]);
  });

  it('a socket failure becomes a classified upstream error', async () => {
    const { body } = upstream();
    const events = relaySse(body, target, new AbortController().signal);
    const waiting = events.next();
    body.fail(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    const err = await waiting.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).upstream).toMatchObject({ provider: 'up', model: 'm', kind: 'reset' });
  });

  it('return() while a read waits ends that read at once and closes the unfinished connection', async () => {
    const { body, calls } = upstream();
    const events = relaySse(body, target, new AbortController().signal);
    body.push(sse('message_start', {}));
    await events.next();
    const waiting = events.next();
    await events.return!();
    expect(await waiting).toEqual({ done: true, value: undefined });
    expect(calls).toEqual(['abort']);
    body.push(sse('content_block_start', { index: 0 }));
    expect(await events.next()).toEqual({ done: true, value: undefined });
  });
});

describe('ChunkRelay', () => {
  /** Turns each byte into a frame; the byte "!" fails the chunk, "." completes the answer. */
  const decoder = () => ({
    complete: false as boolean,
    ended: 0,
    chunk(bytes: Buffer, out: SseFrame[]) {
      for (const ch of bytes.toString()) {
        if (ch === '!') throw new Error('bad chunk');
        out.push({ event: ch, data: '{}' });
        if (ch === '.') this.complete = true;
      }
    },
    end(out: SseFrame[]) {
      this.ended++;
      out.push({ event: 'end', data: '{}' });
    },
  });

  it('a chunk that fails part-way delivers what it produced, then the failure; the connection is closed', async () => {
    const { body, calls } = upstream();
    const relay = new ChunkRelay(body, decoder() satisfies ChunkDecoder, target, new AbortController().signal);
    body.push(Buffer.from('ab!c'));
    expect(names((await relay.next()).value)).toEqual(['a', 'b']);
    await expect(relay.next()).rejects.toThrow('bad chunk');
    expect(await relay.next()).toEqual({ done: true, value: undefined });
    expect(calls).toEqual(['abort']);
  });

  it('chunks that produce nothing are read past; the end of the body gives the decoder its last word', async () => {
    const { body } = upstream();
    const d = decoder();
    const relay = new ChunkRelay(body, d, target, new AbortController().signal);
    body.push(Buffer.alloc(0));
    body.push(Buffer.from(''));
    body.push(Buffer.from('x'));
    expect(names((await relay.next()).value)).toEqual(['x']);
    body.end();
    expect(names((await relay.next()).value)).toEqual(['end']);
    expect(await relay.next()).toEqual({ done: true, value: undefined });
    expect(d.ended).toBe(1);
  });

  it('an answer completed by a chunk ends the iteration after that chunk, without reading the body to its end', async () => {
    const { body, calls } = upstream();
    const d = decoder();
    const relay = new ChunkRelay(body, d, target, new AbortController().signal);
    body.push(Buffer.from('a.'));
    body.push(Buffer.from('zz'));
    expect(names((await relay.next()).value)).toEqual(['a', '.']);
    expect(await relay.next()).toEqual({ done: true, value: undefined });
    expect(d.ended).toBe(0);
    expect(calls).not.toContain('abort');
  });

  it('a chunk that completes the answer and then fails delivers the answer, keeps the connection for reuse, then throws', async () => {
    const { body, calls } = upstream();
    const relay = new ChunkRelay(body, decoder() satisfies ChunkDecoder, target, new AbortController().signal);
    body.push(Buffer.from('a.!'));
    expect(names((await relay.next()).value)).toEqual(['a', '.']);
    await expect(relay.next()).rejects.toThrow('bad chunk');
    expect(calls).not.toContain('abort');
  });

  it('reads on through many chunks that produce nothing, and still fails or ends the read under way', async () => {
    const { body } = upstream();
    const relay = new ChunkRelay(body, decoder() satisfies ChunkDecoder, target, new AbortController().signal);
    const waiting = relay.next();
    for (let i = 0; i < 1000; i++) {
      body.push(Buffer.alloc(0));
      await Promise.resolve();
    }
    body.push(Buffer.from('z'));
    expect(names((await waiting).value)).toEqual(['z']);
    const failing = relay.next();
    for (let i = 0; i < 10; i++) body.push(Buffer.alloc(0));
    body.fail(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await expect(failing).rejects.toBeInstanceOf(GatewayError);
  });

  it('a failure while our own signal is aborted is the signal’s reason', async () => {
    const { body } = upstream();
    const ac = new AbortController();
    const reason = new Error('client disconnected');
    const relay = new ChunkRelay(body, decoder() satisfies ChunkDecoder, target, ac.signal);
    const waiting = relay.next();
    ac.abort(reason);
    body.fail(new Error('upstream body released'));
    await expect(waiting).rejects.toBe(reason);
  });
});
