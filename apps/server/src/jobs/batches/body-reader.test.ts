import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { readBatchBody, type BatchBodyLimits } from './body-reader.js';

const LIMITS: BatchBodyLimits = { maxRequests: 100, maxValueBytes: 10_000, maxDepth: 12, maxBodyBytes: 100_000 };

/** Feeds `text` in chunks of `size` bytes (UTF-8 characters may be split across chunks). */
async function read(text: string, size = 1 << 20, limits = LIMITS): Promise<Array<{ index: number; value: unknown }>> {
  const bytes = Buffer.from(text, 'utf8');
  async function* chunks() {
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }
  const out = [];
  for await (const item of readBatchBody(chunks(), limits)) out.push(item);
  return out;
}

async function failure(text: string, limits = LIMITS): Promise<GatewayError> {
  try {
    await read(text, 7, limits);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected the body to be refused');
}

const item = (id: string, text: string) => ({ custom_id: id, params: { model: 'm', max_tokens: 1, messages: [{ role: 'user', content: text }] } });

describe('readBatchBody', () => {
  it('yields each request parsed on its own, in order, whatever the chunking', async () => {
    const body = {
      before: { nested: ['x', { y: '}]' }] },
      requests: [item('a', 'brackets } ] { [ and "quotes" \\ and é ü 日本 🎉'), item('b', ''), item('c', '\\"}')],
      after: [1, 2.5e3, true, null, 'z'],
    };
    const text = JSON.stringify(body, null, 1);
    const expected = body.requests.map((value, index) => ({ index, value }));
    expect(await read(text)).toEqual(expected);
    for (const size of [1, 2, 3, 5, 13, 64]) expect(await read(text, size)).toEqual(expected);
  });

  it('accepts scalars and strings as other top-level fields, and an escaped field name', async () => {
    expect(await read('{"n":12,"s":"}","b":false,"requ\\u0065sts":[{"custom_id":"x"}],"z":null}', 1)).toEqual([
      { index: 0, value: { custom_id: 'x' } },
    ]);
  });

  it('refuses a body that is not an object with a non-empty requests list', async () => {
    expect((await failure('')).message).toMatch(/request body: required/);
    expect((await failure('[1]')).message).toMatch(/must be a JSON object/);
    expect((await failure('{}')).message).toMatch(/required property 'requests'/);
    expect((await failure('{"other": 1}')).message).toMatch(/required property 'requests'/);
    expect((await failure('{"requests": {}}')).message).toMatch(/requests: must be an array/);
    expect((await failure('{"requests": []}')).message).toBe('requests: must NOT have fewer than 1 items');
    expect((await failure('{"requests": [{}], "requests": [{}]}')).message).toMatch(/requests: given twice/);
  });

  it('refuses broken JSON, naming where', async () => {
    expect((await failure('{"requests": [{"a": tru}]}')).message).toMatch(/not valid JSON: .*\(in requests\.0\)/);
    expect((await failure('{"requests": [{}] "x": 1}')).message).toMatch(/expected "," or "}"/);
    expect((await failure('{"requests": [{} {}]}')).message).toMatch(/expected "," or "\]" after requests\.0/);
    expect((await failure('{"requests": [{}]} x')).message).toMatch(/after the closing/);
    expect((await failure('{"requests": [{"a": "unterminated')).message).toMatch(/ends in the middle of a value/);
    expect((await failure('{"requests": [{}]')).message).toMatch(/ends before the closing/);
    expect((await failure('{"x" 1}')).message).toMatch(/expected ":"/);
  });

  it('holds the body to its limits: request count, depth, request size, body size', async () => {
    const many = JSON.stringify({ requests: [{}, {}, {}] });
    expect((await failure(many, { ...LIMITS, maxRequests: 2 })).message).toBe('requests: must NOT have more than 2 items (batches.max_requests)');
    expect(await read(many, 4, { ...LIMITS, maxRequests: 3 })).toHaveLength(3);

    // The body is level 1, requests level 2, a request level 3.
    const deep = (levels: number) => `{"requests":[${'['.repeat(levels - 2)}${']'.repeat(levels - 2)}]}`;
    expect(await read(deep(12))).toHaveLength(1);
    const tooDeep = await failure(deep(13));
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.message).toMatch(/nested deeper than 12 levels/);

    const big = JSON.stringify({ requests: [{}, item('x', 'y'.repeat(200))] });
    const oneTooBig = await failure(big, { ...LIMITS, maxValueBytes: 150 });
    expect(oneTooBig.status).toBe(413);
    expect(oneTooBig.type).toBe('request_too_large');
    expect(oneTooBig.message).toMatch(/requests\.1: over 150 bytes/);

    const whole = await failure(big, { ...LIMITS, maxBodyBytes: 100 });
    expect(whole.status).toBe(413);
    expect(whole.message).toMatch(/over 100 bytes \(batches\.body_limit\)/);
  });

  it('yields requests as their bytes arrive, before the rest of the body', async () => {
    const seen: number[] = [];
    let sent = 0;
    async function* slowly() {
      yield Buffer.from('{"requests":[{"custom_id":"a"},');
      sent++;
      yield Buffer.from('{"custom_id":"b"}]}');
      sent++;
    }
    for await (const it of readBatchBody(slowly(), LIMITS)) seen.push(it.index * 10 + sent);
    // Request 0 came out before the second chunk was asked for; request 1 before the source ended.
    expect(seen).toEqual([0, 11]);
  });
});

describe('readBatchBody, against JSON.parse', () => {
  // Any JSON value as `requests` elements and other fields, any chunking: the scanner finds the
  // same elements JSON.parse does, and refuses with a 4xx (never another error) when it does not.
  const json = fc.jsonValue({ maxDepth: 4 });
  const items = fc.array(json, { minLength: 1, maxLength: 6 });
  const chunkSize = fc.integer({ min: 1, max: 40 });

  it('yields exactly the elements of requests, whatever the other fields and the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(items, fc.dictionary(fc.string({ maxLength: 6 }), json, { maxKeys: 3 }), chunkSize, fc.boolean(), async (requests, extra, size, pretty) => {
        delete (extra as Record<string, unknown>).requests;
        const body = { ...extra, requests };
        const text = pretty ? JSON.stringify(body, null, 2) : JSON.stringify(body);
        const got = await read(text, size, { ...LIMITS, maxDepth: 64 });
        expect(got.map((g) => g.value)).toEqual(JSON.parse(text).requests);
      }),
      { numRuns: 300 },
    );
  });

  it('text that is not a valid batch is refused with a 4xx GatewayError, never anything else', async () => {
    const mutated = fc.tuple(items, fc.nat(), fc.constantFrom('{', '}', '[', ']', '"', ',', ':', '\\', 'x', ' ', '')).map(([requests, at, c]) => {
      const text = JSON.stringify({ requests });
      const i = at % (text.length + 1);
      return text.slice(0, i) + c + text.slice(i + 1);
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated, fc.string({ maxLength: 60 })), chunkSize, async (text, size) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        try {
          const got = await read(text, size);
          // Accepted: it was a JSON object with a non-empty requests list, and these are its elements.
          expect((parsed as { requests: unknown[] }).requests).toEqual(got.map((g) => g.value));
        } catch (err) {
          if (!(err instanceof GatewayError)) throw err;
          expect(err.status).toBeGreaterThanOrEqual(400);
          expect(err.status).toBeLessThan(500);
        }
      }),
      { numRuns: 500 },
    );
  });
});
