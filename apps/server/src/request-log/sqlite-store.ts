import type Database from 'better-sqlite3';
import { openSqlite } from '../state/sqlite.js';
import { emptyCell, mergeCell, splitTarget, targetKey, type MinuteCells, type StatsCell } from './cell.js';
import type { RequestPage, RequestQuery, RequestRecord } from './record.js';
import type { RequestLogStore } from './types.js';
import { MAX_SCAN } from './redis-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS request_log (
  seq     INTEGER PRIMARY KEY AUTOINCREMENT,
  at      INTEGER NOT NULL,        -- ms since epoch, when the request arrived
  status  INTEGER NOT NULL,
  failed  INTEGER NOT NULL,        -- 1 when error_type is set
  provider TEXT,
  model   TEXT,
  requested_model TEXT,
  key_id  TEXT,
  key_name TEXT,
  record  TEXT NOT NULL            -- JSON RequestRecord
) STRICT;
CREATE INDEX IF NOT EXISTS request_log_by_at ON request_log (at);
CREATE TABLE IF NOT EXISTS request_stats (
  minute   INTEGER NOT NULL,       -- seconds since epoch, a multiple of 60
  provider TEXT NOT NULL,          -- metrics label: _none, _other or the name
  model    TEXT NOT NULL,
  cell     TEXT NOT NULL,          -- JSON StatsCell
  PRIMARY KEY (minute, provider, model)
) STRICT, WITHOUT ROWID;
`;

/**
 * The request log in SQLite (the file of \`store: sqlite:...\`, WAL): one row per request, one row
 * per minute and provider/model with its figures. A batch is one transaction. synchronous=NORMAL:
 * the log is for looking, and a power cut may cost its last second.
 */
export class SqliteRequestLogStore implements RequestLogStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly writeTx: (records: readonly RequestRecord[], cells: MinuteCells) => void;

  constructor(path: string) {
    this.db = openSqlite(path, 'NORMAL');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        `INSERT INTO request_log (at, status, failed, provider, model, requested_model, key_id, key_name, record)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      getCell: db.prepare<[number, string, string], { cell: string }>(`SELECT cell FROM request_stats WHERE minute = ? AND provider = ? AND model = ?`),
      putCell: db.prepare(`INSERT OR REPLACE INTO request_stats (minute, provider, model, cell) VALUES (?, ?, ?, ?)`),
      cells: db.prepare<[number, number], { minute: number; provider: string; model: string; cell: string }>(
        `SELECT minute, provider, model, cell FROM request_stats WHERE minute >= ? AND minute <= ?`,
      ),
      pruneOld: db.prepare(`DELETE FROM request_log WHERE at < ?`),
      maxSeq: db.prepare<[], { seq: number | null }>(`SELECT max(seq) AS seq FROM request_log`),
      anyBefore: db.prepare<[number], { one: number }>(`SELECT 1 AS one FROM request_log WHERE seq < ? LIMIT 1`),
      pruneCount: db.prepare(`DELETE FROM request_log WHERE seq <= ?`),
      pruneCells: db.prepare(`DELETE FROM request_stats WHERE minute < ?`),
    };
    const insert = this.stmts.insert;
    const tx = this.db.transaction((records: readonly RequestRecord[], cells: MinuteCells) => {
      for (const r of records) {
        // Positional parameters: binding by name looked each one up per row.
        insert.run(r.at, r.status, r.errorType === null ? 0 : 1, r.provider, r.model, r.requestedModel, r.keyId, r.keyName, JSON.stringify(r));
      }
      for (const [minute, byTarget] of cells) {
        for (const [key, cell] of byTarget) {
          const [provider, model] = splitTarget(key);
          const old = this.stmts.getCell.get(minute, provider, model);
          const merged = old ? (JSON.parse(old.cell) as StatsCell) : emptyCell();
          mergeCell(merged, cell);
          this.stmts.putCell.run(minute, provider, model, JSON.stringify(merged));
        }
      }
    });
    // IMMEDIATE: the read-merge-write of a cell sees what another process on the file wrote.
    this.writeTx = (records, cells) => tx.immediate(records, cells);
  }

  async write(records: readonly RequestRecord[], cells: MinuteCells): Promise<void> {
    this.writeTx(records, cells);
  }

  async list(q: RequestQuery): Promise<RequestPage> {
    const where: string[] = [];
    const params: Record<string, unknown> = { limit: q.limit + 1 };
    if (q.before !== undefined) {
      where.push('seq < @before');
      params.before = Number(q.before);
    }
    if (q.status === 'ok') where.push('failed = 0');
    else if (q.status === 'error') where.push('failed = 1');
    else if (typeof q.status === 'number') {
      where.push('status = @status');
      params.status = q.status;
    }
    if (q.provider !== undefined) {
      where.push('provider = @provider');
      params.provider = q.provider;
    }
    if (q.model !== undefined) {
      where.push('(model = @model OR requested_model = @model)');
      params.model = q.model;
    }
    if (q.key !== undefined) {
      where.push('(key_id = @key OR key_name = @key)');
      params.key = q.key;
    }
    // A filter has no index to use: it looks through MAX_SCAN records at most (as on Redis), and the
    // next page goes on from where this one stopped.
    let floor: number | undefined;
    if (where.length > (q.before !== undefined ? 1 : 0)) {
      const top = q.before !== undefined ? Number(q.before) : (this.stmts.maxSeq.get()?.seq ?? 0) + 1;
      floor = top - MAX_SCAN;
      where.push('seq >= @floor');
      params.floor = floor;
    }
    const sql = `SELECT seq, record FROM request_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT @limit`;
    const rows = this.db.prepare<Record<string, unknown>, { seq: number; record: string }>(sql).all(params);
    const full = rows.length > q.limit;
    const page = full ? rows.slice(0, q.limit) : rows;
    const scannedOut = !full && floor !== undefined && floor > 0 && this.stmts.anyBefore.get(floor) !== undefined;
    return {
      records: page.map((row) => JSON.parse(row.record) as RequestRecord),
      hasMore: full || scannedOut,
      nextBefore: full ? String(page[page.length - 1]!.seq) : scannedOut ? String(floor) : null,
    };
  }

  async cells(fromMinute: number, toMinute: number): Promise<MinuteCells> {
    const out: MinuteCells = new Map();
    for (const row of this.stmts.cells.all(fromMinute, toMinute)) {
      let byTarget = out.get(row.minute);
      if (!byTarget) {
        byTarget = new Map();
        out.set(row.minute, byTarget);
      }
      byTarget.set(targetKey(row.provider, row.model), JSON.parse(row.cell) as StatsCell);
    }
    return out;
  }

  async prune(before: number, maxRecords: number, cellsBefore: number): Promise<void> {
    this.stmts.pruneOld.run(before);
    const { seq } = this.stmts.maxSeq.get()!;
    if (seq !== null && seq > maxRecords) this.stmts.pruneCount.run(seq - maxRecords);
    this.stmts.pruneCells.run(cellsBefore);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
