import { describe, expect, it } from 'vitest';
import { convertRequest } from './convert-request.js';

const body = {
  model: 'x',
  max_tokens: 100,
  messages: [
    { role: 'user' as const, content: 'Count to ten' },
    { role: 'assistant' as const, content: 'one two three ' },
  ],
};
const opts = { provider: 'p', model: 'm', stream: true, maxTokensField: 'max_tokens' as const, dropUnsupported: false };

describe('continuation requests', () => {
  it('prefix (DeepSeek, Mistral): prefix: true on the final assistant message, its text as it is', () => {
    const out = convertRequest(body, { ...opts, continuation: 'prefix' }).body;
    expect(out.messages.at(-1)).toEqual({ role: 'assistant', content: 'one two three ', prefix: true });
    expect(out.continue_final_message).toBeUndefined();
  });

  it('continue_final_message (vLLM): both flags, the message unmarked', () => {
    const out = convertRequest(body, { ...opts, continuation: 'continue_final_message' }).body;
    expect(out.messages.at(-1)).toEqual({ role: 'assistant', content: 'one two three ' });
    expect([out.continue_final_message, out.add_generation_prompt]).toEqual([true, false]);
  });

  it('assistant_prefill (OpenRouter): the trailing assistant message alone', () => {
    const out = convertRequest(body, { ...opts, continuation: 'assistant_prefill' }).body;
    expect(out.messages.at(-1)).toEqual({ role: 'assistant', content: 'one two three ' });
    expect(out.continue_final_message).toBeUndefined();
  });

  it('an ordinary request (no continuation) is not marked, even with a final assistant message', () => {
    const out = convertRequest(body, opts).body;
    expect(out.messages.at(-1)).toEqual({ role: 'assistant', content: 'one two three ' });
    expect('continue_final_message' in out).toBe(false);
  });

  it('nothing to mark without a final assistant message', () => {
    const out = convertRequest({ ...body, messages: [body.messages[0]!] }, { ...opts, continuation: 'prefix' }).body;
    expect(out.messages.at(-1)).toEqual({ role: 'user', content: 'Count to ten' });
  });
});
