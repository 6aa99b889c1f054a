import { checkGeminiRequest, geminiThoughtSignature } from '@conduit/testkit';
import { describe, expect, it } from 'vitest';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import { convertCountTokensInput, convertRequest } from './convert-request.js';
import { encodeSignature, SKIP_SIGNATURE_VALIDATOR } from './thought-signatures.js';

const base = { model: 'gemini/gemini-2.5-pro', max_tokens: 1024, messages: [{ role: 'user', content: 'Hi' }] };

/** Converts, and checks the result is a request the strict fake Gemini takes. */
function convert(req: Record<string, unknown>, opts: { dropUnsupported?: boolean; model?: string } = {}) {
  const out = convertRequest({ ...base, ...req } as CreateMessageRequest, { provider: 'gemini', model: opts.model ?? 'gemini-2.5-pro', dropUnsupported: opts.dropUnsupported ?? false });
  expect(checkGeminiRequest(out.body, { requireSignatures: true })).toBeNull();
  return out;
}

const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false } };

describe('Anthropic request → Gemini generateContent', () => {
  it('system, sampling, max_tokens, stop sequences', () => {
    const { body, dropped } = convert({ system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: ' ' }], temperature: 0.2, top_p: 0.9, top_k: 40, stop_sequences: ['END', ''] });
    expect(body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      generationConfig: { maxOutputTokens: 1024, temperature: 0.2, topP: 0.9, topK: 40, stopSequences: ['END'] },
    });
    expect(dropped).toEqual([]);
  });

  it('more than 5 stop sequences are refused (Gemini takes 5)', () => {
    expect(() => convert({ stop_sequences: ['1', '2', '3', '4', '5', '6'] })).toThrow(/provider "gemini" \(Gemini generateContent\) does not support stop_sequences/);
  });

  it('tools → functionDeclarations with the schema reduced; tool_choice → functionCallingConfig', () => {
    const { body, dropped } = convert({ tools: [weather], tool_choice: { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true } });
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: 'get_weather', description: 'Weather for a city', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] } }] }]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } });
    expect(dropped).toEqual(['tool_choice.disable_parallel_tool_use']);
    expect(convert({ tools: [weather], tool_choice: { type: 'auto' } }).body.toolConfig).toEqual({ functionCallingConfig: { mode: 'AUTO' } });
    expect(convert({ tools: [weather], tool_choice: { type: 'any' } }).body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY' } });
    expect(convert({ tools: [weather], tool_choice: { type: 'none' } }).body.toolConfig).toEqual({ functionCallingConfig: { mode: 'NONE' } });
  });

  it('tool names Gemini would refuse are changed reversibly', () => {
    const long = `mcp__github__${'x'.repeat(80)}`;
    const { body, toolNames } = convert({ tools: [{ name: '2fa_code', input_schema: { type: 'object' } }, { name: long, input_schema: { type: 'object' } }] });
    const names = body.tools![0]!.functionDeclarations.map((d) => d.name);
    expect(names[0]).toBe('_2fa_code');
    expect(names[1]).toHaveLength(64);
    expect(names.map((n) => toolNames.fromUpstream(n))).toEqual(['2fa_code', long]);
  });

  it('server tools and kinds the contract does not know are refused by type; dropped with drop_unsupported', () => {
    const req = { tools: [weather, { type: 'web_search_20250305', name: 'web_search' }, { type: 'tool_search_tool_bm25_20251119', name: 'tool_search' }] };
    expect(() => convert(req)).toThrow(/does not support web_search_20250305, tool_search_tool_bm25_20251119/);
    const { body, dropped } = convert(req, { dropUnsupported: true });
    expect(body.tools![0]!.functionDeclarations).toHaveLength(1);
    expect(dropped).toEqual(['web_search_20250305', 'tool_search_tool_bm25_20251119']);
  });

  it('thinking → thinkingConfig; budgets lowered to what the model takes; adaptive leaves the budget to the model', () => {
    expect(convert({ max_tokens: 40_000, thinking: { type: 'enabled', budget_tokens: 31_999 } }).body.generationConfig!.thinkingConfig).toEqual({ includeThoughts: true, thinkingBudget: 31_999 });
    expect(convert({ max_tokens: 40_000, thinking: { type: 'enabled', budget_tokens: 31_999 } }, { model: 'gemini-2.5-flash' }).body.generationConfig!.thinkingConfig).toEqual({ includeThoughts: true, thinkingBudget: 24_576 });
    expect(convert({ max_tokens: 64_000, thinking: { type: 'enabled', budget_tokens: 50_000 } }).body.generationConfig!.thinkingConfig!.thinkingBudget).toBe(32_768);
    expect(convert({ thinking: { type: 'adaptive' } }).body.generationConfig!.thinkingConfig).toEqual({ includeThoughts: true });
    expect(convert({ thinking: { type: 'disabled' } }).body.generationConfig!.thinkingConfig).toBeUndefined();
    expect(() => convert({ thinking: { type: 'interleaved', budget_tokens: 2048 } })).toThrow(/does not support thinking interleaved/);
  });

  it('output_format → responseMimeType and responseSchema', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    expect(convert({ output_config: { format: { type: 'json_schema', schema } } }).body.generationConfig).toMatchObject({
      responseMimeType: 'application/json',
      responseSchema: { type: 'OBJECT', properties: { answer: { type: 'STRING' } }, required: ['answer'] },
    });
  });

  it('what Gemini cannot carry: refused by name, or dropped and listed', () => {
    expect(() => convert({ mcp_servers: [{ type: 'url', name: 'gh', url: 'https://mcp.example.com' }], container: 'c1', inference_geo: 'us' })).toThrow(/does not support mcp_servers, container, inference_geo/);
    const { dropped } = convert({
      metadata: { user_id: 'u-1' },
      service_tier: 'auto',
      speed: 'fast',
      output_config: { effort: 'high' },
      brand_new_option: true,
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
    });
    expect(dropped.sort()).toEqual(['brand_new_option', 'cache_control', 'metadata', 'output_config.effort', 'service_tier', 'speed']);
  });

  it('images, PDFs and documents → inlineData, fileData and text', () => {
    const { body } = convert({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/cat.webp?size=2' } },
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'Report' },
            { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } },
            { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'plain words' }, context: 'notes' },
            { type: 'text', text: 'Summarise.' },
          ],
        },
      ],
    });
    expect(body.contents[0]!.parts).toEqual([
      { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
      { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/cat.webp?size=2' } },
      { text: 'Report' },
      { inlineData: { mimeType: 'application/pdf', data: 'JVBERi0=' } },
      { fileData: { mimeType: 'application/pdf', fileUri: 'https://example.com/a.pdf' } },
      { text: 'notes' },
      { text: 'plain words' },
      { text: 'Summarise.' },
    ]);
    expect(() => convert({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_01' } }] }] })).toThrow(/does not support image_file/);
  });

  it('a tool round trip: tool_use → functionCall with its signature back in place; tool_result → functionResponse by name', () => {
    const sig = geminiThoughtSignature();
    const { body, dropped } = convert(
      {
        tools: [weather],
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'I will call get_weather.', signature: encodeSignature('call', sig) },
              { type: 'tool_use', id: 'toolu_gm_1', name: 'get_weather', input: { city: 'Paris' } },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_gm_1', content: [{ type: 'text', text: 'Sunny' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } }] }] },
        ],
      },
      { model: 'gemini-3-pro-preview' },
    );
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: sig }] },
      {
        role: 'user',
        parts: [{ functionResponse: { name: 'get_weather', response: { output: 'Sunny' } } }, { text: 'File returned by tool call toolu_gm_1:' }, { inlineData: { mimeType: 'image/png', data: 'iVBOR' } }],
      },
    ]);
    expect(dropped).toEqual([]);
  });

  it('text and thought signatures go back where they were; other thinking is dropped and listed', () => {
    const [one, two] = [geminiThoughtSignature(), geminiThoughtSignature()];
    const { body, dropped } = convert({
      messages: [
        { role: 'user', content: 'Hello' },
        {
          role: 'assistant',
          content: [
            { type: 'thinking', thinking: 'A summary.', signature: encodeSignature('thought', one) },
            { type: 'text', text: 'Hi there!' },
            { type: 'thinking', thinking: '', signature: encodeSignature('text', two) },
            { type: 'thinking', thinking: 'Claude thought this.', signature: 'EqQBCkYIBxgCKkBClaude' },
            { type: 'redacted_thinking', data: 'abc' },
          ],
        },
        { role: 'user', content: 'And?' },
      ],
    });
    expect(body.contents[1]).toEqual({ role: 'model', parts: [{ text: 'A summary.', thought: true, thoughtSignature: one }, { text: 'Hi there!', thoughtSignature: two }] });
    expect(dropped.sort()).toEqual(['redacted_thinking', 'thinking']);
  });

  it('a function call of the current turn that Gemini did not sign (another model made it) gets Google’s stand-in; earlier turns are left as they are', () => {
    const call = (id: string) => ({ role: 'assistant', content: [{ type: 'tool_use', id, name: 'get_weather', input: { city: 'Oslo' } }] });
    const result = (id: string) => ({ role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'snow' }] });
    const { body } = convert({ tools: [weather], messages: [{ role: 'user', content: 'Oslo?' }, call('toolu_a'), result('toolu_a'), { role: 'assistant', content: 'It snows.' }, { role: 'user', content: 'Bergen?' }, call('toolu_b'), result('toolu_b')] });
    expect(body.contents[1]!.parts[0]!.thoughtSignature).toBeUndefined();
    expect(body.contents[5]!.parts[0]!.thoughtSignature).toBe(SKIP_SIGNATURE_VALIDATOR);
  });

  it('consecutive messages of one role are merged; unknown blocks are refused by type', () => {
    const { body } = convert({ messages: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] });
    expect(body.contents).toEqual([{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }]);
    expect(() => convert({ messages: [{ role: 'user', content: [{ type: 'compaction', content: 'x' }, { type: 'text', text: 'go' }] }] })).toThrow(/does not support compaction/);
    expect(() => convert({ messages: [{ role: 'user', content: [{ type: 'search_result', source: 's', title: 't', content: [{ type: 'text', text: 'x' }] }] }] })).toThrow(/does not support search_result/);
  });

  it('count_tokens input: contents, system instruction and tools, without what Gemini cannot carry', () => {
    const body = convertCountTokensInput({ model: 'gemini/gemini-2.5-pro', system: 'Be brief.', tools: [weather, { type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'Hi' }] } as never);
    expect(body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'Hi' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      tools: [{ functionDeclarations: [{ name: 'get_weather', description: 'Weather for a city', parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] } }] }],
    });
  });
});
