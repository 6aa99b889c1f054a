import type { Usage } from '../../generated/types.gen.js';
import type { OpenAIUsage } from './openai-types.js';

/** The usage block every translated answer carries; all four counters are always present. */
export type TranslatedUsage = Required<Pick<Usage, 'input_tokens' | 'output_tokens'>> & {
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
};

/**
 * OpenAI usage → Anthropic usage. OpenAI's `prompt_tokens` INCLUDES the cached tokens, Anthropic's
 * `input_tokens` does not: input = prompt − cached, cache_read = cached. OpenAI has no cache-write
 * charge, so cache_creation is 0. `completion_tokens` (reasoning included) → output_tokens.
 * Missing usage (a server that ignored include_usage) reads as zeros.
 */
export function convertUsage(usage: OpenAIUsage | null | undefined): TranslatedUsage {
  const prompt = count(usage?.prompt_tokens);
  const cached = Math.min(prompt, count(usage?.prompt_tokens_details?.cached_tokens ?? usage?.prompt_cache_hit_tokens));
  return {
    input_tokens: prompt - cached,
    output_tokens: count(usage?.completion_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

function count(n: number | null | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
