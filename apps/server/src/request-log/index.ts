import { ConfigError } from '../config/load.js';
import type { RequestLogConfig } from './config.js';
import type { RequestRecord } from './record.js';
import { SqliteRequestLogStore } from './sqlite-store.js';
import { TrafficReader } from './traffic.js';
import type { RequestLogStore } from './types.js';
import { RequestLogWriter } from './writer.js';

export { requestLogSchema, type RequestLogConfig } from './config.js';
export { MAX_RECORD_ERROR, recordView, type RequestQuery, type RequestRecord } from './record.js';
export type { TrafficWindow } from './traffic.js';
export { TrafficReader } from './traffic.js';
export { splitTarget, targetKey, type StatsCell } from './cell.js';
export { percentile } from './histogram.js';

/** How often old records and minutes are deleted. */
const PRUNE_INTERVAL_MS = 60_000;
/** Minutes' figures kept: the dashboard's longest window is a day. */
const CELL_RETENTION_S = 25 * 3600;

export interface RequestLog {
  readonly config: RequestLogConfig;
  readonly store: RequestLogStore;
  readonly writer: RequestLogWriter;
  readonly traffic: TrafficReader;
  /** Hands a finished request's record to the writer (observability/observer.ts calls it). */
  add(record: RequestRecord): void;
  close(): Promise<void>;
}

export interface RequestLogOptions {
  /** `store:` from the config. */
  store: string;
  config: RequestLogConfig;
  redisPrefix: string;
  storeTimeoutMs: number;
  onDrop: (n: number) => void;
  onError: (err: unknown) => void;
}

/** The request log on the configured store, its batching writer and the traffic reader; undefined when off. */
export function createRequestLog(opts: RequestLogOptions): RequestLog | undefined {
  const { config } = opts;
  if (!config.enabled) return undefined;
  let store: RequestLogStore;
  if (opts.store.startsWith('sqlite:')) {
    const path = opts.store.slice('sqlite:'.length);
    try {
      store = new SqliteRequestLogStore(path);
    } catch (err) {
      throw new ConfigError(`store: cannot open SQLite database ${path} for the request log: ${(err as Error).message}`);
    }
  } else {
    store = new LazyRedisStore(opts);
  }
  const writer = new RequestLogWriter(store, {
    flushMs: config.flush_ms,
    batchSize: config.batch_size,
    maxPending: config.max_pending,
    maxPendingBodyChars: config.max_pending_body_chars,
    onDrop: opts.onDrop,
    onError: opts.onError,
  });
  const prune = () => {
    const now = Date.now();
    store.prune(now - config.retention_hours * 3600_000, config.max_records, Math.floor(now / 1000) - CELL_RETENTION_S).catch(opts.onError);
  };
  const pruner = setInterval(prune, PRUNE_INTERVAL_MS);
  pruner.unref();
  prune();
  return {
    config,
    store,
    writer,
    traffic: new TrafficReader(store),
    add: (record) => writer.add(record),
    async close() {
      clearInterval(pruner);
      await writer.close();
      await store.close();
    },
  };
}

/** The Redis store, loaded on first use (ioredis is loaded only when Redis is configured). */
class LazyRedisStore implements RequestLogStore {
  readonly kind = 'redis';
  private readonly loaded: Promise<RequestLogStore>;

  constructor(opts: RequestLogOptions) {
    this.loaded = import('./redis-store.js').then(
      ({ RedisRequestLogStore }) =>
        new RedisRequestLogStore({
          url: opts.store,
          prefix: opts.redisPrefix,
          maxRecords: opts.config.max_records,
          timeoutMs: opts.storeTimeoutMs,
          onError: opts.onError,
        }),
    );
    this.loaded.catch(opts.onError);
  }

  async write(...args: Parameters<RequestLogStore['write']>) {
    return (await this.loaded).write(...args);
  }
  async list(...args: Parameters<RequestLogStore['list']>) {
    return (await this.loaded).list(...args);
  }
  async cells(...args: Parameters<RequestLogStore['cells']>) {
    return (await this.loaded).cells(...args);
  }
  async prune(...args: Parameters<RequestLogStore['prune']>) {
    return (await this.loaded).prune(...args);
  }
  async close() {
    const store = await this.loaded.catch(() => undefined);
    await store?.close();
  }
}
