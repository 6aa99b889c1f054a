import type { ProviderConfig } from '../config/schema.js';

/** The routing knobs of one provider, with the schema's defaults filled in. */
export interface RoutingPolicy {
  maxRetries: number;
  backoff: { baseMs: number; maxMs: number };
  maxRetryAfterMs: number;
  keyCooldownMs: number;
  firstTokenMs: number;
  idleMs: number;
  totalMs: number;
  breaker: { failureThreshold: number; cooldownMs: number };
}

type PolicySource = Partial<Pick<ProviderConfig, 'max_retries'>> & {
  timeouts?: Partial<ProviderConfig['timeouts']>;
  retry?: Partial<ProviderConfig['retry']>;
  breaker?: Partial<ProviderConfig['breaker']>;
};

/**
 * Reads a provider's config. Parsed configs always carry every field; the defaults here repeat the
 * schema's so a hand-built Provider (tests, embedders) behaves the same.
 */
export function policyFor(config: PolicySource): RoutingPolicy {
  const t = config.timeouts ?? {};
  const r = config.retry ?? {};
  const b = config.breaker ?? {};
  return {
    maxRetries: config.max_retries ?? 2,
    backoff: { baseMs: r.base_ms ?? 500, maxMs: r.max_ms ?? 8_000 },
    maxRetryAfterMs: r.max_retry_after_ms ?? 30_000,
    keyCooldownMs: r.key_cooldown_ms ?? 60_000,
    firstTokenMs: t.first_token_ms ?? 120_000,
    idleMs: t.idle_ms ?? 120_000,
    totalMs: t.total_ms ?? 1_800_000,
    breaker: { failureThreshold: b.failure_threshold ?? 5, cooldownMs: b.cooldown_ms ?? 30_000 },
  };
}
