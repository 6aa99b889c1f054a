import type { DashboardInfo, TrafficStats } from '@conduit/sdk';
import { useMemo, useState } from 'preact/hooks';
import { BudgetBar } from '../components/bar.js';
import { Chart, type ChartSeries } from '../components/chart.js';
import { HealthBadge } from '../components/health-badge.js';
import type { Api } from '../lib/api.js';
import { spendOf } from '../lib/budget.js';
import { formatCount, formatMs, formatPercent, formatRate, formatUsd } from '../lib/format.js';
import { modelHealth, worstHealth } from '../lib/health.js';
import { usePoll, useNow } from '../lib/poll.js';
import { columns, hasData } from '../lib/series.js';

const count = (v: number | null) => formatCount(v);
const rate = (v: number | null) => formatRate(v);
/** Axis ticks of small rates: up to three significant digits. */
const tick = (v: number | null) => (v === null ? '' : v === 0 ? '0' : String(Number(v.toPrecision(3))));
const ms = (v: number | null) => formatMs(v);
const usd = (v: number | null) => formatUsd(v);

const TRAFFIC: ChartSeries[] = [
  { label: 'requests/s', color: '#1f6feb', format: rate, axis: tick },
  { label: 'errors/s', color: '#cf222e', format: rate },
];
const LATENCY: ChartSeries[] = [
  { label: 'p50', color: '#1f6feb', format: ms },
  { label: 'p99', color: '#8250df', format: ms },
  { label: 'TTFT p50', color: '#1a7f37', format: ms },
  { label: 'TTFT p99', color: '#bf8700', format: ms },
];
const TOKENS: ChartSeries[] = [
  { label: 'input tokens', color: '#1f6feb', format: count },
  { label: 'output tokens', color: '#1a7f37', format: count },
];
const COST: ChartSeries[] = [{ label: 'cost', color: '#bf8700', format: usd }];

export function Overview({ api, info }: { api: Api; info: DashboardInfo }) {
  const [window, setWindow] = useState<'hour' | 'day'>('hour');
  const traffic = usePoll(() => api.traffic(window), 1000, [api, window]);
  const providers = usePoll(() => api.providers(), 1000, [api]);
  // The names come from the keys; the spend from the ledger, which may be away (then no bars).
  const keys = usePoll(() => (info.keys_api ? Promise.all([api.keys(), api.usage().catch(() => null)]) : Promise.resolve(null)), 5000, [api]);
  const now = useNow();
  // Until the new window's first answer arrives, show nothing rather than the other window's figures.
  const t = traffic.data?.window === window ? traffic.data : undefined;

  return (
    <section aria-labelledby="overview-title">
      <div class="heading">
        <h2 id="overview-title">Overview</h2>
        <div class="toggle" role="group" aria-label="Window">
          <button type="button" aria-pressed={window === 'hour'} onClick={() => setWindow('hour')}>
            Last hour
          </button>
          <button type="button" aria-pressed={window === 'day'} onClick={() => setWindow('day')}>
            Last day
          </button>
        </div>
      </div>
      {traffic.error && <p class="error">{traffic.error}</p>}
      {t && <Tiles t={t} />}
      {t && <Charts t={t} />}
      <div class="columns">
        <div class="panel">
          <h3>Providers</h3>
          {providers.error && <p class="error">{providers.error}</p>}
          <ul class="plain" aria-label="Providers">
            {(providers.data?.providers ?? info.providers.map((p) => ({ ...p, models: [] }))).map((p) => {
              const health = worstHealth(p.models.map((m) => modelHealth(m, now).health));
              return (
                <li key={p.name}>
                  <a href="#/providers">{p.name}</a> <span class="muted">{p.type}</span> <HealthBadge health={health} />
                </li>
              );
            })}
          </ul>
        </div>
        <div class="panel">
          <h3>Keys</h3>
          {!info.keys_api && <p class="muted">Gateway auth is off: there are no keys. Add an auth section to the config to hand out keys with limits and budgets.</p>}
          {keys.error && <p class="error">{keys.error}</p>}
          {keys.data && (
            <ul class="plain" aria-label="Keys">
              {keys.data[0].data
                .filter((k) => k.revoked_at === null)
                .map((k) => (
                  <li key={k.id}>
                    <a href="#/keys">{k.name}</a> {keys.data![1] && <BudgetBar spend={spendOf(k, keys.data![1].data, 'key', new Date(now))} />}
                  </li>
                ))}
            </ul>
          )}
        </div>
      </div>
    </section>
  );
}

function Tiles({ t }: { t: TrafficStats }) {
  const x = t.totals;
  const tiles: Array<[string, string]> = [
    ['Requests/s', formatRate(x.rps)],
    ['Requests', formatCount(x.requests)],
    ['Error rate', formatPercent(x.error_rate)],
    ['Latency p50', formatMs(x.p50_ms)],
    ['Latency p99', formatMs(x.p99_ms)],
    ['TTFT p50', formatMs(x.ttft_p50_ms)],
    ['Tokens in / out', `${formatCount(x.input_tokens)} / ${formatCount(x.output_tokens)}`],
    ['Cost', formatUsd(x.cost_usd)],
    ['In flight', formatCount(t.in_flight)],
  ];
  return (
    <dl class="tiles" aria-label={`Totals over the last ${t.window}`}>
      {tiles.map(([label, value]) => (
        <div class="tile" key={label}>
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Charts({ t }: { t: TrafficStats }) {
  const data = useMemo(() => {
    const s = t.interval_s;
    return {
      traffic: columns(t.points, [(p) => p.rps, (p) => p.errors / s]),
      latency: columns(t.points, [(p) => p.p50_ms, (p) => p.p99_ms, (p) => p.ttft_p50_ms, (p) => p.ttft_p99_ms]),
      tokens: columns(t.points, [(p) => p.input_tokens, (p) => p.output_tokens]),
      cost: columns(t.points, [(p) => p.cost_usd]),
    };
  }, [t]);
  const per = t.interval_s === 60 ? 'minute' : '5 minutes';
  return (
    <div class="charts">
      {!hasData(t.points) && <p class="muted">No requests in the last {t.window} yet.</p>}
      <Chart key={`traffic-${t.window}`} title="Requests and errors per second" series={TRAFFIC} data={data.traffic} />
      <Chart key={`latency-${t.window}`} title="Latency and time to first token" series={LATENCY} data={data.latency} />
      <Chart key={`tokens-${t.window}`} title={`Tokens per ${per}`} series={TOKENS} data={data.tokens} />
      <Chart key={`cost-${t.window}`} title={`Cost per ${per}`} series={COST} data={data.cost} />
    </div>
  );
}
