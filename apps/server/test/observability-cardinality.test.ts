import { anthropicError, startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { parsePrometheus, samples, type PromSample } from './helpers/prometheus.js';

/**
 * Clients choose model names. A name gets a metrics label of its own only once it is configured or
 * an upstream served a request on it; junk names share `_other`, so 1,500 of them cannot grow
 * /metrics (they once made 1,500 series and a 21 MB scrape).
 */

const JUNK = 1_500;
const COUNT_TOKENS = '/anthropic/v1/messages/count_tokens';

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  openai = await startFakeOpenAI();
  // The upstream knows two models; anything else is its 404.
  anthropic.setResponder((req) =>
    req.body.model === 'claude-real' || req.body.model === 'claude-listed'
      ? { kind: 'json', body: { id: 'msg_1', type: 'message', role: 'assistant', model: req.body.model, content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } }
      : anthropicError(404, 'not_found_error', `model: ${String(req.body.model)}`),
  );
  gw = await startGateway({
    default_provider: 'anthropic',
    providers: {
      anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk-a' }], max_retries: 0, models: ['claude-listed'] },
      openai: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: 'sk-o' }], max_retries: 0 },
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await anthropic?.close();
  await openai?.close();
});

async function post(path: string, body: object): Promise<number> {
  const res = await fetch(gw.url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

/** Every model label value on any series. */
function modelLabels(all: PromSample[]): Set<string> {
  return new Set(all.map((s) => s.labels.gen_ai_request_model).filter((m): m is string => m !== undefined));
}

describe('metric labels for models clients invent', () => {
  it(`${JUNK} junk model names leave the model labels and the size of /metrics where they were`, async () => {
    // The baseline: a model the upstream serves, and the configured one.
    expect(await post('/anthropic/v1/messages', { model: 'anthropic/claude-real', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })).toBe(200);
    expect(await post('/anthropic/v1/messages', { model: 'anthropic/claude-listed', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })).toBe(200);
    const before = await (await fetch(`${gw.url}/metrics`)).text();

    // Junk: chat calls and count_tokens calls the upstream refuses (404), and count_tokens counted
    // locally for the openai-type provider (200, but no upstream ever saw the model).
    const statuses = new Map<number, number>();
    const next = { i: 0 };
    const worker = async () => {
      for (;;) {
        const i = next.i++;
        if (i >= JUNK) return;
        const junk = `junk-${i}-${'x'.repeat(i % 50)}`;
        const status =
          i % 3 === 0
            ? await post('/anthropic/v1/messages', { model: `anthropic/${junk}`, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })
            : i % 3 === 1
              ? await post(COUNT_TOKENS, { model: `openai/${junk}`, messages: [{ role: 'user', content: 'hi' }] })
              : await post(COUNT_TOKENS, { model: `anthropic/${junk}`, messages: [{ role: 'user', content: 'hi' }] });
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(Object.fromEntries(statuses)).toEqual({ 404: 1000, 200: 500 });

    const after = await (await fetch(`${gw.url}/metrics`)).text();
    const all = parsePrometheus(after);
    expect([...modelLabels(all)].sort()).toEqual(['_other', 'claude-listed', 'claude-real']);
    // The series per metric are those of the baseline plus the `_other` ones (a few operations, statuses).
    const requestSeries = samples(all, 'conduit_requests_total');
    expect(requestSeries.length).toBeLessThanOrEqual(samples(parsePrometheus(before), 'conduit_requests_total').length + 4);
    expect(requestSeries.filter((s) => s.labels.gen_ai_request_model === '_other').reduce((n, s) => n + s.value, 0)).toBe(JUNK);
    // The exposition grew by the `_other` series of three operation/provider pairs (about 19 kB each:
    // six histograms of ~20 buckets), not by megabytes.
    expect(after.length - before.length).toBeLessThan(80_000);
    expect(after.length).toBeLessThan(200_000);
  }, 60_000);

  it('a model that served a request gets its own label from then on', async () => {
    expect(await post('/anthropic/v1/messages', { model: 'anthropic/claude-real', max_tokens: 8, messages: [{ role: 'user', content: 'again' }] })).toBe(200);
    const all = parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
    const real = samples(all, 'conduit_requests_total', { gen_ai_operation_name: 'chat', gen_ai_request_model: 'claude-real', http_response_status_code: '200' });
    expect(real.map((s) => s.value)).toEqual([2]);
  });
});
