import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { AnswerTooLarge, MAX_RETRY_AFTER_MS, networkError, retryAfterMs, UpstreamBody } from './transport.js';

/** A dispatch controller that records what the body asked of the connection. */
function controller() {
  const calls: string[] = [];
  let paused = false;
  const c = {
    get paused() {
      return paused;
    },
    get aborted() {
      return calls.includes('abort');
    },
    get reason() {
      return null;
    },
    abort() {
      calls.push('abort');
    },
    pause() {
      paused = true;
      calls.push('pause');
    },
    resume() {
      paused = false;
      calls.push('resume');
    },
  };
  return { c: c as unknown as Dispatcher.DispatchController, calls };
}

function bodyOf(chunks: Buffer[], end = true) {
  const { c, calls } = controller();
  const body = new UpstreamBody(c);
  for (const chunk of chunks) body.push(chunk);
  if (end) body.end();
  return { body, calls };
}

describe('UpstreamBody', () => {
  it('reads a whole answer of any size', async () => {
    const { body } = bodyOf(Array.from({ length: 10 }, (_, i) => Buffer.alloc(16 * 1024, 97 + i)));
    const text = await body.text();
    expect(text).toHaveLength(160 * 1024);
    expect(text.endsWith('j')).toBe(true);
  });

  it('keeps a character split across chunks whole, also when capped', async () => {
    const bytes = Buffer.from('{"text":"héllo"}');
    const cut = bytes.indexOf(0xc3) + 1;
    expect(await bodyOf([bytes.subarray(0, cut), bytes.subarray(cut)]).body.text(1024)).toBe('{"text":"héllo"}');
  });

  it('stops past the limit for error bodies and closes the connection', async () => {
    const { body, calls } = bodyOf(Array.from({ length: 10 }, () => Buffer.alloc(16 * 1024, 120)), false);
    const text = await body.text(64 * 1024);
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(text.length).toBeLessThan(100 * 1024);
    expect(calls).toContain('abort');
  });

  it('a whole answer past its maximum throws and closes the connection; networkError makes it a 502', async () => {
    const { body, calls } = bodyOf(Array.from({ length: 10 }, () => Buffer.alloc(16 * 1024, 120)), false);
    const err = await body.text(undefined, 64 * 1024).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AnswerTooLarge);
    expect(calls).toContain('abort');
    const mapped = networkError(err, { provider: 'p', model: 'm' }) as GatewayError;
    expect(mapped).toBeInstanceOf(GatewayError);
    expect([mapped.status, mapped.type, mapped.upstream?.kind, mapped.message]).toEqual([502, 'api_error', 'bad_response', "p/m: the upstream's answer is larger than 65536 bytes"]);
    // at the maximum exactly it is read whole
    expect(await bodyOf([Buffer.alloc(64 * 1024, 121)]).body.text(undefined, 64 * 1024)).toHaveLength(64 * 1024);
  });

  it('chunks arriving while the reader waits are delivered in order, then the end', async () => {
    const { c } = controller();
    const body = new UpstreamBody(c);
    const seen: string[] = [];
    const reading = (async () => {
      for await (const chunk of body) seen.push(chunk.toString());
    })();
    body.push(Buffer.from('a'));
    await new Promise((r) => setTimeout(r, 5));
    body.push(Buffer.from('b'));
    body.push(Buffer.from('c'));
    body.end();
    await reading;
    expect(seen.join('')).toBe('abc');
  });

  it('a connection failure rejects the read under way', async () => {
    const { c } = controller();
    const body = new UpstreamBody(c);
    const reading = body.text();
    body.push(Buffer.from('partial'));
    body.fail(new Error('socket hang up'));
    await expect(reading).rejects.toThrow('socket hang up');
  });

  it('pauses the socket while more than the high-water mark is unread, and resumes as it is read', async () => {
    const { body, calls } = bodyOf(Array.from({ length: 20 }, () => Buffer.alloc(32 * 1024)), false);
    expect(calls).toEqual(['pause']);
    let n = 0;
    for await (const _chunk of body) {
      if (++n === 20) break;
    }
    expect(calls).toEqual(['pause', 'resume']);
  });

  it('release(true) reads the rest and drops it (up to a limit); release(false) closes at once', () => {
    const small = bodyOf([Buffer.from('x')], false);
    small.body.release(true);
    small.body.push(Buffer.alloc(1024));
    small.body.end();
    expect(small.calls).not.toContain('abort');

    const big = bodyOf([], false);
    big.body.release(true);
    big.body.push(Buffer.alloc(100 * 1024));
    expect(big.calls).toContain('abort');

    const cut = bodyOf([Buffer.from('x')], false);
    cut.body.release(false);
    expect(cut.calls).toEqual(['abort']);

    const finished = bodyOf([Buffer.from('x')], true);
    finished.body.release(false);
    expect(finished.calls).toEqual([]);
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-12-01T00:00:00Z');
  const read = (headers: Record<string, string>) => retryAfterMs(headers, now);

  it('reads retry-after-ms, retry-after seconds and an HTTP date; anything else is no hint', () => {
    expect(read({ 'retry-after-ms': '1500.2' })).toBe(1501);
    expect(read({ 'retry-after': '7' })).toBe(7000);
    expect(read({ 'retry-after': 'Tue, 01 Dec 2026 00:00:30 GMT' })).toBe(30_000);
    expect(read({ 'retry-after': 'Mon, 30 Nov 2026 00:00:00 GMT' })).toBe(0);
    expect(read({ 'retry-after': 'soon' })).toBeUndefined();
    expect(read({})).toBeUndefined();
  });

  it('is at most a day, however long the upstream asks for (a number too long to be finite included)', () => {
    expect(MAX_RETRY_AFTER_MS).toBe(86_400_000);
    expect(read({ 'retry-after': '86400' })).toBe(MAX_RETRY_AFTER_MS);
    expect(read({ 'retry-after': '86399' })).toBe(86_399_000);
    expect(read({ 'retry-after': '3153600000' })).toBe(MAX_RETRY_AFTER_MS);
    expect(read({ 'retry-after': '9'.repeat(400) })).toBe(MAX_RETRY_AFTER_MS);
    expect(read({ 'retry-after-ms': '9'.repeat(400) })).toBe(MAX_RETRY_AFTER_MS);
    expect(read({ 'retry-after': 'Fri, 31 Dec 9999 23:59:59 GMT' })).toBe(MAX_RETRY_AFTER_MS);
  });
});

describe('postJson', () => {
  it('sends a body in pieces as one body of their length, not chunked', async () => {
    const { createServer } = await import('node:http');
    const { Agent } = await import('undici');
    const { postJson } = await import('./transport.js');
    const seen: { headers: Record<string, unknown>; body: string }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const agent = new Agent();
    try {
      const { port } = server.address() as { port: number };
      const pieces = [Buffer.from('{"model":"m",'), Buffer.from(`"pad":"${'x'.repeat(70_000)}"`), Buffer.from('}')];
      const target = { provider: 'p', model: 'm' };
      for (let i = 0; i < 2; i++) {
        // Twice on the same connection: the pieces can be sent again (a retry does), and the connection stays in step.
        const res = await postJson(agent, `http://127.0.0.1:${port}/v1/messages`, { 'content-type': 'application/json' }, pieces, new AbortController().signal, target);
        expect(res.status).toBe(200);
        expect(await res.body.text()).toBe('{}');
      }
      expect(seen).toHaveLength(2);
      for (const s of seen) {
        expect(s.headers['content-length']).toBe(String(Buffer.concat(pieces).length));
        expect(s.headers['transfer-encoding']).toBeUndefined();
        expect(s.body).toBe(Buffer.concat(pieces).toString());
      }
    } finally {
      await agent.close();
      await new Promise((r) => server.close(r));
    }
  });
});
