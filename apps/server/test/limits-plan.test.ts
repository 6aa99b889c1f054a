import { anthropicError, anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { submitJob } from './helpers/async.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { anthropicProvider, streamedText, MESSAGES, send, warmUp } from './helpers/routing.js';

// A client must not be able to turn one request into a hundred upstream calls: the plan's length and
// the upstream calls per request are capped (limits.max_plan_targets, limits.max_upstream_attempts).

let upstream: FakeUpstream;
let defaults: RunningGateway;
let tight: RunningGateway;

const fallbacks = (n: number) => Array.from({ length: n }, (_, i) => `up/claude-fallback-${i}`);

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  // Routing knobs as in the other routing tests; the limits at their defaults.
  defaults = await startGateway({ default_provider: 'up', providers: { up: anthropicProvider(upstream.url, { retry: { base_ms: 1, max_ms: 2 } }) } });
  tight = await startGateway({
    default_provider: 'up',
    providers: { up: anthropicProvider(upstream.url, { retry: { base_ms: 1, max_ms: 2 } }) },
    limits: { max_plan_targets: 4, max_upstream_attempts: 5 },
    models: { 'claude-with-backups': { target: 'up/claude-a', fallbacks: ['up/claude-b', 'up/claude-c'] } },
  });
  await warmUp(defaults);
  await warmUp(tight);
});
afterAll(async () => {
  await defaults?.close();
  await tight?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

describe('plan length (limits.max_plan_targets)', () => {
  it.each([
    ['JSON', false],
    ['stream', true],
  ])('40 fallbacks at the default (8) are a 400 naming the limit, before any upstream call (%s)', async (_mode, stream) => {
    const r = await send(defaults, { model: 'up/claude-x', fallbacks: fallbacks(40), stream });
    expect(r.status).toBe(400);
    expectContractResponse(MESSAGES, 'post', 400, r.json);
    expect(r.json.error.type).toBe('invalid_request_error');
    expect(r.json.error.message).toBe('fallbacks: the model and 40 fallbacks make 41 targets; at most 8 are allowed (limits.max_plan_targets)');
    expect(upstream.requests).toHaveLength(0);
  });

  it('a list of more than 100 fallbacks is refused by the contract, before it is read entry by entry', async () => {
    const r = await send(defaults, { model: 'up/claude-x', fallbacks: Array.from({ length: 1_000_000 }, () => 'up/claude-x') });
    expect(r.status).toBe(400);
    expectContractResponse(MESSAGES, 'post', 400, r.json);
    expect(r.json.error.type).toBe('invalid_request_error');
    expect(r.json.error.message).toMatch(/^fallbacks: must NOT have more than 100 items/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('an async submit with too many fallbacks is refused the same way and nothing is queued', async () => {
    await expect(submitJob(defaults.url, { model: 'up/claude-x', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }], fallbacks: fallbacks(8) })).rejects.toThrow(
      /submit answered 400: .*make 9 targets; at most 8 are allowed \(limits\.max_plan_targets\)/,
    );
    expect(upstream.requests).toHaveLength(0);
  });

  it('a plan of exactly the limit is served', async () => {
    const r = await send(defaults, { model: 'up/claude-x', fallbacks: fallbacks(7) });
    expect(r.status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });

  it("an alias's configured fallbacks count towards the limit", async () => {
    // The alias brings 2 fallbacks of its own: 1 + 2 from the request + 2 = 5 > 4.
    const r = await send(tight, { model: 'claude-with-backups', fallbacks: ['up/claude-d', 'up/claude-e'] });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe(
      'fallbacks: with the fallbacks configured for "claude-with-backups" the plan has 5 targets; at most 4 are allowed (limits.max_plan_targets)',
    );
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('upstream calls per request (limits.max_upstream_attempts)', () => {
  it.each([
    ['JSON', false],
    ['stream', true],
  ])('every target failing: the run stops at the limit and the error says so (%s)', async (_mode, stream) => {
    upstream.setResponder(() => anthropicError(503, 'api_error', 'Service unavailable'));
    // 4 targets × (1 + 2 retries) would be 12 calls; the limit is 5.
    const r = await send(tight, { model: 'up/claude-x', fallbacks: ['up/claude-y', 'up/claude-z', 'up/claude-w'], stream });
    expect(r.status).toBe(503);
    expectContractResponse(MESSAGES, 'post', 503, r.json);
    expect(upstream.requests).toHaveLength(5);
    expect(upstream.requests.map((q) => q.body.model)).toEqual(['claude-x', 'claude-x', 'claude-x', 'claude-y', 'claude-y']);
    expect(r.json.error.message).toMatch(/\(5 attempts: .*up\/claude-y → 503, up\/claude-y → not tried: 5 attempts made, the most one request may make \(limits\.max_upstream_attempts\)\)$/);
  });

  it('at the default (16), 40 fallbacks inside the plan limit cannot add up to more than 16 calls', async () => {
    upstream.setResponder(() => anthropicError(503, 'api_error', 'Service unavailable'));
    const r = await send(defaults, { model: 'up/claude-x', fallbacks: fallbacks(7) });
    expect(r.status).toBe(503);
    // 8 targets × 3 calls would be 24.
    expect(upstream.requests).toHaveLength(16);
    expect(r.json.error.message).toContain('limits.max_upstream_attempts');
  });
});

describe('a stream continued after it broke', () => {
  const sentence = 'The quick brown fox jumps over the lazy dog.';
  const cut = { kind: 'sse' as const, events: anthropicSseEvents(anthropicMessage({ model: 'claude-cont', text: sentence }), { textChunkSize: 4 }), cutAfter: 6 };
  const rest = { kind: 'sse' as const, events: anthropicSseEvents(anthropicMessage({ model: 'claude-b', text: 'own fox jumps over the lazy dog.' }), { textChunkSize: 5 }) };
  const body = { model: 'up/claude-cont', fallbacks: ['up/claude-b'], stream: true };

  it.each([
    [1, false],
    [2, true],
  ])('counts its calls towards the limit too (max_upstream_attempts %i: continued %s)', async (max, continued) => {
    const gw = await startGateway({
      default_provider: 'up',
      providers: { up: anthropicProvider(upstream.url) },
      limits: { max_upstream_attempts: max },
    });
    try {
      upstream.enqueue(cut, rest);
      const r = await send(gw, body);
      // The same target continues first.
      expect(upstream.requests.map((q) => q.body.model)).toEqual(continued ? ['claude-cont', 'claude-cont'] : ['claude-cont']);
      expect(r.events!.at(-1)!.event).toBe(continued ? 'message_stop' : 'error');
      if (continued) expect(streamedText(r.events!)).toBe(sentence);
    } finally {
      await gw.close();
    }
  });
});
