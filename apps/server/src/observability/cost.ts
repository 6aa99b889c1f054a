import type { Observation } from './observation.js';
import type { PriceBook } from './prices.js';

/**
 * Estimated USD for the request's usage on the provider/model that served it, from the price book
 * (config `pricing`, else the catalogue). Null when the model has no price or the upstream reported
 * no usage.
 */
export function requestCost(prices: PriceBook, obs: Observation): number | null {
  if (obs.provider === null || obs.model === null || obs.inputTokens === null || obs.outputTokens === null) return null;
  return prices.cost(obs.provider, obs.model, {
    input: obs.inputTokens,
    output: obs.outputTokens,
    cacheRead: obs.cacheReadTokens ?? 0,
    cacheWrite: obs.cacheWriteTokens ?? 0,
  });
}
