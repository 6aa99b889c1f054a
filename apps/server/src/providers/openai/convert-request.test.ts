import { checkOpenAIRequest } from '@conduit/testkit';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import { convertRequest, reasoningEffort, type ConvertRequestOptions } from './convert-request.js';

const opts: ConvertRequestOptions = { provider: 'openai', model: 'gpt-4o', stream: false, maxTokensField: 'max_completion_tokens', dropUnsupported: false };
const base: CreateMessageRequest = { model: 'openai/gpt-4o', max_tokens: 256, messages: [{ role: 'user', content: 'Hi' }] };

function convert(req: Partial<CreateMessageRequest>, o: Partial<ConvertRequestOptions> = {}) {
  return convertRequest({ ...base, ...req }, { ...opts, ...o });
}

describe('convertRequest', () => {
  it('the minimal request', () => {
    const { body, dropped } = convert({});
    expect(body).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }], max_completion_tokens: 256 });
    expect(dropped).toEqual([]);
    expect(checkOpenAIRequest(body)).toBeNull();
  });

  it('max_tokens goes to max_tokens for servers that only know that field', () => {
    const { body } = convert({}, { maxTokensField: 'max_tokens' });
    expect(body.max_tokens).toBe(256);
    expect(body.max_completion_tokens).toBeUndefined();
  });

  it('temperature and top_p pass; top_k is dropped and listed; stop_sequences → stop; metadata.user_id → user', () => {
    const { body, dropped } = convert({ temperature: 0.2, top_p: 0.9, top_k: 40, stop_sequences: ['END', '###'], metadata: { user_id: 'user-42' } });
    expect(body).toMatchObject({ temperature: 0.2, top_p: 0.9, stop: ['END', '###'], user: 'user-42' });
    expect(body).not.toHaveProperty('top_k');
    expect(dropped).toEqual(['top_k']);
  });

  it('a user_id longer than OpenAI takes (Claude Code sends a JSON blob) goes as its stable 64-character SHA-256', () => {
    const userId = JSON.stringify({ device_id: 'd'.repeat(64), account_uuid: '7f3e9a2c-1b4d-4e8f-9a6b-2c5d8e1f4a7b', session_id: '3c9e1f7a-5b2d-4a8e-b6c4-9d2e7f1a3b5c' });
    expect(userId.length).toBeGreaterThan(140);
    const a = convert({ metadata: { user_id: userId } }).body.user!;
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(convert({ metadata: { user_id: userId } }).body.user).toBe(a);
    expect(convert({ metadata: { user_id: `${userId} ` } }).body.user).not.toBe(a);
    expect(checkOpenAIRequest(convert({ metadata: { user_id: userId } }).body)).toBeNull();
    // 64 characters or fewer: as it is
    expect(convert({ metadata: { user_id: 'u'.repeat(64) } }).body.user).toBe('u'.repeat(64));
  });

  it('more than four stop sequences: the first four go upstream (the gateway enforces the rest); none when the model refuses stop', () => {
    const six = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    expect(convert({ stop_sequences: six }).body.stop).toEqual(['a1', 'a2', 'a3', 'a4']);
    expect(convert({ stop_sequences: six }, { stopTaken: false }).body).not.toHaveProperty('stop');
    expect(convert({ stop_sequences: six }).dropped).toEqual([]);
  });

  it('stop sequences past what the gateway checks (64, of 1 000 characters) are refused by name, or dropped with dropUnsupported', () => {
    const many = Array.from({ length: 65 }, (_, i) => `s${i}`);
    expect(() => convert({ stop_sequences: many })).toThrow(/stop_sequences/);
    expect(() => convert({ stop_sequences: ['x'.repeat(1_001)] })).toThrow(/stop_sequences/);
    const dropped = convert({ stop_sequences: many }, { dropUnsupported: true });
    expect(dropped.dropped).toEqual(['stop_sequences']);
    expect(dropped.body).not.toHaveProperty('stop');
    expect(dropped.stopSequences).toEqual([]);
  });

  it('max_tokens above the output limit learnt for the model is lowered to it and reported', () => {
    expect(convert({ max_tokens: 32000 }, { outputLimit: 16384 })).toMatchObject({ body: { max_completion_tokens: 16384 }, clampedMaxTokens: 16384 });
    const within = convert({ max_tokens: 1000 }, { outputLimit: 16384 });
    expect(within.body.max_completion_tokens).toBe(1000);
    expect(within.clampedMaxTokens).toBeUndefined();
  });

  it('empty stop_sequences and a null user_id send nothing', () => {
    const { body } = convert({ stop_sequences: [], metadata: { user_id: null } });
    expect(body).not.toHaveProperty('stop');
    expect(body).not.toHaveProperty('user');
  });

  it('stream → stream + stream_options.include_usage', () => {
    const { body } = convert({ stream: true }, { stream: true });
    expect(body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(checkOpenAIRequest(body)).toBeNull();
    expect(convert({ stream: false }).body).not.toHaveProperty('stream_options');
  });

  it('omitParams removes fields an upstream refuses (e.g. Mistral and stream_options), and lists those it removed', () => {
    const { body, dropped } = convert({ stream: true, metadata: { user_id: 'u' } }, { stream: true, omitParams: ['stream_options', 'user', 'reasoning_effort'] });
    expect(body.stream).toBe(true);
    expect(body).not.toHaveProperty('stream_options');
    expect(body).not.toHaveProperty('user');
    expect(dropped).toEqual(['stream_options', 'user']);
    // stop left out is not lost: the gateway enforces the sequences (not listed)
    const noStop = convert({ stop_sequences: ['END'] }, { omitParams: ['stop'] });
    expect(noStop.body).not.toHaveProperty('stop');
    expect(noStop.stopSequences).toEqual(['END']);
    expect(noStop.dropped).toEqual([]);
  });

  it('output_format and output_config.format → response_format json_schema', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const expected = { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } };
    expect(convert({ output_format: { type: 'json_schema', schema } }).body.response_format).toEqual(expected);
    expect(convert({ output_config: { format: { type: 'json_schema', schema } } }).body.response_format).toEqual(expected);
  });

  it('thinking → reasoning_effort', () => {
    expect(convert({ max_tokens: 40000, thinking: { type: 'enabled', budget_tokens: 4000 } }).body.reasoning_effort).toBe('low');
    expect(convert({ max_tokens: 40000, thinking: { type: 'enabled', budget_tokens: 10000 } }).body.reasoning_effort).toBe('medium');
    expect(convert({ max_tokens: 40000, thinking: { type: 'enabled', budget_tokens: 31999 } }).body.reasoning_effort).toBe('high');
    expect(convert({ thinking: { type: 'disabled' } }).body).not.toHaveProperty('reasoning_effort');
    expect(convert({ thinking: { type: 'adaptive' } }).body).not.toHaveProperty('reasoning_effort');
  });

  it('cache_control on blocks, tools and system is dropped and listed once', () => {
    const { body, dropped } = convert({
      system: [{ type: 'text', text: 'sys', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }] }],
      tools: [{ name: 'f', input_schema: { type: 'object' }, cache_control: { type: 'ephemeral' } }],
    });
    expect(JSON.stringify(body)).not.toContain('cache_control');
    expect(dropped).toEqual(['cache_control']);
  });

  it('unsupported features fail with 400 invalid_request_error naming them and the provider, before anything is sent', () => {
    let err: unknown;
    try {
      convert(
        {
          tools: [{ type: 'web_search_20250305', name: 'web_search' }],
          mcp_servers: [{ type: 'url', name: 'gh', url: 'https://mcp.example.com' }],
        },
        { provider: 'groq' },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(400);
    expect((err as GatewayError).type).toBe('invalid_request_error');
    expect((err as GatewayError).message).toContain('web_search_20250305');
    expect((err as GatewayError).message).toContain('mcp_servers');
    expect((err as GatewayError).message).toContain('"groq"');
  });

  it('with dropUnsupported they are dropped and listed', () => {
    const { body, dropped } = convert(
      {
        tools: [{ type: 'web_search_20250305', name: 'web_search' }, { name: 'f', input_schema: { type: 'object' } }],
        container: 'container_1',
        messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }, { type: 'text', text: 'Read it' }] }],
      },
      { dropUnsupported: true },
    );
    expect(dropped).toEqual(['container', 'document', 'web_search_20250305']);
    expect(body.tools).toHaveLength(1);
    expect(body.messages).toEqual([{ role: 'user', content: 'Read it' }]);
    expect(checkOpenAIRequest(body)).toBeNull();
  });

  it('Anthropic-only fields (service_tier, unknown ones) are not sent, and are listed; the gateway\'s fallbacks are routing, not a field', () => {
    const { body, dropped } = convert({ service_tier: 'auto', fallbacks: ['anthropic/claude'], some_new_field: 1 } as Partial<CreateMessageRequest>);
    expect(Object.keys(body).sort()).toEqual(['max_completion_tokens', 'messages', 'model']);
    expect(dropped).toEqual(['service_tier', 'some_new_field']);
  });
});

describe('reasoningEffort', () => {
  it('budget thresholds', () => {
    expect(reasoningEffort({ type: 'enabled', budget_tokens: 1024 }, undefined)).toBe('low');
    expect(reasoningEffort({ type: 'enabled', budget_tokens: 8191 }, undefined)).toBe('low');
    expect(reasoningEffort({ type: 'enabled', budget_tokens: 8192 }, undefined)).toBe('medium');
    expect(reasoningEffort({ type: 'enabled', budget_tokens: 24575 }, undefined)).toBe('medium');
    expect(reasoningEffort({ type: 'enabled', budget_tokens: 24576 }, undefined)).toBe('high');
  });

  it('output_config.effort applies when thinking is adaptive or absent, never when disabled', () => {
    expect(reasoningEffort(undefined, { effort: 'low' })).toBe('low');
    expect(reasoningEffort({ type: 'adaptive' }, { effort: 'max' })).toBe('high');
    expect(reasoningEffort({ type: 'disabled' }, { effort: 'high' })).toBeUndefined();
    expect(reasoningEffort(undefined, undefined)).toBeUndefined();
  });
});
