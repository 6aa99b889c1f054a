import { startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { MESSAGES } from './helpers/routing.js';

// A session's system prompt and tools, once a body holding them passed validation, are not
// validated again: only the rest of each later body is. The verdicts and their messages must be
// exactly those of a gateway that validates every body whole.

const pad = 'Instructions that a long agent prompt would carry, repeated. '.repeat(30);
const tool = (name: string, schema: unknown) => ({ name, description: pad, input_schema: schema });
const TOOLS = {
  valid: [tool('read', { type: 'object', properties: { path: { type: 'string' } } }), tool('write', { type: 'object' })],
  other: [tool('grep', { type: 'object', properties: { pattern: { type: 'string' } } })],
  // A custom tool's input_schema must be an object.
  invalid: [tool('read', { type: 'object' }), tool('broken', 'not a schema')],
};
const SYSTEM = {
  valid: [{ type: 'text', text: pad }],
  // A text block's text must be a string.
  invalid: [{ type: 'text', text: pad }, { type: 'text', text: 42 }],
};
const MESSAGES_OF = {
  valid: [{ role: 'user', content: 'hello' }],
  invalid: [{ role: 'robot', content: 'hello' }],
};
// Messages large enough to be cached one by one, as a session's history is.
const HISTORY = {
  question: { role: 'user', content: [{ type: 'text', text: pad }] },
  answer: { role: 'assistant', content: [{ type: 'text', text: pad }, { type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: pad } }] },
  result: { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: pad }] },
  // A text block's text must be a string; a tool_result needs its tool_use_id.
  badText: { role: 'user', content: [{ type: 'text', text: pad }, { type: 'text', text: 7 }] },
  badResult: { role: 'user', content: [{ type: 'tool_result', content: pad }] },
  // Valid as the final prefill only: empty content (padded to be cached by an unknown field).
  emptyPrefill: { role: 'assistant', content: '', note: pad },
};

let upstream: FakeUpstream;
let cached: RunningGateway;
let whole: RunningGateway;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  const providers = { up: { type: 'anthropic' as const, base_url: upstream.url, keys: [{ value: 'k' }], max_retries: 0 } };
  cached = await startGateway({ default_provider: 'up', providers });
  whole = await startGateway({ default_provider: 'up', providers, limits: { parse_cache_mb: 0 } });
});
afterAll(async () => {
  await cached?.close();
  await whole?.close();
  await upstream?.close();
});

async function verdict(gw: RunningGateway, body: object): Promise<{ status: number; error?: unknown }> {
  const res = await fetch(`${gw.url}${MESSAGES}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { error?: unknown };
  return { status: res.status, error: res.status === 200 ? undefined : json.error };
}

describe('members proven valid', () => {
  it('a tool list refused once is refused every time, however often it is sent', async () => {
    for (let i = 0; i < 3; i++) {
      const got = await verdict(cached, { model: 'up/m', max_tokens: 10, tools: TOOLS.invalid, messages: MESSAGES_OF.valid });
      expect(got.status).toBe(400);
      expect(JSON.stringify(got.error)).toContain('input_schema');
    }
  });

  it('a proven tool list with an invalid message: the message is refused, in the same words', async () => {
    const good = { model: 'up/m', max_tokens: 10, system: SYSTEM.valid, tools: TOOLS.valid, messages: MESSAGES_OF.valid };
    expect((await verdict(cached, good)).status).toBe(200);
    const bad = { ...good, messages: MESSAGES_OF.invalid, temperature: 7 };
    expect(await verdict(cached, bad)).toEqual(await verdict(whole, bad));
    expect((await verdict(cached, bad)).status).toBe(400);
  });

  it('a proven history with a bad new message: refused, in the same words and at the same index', async () => {
    const history = [HISTORY.question, HISTORY.answer, HISTORY.result, HISTORY.answer];
    const good = { model: 'up/m', max_tokens: 10, messages: [...history, HISTORY.question] };
    expect((await verdict(cached, good)).status).toBe(200);
    for (const bad of [HISTORY.badText, HISTORY.badResult, { role: 'user' }]) {
      const request = { ...good, messages: [...history, bad] };
      const got = await verdict(cached, request);
      expect(got.status).toBe(400);
      expect(JSON.stringify(got.error)).toContain('messages.4');
      expect(got).toEqual(await verdict(whole, request));
    }
    // An empty prefill proven valid at the end is still refused before the end.
    const prefill = { ...good, messages: [...history, HISTORY.emptyPrefill] };
    expect((await verdict(cached, prefill)).status).toBe(200);
    const early = { ...good, messages: [HISTORY.question, HISTORY.emptyPrefill, HISTORY.question] };
    expect((await verdict(cached, early)).status).toBe(400);
    expect(await verdict(cached, early)).toEqual(await verdict(whole, early));
    // A message refused once is refused again, wherever it stands.
    const moved = { ...good, messages: [HISTORY.badText, ...history] };
    expect(await verdict(cached, moved)).toEqual(await verdict(whole, moved));
    expect((await verdict(cached, moved)).status).toBe(400);
  });

  it('gives every body the verdict the whole body gets, whatever came before (property)', async () => {
    const part = <T>(pool: Record<string, T>) => fc.constantFrom(...Object.keys(pool)).map((k) => pool[k]!);
    const body = fc.record({
      system: fc.option(part(SYSTEM), { nil: undefined }),
      tools: fc.option(part(TOOLS), { nil: undefined }),
      messages: fc.oneof(part(MESSAGES_OF), fc.array(part(HISTORY), { minLength: 1, maxLength: 4 })),
      temperature: fc.constantFrom(0.5, 3),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 5 }), async (bodies) => {
        for (const b of bodies) {
          const request = { model: 'up/m', max_tokens: 10, ...b };
          expect(await verdict(cached, request)).toEqual(await verdict(whole, request));
        }
      }),
      { numRuns: 40 },
    );
  });
});
