import { checkGeminiSchema } from '@conduit/testkit';
import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_SCHEMA_CHARS, MAX_REQUEST_SCHEMA_NODES, SchemaBudget, SchemaTooLarge, toGeminiParameters, toGeminiSchema } from './json-schema.js';

/** Every converted schema must pass the strict fake's check of Gemini's Schema. */
function converted(schema: unknown) {
  const out = toGeminiSchema(schema);
  expect(checkGeminiSchema(out, 'parameters')).toBeNull();
  return out;
}

describe('JSON Schema → Gemini Schema', () => {
  it('keeps types, descriptions, enums, required, bounds; drops the keywords Gemini refuses', () => {
    expect(
      converted({
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        description: 'Search the code',
        additionalProperties: false,
        properties: {
          pattern: { type: 'string', minLength: 1, maxLength: 200, pattern: '^\\S' },
          limit: { type: 'integer', minimum: 1, maximum: 100, exclusiveMaximum: 101, multipleOf: 1, default: 10 },
          mode: { type: 'string', enum: ['files', 'content'] },
          paths: { type: 'array', items: { type: 'string', format: 'uri' }, minItems: 1, uniqueItems: true },
        },
        required: ['pattern', 'nowhere'],
        patternProperties: { '^x-': {} },
      }),
    ).toEqual({
      type: 'OBJECT',
      description: 'Search the code',
      properties: {
        pattern: { type: 'STRING', minLength: '1', maxLength: '200', pattern: '^\\S' },
        limit: { type: 'INTEGER', minimum: 1, maximum: 100, default: 10 },
        mode: { type: 'STRING', enum: ['files', 'content'] },
        paths: { type: 'ARRAY', items: { type: 'STRING' }, minItems: '1' },
      },
      required: ['pattern'],
    });
  });

  it('resolves $ref to $defs and definitions, and stops at a recursive one', () => {
    const schema = {
      type: 'object',
      properties: { root: { $ref: '#/$defs/Node' }, tag: { $ref: '#/definitions/Tag', description: 'the tag' } },
      $defs: { Node: { type: 'object', description: 'a tree node', properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/Node' } } } } },
      definitions: { Tag: { type: 'string', enum: ['a', 'b'] } },
    };
    expect(converted(schema)).toEqual({
      type: 'OBJECT',
      properties: {
        root: { type: 'OBJECT', description: 'a tree node', properties: { name: { type: 'STRING' }, children: { type: 'ARRAY', items: { description: 'a tree node' } } } },
        tag: { type: 'STRING', description: 'the tag', enum: ['a', 'b'] },
      },
    });
  });

  it('nullable from type arrays and anyOf null; oneOf → anyOf; several types → anyOf; never type and anyOf together', () => {
    expect(converted({ type: ['string', 'null'] })).toEqual({ type: 'STRING', nullable: true });
    expect(converted({ anyOf: [{ type: 'null' }, { type: 'array', items: { type: 'integer' } }], description: 'ids' })).toEqual({ type: 'ARRAY', items: { type: 'INTEGER' }, description: 'ids', nullable: true });
    expect(converted({ oneOf: [{ type: 'string' }, { type: 'number' }] })).toEqual({ anyOf: [{ type: 'STRING' }, { type: 'NUMBER' }] });
    expect(converted({ type: ['string', 'integer'], description: 'id' })).toEqual({ description: 'id', anyOf: [{ type: 'STRING' }, { type: 'INTEGER' }] });
    expect(converted({ type: 'object', anyOf: [{ properties: { a: { type: 'string' } } }, { properties: { b: { type: 'string' } } }] })).toEqual({
      anyOf: [{ type: 'OBJECT', properties: { a: { type: 'STRING' } } }, { type: 'OBJECT', properties: { b: { type: 'STRING' } } }],
    });
  });

  it('const and non-string enums become string enums; allOf is merged', () => {
    expect(converted({ const: 'fixed' })).toEqual({ type: 'STRING', enum: ['fixed'] });
    expect(converted({ type: 'integer', enum: [1, 2, null] })).toEqual({ type: 'INTEGER', format: 'enum', enum: ['1', '2'], nullable: true });
    expect(
      converted({ allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'boolean' } }, required: ['b'] }] }),
    ).toEqual({ type: 'OBJECT', properties: { a: { type: 'STRING' }, b: { type: 'BOOLEAN' } }, required: ['a', 'b'] });
  });

  it('an empty object has no properties; an array without items gets items {}; a function without parameters has none', () => {
    expect(converted({ type: 'object', properties: {} })).toEqual({ type: 'OBJECT' });
    expect(converted({ type: 'array' })).toEqual({ type: 'ARRAY', items: {} });
    expect(toGeminiParameters({ type: 'object', properties: {}, additionalProperties: false })).toBeUndefined();
    expect(toGeminiParameters({ type: 'object' })).toBeUndefined();
  });

  it('references that lead nowhere (another document, a broken escape, a missing name) become a schema of any type', () => {
    expect(converted({ type: 'object', properties: { a: { $ref: 'https://example.com/schema.json' }, b: { $ref: '#/%E0%A4%A' }, c: { $ref: '#/$defs/Missing', description: 'c' }, d: { $ref: '#/$defs/a~1b' } }, $defs: { 'a/b': { type: 'string' } } })).toEqual({
      type: 'OBJECT',
      properties: { a: {}, b: {}, c: { description: 'c' }, d: { type: 'STRING' } },
    });
  });

  it('properties named like Object’s own members stay properties', () => {
    const schema = JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"},"constructor":{"type":"integer"}},"required":["__proto__"]}');
    const out = converted(schema);
    expect(Object.keys(out.properties!)).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(out))).toEqual(JSON.parse('{"type":"OBJECT","properties":{"__proto__":{"type":"STRING"},"constructor":{"type":"INTEGER"}},"required":["__proto__"]}'));
  });

  it('a chain of references is followed 32 deep, then cut like a recursive one', () => {
    const $defs: Record<string, unknown> = { D40: { type: 'string' } };
    for (let i = 0; i < 40; i++) $defs[`D${i}`] = { type: 'object', description: `level ${i}`, properties: { next: { $ref: `#/$defs/D${i + 1}` } } };
    let node: any = converted({ $ref: '#/$defs/D0', $defs });
    let depth = 0;
    while (node.properties?.next) {
      node = node.properties.next;
      depth++;
    }
    expect(depth).toBe(32);
    expect(node).toEqual({});
  });

  it('references that multiply the schema past the limit stop with SchemaTooLarge', () => {
    // Each level refers to the next twice: 2^20 schemas once resolved.
    const $defs: Record<string, unknown> = { L20: { type: 'string' } };
    for (let i = 0; i < 20; i++) $defs[`L${i}`] = { type: 'object', properties: { a: { $ref: `#/$defs/L${i + 1}` }, b: { $ref: `#/$defs/L${i + 1}` } } };
    expect(() => toGeminiSchema({ $ref: '#/$defs/L0', $defs })).toThrow(SchemaTooLarge);
    expect(() => toGeminiSchema({ $ref: '#/$defs/L0', $defs }, new SchemaBudget(), 10_000)).toThrow(/more than 10000 schemas/);
  });

  it('allOf through references: one that refers to itself ends; one that multiplies stops at the size limit', () => {
    expect(converted({ $ref: '#/$defs/A', $defs: { A: { allOf: [{ $ref: '#/$defs/B' }], description: 'A' }, B: { allOf: [{ $ref: '#/$defs/B' }], type: 'object', properties: { b: { type: 'string' } } } } })).toEqual({
      type: 'OBJECT',
      description: 'A',
      properties: { b: { type: 'STRING' } },
    });
    const $defs: Record<string, unknown> = { M12: { type: 'string' } };
    for (let i = 0; i < 12; i++) $defs[`M${i}`] = { allOf: Array.from({ length: 8 }, () => ({ $ref: `#/$defs/M${i + 1}` })) };
    expect(() => toGeminiSchema({ $ref: '#/$defs/M0', $defs })).toThrow(SchemaTooLarge);
  });

  it('references that nest the schema deeper than 256 levels stop with SchemaTooLarge', () => {
    // 20 references, each 20 levels deep: 400 levels once resolved, well under the size limit.
    const $defs: Record<string, unknown> = { N20: { type: 'string' } };
    for (let i = 0; i < 20; i++) {
      let inner: Record<string, unknown> = { $ref: `#/$defs/N${i + 1}` };
      for (let d = 0; d < 20; d++) inner = { type: 'object', properties: { x: inner } };
      $defs[`N${i}`] = inner;
    }
    expect(() => toGeminiSchema({ $ref: '#/$defs/N0', $defs })).toThrow(/nested deeper than 256 levels/);
  });

  it('allOf merging: later parts override a property, the first value of any other keyword stands, __proto__ stays a property', () => {
    expect(toGeminiParameters({ allOf: [{ properties: {} }] })).toBeUndefined();
    expect(converted({ allOf: [{ properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { a: { type: 'integer' }, b: { type: 'boolean' } }, required: ['b', 'a'] }] })).toEqual({
      type: 'OBJECT',
      properties: { a: { type: 'INTEGER' }, b: { type: 'BOOLEAN' } },
      required: ['a', 'b'],
    });
    expect(converted({ description: 'own', allOf: [{ description: 'first', title: 'T1' }, { description: 'second', title: 'T2' }] })).toEqual({ description: 'own', title: 'T1' });
    const proto = converted(JSON.parse('{"type":"object","allOf":[{"properties":{"__proto__":{"type":"string"}}}]}'));
    expect(Object.keys(proto.properties!)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(proto.properties)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(proto.properties, '__proto__')?.value).toEqual({ type: 'STRING' });
  });

  describe('what references can multiply, bounded for the whole request', () => {
    it('allOf parts that all point at one long required list: merged without copying it per part, and refused past the budget', () => {
      const names = Array.from({ length: 50_000 }, (_, i) => `p${i}`);
      const schema = { type: 'object', $defs: { R: { required: names } }, allOf: Array.from({ length: 5_000 }, () => ({ $ref: '#/$defs/R' })) };
      // Refused after reading about 16 Mi names, not 5,000 copies of a growing list (minutes of CPU, then out of memory).
      expect(() => toGeminiSchema(schema)).toThrow(new RegExp(`more than ${MAX_REQUEST_SCHEMA_CHARS} characters`));
      // Below the budget the merge is whole: required names only the properties that exist, once each.
      const small = { type: 'object', properties: { p1: { type: 'string' } }, $defs: { R: { required: ['p1', 'p2'] } }, allOf: Array.from({ length: 100 }, () => ({ $ref: '#/$defs/R' })) };
      expect(toGeminiSchema(small)).toEqual({ type: 'OBJECT', properties: { p1: { type: 'STRING' } }, required: ['p1'] });
    });

    it('a long enum or description behind many references counts each time it is copied', () => {
      const values = Array.from({ length: 100_000 }, (_, i) => `v${i}`);
      const properties = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`f${i}`, { $ref: '#/$defs/E' }]));
      expect(() => toGeminiSchema({ type: 'object', properties, $defs: { E: { enum: values } } })).toThrow(SchemaTooLarge);
      const long = 'd'.repeat(500_000);
      expect(() => toGeminiSchema({ type: 'object', properties, $defs: { E: { type: 'string', description: long } } })).toThrow(/characters of names, descriptions and values/);
      expect(() => toGeminiSchema({ type: 'object', properties, $defs: { E: { type: 'string', default: long } } })).toThrow(/characters of names, descriptions and values/);
    });

    it('one budget for every schema of a request: many tools pointing at the same large definition cannot multiply it', () => {
      const tool = { type: 'object', properties: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, { $ref: '#/$defs/D' }])), $defs: { D: { type: 'string', description: 'x'.repeat(4_000) } } };
      const budget = new SchemaBudget();
      let converted = 0;
      let refused = 0;
      for (let i = 0; i < 200; i++) {
        try {
          toGeminiParameters(tool, budget);
          converted++;
        } catch (err) {
          expect(err).toBeInstanceOf(SchemaTooLarge);
          refused++;
        }
      }
      // 200 KB of descriptions per tool: 16 Mi characters hold 83 of them.
      expect(converted).toBe(83);
      expect(refused).toBe(117);
      // Alone, each tool converts.
      expect(() => toGeminiParameters(tool)).not.toThrow();
      const nodes = new SchemaBudget(MAX_REQUEST_SCHEMA_NODES);
      const wide = { type: 'object', properties: Object.fromEntries(Array.from({ length: 9_000 }, (_, i) => [`f${i}`, { type: 'string' }])) };
      for (let i = 0; i < 11; i++) toGeminiParameters(wide, nodes);
      expect(() => toGeminiParameters(wide, nodes)).toThrow(`more than ${MAX_REQUEST_SCHEMA_NODES} schemas in all`);
    });
  });
});
