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
    lenient: { type: 'openai' as const, base_url: `${openai.url}/v1`, keys: [{ value: 'k' }], max_retries: 0, drop_unsupported: true },
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
  return (await send(gw, body)).status;
}

async function send(gw: RunningGateway, body: string): Promise<{ status: number; dropped: string | null; text: string }> {
  const res = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body });
  return { status: res.status, dropped: res.headers.get('x-bf-dropped'), text: await res.text() };
}

/** A session after `turns` turns: each turn adds a tool call and its result (with a block OpenAI cannot take, now and then). */
function session(model: string, turns: number): string {
  const messages: unknown[] = [{ role: 'user', content: `Start. ${'Context for the task. '.repeat(20)}` }];
  for (let t = 0; t < turns; t++) {
    messages.push({
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: `Turn ${t}: ${'I should read the file. '.repeat(10)}`, signature: 'sig' },
        { type: 'text', text: `Reading file ${t}. ${'Explaining why. '.repeat(12)}` },
        { type: 'tool_use', id: `toolu_${t}`, name: 'tool_1', input: { path: `/src/f${t}.ts`, limit: 5 } },
      ],
    });
    messages.push({
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: `toolu_${t}`, content: `${t}: ${'const x = "y"; // é \\ \n'.repeat(15)}` },
        ...(t % 3 === 1 ? [{ type: 'search_result', source: 'https://example.com', title: 'r', content: [{ type: 'text', text: 'found '.repeat(50) }] }] : []),
      ],
    });
  }
  return JSON.stringify({ model, max_tokens: 512, system, tools, messages });
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

  it('a body large enough to go upstream in pieces arrives whole, byte for byte, streamed or not', async () => {
    // Over 16 KB between the model and the fallbacks: the first bytes, a view of the middle and the
    // last bytes go as three pieces (providers/anthropic/upstream-body.ts).
    const big = (model: string, stream: boolean): string =>
      turn(model, 7).replace('"max_tokens": 512,', `"max_tokens": 512, "stream": ${stream}, "metadata": {"user_id": ${JSON.stringify('u'.repeat(40_000))}},`);
    for (const stream of [false, true]) {
      anthropic.reset();
      const body = big('anthropic/claude-sonnet-4-5', stream);
      const res = await send(cached, body);
      expect(res.status).toBe(200);
      const sent = anthropic.requests[0]!.rawBody;
      const expected = body
        .replace('"anthropic/claude-sonnet-4-5"', '"claude-sonnet-4-5"')
        // A `stream: false` goes, with its comma (the spaces around it stay).
        .replace(stream ? '' : '"stream": false,', '')
        .replace(', "fallbacks": ["openai/gpt-4o-mini"] }', ' }');
      expect(sent.length).toBeGreaterThan(40_000);
      expect(sent).toBe(expected);
      expect(anthropic.requests[0]!.headers['content-length']).toBe(String(Buffer.byteLength(expected)));
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

  it('a session’s history, turn after turn: upstreams get what they get without the cache, x-bf-dropped says the same', async () => {
    for (let turns = 1; turns <= 5; turns++) {
      for (const model of ['lenient/gpt-4o-mini', 'anthropic/claude-sonnet-4-5', 'openai/gpt-4o-mini']) {
        const upstream = model.startsWith('anthropic') ? anthropic : openai;
        const body = session(model, turns);
        upstream.reset();
        const withCache = await send(cached, body);
        const sentWith = upstream.requests[0]?.rawBody;
        upstream.reset();
        const without = await send(uncached, body);
        expect(withCache.status).toBe(without.status);
        expect(withCache.dropped).toBe(without.dropped);
        expect(sentWith).toBe(upstream.requests[0]?.rawBody);
        if (withCache.status !== 200) expect(JSON.parse(withCache.text).error).toEqual(JSON.parse(without.text).error);
      }
    }
    // The strict OpenAI provider refuses the search result by name, every turn it is in the history.
    expect((await send(cached, session('openai/gpt-4o-mini', 4))).text).toContain('search_result');
    expect((await send(cached, session('lenient/gpt-4o-mini', 4))).dropped).toContain('search_result');
  });

  it('a cached tool list is still validated as part of each body', async () => {
    expect(await post(cached, turn('anthropic/claude-sonnet-4-5', 1))).toBe(200);
    // Same system and tools (cached), an invalid message: refused, as without the cache.
    const bad = turn('anthropic/claude-sonnet-4-5', 2).replace('"role": "user"', '"role": "robot"');
    expect(await post(cached, bad)).toBe(400);
    expect(await post(uncached, bad)).toBe(400);
  });
});
