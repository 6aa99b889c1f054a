import type Database from 'better-sqlite3';
import { openSqlite } from '../state/sqlite.js';
import { LeasePool, type LeaseQueue } from './lease-pool.js';
import {
  fitsQueuedBytes,
  QueueFullError,
  type ClaimedJob,
  type JobOutcome,
  type JobRunner,
  type JobStatus,
  type JobStore,
  type JobView,
  type NewJob,
} from './types.js';

export interface SqliteStoreOptions {
  /** File path, or ":memory:" (one process only; nothing survives it). */
  path: string;
  maxQueued: number;
  /** Bytes of stored requests (their JSON) the waiting jobs may hold together; one job always fits. */
  maxQueuedBytes: number;
  /** Bytes of results (finished jobs' outcomes, their JSON) kept until they expire, past which a submit is refused. Default: no limit. */
  maxResultsBytes?: number;
  concurrency: number;
  leaseMs: number;
  onError: (err: unknown) => void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS async_jobs (
  id           TEXT PRIMARY KEY,
  owner        TEXT NOT NULL,
  model        TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  request      TEXT,              -- JSON StoredRequest; NULL once the job finished
  request_bytes INTEGER NOT NULL DEFAULT 0, -- its UTF-8 length, for async.max_queued_mb
  ttl_s        INTEGER NOT NULL,
  attempts     INTEGER NOT NULL DEFAULT 0,
  lease_holder TEXT,
  lease_until  INTEGER,           -- ms since epoch; a running job past it is up for grabs
  created_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  expires_at   INTEGER,           -- finished_at + ttl_s * 1000
  outcome      TEXT,              -- JSON JobOutcome
  outcome_bytes INTEGER NOT NULL DEFAULT 0 -- its UTF-8 length, for async.max_results_mb
) STRICT;
-- One row: the bytes of every outcome in async_jobs, kept with each finish and sweep.
CREATE TABLE IF NOT EXISTS async_result_bytes (
  one   INTEGER PRIMARY KEY CHECK (one = 1),
  bytes INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS async_jobs_by_status ON async_jobs (status, created_at);
CREATE INDEX IF NOT EXISTS async_jobs_by_expiry ON async_jobs (expires_at) WHERE expires_at IS NOT NULL;
`;

interface JobRow {
  owner: string;
  model: string;
  status: JobStatus;
  outcome: string | null;
  expires_at: number | null;
}

/**
 * Jobs in one SQLite file (WAL). Workers claim a job by taking a lease on its row and renew it
 * while they run; a row whose lease lapsed (its process died) is claimed again. Several
 * processes on one machine may share the file.
 */
export class SqliteJobStore implements JobStore, LeaseQueue {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly submitTx: (job: NewJob) => void;
  private readonly finishTx: (id: string, holder: string, outcome: JobOutcome) => boolean;
  private readonly sweepTx: (now: number) => number;
  private pool?: LeasePool;

  constructor(private readonly opts: SqliteStoreOptions) {
    // FULL: a job the client was told about survives a power cut too, not just a crash.
    this.db = openSqlite(opts.path, 'FULL');
    this.db.exec(SCHEMA);
    const db = this.db;
    // Files made by earlier versions get their new columns, and the total of the results held is
    // measured again, all in one IMMEDIATE transaction: processes opening the file at once see the
    // columns one of them added, and a total that drifted while a version that does not keep it
    // shared the file (its sweep deletes results without taking them off) is right again.
    db.transaction(() => {
      const columns = db.prepare<[], { name: string }>(`SELECT name FROM pragma_table_info('async_jobs')`).all();
      // Made before request_bytes existed: its waiting jobs count as 0 bytes.
      if (!columns.some((c) => c.name === 'request_bytes')) db.exec(`ALTER TABLE async_jobs ADD COLUMN request_bytes INTEGER NOT NULL DEFAULT 0`);
      // Made before outcome_bytes existed: its results are measured here.
      if (!columns.some((c) => c.name === 'outcome_bytes')) {
        db.exec(`ALTER TABLE async_jobs ADD COLUMN outcome_bytes INTEGER NOT NULL DEFAULT 0`);
        db.exec(`UPDATE async_jobs SET outcome_bytes = length(CAST(outcome AS BLOB)) WHERE outcome IS NOT NULL`);
      }
      db.exec(
        `INSERT INTO async_result_bytes (one, bytes) SELECT 1, total(outcome_bytes) FROM async_jobs WHERE true
           ON CONFLICT (one) DO UPDATE SET bytes = excluded.bytes`,
      );
    }).immediate();
    this.stmts = {
      countQueued: db.prepare<[], { n: number; bytes: number }>(
        `SELECT count(*) AS n, total(request_bytes) AS bytes FROM async_jobs WHERE status = 'queued'`,
      ),
      insert: db.prepare(
        `INSERT INTO async_jobs (id, owner, model, status, request, request_bytes, ttl_s, created_at)
         VALUES (@id, @owner, @model, 'queued', @request, @requestBytes, @ttlS, @createdAt)`,
      ),
      get: db.prepare<[string], JobRow>(`SELECT owner, model, status, outcome, expires_at FROM async_jobs WHERE id = ?`),
      claim: db.prepare<{ holder: string; now: number; until: number }, { id: string; request: string; attempts: number }>(
        `UPDATE async_jobs
            SET status = 'running', lease_holder = @holder, lease_until = @until, attempts = attempts + 1
          WHERE id = (SELECT id FROM async_jobs
                       -- The IN keeps the scan on the index: finished rows may be many, pending ones are few.
                       WHERE status IN ('queued', 'running')
                         -- A lapsed lease of our own is a stalled event loop, not a dead worker: keep running it.
                         AND (status = 'queued' OR (lease_until < @now AND lease_holder <> @holder))
                       ORDER BY created_at LIMIT 1)
          RETURNING id, request, attempts`,
      ),
      renew: db.prepare(
        `UPDATE async_jobs SET lease_until = @until WHERE id = @id AND lease_holder = @holder AND status = 'running'`,
      ),
      finish: db.prepare(
        `UPDATE async_jobs
            SET status = @status, outcome = @outcome, outcome_bytes = @outcomeBytes, request = NULL, lease_holder = NULL,
                lease_until = NULL, finished_at = @now, expires_at = @now + ttl_s * 1000
          WHERE id = @id AND lease_holder = @holder AND status = 'running'`,
      ),
      resultBytes: db.prepare<[], { bytes: number }>(`SELECT bytes FROM async_result_bytes WHERE one = 1`),
      addResultBytes: db.prepare<[number]>(`UPDATE async_result_bytes SET bytes = bytes + ? WHERE one = 1`),
      release: db.prepare(
        `UPDATE async_jobs SET status = 'queued', lease_holder = NULL, lease_until = NULL, attempts = max(attempts - 1, 0)
          WHERE id = @id AND lease_holder = @holder AND status = 'running'`,
      ),
      sweep: db.prepare(`DELETE FROM async_jobs WHERE expires_at <= ?`),
      expiredBytes: db.prepare<[number], { bytes: number }>(`SELECT total(outcome_bytes) AS bytes FROM async_jobs WHERE expires_at <= ?`),
      depth: db.prepare<[], { status: JobStatus; n: number }>(
        `SELECT status, count(*) AS n FROM async_jobs WHERE status IN ('queued', 'running') GROUP BY status`,
      ),
    };
    // IMMEDIATE: the count and the insert see the same queue, across processes too.
    const maxResultsBytes = opts.maxResultsBytes ?? Infinity;
    const submitTx = this.db.transaction((job: NewJob) => {
      if (this.stmts.resultBytes.get()!.bytes >= maxResultsBytes) throw QueueFullError.results(maxResultsBytes);
      const { n, bytes } = this.stmts.countQueued.get()!;
      if (n >= this.opts.maxQueued) throw QueueFullError.jobs(this.opts.maxQueued);
      const request = JSON.stringify(job.request);
      const requestBytes = Buffer.byteLength(request);
      if (!fitsQueuedBytes(n, bytes, requestBytes, this.opts.maxQueuedBytes)) throw QueueFullError.bytes(this.opts.maxQueuedBytes);
      this.stmts.insert.run({
        id: job.id,
        owner: job.owner,
        model: job.model,
        request,
        requestBytes,
        ttlS: job.ttlS,
        createdAt: job.createdAt,
      });
    });
    this.submitTx = (job) => submitTx.immediate(job);
    // The outcome and the total of them change together, or not at all.
    const finishTx = this.db.transaction((id: string, holder: string, outcome: JobOutcome): boolean => {
      const json = JSON.stringify(outcome);
      const outcomeBytes = Buffer.byteLength(json);
      const done = this.stmts.finish.run({ id, holder, status: outcome.status, outcome: json, outcomeBytes, now: Date.now() }).changes === 1;
      if (done) this.stmts.addResultBytes.run(outcomeBytes);
      return done;
    });
    this.finishTx = (id, holder, outcome) => finishTx.immediate(id, holder, outcome);
    const sweepTx = this.db.transaction((now: number): number => {
      const { bytes } = this.stmts.expiredBytes.get(now)!;
      if (bytes > 0) this.stmts.addResultBytes.run(-bytes);
      return this.stmts.sweep.run(now).changes;
    });
    this.sweepTx = (now) => sweepTx.immediate(now);
  }

  /** Bytes of the results kept (finished jobs' outcomes, expired ones until the sweep deletes them). */
  resultBytes(): number {
    return this.stmts.resultBytes.get()!.bytes;
  }

  async submit(job: NewJob): Promise<void> {
    this.submitTx(job);
    this.pool?.wake();
  }

  async get(id: string): Promise<JobView | undefined> {
    const row = this.stmts.get.get(id);
    if (!row) return undefined;
    if (row.expires_at !== null && row.expires_at <= Date.now()) return undefined;
    return {
      id,
      owner: row.owner,
      model: row.model,
      status: row.status,
      outcome: row.outcome === null ? undefined : (JSON.parse(row.outcome) as JobOutcome),
    };
  }

  start(run: JobRunner): void {
    if (this.pool) return;
    this.pool = new LeasePool(this, run, {
      concurrency: this.opts.concurrency,
      leaseMs: this.opts.leaseMs,
      // Polling finds jobs submitted by other processes on this file and leases that lapsed.
      pollMs: Math.min(1000, Math.max(50, Math.floor(this.opts.leaseMs / 2))),
      onError: this.opts.onError,
    });
    this.pool.start();
  }

  async sweep(): Promise<number> {
    return this.sweepTx(Date.now());
  }

  async depth(): Promise<{ queued: number; running: number }> {
    const out = { queued: 0, running: 0 };
    for (const row of this.stmts.depth.all()) out[row.status as 'queued' | 'running'] = row.n;
    return out;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.pool?.close();
    this.db.close();
  }

  // LeaseQueue: what the worker pool does with rows.

  claim(holder: string, leaseMs: number): ClaimedJob | undefined {
    const now = Date.now();
    const row = this.stmts.claim.get({ holder, now, until: now + leaseMs });
    if (!row) return undefined;
    return { id: row.id, request: JSON.parse(row.request), attempts: row.attempts };
  }

  renew(id: string, holder: string, leaseMs: number): boolean {
    return this.stmts.renew.run({ id, holder, until: Date.now() + leaseMs }).changes === 1;
  }

  finish(id: string, holder: string, outcome: JobOutcome): boolean {
    return this.finishTx(id, holder, outcome);
  }

  release(id: string, holder: string): void {
    this.stmts.release.run({ id, holder });
  }
}
