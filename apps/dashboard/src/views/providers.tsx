import type { ModelStats } from '@conduit/sdk';
import { HealthBadge } from '../components/health-badge.js';
import type { Api } from '../lib/api.js';
import { formatAgo, formatCount, formatMs, formatPercent } from '../lib/format.js';
import { modelHealth, worstHealth } from '../lib/health.js';
import { usePoll, useNow } from '../lib/poll.js';

export function Providers({ api }: { api: Api }) {
  const stats = usePoll(() => api.providers(), 1000, [api]);
  const now = useNow();
  return (
    <section aria-labelledby="providers-title">
      <h2 id="providers-title">Providers</h2>
      <p class="muted">Last hour from the request log; breakers, retries, fallbacks and what was learnt are this instance's, since it started.</p>
      {stats.error && <p class="error">{stats.error}</p>}
      {stats.data?.providers.map((p) => {
        const rows = p.models.map((m) => ({ m, h: modelHealth(m, now) }));
        return (
          <div class="panel" key={p.name}>
            <h3>
              {p.name} <span class="muted">{p.type}</span> <HealthBadge health={worstHealth(rows.map((r) => r.h.health))} />
            </h3>
            {rows.length === 0 ? (
              <p class="muted">No models configured or seen yet.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>Model</th>
                    <th>Health</th>
                    <th>Breaker</th>
                    <th class="num">Requests (1 h)</th>
                    <th class="num">Errors</th>
                    <th class="num">p50 / p99</th>
                    <th class="num">Retries</th>
                    <th class="num">Fallbacks</th>
                    <th>Learnt</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map(({ m, h }) => (
                    <tr key={m.model} data-model={`${p.name}/${m.model}`}>
                      <td>{m.model}</td>
                      <td>
                        <HealthBadge health={h.health} reason={h.reason} />
                        <div class="muted small">{h.reason}</div>
                      </td>
                      <td>{breaker(m)}</td>
                      <td class="num">{formatCount(m.last_hour.requests)}</td>
                      <td class="num">{m.last_hour.requests ? formatPercent(m.last_hour.errors / m.last_hour.requests) : '—'}</td>
                      <td class="num">
                        {formatMs(m.last_hour.p50_ms)} / {formatMs(m.last_hour.p99_ms)}
                      </td>
                      <td class="num" title={m.last_retry_at ? `last ${formatAgo(m.last_retry_at, now)}` : undefined}>
                        {formatCount(m.retries)}
                      </td>
                      <td class="num" title={m.last_fallback_at ? `last ${formatAgo(m.last_fallback_at, now)}` : undefined}>
                        {formatCount(m.fallbacks)}
                        {m.last_fallback_at && <div class="muted small">{formatAgo(m.last_fallback_at, now)}</div>}
                      </td>
                      <td>{learnt(m)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        );
      })}
    </section>
  );
}

function breaker(m: ModelStats): string {
  if (m.breaker.state === 'closed') return 'closed';
  if (m.breaker.state === 'half_open') return 'half-open';
  return m.breaker.retry_in_ms === null ? 'open' : `open (probe in ${formatMs(m.breaker.retry_in_ms)})`;
}

function learnt(m: ModelStats): string {
  const parts: string[] = [];
  if (m.learned.refused_params.length > 0) parts.push(`refuses ${m.learned.refused_params.join(', ')}`);
  if (m.learned.output_limit !== null) parts.push(`output limit ${formatCount(m.learned.output_limit)} tokens`);
  if (m.learned.refuses_continuation) parts.push('cannot continue a broken answer');
  return parts.length ? parts.join('; ') : '—';
}
