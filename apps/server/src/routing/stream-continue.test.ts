import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { CreateMessageRequest } from '../generated/types.gen.js';
import { acceptsContinuation, continuationReason, continuationRequest, refusesContinuation } from './stream-continue.js';

const body: CreateMessageRequest = { model: 'a/x', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }], fallbacks: ['b/y', { model: 'theirs' } as never] };
const upstream = (kind: string, message = 'm', status?: number) =>
  new GatewayError(status ?? 502, message, { origin: 'upstream', upstream: { provider: 'p', model: 'm', kind: kind as never, status } });

describe('continuationRequest', () => {
  it('assistant_prefill: the sent text, trimmed, as the assistant turn; forwarded fallbacks only; max_tokens lowered', () => {
    const out = continuationRequest(body, 'Hello wor  ', 'assistant_prefill', 30);
    expect(out.body.messages).toEqual([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'Hello wor' }]);
    expect(out.trimmed).toBe('  ');
    expect(out.body.fallbacks).toEqual([{ model: 'theirs' }]);
    expect(out.body.max_tokens).toBe(70);
    expect(body.messages).toHaveLength(1);
  });

  it('prefix modes keep the text exactly, whitespace included', () => {
    const out = continuationRequest(body, 'Hello wor \n', 'prefix', 0);
    expect(out.body.messages.at(-1)).toEqual({ role: 'assistant', content: 'Hello wor \n' });
    expect(out.trimmed).toBe('');
  });

  it("extends the client's own prefill, and never asks for fewer than one token", () => {
    const withOwn = { ...body, messages: [...body.messages, { role: 'assistant' as const, content: 'Sure:' }] };
    const out = continuationRequest(withOwn, ' here it is', 'assistant_prefill', 500);
    expect(out.body.messages.at(-1)).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Sure: here it is' }] });
    expect(out.body.max_tokens).toBe(1);
  });

  it('an empty prefix asks again as the client did', () => {
    expect(continuationRequest(body, '  ', 'assistant_prefill', 0).body.messages).toEqual(body.messages);
  });
});

describe('acceptsContinuation', () => {
  it('never for none, nor with a forced tool call', () => {
    expect(acceptsContinuation({}, 'none')).toBe(false);
    expect(acceptsContinuation({ tool_choice: { type: 'any' } }, 'prefix')).toBe(false);
    expect(acceptsContinuation({ tool_choice: { type: 'tool', name: 'x' } }, 'assistant_prefill')).toBe(false);
    expect(acceptsContinuation({ tool_choice: { type: 'auto' } }, 'assistant_prefill')).toBe(true);
  });

  it('an assistant prefill not with extended thinking (Anthropic refuses it); a prefix may', () => {
    expect(acceptsContinuation({ thinking: { type: 'enabled', budget_tokens: 2000 } }, 'assistant_prefill')).toBe(false);
    expect(acceptsContinuation({ thinking: { type: 'disabled' } }, 'assistant_prefill')).toBe(true);
    expect(acceptsContinuation({ thinking: { type: 'enabled', budget_tokens: 2000 } }, 'continue_final_message')).toBe(true);
  });
});

describe('continuationReason', () => {
  it('names why a stream broke, from a fixed set', () => {
    expect(continuationReason(upstream('reset'))).toBe('cut');
    expect(continuationReason(upstream('bad_response', 'p/m: the upstream stream ended before message_stop'))).toBe('cut');
    expect(continuationReason(upstream('bad_response', 'p/m: the upstream sent a malformed stream event ("x")'))).toBe('malformed');
    expect(continuationReason(upstream('timeout_idle'))).toBe('stall');
    expect(continuationReason(upstream('timeout_deadline'))).toBe('deadline');
    expect(continuationReason(upstream('aborted'))).toBe('aborted');
    expect(continuationReason(upstream('http', 'Overloaded', 529))).toBe('upstream_error');
    expect(continuationReason(new Error('bug'))).toBe('other');
  });
});

describe('refusesContinuation', () => {
  it("reads a model's refusal to continue from a 400", () => {
    expect(refusesContinuation(upstream('http', 'This model does not support assistant message prefill. The conversation must end with a user message.', 400))).toBe(true);
    expect(refusesContinuation(upstream('http', "Unrecognized request argument supplied: continue_final_message", 400))).toBe(true);
    expect(refusesContinuation(upstream('http', 'prompt is too long', 400))).toBe(false);
    expect(refusesContinuation(upstream('http', 'prefill refused', 503))).toBe(false);
  });
});
