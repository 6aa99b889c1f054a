import type { ModelStats, ProviderStats } from '../generated/types.gen.js';
import { percentile, splitTarget, targetKey, type StatsCell } from '../request-log/index.js';
import { breakerView, learnedFacts } from './routing-view.js';
import type { DashboardDeps } from './routes.js';

/**
 * Each configured provider with the models there is something to say about: configured, seen in
 * the last hour's traffic, retried or failed over from since start, or learnt about.
 */
export async function providerStats(deps: Pick<DashboardDeps, 'providers' | 'router' | 'metrics' | 'requestLog' | 'configured'>): Promise<ProviderStats> {
  const lastHour: Map<string, StatsCell> = deps.requestLog ? await deps.requestLog.traffic.byTarget(60) : new Map();
  const configured = new Set(deps.configured.map(([p, m]) => targetKey(p, m)));
  const models = new Map<string, Set<string>>();
  const add = (provider: string, model: string) => {
    if (!deps.providers.has(provider)) return;
    let set = models.get(provider);
    if (!set) {
      set = new Set();
      models.set(provider, set);
    }
    set.add(model);
  };
  for (const [p, m] of deps.configured) add(p, m);
  for (const key of lastHour.keys()) add(...splitTarget(key));
  for (const [p, m] of deps.metrics.routedTargets()) add(p, m);
  const facts = new Map([...deps.providers.values()].map((p) => [p.name, learnedFacts(deps.router, p)]));
  for (const [p, byModel] of facts) for (const m of byModel.keys()) add(p, m);

  return {
    providers: [...deps.providers.values()].map((provider) => ({
      name: provider.name,
      type: provider.type,
      models: [...(models.get(provider.name) ?? [])].sort().map((model): ModelStats => {
        const cell = lastHour.get(targetKey(provider.name, model));
        const activity = deps.metrics.routing(provider.name, model);
        const learnt = facts.get(provider.name)?.get(model);
        return {
          model,
          configured: configured.has(targetKey(provider.name, model)),
          breaker: breakerView(deps.router, provider, model),
          last_hour: {
            requests: cell?.requests ?? 0,
            errors: cell?.errors ?? 0,
            fallbacks: cell?.fallbacks ?? 0,
            p50_ms: cell ? percentile(cell.latency, 0.5) : null,
            p99_ms: cell ? percentile(cell.latency, 0.99) : null,
          },
          retries: activity?.retries ?? 0,
          fallbacks: activity?.fallbacks ?? 0,
          last_retry_at: iso(activity?.lastRetryAt ?? null),
          last_fallback_at: iso(activity?.lastFallbackAt ?? null),
          learned: { refused_params: learnt?.refusedParams ?? [], output_limit: learnt?.outputLimit ?? null, refuses_continuation: learnt?.refusesContinuation ?? false },
        };
      }),
    })),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
