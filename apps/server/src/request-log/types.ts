import type { MinuteCells } from './cell.js';
import type { RequestPage, RequestQuery, RequestRecord } from './record.js';

/**
 * Where the request log lives: SQLite (one machine) or Redis (a fleet). A write takes one batch of
 * records and the per-minute cells made of them, in one transaction (SQLite) or one pipeline
 * (Redis); reads serve the dashboard.
 */
export interface RequestLogStore {
  readonly kind: 'sqlite' | 'redis';
  write(records: readonly RequestRecord[], cells: MinuteCells): Promise<void>;
  /** One page of records, newest first. */
  list(query: RequestQuery): Promise<RequestPage>;
  /** The cells of the minutes from `fromMinute` to `toMinute` (seconds since the epoch), inclusive. */
  cells(fromMinute: number, toMinute: number): Promise<MinuteCells>;
  /** Deletes records older than `before` (epoch ms) or past `maxRecords`, and cells older than `cellsBefore` (minute). */
  prune(before: number, maxRecords: number, cellsBefore: number): Promise<void>;
  close(): Promise<void>;
}
