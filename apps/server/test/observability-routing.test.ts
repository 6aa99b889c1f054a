import { anthropicError, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, sample } from './helpers/prometheus.js';

let primary: FakeUpstream;
let backup: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  [primary, backup] = await Promise.all([startFakeAnthropic(), startFakeAnthropic()]);
  gw = await startGateway({
    providers: {
      main: {
        type: 'anthropic',
        base_url: primary.url,
        keys: [{ value: 'k' }],
        max_retries: 1,
        retry: { base_ms: 1, max_ms: 5 },
        breaker: { failure_threshold: 2, cooldown_ms: 60_000 },
        // Configured, so its series carry its name before it ever served (see observability-cardinality).
        models: ['claude-x'],
      },
      backup: { type: 'anthropic', base_url: backup.url, keys: [{ value: 'k' }] },
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([primary?.close(), backup?.close()]);
});

const scrape = async () => parsePrometheus((await request(gw.url).get('/metrics')).text);
const labels = { gen_ai_provider_name: 'main', gen_ai_request_model: 'claude-x' };

describe('routing metrics', () => {
  it('count retries and fallbacks, and show the breaker opening', async () => {
    primary.setResponder(() => anthropicError(503, 'overloaded_error', 'down'));
    const res = await request(gw.url)
      .post('/anthropic/v1/messages')
      .send({ model: 'main/claude-x', fallbacks: ['backup/claude-y'], max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    expect(res.status).toBe(200);
    expect(res.headers['x-bf-provider']).toBe('backup');
    expect(primary.requests).toHaveLength(2); // the call and its one retry

    const after = await scrape();
    expect(sample(after, 'conduit_retries_total', labels)).toBe(1);
    expect(sample(after, 'conduit_fallbacks_total', labels)).toBe(1);
    // Two consecutive failures reached the threshold: the circuit is open (2).
    expect(sample(after, 'conduit_circuit_breaker_state', labels)).toBe(2);

    // While open, the primary is not called at all and the fallback count goes on.
    await request(gw.url)
      .post('/anthropic/v1/messages')
      .send({ model: 'main/claude-x', fallbacks: ['backup/claude-y'], max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] })
      .expect(200);
    expect(primary.requests).toHaveLength(2);
    expect(sample(await scrape(), 'conduit_fallbacks_total', labels)).toBe(2);
  });
});
