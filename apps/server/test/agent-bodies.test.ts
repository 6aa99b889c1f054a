import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { MESSAGES } from './helpers/routing.js';

// Agent-sized bodies end to end: the native upstream gets the client's own bytes with the model
// spliced in, and a session's repeated system prompt and tools (parsed once, from the cache) reach
// every upstream exactly as a gateway without the cache sends them.

const system = [
  { type: 'text', text: 'You are an agent.' },
  { type: 'text', text: `Rules: ${'be careful with “quotes”, \\ and 日本語; '.repeat(80)}`, cache_control: { type: 'ephemeral' } },
];
const tools = Array.from({ length: 8 }, (_, i) => ({
  name: `tool_${i}`,
  description: `Tool ${i}. ${'Reads files and reports. '.repeat(20)}`,
  input_schema: { type: 'object', properties: { path: { type: 'string' }, limit: { type: 'integer', minimum: 1 } }, required: ['path'] },
}));
/** One turn, written with the spacing a client might use. */
const turn = (model: string, n: number): string =>
  `{ "model": ${JSON.stringify(model)}, "max_tokens": 512,\n  "system": ${JSON.stringify(system)},\n  "tools": ${JSON.stringify(tools, null, 1)},\n  "messages": [{"role": "user", "content": "turn ${n}"}], "fallbacks": ["openai/gpt-4o-mini"] }`;

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let cached: RunningGateway;
let uncached: RunningGateway;

beforeAll(async () => {
  anthropic = await startFakeAnthropic();
  openai = await startFakeOpenAI();
  const providers = {
    anthropic: { type: 'anthropic' as const, base_url: anthropic.url, keys: [{ value: 'k' }], max_retries: 0 },
    openai: { type: 'openai' as const, base_url: `${openai.url}/v1`, keys: [{ value: 'k' }], max_retries: 0 },
  };
  cached = await startGateway({ providers });
  uncached = await startGateway({ providers, limits: { parse_cache_mb: 0 } });
});
afterAll(async () => {
  await cached?.close();
  await uncached?.close();
  await anthropic?.close();
  await openai?.close();
});

async function post(gw: RunningGateway, body: string): Promise<number> {
  const res = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body });
  await res.text();
  return res.status;
}

describe('agent-sized bodies', () => {
  it('a native upstream gets the client’s bytes: the model id and the gateway’s fallbacks are the only changes', async () => {
    for (let n = 1; n <= 3; n++) {
      anthropic.reset();
      const body = turn('anthropic/claude-sonnet-4-5', n);
      expect(await post(cached, body)).toBe(200);
      expect(anthropic.requests[0]!.rawBody).toBe(body.replace('"anthropic/claude-sonnet-4-5"', '"claude-sonnet-4-5"').replace(', "fallbacks": ["openai/gpt-4o-mini"] }', ' }'));
    }
  });

  it('a translated upstream gets the same request, turn after turn, with the cache as without it', async () => {
    for (let n = 1; n <= 3; n++) {
      openai.reset();
      expect(await post(cached, turn('openai/gpt-4o-mini', n))).toBe(200);
      const withCache = openai.requests[0]!.rawBody;
      openai.reset();
      expect(await post(uncached, turn('openai/gpt-4o-mini', n))).toBe(200);
      expect(withCache).toBe(openai.requests[0]!.rawBody);
      expect(JSON.parse(withCache).tools).toHaveLength(8);
    }
  });

  it('a cached tool list is still validated as part of each body', async () => {
    expect(await post(cached, turn('anthropic/claude-sonnet-4-5', 1))).toBe(200);
    // Same system and tools (cached), an invalid message: refused, as without the cache.
    const bad = turn('anthropic/claude-sonnet-4-5', 2).replace('"role": "user"', '"role": "robot"');
    expect(await post(cached, bad)).toBe(400);
    expect(await post(uncached, bad)).toBe(400);
  });
});
