import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import { carryFields, OTHER_ANTHROPIC_FIELDS, TOP_LEVEL_FIELDS } from './carry-fields.js';

const base: CreateMessageRequest = { model: 'openai/gpt-4o', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] };

function carry(req: Record<string, unknown>, opts = {}) {
  return carryFields({ ...base, ...req } as CreateMessageRequest, opts);
}

describe('carryFields', () => {
  it('every top-level field of the contract has a treatment (a new field must be decided here, and in the README)', () => {
    const spec = parse(readFileSync(new URL('../../../../../openapi.yaml', import.meta.url), 'utf8'));
    const properties = Object.keys(spec.components.schemas.CreateMessageRequest.properties).sort();
    expect(Object.keys(TOP_LEVEL_FIELDS).sort()).toEqual(properties);
    for (const name of Object.keys(OTHER_ANTHROPIC_FIELDS)) expect(properties).not.toContain(name);
  });

  it('a plain request carries everything', () => {
    expect(
      carry({
        system: 'Be brief.',
        metadata: { user_id: 'u1' },
        temperature: 0.5,
        top_p: 0.9,
        stop_sequences: ['END'],
        stream: true,
        tools: [{ name: 'f', input_schema: { type: 'object' } }],
        tool_choice: { type: 'auto' },
        thinking: { type: 'enabled', budget_tokens: 2048 },
        output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
        fallbacks: ['anthropic/claude-sonnet-4-5'],
        mcp_servers: [],
        container: null,
      }),
    ).toEqual({ unsupported: [], dropped: [] });
  });

  it('refuses what changes what the answer may say or do: mcp_servers, container, inference_geo', () => {
    expect(
      carry({ mcp_servers: [{ type: 'url', name: 'gh', url: 'https://mcp.example.com' }], container: { id: 'c1', skills: [] }, inference_geo: 'us' }),
    ).toEqual({ unsupported: ['mcp_servers', 'container', 'inference_geo'], dropped: [] });
  });

  it('drops and lists the tuning fields, and any top-level field it does not know', () => {
    expect(
      carry({
        top_k: 40,
        service_tier: 'auto',
        speed: 'fast',
        context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
        brand_new_option: { on: true },
      }),
    ).toEqual({ unsupported: [], dropped: ['top_k', 'service_tier', 'speed', 'context_management', 'brand_new_option'] });
  });

  it("Anthropic's own fallbacks (\"default\", or object entries) are dropped and listed; the gateway's strings are not", () => {
    expect(carry({ fallbacks: 'default' }).dropped).toEqual(['fallbacks']);
    expect(carry({ fallbacks: ['anthropic/claude', { model: 'claude-haiku-4-5' }] }).dropped).toEqual(['fallbacks']);
    expect(carry({ fallbacks: ['anthropic/claude'] }).dropped).toEqual([]);
  });

  it('metadata other than user_id, output_config members other than format and effort, are listed by path', () => {
    expect(carry({ metadata: { user_id: 'u', trace: 'x' }, output_config: { effort: 'low', task_budget: { total: 10 } } }).dropped).toEqual([
      'metadata.trace',
      'output_config.task_budget',
    ]);
  });

  it('output_config.effort is listed when thinking decides the effort (enabled or disabled)', () => {
    expect(carry({ thinking: { type: 'enabled', budget_tokens: 2048 }, output_config: { effort: 'high' } }).dropped).toEqual(['output_config.effort']);
    expect(carry({ thinking: { type: 'disabled' }, output_config: { effort: 'high' } }).dropped).toEqual(['output_config.effort']);
    expect(carry({ thinking: { type: 'adaptive' }, output_config: { effort: 'high' } }).dropped).toEqual([]);
    expect(carry({ output_config: { effort: 'high' } }).dropped).toEqual([]);
  });

  it('finds cache_control and citations anywhere: system, blocks, tool results, documents, tools', () => {
    const ephemeral = { type: 'ephemeral' };
    expect(carry({ system: [{ type: 'text', text: 's', cache_control: ephemeral }] }).dropped).toEqual(['cache_control']);
    expect(carry({ tools: [{ name: 'f', input_schema: { type: 'object' }, cache_control: ephemeral }] }).dropped).toEqual(['cache_control']);
    expect(
      carry({
        messages: [
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'x', cache_control: ephemeral }] }] },
        ],
      }).dropped,
    ).toEqual(['cache_control']);
    expect(
      carry({
        messages: [
          { role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'd' }, citations: { enabled: true } }] },
          { role: 'assistant', content: [{ type: 'text', text: 'Per the doc.', citations: [{ type: 'char_location', cited_text: 'd' }] }] },
          { role: 'user', content: 'More?' },
        ],
      }).dropped,
    ).toEqual(['citations']);
    expect(carry({ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'd' }, citations: { enabled: false } }] }] }).dropped).toEqual([]);
  });

  it('earlier thinking is dropped and listed, unless the provider sends it back as reasoning_content (redacted thinking always is)', () => {
    const messages = [
      { role: 'user', content: 'Q' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'redacted_thinking', data: 'x' }, { type: 'text', text: 'A' }] },
      { role: 'user', content: 'Q2' },
    ];
    expect(carry({ messages }).dropped).toEqual(['thinking', 'redacted_thinking']);
    expect(carry({ messages }, { reasoningContent: true }).dropped).toEqual(['redacted_thinking']);
  });
});
