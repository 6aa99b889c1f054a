import type { TranslatedUsage } from '../../openai/convert-usage.js';
import type { ConverseUsage } from './converse-types.js';

/**
 * Converse usage → Anthropic usage. Converse's `inputTokens` excludes cached tokens, as Anthropic's
 * `input_tokens` does: cache reads and writes are their own counters. Missing fields read as 0.
 */
export function convertUsage(usage: ConverseUsage | null | undefined): TranslatedUsage {
  return {
    input_tokens: count(usage?.inputTokens),
    output_tokens: count(usage?.outputTokens),
    cache_creation_input_tokens: count(usage?.cacheWriteInputTokens),
    cache_read_input_tokens: count(usage?.cacheReadInputTokens),
  };
}

function count(n: number | null | undefined): number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
