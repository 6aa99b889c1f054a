import type { Provider } from '../providers/types.js';
import { policyFor } from '../routing/policy.js';
import type { Router } from '../routing/router.js';
import type { LearnedFacts } from '../state/model-facts.js';

/**
 * What the dashboard reads of the routing state, in one place: breaker state and what providers
 * learnt. Where that state lives (this process, or Redis shared by a fleet) is routing's business;
 * only these functions need to follow it.
 */
export function breakerView(router: Router, provider: Provider, model: string): { state: 'closed' | 'open' | 'half_open'; retry_in_ms: number | null } {
  const circuit = `${provider.name}/${model}`;
  const settings = policyFor(provider.config).breaker;
  const state = router.state.breakers.state(circuit, settings);
  const retryIn = state === 'closed' ? undefined : router.state.breakers.retryInMs(circuit, settings);
  return { state, retry_in_ms: retryIn === undefined ? null : Math.round(retryIn) };
}

/** What was learnt about the provider's models, by model (the routing state's facts: this process's, or the fleet's with Redis). */
export function learnedFacts(router: Router, provider: Provider): Map<string, LearnedFacts> {
  return new Map(router.state.facts.forProvider(provider.name).snapshot().map((f) => [f.model, f]));
}
