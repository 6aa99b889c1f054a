import type { ModelStats } from '@conduit/sdk';

/** How a provider/model is doing, worst first. */
export type Health = 'failing' | 'failing_over' | 'degraded' | 'healthy' | 'idle';

export const HEALTH_LABEL: Record<Health, string> = {
  failing: 'Failing',
  failing_over: 'Failing over',
  degraded: 'Degraded',
  healthy: 'Healthy',
  idle: 'Idle',
};

const RANK: Record<Health, number> = { failing: 0, failing_over: 1, degraded: 2, healthy: 3, idle: 4 };

/** A fallback within this long counts as the model failing over now. */
export const RECENT_FALLBACK_MS = 5 * 60_000;
/** The last hour's share of failed requests from which a model counts as degraded. */
export const DEGRADED_ERROR_RATE = 0.2;

/**
 * A model's health from what the gateway reports: requests moving on from it to a fallback lately
 * (failing over), its circuit open with nowhere to go (failing), many errors (degraded), traffic
 * (healthy) or none (idle). The reason says why, for the tooltip and the row.
 */
export function modelHealth(m: ModelStats, now: number): { health: Health; reason: string } {
  const lastFallback = m.last_fallback_at === null ? null : Date.parse(m.last_fallback_at);
  const recentFallback = lastFallback !== null && now - lastFallback <= RECENT_FALLBACK_MS;
  const circuit = m.breaker.state === 'open' ? 'circuit open' : m.breaker.state === 'half_open' ? 'circuit half-open (probing)' : null;
  if (recentFallback) {
    return { health: 'failing_over', reason: [circuit, `${m.fallbacks} request${m.fallbacks === 1 ? '' : 's'} moved to a fallback`].filter(Boolean).join(' · ') };
  }
  if (circuit) return { health: 'failing', reason: circuit };
  const { requests, errors } = m.last_hour;
  if (requests > 0 && errors / requests >= DEGRADED_ERROR_RATE) return { health: 'degraded', reason: `${errors} of ${requests} requests failed in the last hour` };
  if (requests > 0) return { health: 'healthy', reason: `${requests} requests in the last hour` };
  return { health: 'idle', reason: 'no requests in the last hour' };
}

/** The worst health of a provider's models (idle when it has none). */
export function worstHealth(healths: readonly Health[]): Health {
  let worst: Health = 'idle';
  for (const h of healths) if (RANK[h] < RANK[worst]) worst = h;
  // A provider with healthy and idle models is healthy.
  return worst;
}
