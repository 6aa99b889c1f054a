import type { ContinuationMode, ProviderConfig } from './schema.js';

/**
 * The continuation a provider's config declares: its own `continuation`, else Anthropic's body
 * (anthropic, and Claude on bedrock and vertex) continues with an assistant prefill, and a
 * translated provider (an OpenAI-compatible server, Gemini) cannot continue unless its preset or
 * entry says how.
 */
export function configuredContinuation(config: Pick<ProviderConfig, 'type' | 'continuation'>): ContinuationMode {
  if (config.continuation !== undefined) return config.continuation;
  return config.type === 'anthropic' || config.type === 'bedrock' || config.type === 'vertex' ? 'assistant_prefill' : 'none';
}
