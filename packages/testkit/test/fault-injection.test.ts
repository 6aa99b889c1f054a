import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { anthropicError, anthropicMessage, anthropicSseEvents, parseSse, startFakeAnthropic } from '../src/index.js';
import type { FakeUpstream, RecordedRequest } from '../src/index.js';
import { ANTHROPIC_AUTH, anthropicRequest, post, readAll } from './helpers.js';

const FRAMES = anthropicSseEvents(anthropicMessage({ text: 'one two three four five six' }), { textChunkSize: 4 });

describe('fake upstream scripting and faults', () => {
  let fake: FakeUpstream;
  beforeEach(async () => {
    fake = await startFakeAnthropic();
  });
  afterEach(() => fake.close());

  const send = (extra: Record<string, unknown> = {}, timeoutMs?: number) =>
    post(`${fake.url}/v1/messages`, anthropicRequest(extra), ANTHROPIC_AUTH, timeoutMs);

  it('records method, path, query, headers, parsed and raw body, and arrival time', async () => {
    const before = Date.now();
    await (await post(`${fake.url}/v1/messages?beta=true`, anthropicRequest(), { ...ANTHROPIC_AUTH, 'anthropic-beta': 'a,b' })).text();
    const [req] = fake.requests;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/messages');
    expect(req.query.get('beta')).toBe('true');
    expect(req.headers['anthropic-beta']).toBe('a,b');
    expect(req.body).toEqual(anthropicRequest());
    expect(req.rawBody).toBe(JSON.stringify(anthropicRequest()));
    expect(req.at).toBeGreaterThanOrEqual(before);
    expect(req.at).toBeLessThanOrEqual(Date.now());
  });

  it('answers queued replies in FIFO order, then falls back to the default', async () => {
    fake.enqueue(anthropicError(529, 'overloaded_error', 'Overloaded'), { kind: 'raw', status: 502, headers: { 'content-type': 'text/html' }, body: '<html>bad gateway</html>' });
    fake.enqueue({ kind: 'json', status: 200, headers: { 'x-scripted': '3' }, body: anthropicMessage({ text: 'third' }) });

    const first = await send();
    expect(first.status).toBe(529);
    expect((await first.json()).error.type).toBe('overloaded_error');
    const second = await send();
    expect(second.status).toBe(502);
    expect(await second.text()).toBe('<html>bad gateway</html>');
    const third = await send();
    expect(third.headers.get('x-scripted')).toBe('3');
    expect((await third.json()).content[0].text).toBe('third');
    const fourth = await send();
    expect((await fourth.json()).content[0].text).toBe('Hello from the fake Anthropic upstream.');
    expect(fake.requests).toHaveLength(4);
  });

  it('uses the responder when the queue is empty, after the queue otherwise', async () => {
    const seen: RecordedRequest[] = [];
    fake.setResponder(async (req) => {
      seen.push(req);
      return { kind: 'json', body: anthropicMessage({ text: `echo ${req.body.model}` }) };
    });
    fake.enqueue({ kind: 'json', body: anthropicMessage({ text: 'queued' }) });
    expect((await (await send()).json()).content[0].text).toBe('queued');
    expect((await (await send({ model: 'm2' })).json()).content[0].text).toBe('echo m2');
    expect(seen.map((r) => r.body.model)).toEqual(['m2']);
  });

  it('answers 500 when the responder throws', async () => {
    fake.setResponder(() => {
      throw new Error('boom');
    });
    const res = await send();
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('boom');
  });

  it('reset clears requests, queue and responder', async () => {
    await (await send()).text();
    fake.enqueue(anthropicError(500, 'api_error', 'queued'));
    fake.setResponder(() => anthropicError(503, 'api_error', 'responder'));
    fake.reset();
    expect(fake.requests).toHaveLength(0);
    const res = await send();
    expect(res.status).toBe(200);
    await res.text();
    expect(fake.requests).toHaveLength(1);
  });

  it('delays a JSON reply by delayMs', async () => {
    fake.enqueue({ kind: 'json', body: anthropicMessage(), delayMs: 150 });
    const t0 = Date.now();
    await (await send()).json();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('reset destroys the connection before any headers', async () => {
    fake.enqueue({ kind: 'reset' });
    await expect(send()).rejects.toThrow(/fetch failed/);
    expect(fake.requests).toHaveLength(1);
  });

  it('hang never answers, and close() still returns at once', async () => {
    fake.enqueue({ kind: 'hang' });
    const t0 = Date.now();
    await expect(send({}, 200)).rejects.toThrow(/aborted|timeout/i);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    fake.enqueue({ kind: 'hang' });
    const pending = send({}, 1500).catch((err: unknown) => err);
    await new Promise((r) => setTimeout(r, 50));
    const closing = Date.now();
    await fake.close();
    expect(Date.now() - closing).toBeLessThan(300);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('cutAfter delivers exactly that many frames, then breaks the stream without message_stop', async () => {
    fake.enqueue({ kind: 'sse', events: FRAMES, cutAfter: 4 });
    const res = await send({ stream: true });
    expect(res.status).toBe(200);
    const { text, error } = await readAll(res);
    expect(error).toBeDefined();
    expect(text).toBe(FRAMES.slice(0, 4).join(''));
    expect(parseSse(text).map((e) => e.event)).not.toContain('message_stop');
  });

  it('cutAfter with chunk delays cuts at the same place', async () => {
    fake.enqueue({ kind: 'sse', events: FRAMES, cutAfter: 3, chunkDelayMs: 5 });
    const { text, error } = await readAll(await send({ stream: true }));
    expect(error).toBeDefined();
    expect(text).toBe(FRAMES.slice(0, 3).join(''));
  });

  it('stallAfter sends that many frames and then keeps the socket open silently', async () => {
    fake.enqueue({ kind: 'sse', events: FRAMES, stallAfter: 2 });
    const res = await send({ stream: true });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (text !== FRAMES.slice(0, 2).join('')) text += decoder.decode((await reader.read()).value, { stream: true });
    const silence = await Promise.race([reader.read().then(() => 'data'), new Promise((r) => setTimeout(() => r('silent'), 150))]);
    expect(silence).toBe('silent');
    const next = reader.read().then(
      (r) => (r.done ? 'ended' : 'data'),
      () => 'broken',
    );
    await fake.close();
    expect(await next).toBe('broken');
  });

  it('firstChunkDelayMs sends headers at once and the first frame later; chunkDelayMs spaces frames', async () => {
    fake.enqueue({ kind: 'sse', events: FRAMES.slice(0, 3), firstChunkDelayMs: 300, chunkDelayMs: 40 });
    const t0 = Date.now();
    const res = await send({ stream: true });
    const headersAt = Date.now() - t0;
    const reader = res.body!.getReader();
    await reader.read();
    const firstFrameAt = Date.now() - t0;
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      decoder.decode(value, { stream: true });
    }
    const endAt = Date.now() - t0;
    expect(headersAt).toBeLessThan(firstFrameAt - 150);
    expect(firstFrameAt).toBeGreaterThanOrEqual(290);
    expect(endAt - firstFrameAt).toBeGreaterThanOrEqual(70);
  });

  it('sse replies carry the given status and headers', async () => {
    fake.enqueue({ kind: 'sse', status: 200, headers: { 'x-extra': 'yes' }, events: FRAMES });
    const res = await send({ stream: true });
    expect(res.headers.get('x-extra')).toBe('yes');
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await res.text()).toBe(FRAMES.join(''));
  });
});
