import type Database from 'better-sqlite3';
import { openSqlite } from '../../state/sqlite.js';
import type { ClaimedJob } from '../types.js';
import { PendingLimitError } from './errors.js';
import { resultLine, unrunResult } from './result-line.js';
import {
  parseRequestKey,
  requestKey,
  type BatchContext,
  type BatchPage,
  type BatchRecord,
  type BatchState,
  type BatchStore,
  type NativeBatch,
  type NewBatch,
  type NewBatchRequest,
  type RequestResult,
  type ResultLine,
  type Settled,
  type StoredBatchRequest,
  type SweepReport,
} from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS message_batches (
  seq                 INTEGER PRIMARY KEY AUTOINCREMENT,  -- list order; never reused
  id                  TEXT NOT NULL UNIQUE,
  owner               TEXT NOT NULL,
  state               TEXT NOT NULL CHECK (state IN ('receiving', 'in_progress', 'canceling', 'ended')),
  total               INTEGER NOT NULL DEFAULT 0,
  next_index          INTEGER NOT NULL DEFAULT 0,        -- requests below it were claimed at least once
  processing          INTEGER NOT NULL DEFAULT 0,
  succeeded           INTEGER NOT NULL DEFAULT 0,
  errored             INTEGER NOT NULL DEFAULT 0,
  canceled            INTEGER NOT NULL DEFAULT 0,
  expired             INTEGER NOT NULL DEFAULT 0,
  created_at          INTEGER NOT NULL,
  expires_at          INTEGER NOT NULL,
  ended_at            INTEGER,
  cancel_initiated_at INTEGER,
  results_until       INTEGER NOT NULL,
  delete_at           INTEGER NOT NULL,
  archived            INTEGER NOT NULL DEFAULT 0,        -- results deleted
  context             TEXT,                              -- JSON BatchContext; NULL once ended
  native              TEXT                               -- JSON NativeBatch
) STRICT;
CREATE INDEX IF NOT EXISTS message_batches_by_owner ON message_batches (owner, seq);
CREATE INDEX IF NOT EXISTS message_batches_open ON message_batches (state, seq) WHERE state <> 'ended';
CREATE INDEX IF NOT EXISTS message_batches_to_archive ON message_batches (results_until) WHERE archived = 0;
CREATE INDEX IF NOT EXISTS message_batches_to_delete ON message_batches (delete_at);

CREATE TABLE IF NOT EXISTS message_batch_requests (
  batch_seq    INTEGER NOT NULL,
  idx          INTEGER NOT NULL,
  custom_id    TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'errored', 'canceled', 'expired')),
  params       TEXT,              -- JSON; NULL once the request has its result
  attempts     INTEGER NOT NULL DEFAULT 0,
  lease_holder TEXT,
  lease_until  INTEGER,           -- set once claimed: a queued row with one was handed back
  result       TEXT,              -- JSON result object of a succeeded or errored request
  PRIMARY KEY (batch_seq, idx)
) STRICT, WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS message_batch_requests_leased ON message_batch_requests (lease_until)
  WHERE status IN ('queued', 'running') AND lease_until IS NOT NULL;

-- Requests of deleted or archived batches, deleted a chunk at a time by the sweep.
CREATE TABLE IF NOT EXISTS message_batch_purge (
  batch_seq  INTEGER PRIMARY KEY,
  next_index INTEGER NOT NULL DEFAULT 0
) STRICT;
`;

interface BatchRow {
  seq: number;
  id: string;
  owner: string;
  state: BatchState;
  total: number;
  next_index: number;
  processing: number;
  succeeded: number;
  errored: number;
  canceled: number;
  expired: number;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  cancel_initiated_at: number | null;
  results_until: number;
  native: string | null;
}

const BATCH_COLUMNS = `seq, id, owner, state, total, next_index, processing, succeeded, errored, canceled, expired,
  created_at, expires_at, ended_at, cancel_initiated_at, results_until, native`;

/** Rows deleted per statement when a batch's requests are purged. */
const PURGE_CHUNK = 2000;
/** Purge statements per sweep call: the sweep is called again (after yielding) while there is more. */
const PURGE_STEPS = 10;
/** Batches archived, deleted or forgotten per sweep call. */
const SWEEP_BATCHES = 100;
/** Contexts (headers, sealed credential) of open batches kept parsed; a miss only costs a read. */
const CONTEXT_CACHE = 256;

function toRecord(row: BatchRow): BatchRecord {
  return {
    id: row.id,
    owner: row.owner,
    state: row.state,
    counts: { processing: row.processing, succeeded: row.succeeded, errored: row.errored, canceled: row.canceled, expired: row.expired },
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    endedAt: row.ended_at,
    cancelInitiatedAt: row.cancel_initiated_at,
    resultsUntil: row.results_until,
    ...(row.native ? { native: JSON.parse(row.native) as NativeBatch } : {}),
  };
}

export interface SqliteBatchStoreOptions {
  /** File path (the async jobs' database), or ":memory:". */
  path: string;
}

/**
 * Batches in SQLite (WAL), beside the async jobs' table in the same file. A request is claimed by
 * taking a lease on its row: first a row handed back or whose worker's lease lapsed, else the next
 * never-claimed row of the oldest open batch (a cursor per batch, so claiming never scans queued
 * rows). Commits are `synchronous = NORMAL` (a result survives a crash of the process; a power cut
 * may lose the last ones, which then run again), except the one that opens a batch, which is FULL:
 * a batch the client was told about survives a power cut too.
 */
export class SqliteBatchStore implements BatchStore {
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly contexts = new Map<number, { id: string; context: BatchContext }>();
  private readonly claimTx: (holder: string, leaseMs: number) => ClaimedJob | undefined;
  private readonly finishTx: (id: string, holder: string, result: RequestResult) => boolean;
  private readonly settleTx: (batchId: string, now: number, limit: number) => Settled;

  constructor(opts: SqliteBatchStoreOptions) {
    this.db = openSqlite(opts.path, 'NORMAL');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmts = {
      insertBatch: db.prepare(
        `INSERT INTO message_batches (id, owner, state, created_at, expires_at, results_until, delete_at)
         VALUES (@id, @owner, 'receiving', @createdAt, @expiresAt, @resultsUntil, @deleteAt)`,
      ),
      insertRequest: db.prepare(
        `INSERT INTO message_batch_requests (batch_seq, idx, custom_id, status, params) VALUES (@seq, @index, @customId, 'queued', @params)`,
      ),
      seqOf: db.prepare<[string], { seq: number; state: BatchState }>(`SELECT seq, state FROM message_batches WHERE id = ?`),
      byId: db.prepare<[string], BatchRow>(`SELECT ${BATCH_COLUMNS} FROM message_batches WHERE id = ? AND state <> 'receiving'`),
      bySeq: db.prepare<[number], BatchRow>(`SELECT ${BATCH_COLUMNS} FROM message_batches WHERE seq = ?`),
      pending: db.prepare<[], { n: number }>(
        `SELECT coalesce(sum(processing), 0) AS n FROM message_batches WHERE state IN ('in_progress', 'canceling') AND native IS NULL`,
      ),
      open: db.prepare(
        `UPDATE message_batches SET state = 'in_progress', total = @total, processing = @total, context = @context
          WHERE id = @id AND state = 'receiving'`,
      ),
      openNative: db.prepare(
        `UPDATE message_batches SET state = 'in_progress', total = @total, processing = @total, next_index = @total, native = @native, context = NULL
          WHERE id = @id AND state = 'receiving'`,
      ),
      updateNative: db.prepare(
        `UPDATE message_batches
            SET state = @state, processing = @processing, succeeded = @succeeded, errored = @errored, canceled = @canceled,
                expired = @expired, ended_at = @endedAt, cancel_initiated_at = @cancelInitiatedAt
          WHERE id = @id AND native IS NOT NULL`,
      ),
      context: db.prepare<[number], { id: string; context: string | null }>(`SELECT id, context FROM message_batches WHERE seq = ?`),
      lapsed: db.prepare<{ holder: string; now: number }, { batch_seq: number; idx: number }>(
        `SELECT r.batch_seq, r.idx FROM message_batch_requests r JOIN message_batches b ON b.seq = r.batch_seq
          WHERE r.status IN ('queued', 'running') AND r.lease_until IS NOT NULL AND r.lease_until < @now
            -- A lapsed lease of our own is a stalled event loop, not a dead worker: keep running it.
            AND (r.lease_holder IS NULL OR r.lease_holder <> @holder)
            AND b.state = 'in_progress' AND b.expires_at > @now
          ORDER BY r.lease_until LIMIT 1`,
      ),
      nextBatch: db.prepare<{ now: number }, { seq: number; next_index: number }>(
        `SELECT seq, next_index FROM message_batches
          WHERE state = 'in_progress' AND expires_at > @now AND next_index < total
          ORDER BY seq LIMIT 1`,
      ),
      advance: db.prepare(`UPDATE message_batches SET next_index = next_index + 1 WHERE seq = ?`),
      take: db.prepare<{ seq: number; idx: number; holder: string; until: number }, { params: string; attempts: number }>(
        `UPDATE message_batch_requests SET status = 'running', lease_holder = @holder, lease_until = @until, attempts = attempts + 1
          WHERE batch_seq = @seq AND idx = @idx AND status IN ('queued', 'running')
          RETURNING params, attempts`,
      ),
      // Refused once the batch has expired: the worker aborts, and the request ends `expired`.
      renew: db.prepare(
        `UPDATE message_batch_requests SET lease_until = @until
          WHERE batch_seq = @seq AND idx = @idx AND lease_holder = @holder AND status = 'running'
            AND (SELECT expires_at FROM message_batches WHERE seq = @seq) > @now`,
      ),
      finishRequest: db.prepare(
        `UPDATE message_batch_requests
            SET status = @outcome, result = @result, params = NULL, lease_holder = NULL, lease_until = NULL
          WHERE batch_seq = @seq AND idx = @idx AND lease_holder = @holder AND status = 'running'`,
      ),
      count: db.prepare(
        // Every SET expression sees the row as it was: processing = @n means this takes it to 0.
        `UPDATE message_batches
            SET processing = processing - @n, succeeded = succeeded + @succeeded, errored = errored + @errored,
                canceled = canceled + @canceled, expired = expired + @expired,
                state = CASE WHEN processing = @n THEN 'ended' ELSE state END,
                ended_at = CASE WHEN processing = @n THEN @now ELSE ended_at END,
                context = CASE WHEN processing = @n THEN NULL ELSE context END
          WHERE seq = @seq`,
      ),
      release: db.prepare(
        `UPDATE message_batch_requests SET status = 'queued', lease_holder = NULL, lease_until = 0, attempts = max(attempts - 1, 0)
          WHERE batch_seq = @seq AND idx = @idx AND lease_holder = @holder AND status = 'running'`,
      ),
      settleLeased: db.prepare(
        `UPDATE message_batch_requests SET status = @outcome, params = NULL, lease_holder = NULL, lease_until = NULL
          WHERE batch_seq = @seq AND idx IN (
            SELECT idx FROM message_batch_requests
             WHERE batch_seq = @seq AND status IN ('queued', 'running') AND lease_until IS NOT NULL AND lease_until < @now
             LIMIT @limit)`,
      ),
      settleRange: db.prepare(
        `UPDATE message_batch_requests SET status = @outcome, params = NULL
          WHERE batch_seq = @seq AND idx >= @from AND idx < @to AND status = 'queued'`,
      ),
      setNext: db.prepare(`UPDATE message_batches SET next_index = @to WHERE seq = @seq`),
      leasedLeft: db.prepare<{ seq: number; now: number }, { n: number }>(
        `SELECT count(*) AS n FROM message_batch_requests
          WHERE batch_seq = @seq AND status IN ('queued', 'running') AND lease_until IS NOT NULL AND lease_until < @now`,
      ),
      unsettled: db.prepare<{ now: number; limit: number }, { id: string }>(
        `SELECT id FROM message_batches
          WHERE state = 'canceling' OR (state = 'in_progress' AND expires_at <= @now)
          ORDER BY seq LIMIT @limit`,
      ),
      cancel: db.prepare(
        `UPDATE message_batches SET state = 'canceling', cancel_initiated_at = @now WHERE id = @id AND state = 'in_progress' AND native IS NULL`,
      ),
      deleteBatch: db.prepare(`DELETE FROM message_batches WHERE seq = ?`),
      purgeLater: db.prepare(`INSERT OR IGNORE INTO message_batch_purge (batch_seq) VALUES (?)`),
      purgeNext: db.prepare<[], { batch_seq: number; next_index: number }>(`SELECT batch_seq, next_index FROM message_batch_purge LIMIT 1`),
      purgeMax: db.prepare<[number], { m: number | null }>(`SELECT max(idx) AS m FROM message_batch_requests WHERE batch_seq = ?`),
      purgeChunk: db.prepare(`DELETE FROM message_batch_requests WHERE batch_seq = @seq AND idx >= @from AND idx < @to`),
      purgeAdvance: db.prepare(`UPDATE message_batch_purge SET next_index = @to WHERE batch_seq = @seq`),
      purgeDone: db.prepare(`DELETE FROM message_batch_purge WHERE batch_seq = ?`),
      toArchive: db.prepare<{ now: number; limit: number }, { seq: number }>(
        `SELECT seq FROM message_batches WHERE archived = 0 AND results_until <= @now LIMIT @limit`,
      ),
      archive: db.prepare(`UPDATE message_batches SET archived = 1 WHERE seq = ?`),
      toDelete: db.prepare<{ now: number; staleBefore: number; limit: number }, { seq: number }>(
        `SELECT seq FROM message_batches WHERE delete_at <= @now
         UNION SELECT seq FROM message_batches WHERE state = 'receiving' AND created_at < @staleBefore
         LIMIT @limit`,
      ),
      results: db.prepare<{ seq: number; after: number; limit: number }, { idx: number; custom_id: string; status: string; result: string | null }>(
        `SELECT idx, custom_id, status, result FROM message_batch_requests
          WHERE batch_seq = @seq AND idx > @after ORDER BY idx LIMIT @limit`,
      ),
      requests: db.prepare<{ seq: number; after: number; limit: number }, { idx: number; custom_id: string; params: string | null }>(
        `SELECT idx, custom_id, params FROM message_batch_requests
          WHERE batch_seq = @seq AND idx > @after ORDER BY idx LIMIT @limit`,
      ),
      live: db.prepare<{ limit: number }, BatchRow>(
        `SELECT ${BATCH_COLUMNS} FROM message_batches WHERE state IN ('in_progress', 'canceling') ORDER BY seq DESC LIMIT @limit`,
      ),
      newest: db.prepare<{ owner: string; lo: number; hi: number; limit: number }, BatchRow>(
        `SELECT ${BATCH_COLUMNS} FROM message_batches
          WHERE owner = @owner AND state <> 'receiving' AND seq > @lo AND seq < @hi ORDER BY seq DESC LIMIT @limit`,
      ),
      oldest: db.prepare<{ owner: string; lo: number; hi: number; limit: number }, BatchRow>(
        `SELECT ${BATCH_COLUMNS} FROM message_batches
          WHERE owner = @owner AND state <> 'receiving' AND seq > @lo AND seq < @hi ORDER BY seq ASC LIMIT @limit`,
      ),
      cursor: db.prepare<{ id: string; owner: string }, { seq: number }>(`SELECT seq FROM message_batches WHERE id = @id AND owner = @owner`),
    };

    this.claimTx = this.immediate((holder: string, leaseMs: number): ClaimedJob | undefined => {
      const now = Date.now();
      let target = this.stmts.lapsed.get({ holder, now });
      if (!target) {
        const batch = this.stmts.nextBatch.get({ now });
        if (!batch) return undefined;
        this.stmts.advance.run(batch.seq);
        target = { batch_seq: batch.seq, idx: batch.next_index };
      }
      const row = this.stmts.take.get({ seq: target.batch_seq, idx: target.idx, holder, until: now + leaseMs });
      if (!row) return undefined;
      const { id, context } = this.contextOf(target.batch_seq);
      return {
        id: requestKey(id, target.idx),
        request: { ...context, body: JSON.parse(row.params) },
        attempts: row.attempts,
        credentialScope: id,
      };
    });

    this.finishTx = this.immediate((key: string, holder: string, { outcome, result }: RequestResult): boolean => {
      const { batchId, index } = parseRequestKey(key);
      const batch = this.stmts.seqOf.get(batchId);
      if (!batch) return false;
      const changed = this.stmts.finishRequest.run({ seq: batch.seq, idx: index, holder, outcome, result }).changes === 1;
      if (!changed) return false;
      this.count(batch.seq, 1, outcome, Date.now());
      return true;
    });

    this.settleTx = this.immediate((batchId: string, now: number, limit: number): Settled => {
      const nothing: Settled = { outcome: undefined, settled: 0, left: 0 };
      const row = this.stmts.seqOf.get(batchId);
      if (!row) return nothing;
      const batch = this.stmts.bySeq.get(row.seq)!;
      const outcome = batch.state === 'canceling' ? 'canceled' : batch.state === 'in_progress' && batch.expires_at <= now ? 'expired' : undefined;
      if (outcome === undefined || batch.native !== null) return nothing;
      const leased = this.stmts.settleLeased.run({ seq: batch.seq, outcome, now, limit }).changes;
      const to = Math.min(batch.total, batch.next_index + Math.max(0, limit - leased));
      const fresh = to > batch.next_index ? this.stmts.settleRange.run({ seq: batch.seq, outcome, from: batch.next_index, to }).changes : 0;
      if (to > batch.next_index) this.stmts.setNext.run({ seq: batch.seq, to });
      if (leased + fresh > 0) this.count(batch.seq, leased + fresh, outcome, now);
      return { outcome, settled: leased + fresh, left: batch.total - to + this.stmts.leasedLeft.get({ seq: batch.seq, now })!.n };
    });
  }

  /** A function run in one IMMEDIATE transaction: the read and the write see the same rows, across processes too. */
  private immediate<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    const tx = this.db.transaction(fn);
    return (...args: A) => tx.immediate(...args);
  }

  private count(seq: number, n: number, outcome: string, now: number): void {
    this.stmts.count.run({
      seq,
      n,
      now,
      succeeded: outcome === 'succeeded' ? n : 0,
      errored: outcome === 'errored' ? n : 0,
      canceled: outcome === 'canceled' ? n : 0,
      expired: outcome === 'expired' ? n : 0,
    });
  }

  private contextOf(seq: number): { id: string; context: BatchContext } {
    let entry = this.contexts.get(seq);
    if (!entry) {
      const row = this.stmts.context.get(seq)!;
      entry = { id: row.id, context: JSON.parse(row.context ?? 'null') as BatchContext };
      if (this.contexts.size >= CONTEXT_CACHE) this.contexts.clear();
      this.contexts.set(seq, entry);
    }
    return entry;
  }

  private seq(batchId: string): number | undefined {
    return this.stmts.seqOf.get(batchId)?.seq;
  }

  async begin(batch: NewBatch): Promise<void> {
    this.stmts.insertBatch.run({
      id: batch.id,
      owner: batch.owner,
      createdAt: batch.createdAt,
      expiresAt: batch.expiresAt,
      resultsUntil: batch.resultsUntil,
      deleteAt: batch.deleteAt,
    });
  }

  async addRequests(batchId: string, requests: NewBatchRequest[]): Promise<void> {
    const seq = this.seq(batchId);
    if (seq === undefined) throw new Error(`batch ${batchId} is not being received`);
    this.db.transaction(() => {
      for (const r of requests) this.stmts.insertRequest.run({ seq, index: r.index, customId: r.customId, params: r.params });
    })();
  }

  async open(batchId: string, total: number, maxPending: number, context: BatchContext): Promise<void> {
    this.db.pragma('synchronous = FULL');
    try {
      this.immediate(() => {
        const { n } = this.stmts.pending.get()!;
        if (n + total > maxPending) throw new PendingLimitError(maxPending, n);
        if (this.stmts.open.run({ id: batchId, total, context: JSON.stringify(context) }).changes !== 1) throw new Error(`batch ${batchId} is not being received`);
      })();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  async openNative(batchId: string, total: number, native: NativeBatch): Promise<void> {
    this.db.pragma('synchronous = FULL');
    try {
      this.immediate(() => {
        if (this.stmts.openNative.run({ id: batchId, total, native: JSON.stringify(native) }).changes !== 1) {
          throw new Error(`batch ${batchId} is not being received`);
        }
        const seq = this.seq(batchId);
        if (seq !== undefined) this.stmts.purgeLater.run(seq);
      })();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  async updateNative(batchId: string, u: Pick<BatchRecord, 'state' | 'counts' | 'endedAt' | 'cancelInitiatedAt'>): Promise<void> {
    this.stmts.updateNative.run({ id: batchId, state: u.state, ...u.counts, endedAt: u.endedAt, cancelInitiatedAt: u.cancelInitiatedAt });
  }

  async discard(batchId: string): Promise<void> {
    this.remove(batchId);
  }

  async get(id: string): Promise<BatchRecord | undefined> {
    const row = this.stmts.byId.get(id);
    return row ? toRecord(row) : undefined;
  }

  async list(owner: string, page: { limit: number; beforeId?: string; afterId?: string }): Promise<BatchPage> {
    let lo = 0;
    let hi = Number.MAX_SAFE_INTEGER;
    if (page.afterId !== undefined) {
      const at = this.stmts.cursor.get({ id: page.afterId, owner });
      if (!at) return { batches: [], hasMore: false };
      hi = at.seq;
    }
    if (page.beforeId !== undefined) {
      const at = this.stmts.cursor.get({ id: page.beforeId, owner });
      if (!at) return { batches: [], hasMore: false };
      lo = at.seq;
    }
    // before_id alone pages towards newer batches: take the ones right after it, shown newest first.
    const towardsNewer = page.beforeId !== undefined && page.afterId === undefined;
    const rows = (towardsNewer ? this.stmts.oldest : this.stmts.newest).all({ owner, lo, hi, limit: page.limit + 1 });
    const hasMore = rows.length > page.limit;
    const kept = rows.slice(0, page.limit);
    if (towardsNewer) kept.reverse();
    return { batches: kept.map(toRecord), hasMore };
  }

  async live(limit: number): Promise<BatchRecord[]> {
    return this.stmts.live.all({ limit }).map(toRecord);
  }

  async requests(batchId: string, afterIndex: number, limit: number): Promise<StoredBatchRequest[]> {
    const seq = this.seq(batchId);
    if (seq === undefined) return [];
    return this.stmts.requests
      .all({ seq, after: afterIndex, limit })
      .filter((r) => r.params !== null)
      .map((r) => ({ index: r.idx, customId: r.custom_id, params: r.params! }));
  }

  async cancel(id: string, now: number): Promise<BatchRecord | undefined> {
    this.stmts.cancel.run({ id, now });
    return this.get(id);
  }

  async delete(id: string): Promise<boolean> {
    return this.remove(id);
  }

  private remove(id: string): boolean {
    return this.db.transaction(() => {
      const seq = this.seq(id);
      if (seq === undefined) return false;
      this.stmts.deleteBatch.run(seq);
      this.stmts.purgeLater.run(seq);
      this.contexts.delete(seq);
      return true;
    })();
  }

  async results(batchId: string, afterIndex: number, limit: number, maxChars = Infinity): Promise<ResultLine[]> {
    const seq = this.seq(batchId);
    if (seq === undefined) return [];
    const out: ResultLine[] = [];
    let chars = 0;
    // Row by row, so a page stops at maxChars without reading the rows after it.
    for (const r of this.stmts.results.iterate({ seq, after: afterIndex, limit })) {
      // In an ended batch every request is succeeded or errored (with a result), canceled or expired.
      const line = resultLine(r.custom_id, r.result ?? unrunResult(r.status === 'expired' ? 'expired' : 'canceled'));
      if (out.length > 0 && chars + line.length + 1 > maxChars) break;
      out.push({ index: r.idx, line });
      chars += line.length + 1;
    }
    return out;
  }

  async settle(batchId: string, now: number, limit: number): Promise<Settled> {
    return this.settleTx(batchId, now, limit);
  }

  async unsettled(now: number, limit: number): Promise<string[]> {
    return this.stmts.unsettled.all({ now, limit }).map((r) => r.id);
  }

  async sweep(now: number, staleReceivingBefore: number): Promise<SweepReport> {
    let archived = 0;
    let deleted = 0;
    this.db.transaction(() => {
      for (const { seq } of this.stmts.toArchive.all({ now, limit: SWEEP_BATCHES })) {
        this.stmts.archive.run(seq);
        this.stmts.purgeLater.run(seq);
        archived++;
      }
      for (const { seq } of this.stmts.toDelete.all({ now, staleBefore: staleReceivingBefore, limit: SWEEP_BATCHES })) {
        this.stmts.deleteBatch.run(seq);
        this.stmts.purgeLater.run(seq);
        this.contexts.delete(seq);
        deleted++;
      }
    })();
    let more = archived === SWEEP_BATCHES || deleted === SWEEP_BATCHES;
    for (let step = 0; step < PURGE_STEPS; step++) {
      const job = this.stmts.purgeNext.get();
      if (!job) break;
      const max = this.stmts.purgeMax.get(job.batch_seq)!.m;
      if (max === null || job.next_index > max) {
        this.stmts.purgeDone.run(job.batch_seq);
        continue;
      }
      const to = job.next_index + PURGE_CHUNK;
      this.db.transaction(() => {
        this.stmts.purgeChunk.run({ seq: job.batch_seq, from: job.next_index, to });
        this.stmts.purgeAdvance.run({ seq: job.batch_seq, to });
      })();
      more = true;
    }
    return { archived, deleted, more };
  }

  async pending(): Promise<number> {
    return this.stmts.pending.get()!.n;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.db.close();
  }

  // LeaseQueue: what the worker pool does with request rows.

  claim(holder: string, leaseMs: number): ClaimedJob | undefined {
    return this.claimTx(holder, leaseMs);
  }

  renew(key: string, holder: string, leaseMs: number): boolean {
    const { batchId, index } = parseRequestKey(key);
    const seq = this.seq(batchId);
    if (seq === undefined) return false;
    const now = Date.now();
    return this.stmts.renew.run({ seq, idx: index, holder, now, until: now + leaseMs }).changes === 1;
  }

  finish(key: string, holder: string, result: RequestResult): boolean {
    return this.finishTx(key, holder, result);
  }

  release(key: string, holder: string): void {
    const { batchId, index } = parseRequestKey(key);
    const seq = this.seq(batchId);
    if (seq !== undefined) this.stmts.release.run({ seq, idx: index, holder });
  }
}
