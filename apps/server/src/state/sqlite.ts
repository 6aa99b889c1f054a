import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Opens the embedded store's SQLite file (`store: sqlite:<path>`, or `:memory:`), as every part of
 * the gateway that keeps state there opens it: the folder made when missing, WAL (readers never
 * wait on the writer, and several processes on one machine may share the file), and a busy wait of
 * 5 s on a lock rather than an error. `synchronous`: FULL where an acknowledged write must survive
 * a power cut too (an accepted async job), NORMAL where a crash-safe write is enough (WAL keeps it
 * through a kill -9; a power cut may lose the last moments).
 */
export function openSqlite(path: string, synchronous: 'FULL' | 'NORMAL'): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(resolve(path)), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${synchronous}`);
  db.pragma('busy_timeout = 5000');
  return db;
}
