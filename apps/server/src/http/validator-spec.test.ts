import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { dispatchUnions, loadValidatorSpec } from './validator-spec.js';

const SPEC_PATH = fileURLToPath(new URL('../../../../openapi.yaml', import.meta.url));

/** ajv over a document's component schemas, as express-openapi-validator compiles them. */
function validatorsOf(doc: any): (name: string, value: unknown) => { ok: boolean; errors: string[] } {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat('date-time', true);
  ajv.addSchema({ $id: 'c', components: doc.components });
  return (name, value) => {
    const validate = ajv.getSchema(`c#/components/schemas/${name}`)!;
    const ok = validate(value) as boolean;
    return { ok, errors: (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`) };
  };
}

const raw = parse(readFileSync(SPEC_PATH, 'utf8'));
const original = validatorsOf(raw);
const dispatched = validatorsOf(loadValidatorSpec(SPEC_PATH));

/** Values for each union, valid and not, known kinds and unknown ones. */
const corpus: Record<string, unknown[]> = {
  InputContentBlock: [
    { type: 'text', text: 'hi' },
    { type: 'text' },
    { type: 'text', text: 3 },
    { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'x' } },
    { type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'x' } },
    { type: 'image', source: { type: 'blob' } },
    { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'x' } },
    { type: 'tool_result', tool_use_id: 't', content: [{ type: 'tool_reference', tool_name: 'x' }] },
    { type: 'tool_result', tool_use_id: 't', content: [{ type: 'image' }] },
    { type: 'tool_result', content: 'x' },
    { type: 'tool_use', id: 'a', name: 'b', input: {} },
    { type: 'tool_use', id: 'a', name: 'b', input: 'x' },
    { type: 'thinking', thinking: 't', signature: 's' },
    { type: 'web_fetch_tool_result', tool_use_id: 'x', content: {} },
    { type: 'container_upload' },
    { type: 'compaction', content: 'summary' },
    { type: 'browser_state', url: 'https://example.com' },
    { type: '' },
    { type: 7 },
    { text: 'no type' },
    'a string',
    null,
    [],
  ],
  ToolUnion: [
    { name: 'f', input_schema: { type: 'object' } },
    { type: 'custom', name: 'f', input_schema: { type: 'object' } },
    { type: null, name: 'f', input_schema: { type: 'object' } },
    { name: 'f' },
    { type: 'custom', name: 'f' },
    { type: 'web_search_20250305', name: 'web_search' },
    { type: 'web_search_20250305', name: 'nope' },
    { type: 'computer_20250124', name: 'computer', display_width_px: 1, display_height_px: 1 },
    { type: 'computer_20250124', name: 'computer' },
    { type: 'tool_search_tool_bm25_20251119', name: 'tool_search_tool_bm25' },
    { type: 'mcp_toolset', mcp_server_name: 'x' },
    { type: 'web_search_2025', name: 'web_search' },
    { type: 5 },
    'tool',
  ],
  ToolChoice: [{ type: 'auto' }, { type: 'tool' }, { type: 'tool', name: 'x' }, { type: 'none', x: 1 }, { type: 'auto_strict' }, {}, { type: '' }],
  ThinkingConfig: [
    { type: 'enabled', budget_tokens: 2048 },
    { type: 'enabled', budget_tokens: 10 },
    { type: 'enabled' },
    { type: 'adaptive' },
    { type: 'sometimes' },
    { budget_tokens: 2048 },
  ],
  ImageSource: [
    { type: 'base64', media_type: 'image/png', data: 'x' },
    { type: 'url', url: 'https://x' },
    { type: 'url' },
    { type: 'file', file_id: 'f' },
    { type: 'blob' },
    {},
  ],
};

describe('the validator copy of the contract', () => {
  it.each(Object.keys(corpus))('%s: dispatching on type accepts and rejects exactly what the union does', (union) => {
    for (const value of corpus[union]!) {
      expect(dispatched(union, value).ok, JSON.stringify(value)).toBe(original(union, value).ok);
    }
  });

  it("reports only the chosen member's issues", () => {
    const r = dispatched('InputContentBlock', { type: 'text' });
    expect(r.errors.filter((e) => !/must match "(then|else)" schema/.test(e))).toEqual([" must have required property 'text'"]);
  });

  it('a closed union names the kinds it takes', () => {
    const r = dispatched('ImageSource', { type: 'blob' });
    expect(r.errors.join('; ')).toContain('/type must be equal to one of the allowed values');
  });

  it('rewrites only unions whose members all pin a type, and drops every discriminator', () => {
    const doc = loadValidatorSpec(SPEC_PATH);
    const schemas = doc.components.schemas;
    expect(schemas.InputContentBlock.oneOf).toBeUndefined();
    expect(schemas.InputContentBlock.if).toBeDefined();
    expect(schemas.ToolUnion.anyOf).toBeUndefined();
    expect(schemas.SystemPrompt.oneOf).toHaveLength(2); // string | blocks: nothing to dispatch on
    expect(JSON.stringify(doc)).not.toContain('"discriminator"');
  });

  it('leaves a union alone when a member pins no type', () => {
    const doc = dispatchUnions({
      components: {
        schemas: {
          U: { oneOf: [{ $ref: '#/components/schemas/A' }, { $ref: '#/components/schemas/B' }] },
          A: { type: 'object', required: ['type'], properties: { type: { const: 'a' } } },
          B: { type: 'object', properties: { kind: { const: 'b' } } },
        },
      },
    });
    expect(doc.components.schemas.U.oneOf).toHaveLength(2);
  });
});
