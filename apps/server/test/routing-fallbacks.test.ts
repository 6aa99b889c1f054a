import Anthropic from '@anthropic-ai/sdk';
import { anthropicError, anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse, expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { anthropicProvider, MESSAGES, send, served, warmUp } from './helpers/routing.js';

let primary: FakeUpstream;
let backup: FakeUpstream;
let gw: RunningGateway;

const COOLDOWN_MS = 500;

beforeAll(async () => {
  primary = await startFakeAnthropic();
  backup = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'flaky',
    providers: {
      flaky: anthropicProvider(primary.url, { max_retries: 0, breaker: { failure_threshold: 3, cooldown_ms: COOLDOWN_MS } }),
      backup: anthropicProvider(backup.url, { keys: [{ value: 'sk-backup' }] }),
    },
    models: {
      // Claude Code sends bare names: route one elsewhere, with a fallback.
      'claude-sonnet-4-5': { target: 'flaky/claude-primary-x', fallbacks: ['backup/claude-backup-y'] },
      'claude-haiku-4-5': { target: 'backup/claude-haiku-backup' },
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

const down = () => anthropicError(503, 'api_error', 'Service unavailable');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each([
  ['JSON', false],
  ['stream', true],
])('circuit breaker (%s)', (_mode, stream) => {
  const model = `flaky/claude-breaker-${stream ? 'stream' : 'json'}`;
  const body = { model, fallbacks: ['backup/claude-b'], stream };

  it('primary down for a while, then healthy: opens, fallbacks serve, the probe finds it back, closed', async () => {
    primary.setResponder(down);
    // Three consecutive failures (threshold 3) open the circuit; each request is still served by the fallback.
    for (let i = 0; i < 3; i++) {
      const r = await send(gw, body);
      expect(r.status).toBe(200);
      expect(served(r)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '2', fallbackIndex: '1' });
    }
    expect(primary.requests).toHaveLength(3);
    const openedAt = primary.requests[2]!.at;

    // Open: straight to the fallback, the primary is not touched, even once it is healthy again.
    const skipped = await send(gw, body);
    expect(served(skipped)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '1', fallbackIndex: '1' });
    primary.setResponder(null);
    const stillOpen = await send(gw, body);
    expect(served(stillOpen).provider).toBe('backup');
    expect(primary.requests).toHaveLength(3);

    // After the cooldown one probe goes to the primary; it succeeds and closes the circuit.
    await sleep(Math.max(0, openedAt + COOLDOWN_MS + 20 - Date.now()));
    const probe = await send(gw, body);
    expect(served(probe)).toEqual({ provider: 'flaky', model: model.slice('flaky/'.length), attempts: '1', fallbackIndex: '0' });
    expect(primary.requests).toHaveLength(4);
    const closed = await send(gw, body);
    expect(served(closed).provider).toBe('flaky');
    expect(primary.requests).toHaveLength(5);
    if (stream) expectContractStream(closed.text);
  });
});

describe('circuit breaker details', () => {
  it('while the probe is in flight, other requests go to the fallback at once', async () => {
    const body = { model: 'flaky/claude-probe', fallbacks: ['backup/claude-b'] };
    primary.setResponder(down);
    for (let i = 0; i < 3; i++) await send(gw, body);
    await sleep(COOLDOWN_MS + 20);
    primary.setResponder(() => ({ kind: 'json', body: anthropicMessage({ model: 'claude-probe' }), delayMs: 400 }));
    const probe = send(gw, body);
    await sleep(100);
    const meanwhile = await send(gw, body);
    expect(served(meanwhile)).toEqual({ provider: 'backup', model: 'claude-b', attempts: '1', fallbackIndex: '1' });
    expect(meanwhile.ms).toBeLessThan(300);
    expect(served(await probe).provider).toBe('flaky');
    expect(primary.requests).toHaveLength(4);
  });

  it('a failed probe opens the circuit for another cooldown', async () => {
    const body = { model: 'flaky/claude-reprobe', fallbacks: ['backup/claude-b'] };
    primary.setResponder(down);
    for (let i = 0; i < 3; i++) await send(gw, body);
    await sleep(COOLDOWN_MS + 20);
    await send(gw, body); // probe → 503 → open again
    expect(primary.requests).toHaveLength(4);
    await send(gw, body);
    expect(primary.requests).toHaveLength(4);
  });

  it('open with nowhere to go: a fast 503 with retry-after, no upstream call', async () => {
    const body = { model: 'flaky/claude-alone' };
    primary.setResponder(down);
    for (let i = 0; i < 3; i++) expect((await send(gw, body)).status).toBe(503);
    const r = await send(gw, body);
    expect(r.status).toBe(503);
    expect(r.json.error).toEqual({ type: 'overloaded_error', message: 'no upstream available: 0 attempts: flaky/claude-alone → circuit open' });
    expect(r.headers.get('retry-after')).toBe('1');
    expectContractResponse(MESSAGES, 'post', 503, r.json);
    expect(primary.requests).toHaveLength(3);
  });

  it('client errors (4xx) do not open the circuit', async () => {
    const body = { model: 'flaky/claude-4xx', fallbacks: ['backup/claude-b'] };
    primary.setResponder(() => anthropicError(400, 'invalid_request_error', 'messages: bad'));
    for (let i = 0; i < 4; i++) expect((await send(gw, body)).status).toBe(400);
    expect(primary.requests).toHaveLength(4);
  });
});

describe('model aliases', () => {
  it('a bare name goes to its alias target with the upstream model id', async () => {
    const r = await send(gw, { model: 'claude-sonnet-4-5' });
    expect(r.status).toBe(200);
    expect(primary.requests[0]!.body.model).toBe('claude-primary-x');
    expect(served(r)).toEqual({ provider: 'flaky', model: 'claude-primary-x', attempts: '1', fallbackIndex: '0' });
  });

  it("the alias's fallbacks come after the request's own", async () => {
    primary.setResponder(down);
    backup.setResponder((req) => (req.body.model === 'claude-client-choice' ? down() : { kind: 'json', body: anthropicMessage({ model: req.body.model }) }));
    const r = await send(gw, { model: 'claude-sonnet-4-5', fallbacks: ['backup/claude-client-choice'] });
    expect(backup.requests.map((q) => q.body.model)).toEqual(['claude-client-choice', 'claude-client-choice', 'claude-client-choice', 'claude-backup-y']);
    expect(served(r)).toEqual({ provider: 'backup', model: 'claude-backup-y', attempts: '5', fallbackIndex: '2' });
  });

  it('count_tokens follows the alias too', async () => {
    const res = await fetch(`${gw.url}/anthropic/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-haiku-4-5', messages: [{ role: 'user', content: 'hello there' }] }),
    });
    expect(res.status).toBe(200);
    expect(backup.requests[0]!.path).toBe('/v1/messages/count_tokens');
    expect(backup.requests[0]!.body.model).toBe('claude-haiku-backup');
  });
});

describe('fail-over accounting: the body is the serving attempt’s', () => {
  const fallbackMessage = anthropicMessage({
    id: 'msg_backup_1',
    model: 'claude-backup-y',
    text: 'Served by the fallback.',
    usage: { input_tokens: 77, output_tokens: 6, cache_read_input_tokens: 12 },
  });

  it('JSON: model and usage of the fallback, and the x-bf-* headers say so', async () => {
    primary.setResponder(down);
    backup.enqueue({ kind: 'json', body: fallbackMessage });
    const r = await send(gw, { model: 'claude-sonnet-4-5' });
    expect(r.status).toBe(200);
    expect(r.json).toEqual(fallbackMessage);
    expectContractResponse(MESSAGES, 'post', 200, r.json);
    expect(served(r)).toEqual({ provider: 'backup', model: 'claude-backup-y', attempts: '2', fallbackIndex: '1' });
  });

  it('stream: only the fallback’s events, with its model and usage', async () => {
    primary.setResponder(down);
    backup.enqueue({ kind: 'sse', events: anthropicSseEvents(fallbackMessage, { fullDeltaUsage: true }) });
    const r = await send(gw, { model: 'claude-sonnet-4-5', stream: true });
    const events = expectContractStream(r.text);
    expect(events.filter((e) => e.event === 'message_start')).toHaveLength(1);
    expect(events[0]!.data.message.model).toBe('claude-backup-y');
    expect(events.find((e) => e.event === 'message_delta')!.data.usage).toMatchObject({ input_tokens: 77, output_tokens: 6, cache_read_input_tokens: 12 });
    expect(served(r)).toEqual({ provider: 'backup', model: 'claude-backup-y', attempts: '2', fallbackIndex: '1' });
  });

  it('through the official SDK: finalMessage() is the fallback’s message', async () => {
    primary.setResponder(down);
    backup.enqueue({ kind: 'sse', events: anthropicSseEvents(fallbackMessage) });
    const client = new Anthropic({ apiKey: 'client-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    const final = await client.messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    expect(final).toMatchObject({ id: 'msg_backup_1', model: 'claude-backup-y', content: fallbackMessage.content, usage: { input_tokens: 77, output_tokens: 6 } });
  });
});
