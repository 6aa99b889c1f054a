import { anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sleep, waitFor } from './helpers/async.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { MESSAGES, warmUp } from './helpers/routing.js';

// A stream holds its upstream connection for as long as it lasts. Long streams (agents, slow
// models) must not queue behind each other in the gateway's connection pool: by default the pool
// opens one connection per request in flight; `max_connections` caps it on purpose.

// message_start, ping, content_block_start, the first text delta; then the stream stays open.
const FIRST_DELTA = 4;
const OPEN_STREAM = anthropicSseEvents(anthropicMessage({ model: 'claude-long', text: 'a long answer that never ends' }), { textChunkSize: 4 });

let upstream: FakeUpstream;
const gateways: RunningGateway[] = [];
const aborts: AbortController[] = [];

beforeAll(async () => {
  upstream = await startFakeAnthropic();
});
afterAll(async () => {
  await upstream?.close();
});
afterEach(async () => {
  for (const a of aborts.splice(0)) a.abort();
  for (const gw of gateways.splice(0)) await gw.close();
  upstream.reset();
});

async function gateway(provider: Record<string, unknown> = {}): Promise<RunningGateway> {
  const gw = await startGateway({
    default_provider: 'up',
    providers: { up: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'k' }], max_retries: 0, ...provider } },
  });
  gateways.push(gw);
  await warmUp(gw);
  upstream.reset();
  upstream.setResponder(() => ({ kind: 'sse', events: OPEN_STREAM, stallAfter: FIRST_DELTA }));
  return gw;
}

/** Opens a stream and resolves once its first text delta has arrived; the stream stays open until the test ends. */
async function openStream(gw: RunningGateway, signal = new AbortController()): Promise<string> {
  aborts.push(signal);
  const res = await fetch(gw.url + MESSAGES, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
    body: JSON.stringify({ model: 'claude-long', max_tokens: 32, stream: true, messages: [{ role: 'user', content: 'go on' }] }),
    signal: signal.signal,
  });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes('text_delta')) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

describe('connections to one upstream', () => {
  it('by default, 300 streams that do not end are all open at once, each on its own connection', async () => {
    const gw = await gateway();
    const STREAMS = 300; // more than the pool's former fixed cap of 256
    const texts = await Promise.all(Array.from({ length: STREAMS }, () => openStream(gw)));
    expect(texts.every((t) => t.includes('"text_delta"'))).toBe(true);
    expect(upstream.requests).toHaveLength(STREAMS);
    expect(upstream.requests.every((r) => !r.progress.finished && !r.progress.aborted)).toBe(true);
  }, 30_000);

  it('max_connections caps them: a request past the cap waits for a connection to free up', async () => {
    const gw = await gateway({ max_connections: 2 });
    const first = new AbortController();
    await openStream(gw, first);
    await openStream(gw);
    const third = openStream(gw);
    await sleep(300);
    expect(upstream.requests).toHaveLength(2);
    // The first client leaves: its upstream request is aborted and the third takes its connection.
    first.abort();
    await waitFor('the third request at the upstream', () => upstream.requests.length === 3);
    expect(await third).toContain('"text_delta"');
    expect(upstream.requests[0]!.progress.aborted).toBe(true);
  }, 15_000);
});
