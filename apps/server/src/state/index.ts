import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { CircuitBreakers } from '../routing/breaker.js';
import { KeyCooldowns } from '../routing/keys.js';
import { MemoryFactsStore, type Fact } from './model-facts.js';
import type { RedisStateSync, StateChange } from './shared-state.js';

export { MemoryFactsStore, MemoryModelFacts, type Fact, type FactsStore, type ModelFacts } from './model-facts.js';

/** What routing learns as it goes and every request reads: breakers, key cooldowns, learnt facts. */
export interface RoutingStateParts {
  breakers: CircuitBreakers;
  cooldowns: KeyCooldowns;
  facts: MemoryFactsStore;
  close(): Promise<void>;
}

type BreakerListener = (circuit: string, state: 'closed' | 'open' | 'half_open') => void;

/**
 * The routing state of this instance. With `store: redis://...` it is shared with every instance
 * using the same Redis and `async.redis_prefix` (state/shared-state.ts): a circuit one opens, a key
 * one cools down, a fact one learns reach the others. Otherwise it lives in this process alone.
 */
export function createRoutingState(config: Pick<Config, 'store' | 'async'>, logger: Logger, onBreakerChange?: BreakerListener): RoutingStateParts {
  if (!/^rediss?:\/\//.test(config.store)) {
    return { breakers: new CircuitBreakers(Date.now, onBreakerChange), cooldowns: new KeyCooldowns(Date.now), facts: new MemoryFactsStore(), close: async () => undefined };
  }
  let sync: RedisStateSync | undefined;
  const publish = (change: StateChange) => sync?.publish(change);
  const breakers = new CircuitBreakers(Date.now, onBreakerChange, {
    opened: (circuit, openedAt, cooldownMs) => publish({ type: 'breaker', circuit, openedAt, cooldownMs }),
    closed: (circuit) => publish({ type: 'breaker', circuit, openedAt: null, cooldownMs: 0 }),
  });
  const cooldowns = new KeyCooldowns(Date.now, {
    cooled: (key, model, until, reason) => publish({ type: 'cooldown', key, model, until, reason }),
    freed: (key, model) => publish({ type: 'cooldown', key, model, until: null, reason: 'rate_limit' }),
  });
  const facts = new MemoryFactsStore(1000, (provider, model, fact) => publish({ type: 'fact', provider, model, fact }));
  const onError = throttled(logger);
  // ioredis is loaded only when configured; changes made before it is up stay local.
  const loaded = import('./shared-state.js').then(({ RedisStateSync }) => {
    sync = new RedisStateSync({
      url: config.store,
      prefix: config.async.redis_prefix,
      apply: (change) => applyChange(change, breakers, cooldowns, facts),
      onError,
    });
    return sync;
  });
  loaded.catch((err) => logger.error({ err }, 'shared routing state failed to load'));
  return {
    breakers,
    cooldowns,
    facts,
    async close() {
      const s = await loaded.catch(() => undefined);
      await s?.close();
    },
  };
}

/** Applies a change from another instance, after checking its shape (it comes from outside the process). */
function applyChange(change: StateChange, breakers: CircuitBreakers, cooldowns: KeyCooldowns, facts: MemoryFactsStore): void {
  switch (change.type) {
    case 'breaker':
      if (typeof change.circuit === 'string' && (change.openedAt === null || Number.isFinite(change.openedAt))) breakers.applyRemote(change.circuit, change.openedAt);
      return;
    case 'cooldown':
      if (typeof change.key === 'string' && typeof change.model === 'string' && (change.until === null || Number.isFinite(change.until))) {
        cooldowns.applyRemote(change.key, change.model, change.until, change.reason === 'auth' ? 'auth' : 'rate_limit');
      }
      return;
    case 'fact':
      if (typeof change.provider === 'string' && typeof change.model === 'string' && isFact(change.fact)) facts.apply(change.provider, change.model, change.fact);
      return;
  }
}

function isFact(fact: unknown): fact is Fact {
  const f = fact as Partial<Record<string, unknown>> | null;
  if (!f || typeof f !== 'object') return false;
  if (f.kind === 'param') return typeof f.param === 'string';
  if (f.kind === 'output_limit') return Number.isSafeInteger(f.limit) && (f.limit as number) > 0;
  return f.kind === 'no_continuation';
}

/** Redis errors repeat every reconnect attempt while it is away: one warning per kind of error a minute. */
function throttled(logger: Logger): (err: unknown) => void {
  const last = new Map<string, number>();
  return (err) => {
    const key = err instanceof Error ? err.message.slice(0, 100) : String(err);
    const now = Date.now();
    if ((last.get(key) ?? 0) > now - 60_000) return;
    if (last.size > 100) last.clear();
    last.set(key, now);
    logger.warn({ err }, 'shared routing state: Redis error (routing goes on with this instance\'s own state)');
  };
}
