import type { TranslatedUsage } from '../openai/convert-usage.js';
import type { GeminiUsage } from './gemini-types.js';

/**
 * Gemini `usageMetadata` → Anthropic usage. Gemini's `promptTokenCount` INCLUDES the cached tokens
 * (`cachedContentTokenCount`), Anthropic's `input_tokens` does not: input = prompt (+ tool-use
 * prompt) − cached, cache_read = cached. Thinking is output, as on Anthropic: output = candidates
 * + thoughts. Gemini has no cache-write charge. Missing fields read as 0.
 */
export function convertUsage(usage: GeminiUsage | null | undefined): TranslatedUsage {
  const prompt = count(usage?.promptTokenCount) + count(usage?.toolUsePromptTokenCount);
  const cached = Math.min(prompt, count(usage?.cachedContentTokenCount));
  return {
    input_tokens: prompt - cached,
    output_tokens: count(usage?.candidatesTokenCount) + count(usage?.thoughtsTokenCount),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

function count(n: number | null | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
