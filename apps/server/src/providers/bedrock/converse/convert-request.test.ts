import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../errors.js';
import type { CreateMessageRequest } from '../../../generated/types.gen.js';
import { convertCountTokensInput, convertRequest } from './convert-request.js';
import { EMPTY_TOOL_RESULT } from './convert-messages.js';

const opts = { provider: 'bedrock', model: 'meta.llama3-3-70b-instruct-v1:0', dropUnsupported: false };
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };

const req = (over: Partial<CreateMessageRequest>): CreateMessageRequest => ({ model: 'x', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }], ...over }) as CreateMessageRequest;

describe('Anthropic request → Converse', () => {
  it('system, sampling and stop sequences; nothing Converse does not know', () => {
    const { body, dropped } = convertRequest(
      req({ system: [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: '  ' }], temperature: 0.2, top_p: 0.9, top_k: 5, stop_sequences: ['END'], metadata: { user_id: 'u1' } }),
      opts,
    );
    expect(body).toEqual({
      system: [{ text: 'Be brief.' }],
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      inferenceConfig: { maxTokens: 256, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
    });
    expect(dropped).toEqual([]);
  });

  it('a tools round trip: tool_use → toolUse, tool_result (text, image, error) → toolResult; roles merged to alternate', () => {
    const { body } = convertRequest(
      req({
        tools: [weather],
        tool_choice: { type: 'auto' },
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'unsigned, from another provider', signature: '' },
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
              { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Lyon' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'Sunny' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
              { type: 'tool_result', tool_use_id: 'toolu_2', content: 'no such city', is_error: true },
              { type: 'tool_result', tool_use_id: 'toolu_3', content: '' },
            ],
          },
        ],
      }),
      opts,
    );
    expect(body.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris?' }, { image: { format: 'png', source: { bytes: PNG } } }] },
      {
        role: 'assistant',
        content: [
          { text: 'Checking.' },
          { toolUse: { toolUseId: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } } },
          { toolUse: { toolUseId: 'toolu_2', name: 'get_weather', input: { city: 'Lyon' } } },
        ],
      },
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'toolu_1', content: [{ text: 'Sunny' }, { image: { format: 'png', source: { bytes: PNG } } }] } },
          { toolResult: { toolUseId: 'toolu_2', content: [{ text: 'no such city' }], status: 'error' } },
          { toolResult: { toolUseId: 'toolu_3', content: [{ text: EMPTY_TOOL_RESULT }] } },
        ],
      },
    ]);
    expect(body.toolConfig).toEqual({
      tools: [{ toolSpec: { name: 'get_weather', description: 'Weather for a city', inputSchema: { json: weather.input_schema } } }],
      toolChoice: { auto: {} },
    });
  });

  it('tool_choice any / tool / none', () => {
    expect(convertRequest(req({ tools: [weather], tool_choice: { type: 'any' } }), opts).body.toolConfig?.toolChoice).toEqual({ any: {} });
    expect(convertRequest(req({ tools: [weather], tool_choice: { type: 'tool', name: 'get_weather' } }), opts).body.toolConfig?.toolChoice).toEqual({ tool: { name: 'get_weather' } });
    // Converse has no `none`: the tools are withheld ...
    expect(convertRequest(req({ tools: [weather], tool_choice: { type: 'none' } }), opts).body.toolConfig).toBeUndefined();
    // ... unless the history has tool blocks, which need a toolConfig.
    const withHistory = convertRequest(
      req({
        tools: [weather],
        tool_choice: { type: 'none' },
        messages: [
          { role: 'user', content: 'a' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 't', name: 'get_weather', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: 'x' }] },
        ],
      }),
      opts,
    );
    expect(withHistory.body.toolConfig).toEqual({ tools: [expect.objectContaining({ toolSpec: expect.objectContaining({ name: 'get_weather' }) })] });
  });

  it('signed thinking and redacted thinking go back as reasoningContent', () => {
    const { body } = convertRequest(
      req({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 'sig' }, { type: 'redacted_thinking', data: 'cmVk' }, { type: 'text', text: 'a' }] },
          { role: 'user', content: 'q2' },
        ],
      }),
      opts,
    );
    expect(body.messages[1]!.content).toEqual([
      { reasoningContent: { reasoningText: { text: 't', signature: 'sig' } } },
      { reasoningContent: { redactedContent: 'cmVk' } },
      { text: 'a' },
    ]);
  });

  it('thinking that carries Gemini’s signature (an answer of a Gemini fallback) is left out: only Gemini can read it', () => {
    const { body } = convertRequest(
      req({
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'Gemini thought', signature: 'gemini:call:CiIBjz1r' }, { type: 'text', text: 'a' }] },
          { role: 'user', content: 'q2' },
        ],
      }),
      opts,
    );
    expect(body.messages[1]!.content).toEqual([{ text: 'a' }]);
  });

  it('PDFs are documents with names Converse accepts; text documents are text', () => {
    const { body } = convertRequest(
      req({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'document', title: 'Q3 report: final/v2.pdf', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
              { type: 'document', title: 'Notes', source: { type: 'text', media_type: 'text/plain', data: 'Plain words' } },
            ],
          },
        ],
      }),
      opts,
    );
    expect(body.messages[0]!.content).toEqual([
      { document: { format: 'pdf', name: 'Q3 report final v2 pdf', source: { bytes: 'JVBERi0=' } } },
      { document: { format: 'pdf', name: 'document 1', source: { bytes: 'JVBERi0=' } } },
      { text: 'Notes' },
      { text: 'Plain words' },
    ]);
  });

  it('features Converse cannot carry: a 400 naming them, or dropped and listed with drop_unsupported', () => {
    const request = req({
      tools: [weather, { type: 'web_search_20250305', name: 'web_search' } as never],
      mcp_servers: [{ type: 'url', name: 'm', url: 'https://mcp.example.com' }] as never,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }, { type: 'text', text: 'hi' }] }],
    });
    let err: unknown;
    try {
      convertRequest(request, opts);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 400, upstream: { kind: 'unsupported' } });
    expect((err as Error).message).toBe(
      'provider "bedrock" (Bedrock Converse) does not support mcp_servers, image_url, web_search_20250305; remove them from the request, or set drop_unsupported: true on the provider to drop them',
    );
    const lenient = convertRequest(request, { ...opts, dropUnsupported: true });
    expect(lenient.dropped).toEqual(['mcp_servers', 'image_url', 'web_search_20250305']);
    expect(lenient.body.messages).toEqual([{ role: 'user', content: [{ text: 'hi' }] }]);
  });

  it('thinking is not sent (no model-independent form) and is named in x-bf-dropped', () => {
    expect(convertRequest(req({ max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 2048 } }), opts).dropped).toEqual(['thinking']);
    expect(convertRequest(req({ thinking: { type: 'disabled' } }), opts).dropped).toEqual([]);
  });

  it('count_tokens input: messages, system and tools, with nothing refused', () => {
    expect(convertCountTokensInput({ model: 'x', system: 'S', tools: [weather], messages: [{ role: 'user', content: 'Hi' }] })).toEqual({
      system: [{ text: 'S' }],
      messages: [{ role: 'user', content: [{ text: 'Hi' }] }],
      toolConfig: { tools: [{ toolSpec: { name: 'get_weather', description: 'Weather for a city', inputSchema: { json: weather.input_schema } } }] },
    });
  });
});
