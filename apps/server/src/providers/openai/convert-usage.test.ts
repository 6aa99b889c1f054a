import { describe, expect, it } from 'vitest';
import { convertUsage } from './convert-usage.js';

describe('convertUsage', () => {
  it('maps prompt/completion tokens', () => {
    expect(convertUsage({ prompt_tokens: 12, completion_tokens: 7, total_tokens: 19 })).toEqual({
      input_tokens: 12,
      output_tokens: 7,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it('takes cached tokens out of input_tokens (OpenAI counts them in prompt_tokens)', () => {
    expect(
      convertUsage({
        prompt_tokens: 2006,
        completion_tokens: 300,
        prompt_tokens_details: { cached_tokens: 1920 },
        completion_tokens_details: { reasoning_tokens: 128 },
      }),
    ).toEqual({ input_tokens: 86, output_tokens: 300, cache_creation_input_tokens: 0, cache_read_input_tokens: 1920 });
  });

  it("reads DeepSeek's prompt_cache_hit_tokens", () => {
    expect(convertUsage({ prompt_tokens: 100, completion_tokens: 5, prompt_cache_hit_tokens: 64, prompt_cache_miss_tokens: 36 })).toMatchObject({
      input_tokens: 36,
      cache_read_input_tokens: 64,
    });
  });

  it('reads missing or broken usage as zeros, never negative', () => {
    expect(convertUsage(undefined)).toEqual({ input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(convertUsage({ prompt_tokens: 5, prompt_tokens_details: { cached_tokens: 9 } }).input_tokens).toBe(0);
    expect(convertUsage({ prompt_tokens: -3, completion_tokens: Number.NaN }).output_tokens).toBe(0);
  });
});
