import { dirname, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from '../state/sqlite.js';
import { GatewayError } from '../errors.js';
import { MemoryLimiter } from './memory-limiter.js';
import { dayOf } from './periods.js';
import type { Admission, AdmitResult, BudgetPeriod, GovernanceStore, KeyRecord, LedgerEntry, Settlement, TeamRecord, UsageQuery } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS governance_keys (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  hash       TEXT NOT NULL UNIQUE,   -- sha256:<hex> of the secret; the secret is never stored
  record     TEXT NOT NULL,          -- JSON KeyRecord
  revoked_at INTEGER
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS governance_keys_live_name ON governance_keys (name) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS governance_teams (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL,
  record     TEXT NOT NULL,          -- JSON TeamRecord
  revoked_at INTEGER
) STRICT;
CREATE UNIQUE INDEX IF NOT EXISTS governance_teams_live_name ON governance_teams (name) WHERE revoked_at IS NULL;
CREATE TABLE IF NOT EXISTS governance_usage (
  day          TEXT NOT NULL,        -- UTC YYYY-MM-DD
  key_id       TEXT NOT NULL,
  team_id      TEXT NOT NULL,        -- '' without a team
  model        TEXT NOT NULL,        -- provider/model that served
  requests     INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_read_tokens INTEGER NOT NULL,
  cache_write_tokens INTEGER NOT NULL,
  cost_nusd    INTEGER NOT NULL,     -- nano-USD
  PRIMARY KEY (day, key_id, team_id, model)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS governance_usage_by_key ON governance_usage (key_id, day);
CREATE INDEX IF NOT EXISTS governance_usage_by_team ON governance_usage (team_id, day);
CREATE TABLE IF NOT EXISTS governance_meta (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
INSERT OR IGNORE INTO governance_meta (name, value) VALUES ('version', 0);
`;

interface UsageRow {
  day: string;
  key_id: string;
  team_id: string;
  model: string;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_nusd: number;
}

/** How often another process's key changes are looked for (the version row). */
const POLL_MS = 500;

/**
 * The embedded store: keys, teams and the ledger in SQLite (the file of `store: sqlite:...`, WAL),
 * limits in this process's memory. The ledger is written synchronously as each request settles,
 * before its answer's last bytes: a completed request's entry survives a crash of the process.
 * (synchronous=NORMAL: a power cut may lose the last moments; an fsync per request would stall
 * the event loop.) Limits are this instance's alone.
 */
export class SqliteGovernanceStore implements GovernanceStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly limiter: MemoryLimiter;
  private readonly stmts;
  private readonly listeners: Array<() => void> = [];
  private version: number;
  private readonly poller: NodeJS.Timeout;

  constructor(path: string) {
    this.db = openSqlite(path, 'NORMAL');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmts = {
      ledger: db.prepare(
        `INSERT INTO governance_usage (day, key_id, team_id, model, requests, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost_nusd)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (day, key_id, team_id, model) DO UPDATE SET
           requests = requests + excluded.requests,
           input_tokens = input_tokens + excluded.input_tokens,
           output_tokens = output_tokens + excluded.output_tokens,
           cache_read_tokens = cache_read_tokens + excluded.cache_read_tokens,
           cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
           cost_nusd = cost_nusd + excluded.cost_nusd`,
      ),
      keySpend: db.prepare<[string, string, string], { n: number }>(
        `SELECT COALESCE(SUM(cost_nusd), 0) AS n FROM governance_usage WHERE key_id = ? AND day >= ? AND day < ?`,
      ),
      teamSpend: db.prepare<[string, string, string], { n: number }>(
        `SELECT COALESCE(SUM(cost_nusd), 0) AS n FROM governance_usage WHERE team_id = ? AND day >= ? AND day < ?`,
      ),
      usage: db.prepare<[string, string], UsageRow>(`SELECT * FROM governance_usage WHERE day >= ? AND day <= ? ORDER BY day, key_id, model`),
      keys: db.prepare<[], { record: string }>(`SELECT record FROM governance_keys`),
      teams: db.prepare<[], { record: string }>(`SELECT record FROM governance_teams`),
      keyByHash: db.prepare<[string], { record: string }>(`SELECT record FROM governance_keys WHERE hash = ?`),
      putKey: db.prepare(`INSERT OR REPLACE INTO governance_keys (id, name, hash, record, revoked_at) VALUES (?, ?, ?, ?, ?)`),
      insertKey: db.prepare(`INSERT INTO governance_keys (id, name, hash, record, revoked_at) VALUES (?, ?, ?, ?, ?)`),
      putTeam: db.prepare(`INSERT OR REPLACE INTO governance_teams (id, name, record, revoked_at) VALUES (?, ?, ?, ?)`),
      insertTeam: db.prepare(`INSERT INTO governance_teams (id, name, record, revoked_at) VALUES (?, ?, ?, ?)`),
      bump: db.prepare(`UPDATE governance_meta SET value = value + 1 WHERE name = 'version'`),
      version: db.prepare<[], { value: number }>(`SELECT value FROM governance_meta WHERE name = 'version'`),
    };
    const ledger = this.stmts.ledger;
    this.writeLedger = this.db.transaction((rows: LedgerEntry[]) => {
      for (const e of rows) ledger.run(e.day, e.keyId, e.teamId ?? '', e.model, e.requests, e.input, e.output, e.cacheRead, e.cacheWrite, e.nusd);
    });
    this.version = this.stmts.version.get()!.value;
    this.limiter = new MemoryLimiter((subject, period, now) => this.spentSoFar(subject, period, now));
    // Another process on the same file may change keys (its admin API): notice within a second.
    this.poller = setInterval(() => {
      const v = this.stmts.version.get()!.value;
      if (v !== this.version) {
        this.version = v;
        for (const l of this.listeners) l();
      }
    }, POLL_MS);
    this.poller.unref();
  }

  admit(a: Admission): AdmitResult {
    return this.limiter.admit(a);
  }

  /**
   * Limits at once; the ledger entry in the next group commit: entries settled in the same turn of
   * the event loop are added up per row and written in one transaction, and every request waits
   * for its commit before its answer's last bytes. Under load that is one commit for many
   * requests instead of one each.
   */
  settle(s: Settlement): void | Promise<void> {
    this.limiter.settle(s);
    const e = s.ledger;
    if (!e) return;
    const id = `${e.day}\t${e.keyId}\t${e.teamId ?? ''}\t${e.model}`;
    const row = this.pending.get(id);
    if (row) {
      row.requests += e.requests;
      row.input += e.input;
      row.output += e.output;
      row.cacheRead += e.cacheRead;
      row.cacheWrite += e.cacheWrite;
      row.nusd += e.nusd;
    } else {
      this.pending.set(id, { ...e });
    }
    if (!this.committed) {
      this.committed = new Promise<void>((resolve, reject) => setImmediate(() => this.commit(resolve, reject)));
    }
    return this.committed;
  }

  private readonly pending = new Map<string, LedgerEntry>();
  private committed: Promise<void> | undefined;

  private commit(resolve: () => void, reject: (err: unknown) => void): void {
    const rows = [...this.pending.values()];
    this.pending.clear();
    this.committed = undefined;
    try {
      this.writeLedger(rows);
      resolve();
    } catch (err) {
      reject(err);
    }
  }

  /** One transaction for a group of ledger rows (built once: better-sqlite3 compiles a transaction function when it is made). */
  private readonly writeLedger: (rows: LedgerEntry[]) => void;

  async loadRecords(): Promise<{ keys: KeyRecord[]; teams: TeamRecord[] }> {
    return {
      keys: this.stmts.keys.all().map((r) => JSON.parse(r.record) as KeyRecord),
      teams: this.stmts.teams.all().map((r) => JSON.parse(r.record) as TeamRecord),
    };
  }

  async findKeyByHash(hash: string): Promise<KeyRecord | undefined> {
    const row = this.stmts.keyByHash.get(hash);
    return row ? (JSON.parse(row.record) as KeyRecord) : undefined;
  }

  async saveKey(key: KeyRecord, create: boolean): Promise<void> {
    this.write(() => (create ? this.stmts.insertKey : this.stmts.putKey).run(key.id, key.name, key.hash, JSON.stringify(key), key.revokedAt), `a key named "${key.name}"`);
  }

  async saveTeam(team: TeamRecord, create: boolean): Promise<void> {
    this.write(() => (create ? this.stmts.insertTeam : this.stmts.putTeam).run(team.id, team.name, JSON.stringify(team), team.revokedAt), `a team named "${team.name}"`);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async usage(q: UsageQuery): Promise<LedgerEntry[]> {
    return this.stmts
      .usage.all(q.from, q.to)
      .filter((r) => (q.keyId === undefined || r.key_id === q.keyId) && (q.teamId === undefined || r.team_id === q.teamId) && (q.model === undefined || r.model === q.model))
      .map((r) => ({
        day: r.day,
        keyId: r.key_id,
        teamId: r.team_id === '' ? null : r.team_id,
        model: r.model,
        requests: r.requests,
        input: r.input_tokens,
        output: r.output_tokens,
        cacheRead: r.cache_read_tokens,
        cacheWrite: r.cache_write_tokens,
        nusd: r.cost_nusd,
      }));
  }

  async ping(): Promise<void> {
    this.stmts.version.get();
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    await this.committed?.catch(() => undefined);
    this.db.close();
  }

  private write(run: () => unknown, what: string): void {
    try {
      this.db.transaction(() => {
        run();
        this.stmts.bump.run();
      })();
      this.version = this.stmts.version.get()!.value;
    } catch (err) {
      if ((err as { code?: string }).code?.startsWith('SQLITE_CONSTRAINT')) {
        throw new GatewayError(409, `${what} already exists (names of live keys and teams are unique)`, { type: 'conflict_error' });
      }
      throw err;
    }
  }

  private spentSoFar(subjectId: string, period: BudgetPeriod, now: number): number {
    const [from, to] = periodDays(period, now);
    const id = subjectId.slice(2);
    return (subjectId.startsWith('k:') ? this.stmts.keySpend : this.stmts.teamSpend).get(id, from, to)!.n;
  }
}

/** [first day, first day of the next period) of the period containing `now`. */
function periodDays(period: BudgetPeriod, now: number): [string, string] {
  const d = new Date(now);
  if (period === 'day') return [dayOf(now), dayOf(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1))];
  return [dayOf(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)), dayOf(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))];
}
