import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { readJsonBody } from '../http/json-body.js';
import { COST_PER_BYTE, COST_PER_NODE, MAX_PER_PREFIX, MIN_MEMBER_BYTES, ParseCache, PREFIX_BYTES } from './parse-cache.js';

const read = (text: string, cache?: ParseCache): Promise<unknown> => {
  const bytes = Buffer.from(text);
  const req = Readable.from([bytes]) as unknown as IncomingMessage;
  req.headers = { 'content-type': 'application/json', 'content-length': String(bytes.length) };
  return readJsonBody(req, 64 * 1024 * 1024, 128, cache);
};

/** A system prompt and tools of a few KB, as a session sends them on every turn. */
const system = [{ type: 'text', text: `You are a careful assistant. ${'Follow the rules. '.repeat(120)}`, cache_control: { type: 'ephemeral' } }];
const tools = Array.from({ length: 6 }, (_, i) => ({
  name: `tool_${i}`,
  description: `Does thing ${i}: ${'détails, "quoted", \\ slashes; '.repeat(12)}`,
  input_schema: { type: 'object', properties: { path: { type: 'string' }, limit: { type: 'number', minimum: 0 } }, required: ['path'] },
}));
const turn = (n: number) => ({ model: 'a/b', max_tokens: 100, system, tools, messages: [{ role: 'user', content: `turn ${n}` }] });

describe('the parse cache: system and tools a session repeats', () => {
  it('parses them once: later turns get the same (frozen) value, and the rest of each body fresh', async () => {
    const cache = new ParseCache(1024 * 1024);
    // Seen once: only remembered as seen. Seen again: kept. From then on, the same values.
    const seen = (await read(JSON.stringify(turn(0)), cache)) as ReturnType<typeof turn>;
    expect(cache.count).toBe(0);
    const first = (await read(JSON.stringify(turn(1)), cache)) as ReturnType<typeof turn>;
    expect(Object.isFrozen(seen.tools)).toBe(false);
    const second = (await read(JSON.stringify(turn(2)), cache)) as ReturnType<typeof turn>;
    expect(second).toEqual(turn(2));
    expect(Object.keys(second)).toEqual(Object.keys(turn(2)));
    expect(second.tools).toBe(first.tools);
    expect(second.system).toBe(first.system);
    expect(second.messages).not.toBe(first.messages);
    expect(cache.count).toBe(2);
    // Shared between requests, so nobody may edit them in place.
    expect(Object.isFrozen(second.tools[0]!.input_schema.properties)).toBe(true);
    expect(() => {
      'use strict';
      (second.tools as unknown[]).push({});
    }).toThrow(TypeError);
  });

  it('leaves small members, and bodies it cannot map, to the plain parse', async () => {
    const cache = new ParseCache(1024 * 1024);
    for (let i = 0; i < 2; i++) await read(JSON.stringify({ model: 'a/b', max_tokens: 1, system: 'short', tools: [], messages: [] }), cache);
    expect(cache.count).toBe(0);
    // "tools" given twice: the parse keeps the last, and so must the gateway.
    const twice = `{"model":"a/b","tools":${JSON.stringify(tools)},"max_tokens":1,"tools":${JSON.stringify(tools.slice(1))},"messages":[]}`;
    expect(((await read(twice, cache)) as { tools: unknown[] }).tools).toHaveLength(5);
    expect(((await read(twice, cache)) as { tools: unknown[] }).tools).toHaveLength(5);
    expect(cache.count).toBe(0);
  });

  it('says what is wrong with a body about its own text, cached members or not', async () => {
    const cache = new ParseCache(1024 * 1024);
    await read(JSON.stringify(turn(1)), cache);
    await read(JSON.stringify(turn(2)), cache);
    const broken = JSON.stringify(turn(3)).replace('"turn 3"', '"turn 3",');
    const withCache = await read(broken, cache).catch((e: unknown) => e);
    const without = await read(broken).catch((e: unknown) => e);
    expect(withCache).toBeInstanceOf(GatewayError);
    expect((withCache as GatewayError).message).toBe((without as GatewayError).message);
  });

  it('holds at most its budget, least recently used out first', async () => {
    const big = (i: number) => ({ ...turn(i), system: `${i} ${'x'.repeat(MIN_MEMBER_BYTES * 2)}`, tools: undefined });
    const entry = JSON.stringify(big(1).system).length * COST_PER_BYTE;
    const cache = new ParseCache(entry * 3 + 10);
    for (let i = 0; i < 4; i++) for (let twice = 0; twice < 2; twice++) await read(JSON.stringify(big(i)), cache);
    expect(cache.count).toBe(3);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    // 0 was the oldest: gone; 1 is still there, and using it makes 2 the oldest.
    expect(cache.find(Buffer.from(JSON.stringify(big(0).system)), 0, 128)).toBeUndefined();
    expect(cache.find(Buffer.from(JSON.stringify(big(1).system)), 0, 128)).toBeDefined();
    for (let twice = 0; twice < 2; twice++) await read(JSON.stringify(big(9)), cache);
    expect(cache.find(Buffer.from(JSON.stringify(big(2).system)), 0, 128)).toBeUndefined();
    expect(cache.find(Buffer.from(JSON.stringify(big(1).system)), 0, 128)).toBeDefined();
    // An entry larger than the whole budget is not kept at all.
    const tiny = new ParseCache(100);
    for (let twice = 0; twice < 2; twice++) await read(JSON.stringify(big(1)), tiny);
    expect(tiny.count).toBe(0);
  });

  it('weighs a value by its objects and arrays too: a part of empty objects counts for what it takes once parsed', async () => {
    const objects = Array.from({ length: 10_000 }, () => ({}));
    const body = { ...turn(1), system: [{ type: 'text', text: 'x' }, ...objects] };
    const cache = new ParseCache(64 * 1024 * 1024);
    for (let twice = 0; twice < 2; twice++) await read(JSON.stringify(body), cache);
    const bytes = JSON.stringify(body.system).length;
    // 10,001 objects and one array, and the tools' own entry (the array; each tool, its schema, properties, two properties and required).
    const toolsWeight = Buffer.byteLength(JSON.stringify(tools)) * COST_PER_BYTE + (1 + tools.length * 6) * COST_PER_NODE;
    expect(cache.bytes).toBe(bytes * COST_PER_BYTE + 10_002 * COST_PER_NODE + toolsWeight);
    // A budget the bytes alone fit in, but not the objects: not kept, and the value stays the request's own.
    const small = new ParseCache(bytes * COST_PER_BYTE + 1_000);
    let last: any;
    for (let twice = 0; twice < 2; twice++) last = await read(JSON.stringify({ ...body, tools: undefined }), small);
    expect(small.count).toBe(0);
    expect(Object.isFrozen(last.system)).toBe(false);
  });

  it('parses a session’s history once: each earlier message is the cached value, the new ones fresh', async () => {
    const cache = new ParseCache(1024 * 1024);
    const message = (n: number) => ({ role: n % 2 ? 'assistant' : 'user', content: [{ type: 'text', text: `${n}: ${'a long turn, "quoted" \\ é; '.repeat(30)}` }] });
    const history = (n: number) => ({ model: 'a/b', max_tokens: 1, messages: [...Array.from({ length: n }, (_, i) => message(i)), { role: 'user', content: `short ${n}` }] });
    await read(JSON.stringify(history(1)), cache);
    const first = (await read(JSON.stringify(history(2)), cache)) as ReturnType<typeof history>;
    const second = (await read(JSON.stringify(history(3)), cache)) as ReturnType<typeof history>;
    expect(second).toEqual(history(3));
    expect(second.messages[0]).toBe(first.messages[0]);
    // Message 1 was new in `first`: seen once, so parsed again, and kept now.
    expect(second.messages[1]).not.toBe(first.messages[1]);
    expect(second.messages[2]).not.toBe(first.messages[2]);
    const third = (await read(JSON.stringify(history(3)), cache)) as ReturnType<typeof history>;
    expect(third.messages[1]).toBe(second.messages[1]);
    // The array itself is the request's own; the messages in it are shared, so frozen.
    expect(Object.isFrozen(second.messages)).toBe(false);
    expect(Object.isFrozen(second.messages[0]!.content[0])).toBe(true);
    // Three messages of over MIN_MEMBER_BYTES seen twice; the short ones are parsed with the rest.
    expect(cache.count).toBe(3);
  });

  it('says of a damaged body what JSON.parse says, whatever was cached before (property)', async () => {
    const message = (n: number) => ({ role: 'user', content: [{ type: 'text', text: `${n} ${'x"\\é '.repeat(MIN_MEMBER_BYTES / 4)}` }] });
    const body = JSON.stringify({ model: 'a/b', system: message(0).content, tools: [message(1)], messages: [message(2), message(3), { role: 'user', content: 'hi' }] }, null, 1);
    const outcome = (p: Promise<unknown>) => p.then((v) => JSON.stringify(v), (e: unknown) => `error: ${(e as Error).message}`);
    const cache = new ParseCache(1024 * 1024);
    await read(body, cache);
    await read(body, cache);
    expect(cache.count).toBe(4);
    await fc.assert(
      fc.asyncProperty(fc.nat(body.length - 1), fc.nat(4), fc.constantFrom('', ',', ']', '}', '"', '[', '{', '\\', ' ', '0'), async (at, cut, insert) => {
        const damaged = body.slice(0, at) + insert + body.slice(at + cut);
        expect(await outcome(read(damaged, cache))).toBe(await outcome(read(damaged)));
      }),
      { numRuns: 400 },
    );
  });

  it('compares a part with at most MAX_PER_PREFIX entries of the same first bytes, and finds only what fits the depth left', () => {
    const cache = new ParseCache(1 << 24);
    const head = 'x'.repeat(PREFIX_BYTES);
    const parts = Array.from({ length: MAX_PER_PREFIX + 1 }, (_, i) => Buffer.from(JSON.stringify([[head, i]])));
    for (const p of parts) for (let twice = 0; twice < 2; twice++) cache.set(p, JSON.parse(p.toString()));
    expect(cache.count).toBe(MAX_PER_PREFIX);
    // The oldest of the same first bytes went first; the others are found, each as itself.
    expect(cache.find(parts[0]!, 0, 10)).toBeUndefined();
    for (const p of parts.slice(1)) expect((cache.find(Buffer.concat([p, Buffer.from(',')]), 0, 10)?.entry.value as unknown[])[0]).toEqual([head, JSON.parse(p.toString())[0][1]]);
    // [[...]] nests two deep: not a hit where only one level is left.
    expect(cache.find(parts[1]!, 0, 2)).toBeDefined();
    expect(cache.find(parts[1]!, 0, 1)).toBeUndefined();
  });

  it('refuses a cached value placed deeper than the limit, as it refuses it uncached', async () => {
    const deep = (levels: number) => `${'['.repeat(levels)}"${'x'.repeat(MIN_MEMBER_BYTES)}"${']'.repeat(levels)}`;
    // 127 levels as `tools`: 128 in all, the limit. The same bytes as a message: 129.
    const asTools = `{"model":"a/b","tools":${deep(127)},"messages":[]}`;
    const asMessage = `{"model":"a/b","messages":[${deep(127)}]}`;
    const cache = new ParseCache(1 << 24);
    for (let twice = 0; twice < 3; twice++) await read(asTools, cache);
    expect(cache.count).toBe(1);
    const outcome = (p: Promise<unknown>) => p.then(() => 'parsed', (e: unknown) => (e as Error).message);
    expect(await outcome(read(asMessage, cache))).toBe(await outcome(read(asMessage)));
    expect(await outcome(read(asMessage, cache))).toMatch(/deeper than 128/);
  });

  it('keeps exactly the most recently used entries that fit, like a plain list in recency order (property)', () => {
    // Key k stands for bytes of their own: k * 3 + 1 of them.
    const op = fc.record({ set: fc.boolean(), key: fc.integer({ min: 0, max: 12 }) }).map((o) => ({ ...o, bytes: o.key * 3 + 1 }));
    const part = (k: number) => Buffer.from(String.fromCharCode(65 + k).repeat(k * 3 + 1));
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), fc.integer({ min: 0, max: 60 * COST_PER_BYTE + 3 * COST_PER_NODE }), (ops, budget) => {
        const cache = new ParseCache(budget);
        // The model: [key, cost] from the least to the most recently used.
        let model: [string, number][] = [];
        // Keys seen once: kept the second time.
        const seen = new Set<string>();
        for (const { set, key, bytes } of ops) {
          const k = String(key);
          const at = model.findIndex(([m]) => m === k);
          const hit = at === -1 ? undefined : model.splice(at, 1)[0]!;
          if (hit) model.push(hit);
          if (set) {
            const entry = cache.set(part(key), { key });
            // Its bytes, and one object.
            const weight = bytes * COST_PER_BYTE + COST_PER_NODE;
            const fits = bytes * COST_PER_BYTE <= budget;
            const keep = !hit && fits && seen.has(k) && weight <= budget;
            if (!hit && fits) {
              if (seen.has(k)) seen.delete(k);
              else seen.add(k);
            }
            if (keep) model.push([k, weight]);
            while (model.reduce((n, [, c]) => n + c, 0) > budget) model.shift();
            expect(entry === undefined).toBe(!hit && !keep);
          } else {
            expect(cache.find(part(key), 0, 1) !== undefined).toBe(hit !== undefined);
          }
          expect(cache.count).toBe(model.length);
          expect(cache.bytes).toBe(model.reduce((n, [, c]) => n + c, 0));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives what JSON.parse gives, for any body and any history of earlier bodies (property)', async () => {
    const bigString = fc.string({ minLength: 0, maxLength: 40, unit: 'binary' }).map((s) => s + 'é"\\ '.repeat(MIN_MEMBER_BYTES / 4));
    const member = fc.oneof(bigString, fc.array(fc.record({ type: fc.constant('text'), text: bigString }), { minLength: 1, maxLength: 2 }), fc.jsonValue({ maxDepth: 3 }));
    const bodyArb = fc.record(
      { model: fc.string({ maxLength: 8 }), system: member, tools: member, messages: fc.array(member, { maxLength: 4 }), extra: fc.jsonValue({ maxDepth: 2 }) },
      { requiredKeys: ['model'] },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(bodyArb, { minLength: 1, maxLength: 6 }), fc.constantFrom(undefined, 1), fc.integer({ min: 0, max: 20_000 }), async (bodies, indent, budget) => {
        const cache = new ParseCache(budget);
        // Each body twice, interleaved, so later ones meet cached members of earlier ones.
        for (const body of [...bodies, ...bodies.reverse()]) {
          const text = JSON.stringify(body, null, indent);
          expect(JSON.stringify(await read(text, cache))).toBe(JSON.stringify(JSON.parse(text)));
        }
        expect(cache.bytes).toBeLessThanOrEqual(budget);
      }),
      { numRuns: 200 },
    );
  });
});
