import { anthropicError, startFakeAnthropic, type FakeReply, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { anthropicProvider, gaps, MESSAGES, send, served, warmUp, type Reply } from './helpers/routing.js';

let primary: FakeUpstream;
let backup: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  primary = await startFakeAnthropic();
  backup = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'main',
    providers: {
      main: anthropicProvider(primary.url),
      lowcap: anthropicProvider(primary.url, { retry: { base_ms: 40, max_ms: 160, max_retry_after_ms: 1_000 } }),
      multi: anthropicProvider(primary.url, { keys: [{ value: 'sk-a' }, { value: 'sk-b' }] }),
      backup: anthropicProvider(backup.url, { keys: [{ value: 'sk-backup' }] }),
    },
  });
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

const withHeaders = (reply: FakeReply, headers: Record<string, string>): FakeReply =>
  reply.kind === 'json' ? { ...reply, headers: { ...reply.headers, ...headers } } : reply;
const rateLimited = (headers: Record<string, string> = {}) => withHeaders(anthropicError(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'), headers);

/** A complete, successful answer in the mode under test. */
function expectServed(reply: Reply, stream: boolean): void {
  expect(reply.status).toBe(200);
  if (stream) {
    const events = expectContractStream(reply.text);
    expect(events.at(-1)!.event).toBe('message_stop');
    expect(events.some((e) => e.event === 'error')).toBe(false);
  } else {
    expectContractResponse(MESSAGES, 'post', 200, reply.json);
  }
}

describe.each([
  ['JSON', false],
  ['stream', true],
])('retries and fail-over (%s)', (_mode, stream) => {
  // Its own model per mode: key cooldowns and breakers are per provider+model and outlive a request.
  const A = stream ? 'claude-a-stream' : 'claude-a-json';
  it('429 with a retry-after under the cap: waits that long, then the same model serves', async () => {
    // Retry-After in seconds for JSON (the scenario), retry-after-ms for streams (keeps the suite quick).
    const header: Record<string, string> = stream ? { 'retry-after-ms': '300' } : { 'retry-after': '2' };
    const waitMs = stream ? 300 : 2000;
    primary.enqueue(rateLimited(header));
    const reply = await send(gw, { model: `main/${A}`, stream });
    expectServed(reply, stream);
    expect(primary.requests).toHaveLength(2);
    const [gap] = gaps(primary.requests);
    expect(gap).toBeGreaterThanOrEqual(waitMs - 20);
    expect(gap).toBeLessThan(waitMs + 1500);
    expect(reply.ms).toBeGreaterThanOrEqual(waitMs - 20);
    expect(served(reply)).toEqual({ provider: 'main', model: A, attempts: '2', fallbackIndex: '0' });
  });

  it('429 with a retry-after over the cap: fails over at once instead of waiting', async () => {
    primary.enqueue(rateLimited({ 'retry-after': '2' }));
    const reply = await send(gw, { model: `lowcap/${A}`, fallbacks: ['backup/claude-b'], stream });
    expectServed(reply, stream);
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
    expect(backup.requests[0]!.at - primary.requests[0]!.at).toBeLessThan(1000);
    expect(reply.ms).toBeLessThan(1500);
    expect(served(reply)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '2', fallbackIndex: '1' });
  });

  it('429 over the cap with nowhere to go: the 429 and its retry-after reach the client without waiting', async () => {
    primary.enqueue(rateLimited({ 'retry-after': '2' }));
    const reply = await send(gw, { model: `lowcap/${A}`, stream });
    expect(reply.status).toBe(429);
    expect(reply.headers.get('retry-after')).toBe('2');
    expect(reply.json.error).toEqual({ type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' });
    expect(primary.requests).toHaveLength(1);
    expect(reply.ms).toBeLessThan(1500);
  });

  it('persistent 429 without retry-after: exponential backoff with jitter, max_retries, then the fallback', async () => {
    primary.setResponder(() => rateLimited());
    const reply = await send(gw, { model: `main/${A}`, fallbacks: ['backup/claude-b'], stream });
    expectServed(reply, stream);
    expect(primary.requests).toHaveLength(3); // 1 + max_retries
    const [g1, g2] = gaps(primary.requests);
    // Full jitter: retry n waits a random time below min(max_ms, base_ms * 2^n) = 40, then 80 ms.
    expect(g1).toBeLessThan(40 + 500);
    expect(g2).toBeLessThan(80 + 500);
    expect(backup.requests).toHaveLength(1);
    expect(served(reply)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '4', fallbackIndex: '1' });
  });

  it('persistent 429 and no fallback: a 429 naming the attempts', async () => {
    primary.setResponder(() => rateLimited());
    const reply = await send(gw, { model: `main/${A}`, stream });
    expect(reply.status).toBe(429);
    expect(reply.json.error.type).toBe('rate_limit_error');
    expect(reply.json.error.message).toBe(
      `Number of request tokens has exceeded your per-minute rate limit (3 attempts: main/${A} → 429, main/${A} → 429, main/${A} → 429)`,
    );
    expectContractResponse(MESSAGES, 'post', 429, reply.json);
    expect(primary.requests).toHaveLength(3);
  });

  it('500 once, then healthy: retried on the same model', async () => {
    primary.enqueue(anthropicError(500, 'api_error', 'Internal server error'));
    const reply = await send(gw, { model: `main/${A}`, stream });
    expectServed(reply, stream);
    expect(primary.requests).toHaveLength(2);
    expect(gaps(primary.requests)[0]).toBeLessThan(40 + 500);
    expect(served(reply)).toEqual({ provider: 'main', model: A, attempts: '2', fallbackIndex: '0' });
  });

  it('persistent 503: max_retries on the primary, then the fallback serves', async () => {
    primary.setResponder(() => anthropicError(503, 'api_error', 'Service unavailable'));
    const reply = await send(gw, { model: `main/${A}`, fallbacks: ['backup/claude-b'], stream });
    expectServed(reply, stream);
    expect(primary.requests).toHaveLength(3);
    expect(backup.requests).toHaveLength(1);
    expect(backup.requests[0]!.body.model).toBe('claude-b');
    expect(backup.requests[0]!.headers['x-api-key']).toBe('sk-backup');
    expect(served(reply)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '4', fallbackIndex: '1' });
  });

  it('a TCP reset before the response headers is retried', async () => {
    primary.enqueue({ kind: 'reset' });
    const reply = await send(gw, { model: `main/${A}`, stream });
    expectServed(reply, stream);
    expect(primary.requests).toHaveLength(2);
    expect(served(reply).attempts).toBe('2');
  });

  it('400 context length: no retry on that model, the next fallback serves', async () => {
    primary.enqueue(anthropicError(400, 'invalid_request_error', 'prompt is too long: 250123 tokens > 200000 maximum'));
    const reply = await send(gw, { model: `main/${A}`, fallbacks: ['backup/claude-long'], stream });
    expectServed(reply, stream);
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(1);
    expect(served(reply)).toEqual({ provider: 'backup', model: 'claude-long', attempts: '2', fallbackIndex: '1' });
  });

  it("400 content filter: no retry, no fallback, the provider's reason reaches the client", async () => {
    primary.enqueue(anthropicError(400, 'invalid_request_error', 'Output blocked by content filtering policy'));
    const reply = await send(gw, { model: `main/${A}`, fallbacks: ['backup/claude-b'], stream });
    expect(reply.status).toBe(400);
    expect(reply.json.error).toEqual({ type: 'invalid_request_error', message: 'Output blocked by content filtering policy' });
    expectContractResponse(MESSAGES, 'post', 400, reply.json);
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
  });

  it('other 4xx (404 unknown model): no retry, no fallback', async () => {
    primary.enqueue(anthropicError(404, 'not_found_error', 'model: claude-nope'));
    const reply = await send(gw, { model: 'main/claude-nope', fallbacks: ['backup/claude-b'], stream });
    expect(reply.status).toBe(404);
    expect(reply.json.error.message).toBe('model: claude-nope');
    expect(primary.requests).toHaveLength(1);
    expect(backup.requests).toHaveLength(0);
  });
});

describe('keys', () => {
  it('a 429 on one key moves to the other key at once; the cooled key is skipped afterwards', async () => {
    primary.enqueue(rateLimited({ 'retry-after': '2' }));
    const first = await send(gw, { model: 'multi/claude-keys' });
    expect(first.status).toBe(200);
    expect(primary.requests).toHaveLength(2);
    const [limited, other] = primary.requests.map((r) => r.headers['x-api-key']);
    expect(limited).not.toBe(other);
    expect(gaps(primary.requests)[0]).toBeLessThan(1000); // no 2 s wait: another key was free
    expect(served(first).attempts).toBe('2');
    // For the next 2 s the rate-limited key sits out.
    for (let i = 0; i < 4; i++) {
      primary.reset();
      const next = await send(gw, { model: 'multi/claude-keys' });
      expect(next.status).toBe(200);
      expect(primary.requests.map((r) => r.headers['x-api-key'])).toEqual([other]);
    }
  });

  it('401 on a key: that key cools down and another key serves', async () => {
    primary.enqueue(anthropicError(401, 'authentication_error', 'invalid x-api-key'));
    const reply = await send(gw, { model: 'multi/claude-auth-one' });
    expect(reply.status).toBe(200);
    const [refused, good] = primary.requests.map((r) => r.headers['x-api-key']);
    expect(refused).not.toBe(good);
    primary.reset();
    for (let i = 0; i < 4; i++) await send(gw, { model: 'multi/claude-auth-one' });
    expect(primary.requests.every((r) => r.headers['x-api-key'] === good)).toBe(true);
  });

  it('401 on every key: each key once, then the fallback; later requests skip the refused keys', async () => {
    primary.setResponder(() => anthropicError(401, 'authentication_error', 'invalid x-api-key'));
    const reply = await send(gw, { model: 'multi/claude-auth-all', fallbacks: ['backup/claude-b'] });
    expect(reply.status).toBe(200);
    expect(new Set(primary.requests.map((r) => r.headers['x-api-key']))).toEqual(new Set(['sk-a', 'sk-b']));
    expect(primary.requests).toHaveLength(2);
    expect(served(reply)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '3', fallbackIndex: '1' });

    primary.reset();
    const again = await send(gw, { model: 'multi/claude-auth-all', fallbacks: ['backup/claude-b'] });
    expect(primary.requests).toHaveLength(0);
    expect(served(again)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '1', fallbackIndex: '1' });
  });

  it("a refused gateway key with nowhere to go is a 502, not the client's 401", async () => {
    primary.setResponder(() => anthropicError(401, 'authentication_error', 'invalid x-api-key'));
    const reply = await send(gw, { model: 'main/claude-auth-solo' });
    expect(reply.status).toBe(502);
    expect(reply.json.error.message).toBe("the upstream refused the gateway's credentials: invalid x-api-key");
    expectContractResponse(MESSAGES, 'post', 502, reply.json);
  });
});

describe('when everything fails', () => {
  it('answers with the primary’s error and names every attempt', async () => {
    primary.setResponder(() => anthropicError(503, 'api_error', 'Service unavailable'));
    backup.setResponder(() => ({ kind: 'reset' }));
    const reply = await send(gw, { model: 'main/claude-a', fallbacks: ['backup/claude-b'] });
    expect(reply.status).toBe(503);
    expect(reply.json.error.message).toBe(
      'Service unavailable (6 attempts: main/claude-a → 503, main/claude-a → 503, main/claude-a → 503, ' +
        'backup/claude-b → connection reset, backup/claude-b → connection reset, backup/claude-b → connection reset)',
    );
    expectContractResponse(MESSAGES, 'post', 503, reply.json);
    expect(primary.requests).toHaveLength(3);
    expect(backup.requests).toHaveLength(3);
  });
});

describe('abort', () => {
  it('a client that leaves stops the retries at once', async () => {
    primary.setResponder(() => rateLimited({ 'retry-after': '2' }));
    const controller = new AbortController();
    const pending = send(gw, { model: 'main/claude-abort' }, { signal: controller.signal }).catch((e: unknown) => e);
    await waitFor(() => primary.requests.length === 1);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    // The router was sleeping 2 s before its retry; that retry must never come.
    await new Promise((r) => setTimeout(r, 2300));
    expect(primary.requests).toHaveLength(1);
  });
});

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
