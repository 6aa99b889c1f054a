import type { ModelPricing } from '../config/schema.js';
import type { Observation } from './observation.js';

/**
 * Estimated USD for one request from config pricing (per million tokens). Cache reads and writes
 * are charged at their own price when configured, else at the input price. Null when the model
 * has no price or the upstream reported no usage.
 */
export function requestCost(pricing: ModelPricing | null, obs: Observation): number | null {
  if (pricing === null || obs.inputTokens === null || obs.outputTokens === null) return null;
  const micro =
    obs.inputTokens * pricing.input_per_mtok +
    obs.outputTokens * pricing.output_per_mtok +
    (obs.cacheReadTokens ?? 0) * (pricing.cache_read_per_mtok ?? pricing.input_per_mtok) +
    (obs.cacheWriteTokens ?? 0) * (pricing.cache_write_per_mtok ?? pricing.input_per_mtok);
  return micro / 1_000_000;
}
