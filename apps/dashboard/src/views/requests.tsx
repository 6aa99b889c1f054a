import type { RequestRecord } from '@conduit/sdk';
import { useState } from 'preact/hooks';
import type { Api } from '../lib/api.js';
import { NO_FILTERS, toQuery, type RequestFilters } from '../lib/filters.js';
import { formatClock, formatCount, formatMs, formatUsd } from '../lib/format.js';
import { usePoll } from '../lib/poll.js';

const PAGE = 50;

export function Requests({ api, logBodies }: { api: Api; logBodies: boolean }) {
  const [draft, setDraft] = useState<RequestFilters>(NO_FILTERS);
  const [filters, setFilters] = useState<RequestFilters>(NO_FILTERS);
  const [older, setOlder] = useState<RequestRecord[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const query = toQuery(filters, PAGE);
  const page = usePoll(async () => {
    const p = await api.requests(query!);
    return p;
  }, 1000, [api, JSON.stringify(filters)]);
  const bad = toQuery(draft, PAGE) === null;
  const apply = (e: Event) => {
    e.preventDefault();
    if (bad) return;
    setFilters(draft);
    setOlder([]);
    setCursor(null);
  };
  const more = async () => {
    const before = cursor ?? page.data?.next_before;
    if (!before) return;
    const next = await api.requests(toQuery(filters, PAGE, before)!);
    setOlder([...older, ...next.data]);
    setCursor(next.next_before);
  };
  const records = [...(page.data?.data ?? []), ...older.filter((r) => !page.data?.data.some((x) => x.id === r.id))];
  const hasMore = cursor !== null ? true : older.length === 0 && (page.data?.has_more ?? false);
  const field = (name: keyof RequestFilters) => ({
    value: draft[name],
    onInput: (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value }),
  });

  return (
    <section aria-labelledby="requests-title">
      <h2 id="requests-title">Requests</h2>
      <p class="muted">{logBodies ? 'Prompts are logged (log_bodies is on): open a request to read it.' : 'Prompts are not logged (log_bodies is off).'}</p>
      <form class="panel form inline" onSubmit={apply} aria-label="Filter requests">
        <label>
          Status <input {...field('status')} placeholder="ok, error or 503" aria-invalid={bad} />
        </label>
        <label>
          Provider <input {...field('provider')} />
        </label>
        <label>
          Model <input {...field('model')} />
        </label>
        <label>
          Key <input {...field('key')} />
        </label>
        <button type="submit" disabled={bad}>
          Filter
        </button>
        <button type="button" onClick={() => (setDraft(NO_FILTERS), setFilters(NO_FILTERS), setOlder([]), setCursor(null))}>
          Clear
        </button>
      </form>
      {page.error && <p class="error">{page.error}</p>}
      <table class="requests">
        <thead>
          <tr>
            <th>Time</th>
            <th>Status</th>
            <th>Model asked</th>
            <th>Served by</th>
            <th class="num">Attempts</th>
            <th class="num">Latency</th>
            <th class="num">TTFT</th>
            <th class="num">Tokens in / out</th>
            <th class="num">Cost</th>
            <th>Key</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <Row key={r.id} r={r} open={open === r.id} onToggle={() => setOpen(open === r.id ? null : r.id)} />
          ))}
        </tbody>
      </table>
      {records.length === 0 && page.data && <p class="muted">No requests{query && Object.keys(query).length > 1 ? ' match these filters' : ' yet'}.</p>}
      {hasMore && (
        <button type="button" onClick={more}>
          Older requests
        </button>
      )}
    </section>
  );
}

function Row({ r, open, onToggle }: { r: RequestRecord; open: boolean; onToggle: () => void }) {
  const failed = r.error_type !== null;
  const input = r.input_tokens === null ? null : r.input_tokens + (r.cache_read_tokens ?? 0) + (r.cache_write_tokens ?? 0);
  return (
    <>
      <tr class={failed ? 'failed clickable' : 'clickable'} onClick={onToggle} aria-expanded={open} data-request={r.id}>
        <td>{formatClock(r.at)}</td>
        <td>
          <span class={`badge ${failed ? 'health-failing' : 'health-healthy'}`}>{r.status}</span>
          {r.stream && <span class="muted small"> stream</span>}
        </td>
        <td>{r.requested_model ?? '—'}</td>
        <td>
          {r.provider ? `${r.provider}/${r.model}` : '—'}
          {r.fallback_index > 0 && <span class="badge health-failing_over">fallback {r.fallback_index}</span>}
        </td>
        <td class="num">{r.attempts}</td>
        <td class="num">{formatMs(r.latency_ms)}</td>
        <td class="num">{formatMs(r.ttft_ms)}</td>
        <td class="num">
          {formatCount(input)} / {formatCount(r.output_tokens)}
        </td>
        <td class="num">{formatUsd(r.cost_usd)}</td>
        <td>{r.key_name ?? r.key_id ?? '—'}</td>
      </tr>
      {open && (
        <tr class="detail">
          <td colSpan={10}>
            <dl class="facts">
              <dt>Request id</dt>
              <dd>
                <code>{r.id}</code>
              </dd>
              <dt>Operation</dt>
              <dd>
                {r.operation} ({r.method} {r.path})
              </dd>
              {r.error && (
                <>
                  <dt>Error</dt>
                  <dd>
                    {r.error_type}: {r.error}
                  </dd>
                </>
              )}
              {r.team && (
                <>
                  <dt>Team</dt>
                  <dd>{r.team}</dd>
                </>
              )}
            </dl>
            {r.body !== undefined && r.body !== null && (
              <>
                <h4>Request body{r.body_truncated ? ' (cut)' : ''}</h4>
                <pre class="body">{pretty(r.body)}</pre>
              </>
            )}
          </td>
        </tr>
      )}
    </>
  );
}

function pretty(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}
