import { Redis } from 'ioredis';
import { BUCKETS } from './histogram.js';
import { emptyCell, type MinuteCells, type StatsCell } from './cell.js';
import { matches, type RequestPage, type RequestQuery, type RequestRecord } from './record.js';
import type { RequestLogStore } from './types.js';

export interface RedisRequestLogOptions {
  url: string;
  /** Shared with async jobs and governance (`async.redis_prefix`): instances with the same prefix share the log. */
  prefix: string;
  maxRecords: number;
  /** Longest a read waits on Redis before it fails (`async.store_timeout_ms`). */
  timeoutMs: number;
  onError: (err: unknown) => void;
}

/** Records a filtered page looks through at most before it answers with what it found. */
export const MAX_SCAN = 5_000;
/** Minutes' figures expire this long after their last write: the dashboard shows a day. */
const CELL_TTL_MS = 26 * 3600 * 1000;
const SEP = '\u0000';

/**
 * The request log in Redis, shared by every instance with the same prefix: the records in one
 * stream (`<prefix>:reqlog`, capped near `maxRecords`, entries older than the retention trimmed),
 * each minute's figures in one hash (`<prefix>:reqstats:<minute>`, fields `provider\0model\0name`,
 * added with HINCRBY so instances sum up). A batch is one pipeline.
 */
export class RedisRequestLogStore implements RequestLogStore {
  readonly kind = 'redis';
  private readonly redis: Redis;

  constructor(private readonly opts: RedisRequestLogOptions) {
    // No offline queue: while Redis is away a write fails at once (the batch is counted as dropped)
    // and a read answers 503, instead of piling up commands.
    this.redis = new Redis(opts.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: opts.timeoutMs });
    this.redis.on('error', opts.onError);
  }

  /**
   * Waits for a connection on its way (at start-up, or reconnecting) up to `timeoutMs`; at once
   * when Redis was found unreachable: commands are never queued for a Redis that is away.
   */
  private async connected(): Promise<void> {
    const status = this.redis.status;
    if (status === 'ready') return;
    if (status !== 'wait' && status !== 'connecting' && status !== 'connect' && status !== 'reconnecting') {
      throw new Error(`Redis is not connected (${status})`);
    }
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.redis.off('ready', onReady);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const timer = setTimeout(() => done(new Error(`Redis did not connect within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
      this.redis.once('ready', onReady);
    });
  }

  private get streamKey(): string {
    return `${this.opts.prefix}:reqlog`;
  }

  private cellKey(minute: number): string {
    return `${this.opts.prefix}:reqstats:${minute}`;
  }

  async write(records: readonly RequestRecord[], cells: MinuteCells): Promise<void> {
    await this.connected();
    const p = this.redis.pipeline();
    for (const r of records) p.xadd(this.streamKey, 'MAXLEN', '~', this.opts.maxRecords, '*', 'r', JSON.stringify(r));
    for (const [minute, byTarget] of cells) {
      const key = this.cellKey(minute);
      for (const [target, cell] of byTarget) {
        const f = (name: string) => `${target}${SEP}${name}`;
        p.hincrby(key, f('requests'), cell.requests);
        if (cell.errors) p.hincrby(key, f('errors'), cell.errors);
        if (cell.fallbacks) p.hincrby(key, f('fallbacks'), cell.fallbacks);
        if (cell.inputTokens) p.hincrby(key, f('input'), cell.inputTokens);
        if (cell.outputTokens) p.hincrby(key, f('output'), cell.outputTokens);
        if (cell.costUsd) p.hincrbyfloat(key, f('cost'), cell.costUsd);
        for (let i = 0; i < BUCKETS; i++) {
          if (cell.latency[i]) p.hincrby(key, f(`l${i}`), cell.latency[i]!);
          if (cell.ttft[i]) p.hincrby(key, f(`t${i}`), cell.ttft[i]!);
        }
      }
      p.pexpire(key, CELL_TTL_MS);
    }
    const results = await p.exec();
    const failed = results?.find(([err]) => err !== null);
    if (failed) throw failed[0];
  }

  async list(q: RequestQuery): Promise<RequestPage> {
    await this.connected();
    const records: RequestRecord[] = [];
    let end = q.before === undefined ? '+' : `(${q.before}`;
    let scanned = 0;
    let lastId: string | null = null;
    let exhausted = false;
    while (records.length <= q.limit && scanned < MAX_SCAN) {
      const chunk = Math.min(500, MAX_SCAN - scanned);
      const entries = (await this.redis.xrevrange(this.streamKey, end, '-', 'COUNT', chunk)) as Array<[string, string[]]>;
      for (const [id, fields] of entries) {
        scanned++;
        const r = JSON.parse(fields[1]!) as RequestRecord;
        if (matches(r, q)) {
          if (records.length === q.limit) {
            // One more than a page: there is more, and the page ends at the record before this one.
            return { records, hasMore: true, nextBefore: lastId };
          }
          records.push(r);
        }
        lastId = id;
      }
      if (entries.length < chunk) {
        exhausted = true;
        break;
      }
      end = `(${lastId}`;
    }
    // Past MAX_SCAN records without a full page: the next page goes on from where this one stopped.
    return { records, hasMore: !exhausted, nextBefore: exhausted ? null : lastId };
  }

  async cells(fromMinute: number, toMinute: number): Promise<MinuteCells> {
    await this.connected();
    const minutes: number[] = [];
    for (let m = fromMinute; m <= toMinute; m += 60) minutes.push(m);
    const p = this.redis.pipeline();
    for (const m of minutes) p.hgetall(this.cellKey(m));
    const results = (await p.exec()) ?? [];
    const out: MinuteCells = new Map();
    results.forEach(([err, hash], i) => {
      if (err) throw err;
      const fields = hash as Record<string, string>;
      let byTarget: Map<string, StatsCell> | undefined;
      for (const [field, value] of Object.entries(fields)) {
        const cut = field.lastIndexOf(SEP);
        const target = field.slice(0, cut);
        const name = field.slice(cut + 1);
        byTarget ??= new Map();
        let cell = byTarget.get(target);
        if (!cell) {
          cell = emptyCell();
          byTarget.set(target, cell);
        }
        setField(cell, name, Number(value));
      }
      if (byTarget) out.set(minutes[i]!, byTarget);
    });
    return out;
  }

  async prune(before: number): Promise<void> {
    // The stream's length is capped at each write; cells expire on their own.
    await this.connected();
    await this.redis.xtrim(this.streamKey, 'MINID', '~', `${Math.floor(before)}-0`);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
  }
}

function setField(cell: StatsCell, name: string, value: number): void {
  switch (name) {
    case 'requests':
      cell.requests = value;
      return;
    case 'errors':
      cell.errors = value;
      return;
    case 'fallbacks':
      cell.fallbacks = value;
      return;
    case 'input':
      cell.inputTokens = value;
      return;
    case 'output':
      cell.outputTokens = value;
      return;
    case 'cost':
      cell.costUsd = value;
      return;
  }
  const i = Number(name.slice(1));
  if (!Number.isInteger(i) || i < 0 || i >= BUCKETS) return;
  if (name[0] === 'l') cell.latency[i] = value;
  else if (name[0] === 't') cell.ttft[i] = value;
}
