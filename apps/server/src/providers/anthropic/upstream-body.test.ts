import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import { readJsonBody } from '../../http/json-body.js';
import { nativeUpstreamBody, toEnvelopeBody, toUpstreamBody } from './upstream-body.js';

const body = {
  model: 'bedrock/x',
  max_tokens: 10,
  stream: true,
  messages: [{ role: 'user', content: 'hi' }],
  fallbacks: ['anthropic/y', { model: 'claude-z' }],
  some_new_field: { kept: true },
} as unknown as CreateMessageRequest;

describe('bodies for Anthropic-speaking upstreams', () => {
  it('Anthropic’s API: the upstream model, stream as asked, the gateway’s string fallbacks removed', () => {
    expect(JSON.parse(toUpstreamBody(body, 'claude-x', false))).toEqual({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], fallbacks: [{ model: 'claude-z' }], some_new_field: { kept: true } });
    expect(JSON.parse(toUpstreamBody(body, 'claude-x', true)).stream).toBe(true);
  });

  it('a cloud envelope: no model, no stream, the platform’s fields; undefined fields left out', () => {
    expect(JSON.parse(toEnvelopeBody(body, { anthropic_version: 'bedrock-2023-05-31', anthropic_beta: undefined }))).toEqual({
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
      fallbacks: [{ model: 'claude-z' }],
      some_new_field: { kept: true },
      anthropic_version: 'bedrock-2023-05-31',
    });
    expect(JSON.parse(toEnvelopeBody(body, { anthropic_version: 'vertex-2023-10-16', stream: true }))).toMatchObject({ stream: true, anthropic_version: 'vertex-2023-10-16' });
  });
});

describe('the client’s own bytes, spliced, for Anthropic’s API', () => {
  /** The body as the gateway's reader hands it on: parsed, with its bytes remembered. */
  const read = (text: string | Buffer): Promise<CreateMessageRequest> => {
    const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
    const req = Readable.from([bytes]) as unknown as IncomingMessage;
    req.headers = { 'content-type': 'application/json', 'content-length': String(bytes.length) };
    return readJsonBody(req, 64 * 1024 * 1024, 128) as Promise<CreateMessageRequest>;
  };
  /** What goes on the wire: the text, or the pieces one after the other. */
  const wire = (sent: string | Buffer | Buffer[]): string => (typeof sent === 'string' ? sent : Buffer.isBuffer(sent) ? sent.toString() : Buffer.concat(sent).toString());
  /** The JSON value, key order included. */
  const value = (sent: string | Buffer | Buffer[]): string => JSON.stringify(JSON.parse(wire(sent)));

  it('sends the client’s bytes with only the model changed', async () => {
    const text = '{ "model" : "anthropic/claude-x",\n "max_tokens": 10, "stream": true, "messages": [{"role":"user","content":"h\\u00e9 \\"q\\" 日本"}], "new_field": {"a": [1, 2.50, true]} }';
    const sent = nativeUpstreamBody(await read(text), 'claude-x-1', true);
    // A small body: one buffer, not pieces.
    expect(Buffer.isBuffer(sent)).toBe(true);
    expect(wire(sent)).toBe(text.replace('"anthropic/claude-x"', '"claude-x-1"'));
  });

  it('does not copy the rest of a large body: it goes as a view of the bytes the client sent', async () => {
    const text = JSON.stringify({ model: 'anthropic/claude-x', max_tokens: 10, stream: false, system: 's'.repeat(100_000), messages: [{ role: 'user', content: 'hi' }] });
    const bytes = Buffer.from(text);
    const sent = nativeUpstreamBody(await read(bytes), 'claude-x-1', false);
    if (!Array.isArray(sent)) throw new Error('not sent in pieces');
    // The first bytes with the new model (and `stream: false` taken out), joined; then the rest, uncopied.
    expect(sent.map((p) => p.buffer === bytes.buffer)).toEqual([false, true]);
    expect(sent[1]!.length).toBeGreaterThan(99_000);
    expect(JSON.parse(wire(sent))).toEqual({ ...JSON.parse(text), model: 'claude-x-1', stream: undefined });
  });

  it('takes out the gateway’s fallbacks and a stream: false, wherever they stand', async () => {
    for (const text of [
      '{"fallbacks":["a/b"],"model":"m","max_tokens":1,"messages":[]}',
      '{"model":"m","max_tokens":1,"messages":[],"fallbacks":["a/b"]}',
      '{"model":"m","stream":false,"max_tokens":1,"messages":[], "fallbacks" : [ "a/b" ] }',
      '{"model":"m","max_tokens":1,"messages":[],"stream":false,"fallbacks":["a/b"]}',
    ]) {
      const body = await read(text);
      const sent = nativeUpstreamBody(body, 'up', false);
      expect(value(sent)).toBe(value(toUpstreamBody(body, 'up', false)));
      expect(JSON.parse(wire(sent))).toEqual({ model: 'up', max_tokens: 1, messages: [] });
    }
  });

  it('serialises again what the bytes cannot say: a key written with escapes, a key given twice, a rebuilt body, invalid UTF-8', async () => {
    for (const text of ['{"mod\\u0065l":"m","max_tokens":1,"messages":[]}', '{"model":"x","model":"m","max_tokens":1,"messages":[]}']) {
      const body = await read(text);
      const sent = nativeUpstreamBody(body, 'up', false);
      expect(typeof sent).toBe('string');
      expect(JSON.parse(sent as string)).toEqual({ model: 'up', max_tokens: 1, messages: [] });
    }
    const body = await read('{"model":"m","max_tokens":1,"messages":[]}');
    expect(typeof nativeUpstreamBody({ ...body }, 'up', false)).toBe('string');
    // A body edited in place since it was read: the model the bytes hold is not the value's any more.
    body.model = 'other';
    expect(typeof nativeUpstreamBody(body, 'up', false)).toBe('string');
    const bad = Buffer.concat([Buffer.from('{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]);
    const invalid = await read(bad);
    expect(typeof nativeUpstreamBody(invalid, 'up', false)).toBe('string');
  });

  it('gives the same JSON value as serialising the parsed body, for any body (property)', async () => {
    const key = fc.oneof(fc.constantFrom('model', 'stream', 'fallbacks', 'max_tokens', 'messages', 'system', 'tools'), fc.string({ maxLength: 8 }));
    const bodyArb = fc.record(
      {
        model: fc.string({ maxLength: 30 }),
        stream: fc.boolean(),
        fallbacks: fc.oneof(fc.constant('default'), fc.array(fc.oneof(fc.string({ maxLength: 10 }), fc.record({ model: fc.string({ maxLength: 10 }) })), { maxLength: 3 })),
        extra: fc.dictionary(key, fc.jsonValue({ maxDepth: 4 }), { maxKeys: 6 }),
      },
      { requiredKeys: ['model'] },
    );
    let spliced = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(bodyArb, fc.constantFrom(undefined, 0, 2, '\t'), fc.boolean(), async ({ extra, ...known }, indent, streamCall) => {
        const text = JSON.stringify({ ...extra, ...known }, null, indent);
        const body = await read(text);
        for (const stream of [streamCall, !streamCall]) {
          const sent = nativeUpstreamBody(body, 'upstream-model', stream);
          const expected = toUpstreamBody(body, 'upstream-model', stream);
          expect(value(sent)).toBe(value(expected));
          runs++;
          if (typeof sent !== 'string') spliced++;
        }
      }),
      { numRuns: 500 },
    );
    // The property covers the splice, not only the fall-back.
    expect(spliced).toBeGreaterThan(runs / 3);
  });
});
