import { cellsOf } from './cell.js';
import type { RequestRecord } from './record.js';
import type { RequestLogStore } from './types.js';

export interface WriterOptions {
  flushMs: number;
  batchSize: number;
  maxPending: number;
  /** Body characters waiting in memory past which new records are kept without their body. */
  maxPendingBodyChars: number;
  /** A record was dropped (too many waiting): counted in conduit_request_log_dropped_total. */
  onDrop: (n: number) => void;
  onError: (err: unknown) => void;
}

/**
 * Takes a record per request and writes them in batches, off the request path: `add` only pushes
 * onto an array. A batch goes to the store `flushMs` after its first record, or as soon as it holds
 * `batchSize`; one write is in flight at a time. While the store is slow, records wait in memory
 * up to `maxPending` (and their bodies up to `maxPendingBodyChars`); past that new records are
 * dropped and counted, so a stalled store costs bounded memory and never slows a request.
 */
export class RequestLogWriter {
  private pending: RequestRecord[] = [];
  private pendingBodyChars = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: RequestLogStore,
    private readonly opts: WriterOptions,
  ) {}

  add(record: RequestRecord): void {
    if (this.closed) return;
    if (this.pending.length >= this.opts.maxPending) {
      this.opts.onDrop(1);
      return;
    }
    if (record.body !== null) {
      if (this.pendingBodyChars + record.body.length > this.opts.maxPendingBodyChars) {
        record.body = null;
        record.bodyTruncated = true;
      } else {
        this.pendingBodyChars += record.body.length;
      }
    }
    this.pending.push(record);
    if (this.writing) return; // the write in flight takes the next batch when it ends
    if (this.pending.length >= this.opts.batchSize) this.schedule(0);
    else if (this.timer === undefined) this.schedule(this.opts.flushMs);
  }

  /** Records waiting to be written. */
  get waiting(): number {
    return this.pending.length;
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, ms);
    this.timer.unref();
  }

  /** Writes what is waiting, one batch after the other; resolves when nothing is left or a write failed. */
  flush(): Promise<void> {
    if (this.writing) return this.writing;
    if (this.pending.length === 0) return Promise.resolve();
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
      // Records that arrived during a failed write wait for the next timer.
      if (this.pending.length > 0 && !this.closed) this.schedule(this.pending.length >= this.opts.batchSize ? 0 : this.opts.flushMs);
    });
    return this.writing;
  }

  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.opts.batchSize);
      for (const r of batch) if (r.body !== null) this.pendingBodyChars -= r.body.length;
      try {
        await this.store.write(batch, cellsOf(batch));
      } catch (err) {
        // The store failed: this batch is lost (counted), later ones are tried again.
        this.opts.onDrop(batch.length);
        this.opts.onError(err);
        return;
      }
    }
  }

  /** Writes what is waiting, then takes no more. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    this.closed = true;
  }
}
