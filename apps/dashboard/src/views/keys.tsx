import type { CreatedKey, Team, UsageRow, VirtualKey } from '@conduit/sdk';
import { useState } from 'preact/hooks';
import { BudgetBar } from '../components/bar.js';
import type { Api } from '../lib/api.js';
import { requestsOf, spendOf } from '../lib/budget.js';
import { formatCount } from '../lib/format.js';
import { createRequest, EMPTY_KEY_FORM, updateRequest, type KeyForm } from '../lib/keys-form.js';
import { usePoll, useNow } from '../lib/poll.js';

export function Keys({ api, enabled }: { api: Api; enabled: boolean }) {
  const data = usePoll(() => Promise.all([api.keys(), api.teams(), api.usage()]), 2000, [api]);
  const now = new Date(useNow(5000));
  const [created, setCreated] = useState<CreatedKey | null>(null);
  if (!enabled) {
    return (
      <section aria-labelledby="keys-title">
        <h2 id="keys-title">Keys and teams</h2>
        <p class="muted">Gateway auth is off, so there are no keys. Add an <code>auth</code> section with an <code>admin_key</code> to the config to hand out keys with limits and budgets.</p>
      </section>
    );
  }
  const [keys, teams, usage] = data.data ?? [undefined, undefined, undefined];
  return (
    <section aria-labelledby="keys-title">
      <h2 id="keys-title">Keys and teams</h2>
      {data.error && <p class="error">{data.error}</p>}
      <CreateKey api={api} teams={teams?.data ?? []} onCreated={(k) => (setCreated(k), data.refresh())} />
      {created && (
        <div class="panel notice" role="status">
          <p>
            Key <strong>{created.name}</strong> created. Copy its secret now: it is shown only once.
          </p>
          <p>
            <code class="secret-value" aria-label="New key secret">
              {created.key}
            </code>
          </p>
          <button type="button" onClick={() => setCreated(null)}>
            Done
          </button>
        </div>
      )}
      {keys && usage && (
        <KeyTable api={api} keys={keys.data} teams={teams?.data ?? []} rows={usage.data} now={now} onChange={data.refresh} />
      )}
      {teams && usage && <TeamTable api={api} teams={teams.data} rows={usage.data} now={now} onChange={data.refresh} />}
    </section>
  );
}

function CreateKey({ api, teams, onCreated }: { api: Api; teams: Team[]; onCreated: (k: CreatedKey) => void }) {
  const [form, setForm] = useState<KeyForm>(EMPTY_KEY_FORM);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const field = (name: keyof KeyForm) => ({
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value }),
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    const req = createRequest(form);
    if ('problem' in req) return setProblem(req.problem);
    setBusy(true);
    try {
      onCreated(await api.createKey(req.body));
      setForm(EMPTY_KEY_FORM);
      setProblem(null);
    } catch (err) {
      setProblem((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="panel form" onSubmit={submit} aria-label="Create a key">
      <h3>Create a key</h3>
      <div class="fields">
        <label>
          Name <input {...field('name')} required />
        </label>
        <label>
          Team
          <select value={form.team_id} onChange={(e) => setForm({ ...form, team_id: (e.target as HTMLSelectElement).value })}>
            <option value="">none</option>
            {teams.filter((t) => t.revoked_at === null).map((t) => (
              <option value={t.id} key={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Models <input {...field('models')} placeholder="all; or anthropic/*, fast" />
        </label>
        <label>
          RPM <input {...field('rpm')} inputMode="numeric" />
        </label>
        <label>
          TPM <input {...field('tpm')} inputMode="numeric" />
        </label>
        <label>
          Max concurrent <input {...field('max_concurrent')} inputMode="numeric" />
        </label>
        <label>
          Budget (USD) <input {...field('budget_usd')} inputMode="decimal" />
        </label>
        <label>
          Budget period
          <select value={form.budget_period} onChange={(e) => setForm({ ...form, budget_period: (e.target as HTMLSelectElement).value as 'day' | 'month' })}>
            <option value="month">month</option>
            <option value="day">day</option>
          </select>
        </label>
        <label>
          Expires <input {...field('expires_at')} type="datetime-local" />
        </label>
      </div>
      {problem && <p class="error">{problem}</p>}
      <button type="submit" disabled={busy}>
        Create key
      </button>
    </form>
  );
}

function limits(k: { rpm: number | null; tpm: number | null; max_concurrent: number | null }): string {
  const parts = [k.rpm !== null && `${formatCount(k.rpm)} rpm`, k.tpm !== null && `${formatCount(k.tpm)} tpm`, k.max_concurrent !== null && `${k.max_concurrent} at once`];
  return parts.filter(Boolean).join(', ') || 'no limits';
}

function KeyTable({ api, keys, teams, rows, now, onChange }: { api: Api; keys: VirtualKey[]; teams: Team[]; rows: UsageRow[]; now: Date; onChange: () => void }) {
  const teamName = (id: string | null) => (id === null ? '—' : (teams.find((t) => t.id === id)?.name ?? id));
  return (
    <div class="panel">
      <h3>Keys</h3>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Team</th>
            <th>Limits</th>
            <th>Spend</th>
            <th class="num">Requests (month)</th>
            <th>Status</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <KeyRow key={k.id} api={api} k={k} team={teamName(k.team_id)} rows={rows} now={now} onChange={onChange} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function KeyRow({ api, k, team, rows, now, onChange }: { api: Api; k: VirtualKey; team: string; rows: UsageRow[]; now: Date; onChange: () => void }) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const revoked = k.revoked_at !== null;
  const expired = k.expires_at !== null && Date.parse(k.expires_at) <= now.getTime();
  const revoke = async () => {
    try {
      await api.revokeKey(k.id);
      setConfirming(false);
      onChange();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <>
      <tr data-key={k.name} class={revoked ? 'revoked' : undefined}>
        <td>
          {k.name}
          {k.source === 'config' && <span class="muted small"> (config)</span>}
        </td>
        <td>{team}</td>
        <td>{limits(k)}</td>
        <td>
          <BudgetBar spend={spendOf(k, rows, 'key', now)} />
        </td>
        <td class="num">{formatCount(requestsOf(k.id, rows, 'key'))}</td>
        <td>{revoked ? 'revoked' : expired ? 'expired' : 'active'}</td>
        <td class="actions">
          {k.source === 'api' && !revoked && (
            <>
              <button type="button" onClick={() => setEditing(!editing)} aria-label={`Edit ${k.name}`}>
                Edit
              </button>
              {confirming ? (
                <>
                  <button type="button" class="danger" onClick={revoke} aria-label={`Confirm revoking ${k.name}`}>
                    Confirm revoke
                  </button>
                  <button type="button" onClick={() => setConfirming(false)}>
                    Cancel
                  </button>
                </>
              ) : (
                <button type="button" class="danger" onClick={() => setConfirming(true)} aria-label={`Revoke ${k.name}`}>
                  Revoke
                </button>
              )}
            </>
          )}
          {problem && <div class="error small">{problem}</div>}
        </td>
      </tr>
      {editing && (
        <tr>
          <td colSpan={7}>
            <EditLimits api={api} k={k} onDone={() => (setEditing(false), onChange())} />
          </td>
        </tr>
      )}
    </>
  );
}

function EditLimits({ api, k, onDone }: { api: Api; k: VirtualKey; onDone: () => void }) {
  const text = (v: number | null) => (v === null ? '' : String(v));
  const [form, setForm] = useState({ rpm: text(k.rpm), tpm: text(k.tpm), max_concurrent: text(k.max_concurrent), budget_usd: text(k.budget_usd), budget_period: k.budget_period });
  const [problem, setProblem] = useState<string | null>(null);
  const field = (name: 'rpm' | 'tpm' | 'max_concurrent' | 'budget_usd') => ({
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value }),
  });
  const save = async (e: Event) => {
    e.preventDefault();
    const req = updateRequest(form);
    if ('problem' in req) return setProblem(req.problem);
    try {
      await api.updateKey(k.id, req.body);
      onDone();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <form class="form inline" onSubmit={save} aria-label={`Limits of ${k.name}`}>
      <label>
        RPM <input {...field('rpm')} />
      </label>
      <label>
        TPM <input {...field('tpm')} />
      </label>
      <label>
        Max concurrent <input {...field('max_concurrent')} />
      </label>
      <label>
        Budget (USD) <input {...field('budget_usd')} />
      </label>
      <label>
        Period
        <select value={form.budget_period} onChange={(e) => setForm({ ...form, budget_period: (e.target as HTMLSelectElement).value as 'day' | 'month' })}>
          <option value="month">month</option>
          <option value="day">day</option>
        </select>
      </label>
      <button type="submit">Save</button>
      {problem && <span class="error">{problem}</span>}
    </form>
  );
}

function TeamTable({ api, teams, rows, now, onChange }: { api: Api; teams: Team[]; rows: UsageRow[]; now: Date; onChange: () => void }) {
  const [name, setName] = useState('');
  const [budget, setBudget] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      await api.createTeam({ name: name.trim(), ...(budget.trim() ? { budget_usd: Number(budget) } : {}) });
      setName('');
      setBudget('');
      setProblem(null);
      onChange();
    } catch (err) {
      setProblem((err as Error).message);
    }
  };
  return (
    <div class="panel">
      <h3>Teams</h3>
      {teams.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Limits</th>
              <th>Spend</th>
              <th class="num">Requests (month)</th>
              <th>Status</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {teams.map((t) => (
              <tr key={t.id} data-team={t.name} class={t.revoked_at ? 'revoked' : undefined}>
                <td>{t.name}</td>
                <td>{limits(t)}</td>
                <td>
                  <BudgetBar spend={spendOf(t, rows, 'team', now)} />
                </td>
                <td class="num">{formatCount(requestsOf(t.id, rows, 'team'))}</td>
                <td>{t.revoked_at ? 'revoked' : 'active'}</td>
                <td>
                  {t.source === 'api' && !t.revoked_at && (
                    <button type="button" class="danger" onClick={() => api.revokeTeam(t.id).then(onChange, (err: Error) => setProblem(err.message))} aria-label={`Revoke team ${t.name}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form class="form inline" onSubmit={create} aria-label="Create a team">
        <label>
          Team name <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required />
        </label>
        <label>
          Monthly budget (USD) <input value={budget} onInput={(e) => setBudget((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit">Create team</button>
        {problem && <span class="error">{problem}</span>}
      </form>
    </div>
  );
}
