import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shareForTests as share } from '../../contract/share-for-tests.js';
import type { InputMessage } from '../../generated/types.gen.js';
import { convertMessages } from './convert-messages.js';
import type { OpenAIChatRequest, OpenAIFunctionTool } from './openai-types.js';
import { requestBytes } from './request-bytes.js';
import { ToolNameMap } from './tool-names.js';
import { UnsupportedFeatures } from './unsupported.js';

const deepFreeze = <T>(v: T): T => {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const c of Object.values(v)) deepFreeze(c);
  }
  return v;
};

/** The OpenAI tools converted from the client's (new objects each request, their schemas the client's own). */
const convert = (source: readonly { name: string; description?: string; input_schema: object }[], rename = (n: string) => n): OpenAIFunctionTool[] =>
  source.map((t) => ({ type: 'function', function: { name: rename(t.name), ...(t.description ? { description: t.description } : {}), parameters: t.input_schema as Record<string, unknown> } }));

describe('the bytes of an OpenAI request', () => {
  it('are JSON.stringify of the body, byte for byte, whether the tools are reused or not (property)', () => {
    const toolArb = fc.record({ name: fc.string({ minLength: 1, maxLength: 12 }), description: fc.string({ maxLength: 30 }), input_schema: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 3 })) });
    fc.assert(
      fc.property(
        fc.array(toolArb, { minLength: 1, maxLength: 4 }),
        fc.array(fc.record({ role: fc.constant('user' as const), content: fc.string({ maxLength: 40, unit: 'binary' }) }), { maxLength: 3 }),
        fc.boolean(),
        (tools, messages, frozen) => {
          const source = frozen ? deepFreeze(tools) : tools;
          for (let turn = 0; turn < 3; turn++) {
            const body: OpenAIChatRequest = { model: 'gpt', messages: [...messages, { role: 'user', content: `turn ${turn} é` }], tools: convert(source), stream: true };
            expect(requestBytes(body, source).toString()).toBe(JSON.stringify(body));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reuses the serialised tools of a frozen (cached) tool list, and serialises again when the names sent differ', () => {
    const source = deepFreeze([{ name: 'read', description: 'Reads', input_schema: { type: 'object', properties: { path: { type: 'string' } } } }]);
    const body = (rename?: (n: string) => string): OpenAIChatRequest => ({ model: 'm', messages: [{ role: 'user', content: 'hi' }], tools: convert(source, rename) });
    expect(Buffer.isBuffer(requestBytes(body(), source))).toBe(true);
    expect(requestBytes(body(), source).toString()).toBe(JSON.stringify(body()));
    const renamed = body((n) => `${n}_2`);
    expect(requestBytes(renamed, source).toString()).toBe(JSON.stringify(renamed));
    // A tool list that is not the cache's (not frozen) is serialised with the body.
    const fresh = [{ name: 'read', input_schema: {} }];
    expect(typeof requestBytes({ model: 'm', messages: [], tools: convert(fresh) }, fresh)).toBe('string');
  });

  it('a client text that looks like a placeholder cannot stand in for the tools', () => {
    const source = deepFreeze([{ name: 'read', input_schema: {} }]);
    const body: OpenAIChatRequest = { model: 'm', messages: [{ role: 'user', content: '\u0000tools-' }], tools: convert(source) };
    expect(requestBytes(body, source).toString()).toBe(JSON.stringify(body));
  });
});

describe('the bytes of an OpenAI request: a session’s history', () => {

  it('are JSON.stringify of the body, byte for byte, with the translations of shared messages reused (property)', () => {
    const text = fc.string({ maxLength: 30, unit: 'binary' });
    const message = fc.oneof(
      fc.record({ role: fc.constant('user' as const), content: text }),
      fc.record({ role: fc.constant('assistant' as const), content: fc.array(fc.oneof(text.map((t) => ({ type: 'text' as const, text: t })), fc.record({ type: fc.constant('tool_use' as const), id: text, name: fc.constant('read'), input: fc.dictionary(text, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }) })), { minLength: 1, maxLength: 3 }) }),
    ) as fc.Arbitrary<InputMessage>;
    fc.assert(
      fc.property(fc.array(fc.tuple(message, fc.boolean()), { minLength: 1, maxLength: 6 }), fc.boolean(), (history, withTools) => {
        const messages = history.map(([m, shared]) => (shared ? share(m) : m));
        const source = deepFreeze([{ name: 'read', input_schema: { type: 'object' } }]);
        for (let turn = 0; turn < 2; turn++) {
          const body: OpenAIChatRequest = {
            model: 'gpt',
            messages: [...convertMessages('system', messages, new ToolNameMap(), new UnsupportedFeatures()), { role: 'user', content: `turn ${turn}` }],
            ...(withTools ? { tools: convert(source) } : {}),
            stream: true,
          };
          expect(requestBytes(body, withTools ? source : undefined).toString()).toBe(JSON.stringify(body));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a client text that looks like the messages placeholder cannot stand in for them', () => {
    const shared = share<InputMessage>({ role: 'user', content: '\u0000messages-' });
    const body: OpenAIChatRequest = { model: 'm', messages: convertMessages(undefined, [shared, { role: 'user', content: '"\u0000messages-"' }], new ToolNameMap(), new UnsupportedFeatures()) };
    expect(Buffer.isBuffer(requestBytes(body, undefined))).toBe(true);
    expect(requestBytes(body, undefined).toString()).toBe(JSON.stringify(body));
  });
});
