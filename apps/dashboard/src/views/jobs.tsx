import { ProgressBar } from '../components/bar.js';
import type { Api } from '../lib/api.js';
import { batchProgress } from '../lib/batches.js';
import { formatAgo, formatCount } from '../lib/format.js';
import { usePoll, useNow } from '../lib/poll.js';

export function Jobs({ api }: { api: Api }) {
  const stats = usePoll(() => api.jobs(), 1000, [api]);
  const now = useNow();
  const s = stats.data;
  return (
    <section aria-labelledby="jobs-title">
      <h2 id="jobs-title">Async jobs and batches</h2>
      {stats.error && <p class="error">{stats.error}</p>}
      {s && (
        <>
          <dl class="tiles" aria-label="Async jobs by state">
            {(['queued', 'running', 'completed', 'failed'] as const).map((state) => (
              <div class={`tile job-${state}`} key={state}>
                <dt>{state[0]!.toUpperCase() + state.slice(1)}</dt>
                <dd>{formatCount(s.jobs[state])}</dd>
              </div>
            ))}
          </dl>
          <p class="muted">
            Queued and running: in the store, every instance's. Completed and failed: finished by this instance since it started ({formatAgo(s.finished_since, now)}).
          </p>
          <div class="panel">
            <h3>Message Batches</h3>
            {!s.batches_supported && <p class="muted">This gateway does not serve Message Batches yet; their progress shows here once it does.</p>}
            {s.batches_supported && s.batches.length === 0 && <p class="muted">No batches.</p>}
            {s.batches.length > 0 && (
              <table>
                <thead>
                  <tr>
                    <th>Batch</th>
                    <th>Status</th>
                    <th>Progress</th>
                    <th class="num">Succeeded</th>
                    <th class="num">Errored</th>
                    <th class="num">Canceled / expired</th>
                    <th>Created</th>
                  </tr>
                </thead>
                <tbody>
                  {s.batches.map((b) => {
                    const p = batchProgress(b);
                    return (
                      <tr key={b.id}>
                        <td>
                          <code>{b.id}</code>
                        </td>
                        <td>{b.processing_status}</td>
                        <td>
                          <ProgressBar fraction={p.fraction} label={`${b.id} progress`} /> {p.done} / {p.total}
                        </td>
                        <td class="num">{formatCount(b.request_counts.succeeded)}</td>
                        <td class="num">{formatCount(b.request_counts.errored)}</td>
                        <td class="num">
                          {formatCount(b.request_counts.canceled)} / {formatCount(b.request_counts.expired)}
                        </td>
                        <td>{formatAgo(b.created_at, now)}</td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </div>
        </>
      )}
    </section>
  );
}
