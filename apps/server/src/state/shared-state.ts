import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { CooldownReason } from '../routing/keys.js';
import type { Fact } from './model-facts.js';

/** A change of routing state one instance tells the others of. Times are epoch ms. */
export type StateChange =
  | { type: 'breaker'; circuit: string; openedAt: number | null; cooldownMs: number }
  | { type: 'cooldown'; key: string; model: string; until: number | null; reason: CooldownReason }
  | { type: 'fact'; provider: string; model: string; fact: Fact };

/** Learnt facts kept in Redis at most; past it new ones stay with the instance that learnt them. */
const MAX_SHARED_FACTS = 10_000;
/** A fact not learnt again for this long is forgotten by Redis (instances keep theirs). */
const FACTS_TTL_MS = 7 * 24 * 3600 * 1000;
/** Breakers and cooldowns read back at start-up (or after a reconnect), at most. */
const MAX_LOADED = 10_000;

/** Adds a fact under the cap and tells the other instances, in one step. */
const LEARN_SCRIPT = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], '1')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', KEYS[2], ARGV[2])
return 1`;

export interface RedisStateSyncOptions {
  url: string;
  /** Instances with the same prefix share state (config `async.redis_prefix`). */
  prefix: string;
  /** Applies a change another instance made (or one read back from Redis). */
  apply(change: StateChange): void;
  onError(err: unknown): void;
}

/**
 * Routing state shared by the instances of a fleet through Redis: circuit breakers, key cooldowns
 * and learnt facts. Every instance keeps its own copy in memory, which the request path reads
 * (no Redis round trip per request). A change (a circuit opening or closing, a key cooled down or
 * freed, a fact learnt) is written to Redis and published; the other instances apply it as it
 * arrives. An instance that starts, or whose connection comes back, reads the current state
 * (open circuits, cooldowns, facts) first, so it does not rediscover a dead provider.
 *
 * Redis away: nothing waits for it. Changes are kept locally only (publish is skipped while the
 * connection is not ready: no offline queue), and the state is read again once it is back.
 */
export class RedisStateSync {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  /** Tells this instance's own messages from the others'. */
  private readonly origin = randomBytes(8).toString('hex');
  private readonly channel: string;
  private readonly factsKey: string;
  private loading = false;
  private closed = false;

  constructor(private readonly opts: RedisStateSyncOptions) {
    this.channel = `${opts.prefix}:state:changes`;
    this.factsKey = `${opts.prefix}:state:facts`;
    const connection = { maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.redis = new Redis(opts.url, connection);
    this.redis.on('error', opts.onError);
    this.redis.on('ready', () => void this.load());
    // The subscriber queues its SUBSCRIBE until it is connected, and ioredis subscribes again after a reconnect.
    this.subscriber = new Redis(opts.url, { maxRetriesPerRequest: null });
    this.subscriber.on('error', opts.onError);
    this.subscriber.on('message', (_channel: string, message: string) => this.receive(message));
    // Messages published while this subscriber was away are lost: read the state again.
    this.subscriber.on('ready', () => void this.load());
    this.subscriber.subscribe(this.channel).catch(opts.onError);
  }

  /** Writes `change` to Redis and tells the other instances; does nothing (and never waits) while Redis is away. */
  publish(change: StateChange): void {
    if (this.closed || this.redis.status !== 'ready') return;
    const message = JSON.stringify({ origin: this.origin, change });
    const done = (p: Promise<unknown>) => p.catch(this.opts.onError);
    const now = Date.now();
    switch (change.type) {
      case 'breaker': {
        const key = `${this.opts.prefix}:state:breaker:${change.circuit}`;
        const p = this.redis.pipeline();
        if (change.openedAt === null) p.del(key);
        else p.set(key, JSON.stringify(change), 'PX', Math.max(1, change.openedAt + change.cooldownMs - now));
        done(p.publish(this.channel, message).exec());
        return;
      }
      case 'cooldown': {
        const key = `${this.opts.prefix}:state:cooldown:${change.key}|${change.model}`;
        const p = this.redis.pipeline();
        if (change.until === null) p.del(key);
        else p.set(key, JSON.stringify(change), 'PX', Math.max(1, change.until - now));
        done(p.publish(this.channel, message).exec());
        return;
      }
      case 'fact':
        done(this.redis.eval(LEARN_SCRIPT, 2, this.factsKey, this.channel, JSON.stringify([change.provider, change.model, change.fact]), message, MAX_SHARED_FACTS, FACTS_TTL_MS));
        return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    // QUIT waits for an answer, which a Redis that is away never gives: then the sockets just close.
    await Promise.all(
      [this.redis, this.subscriber].map((r) => (r.status === 'ready' ? r.quit().catch(() => r.disconnect()) : r.disconnect())),
    );
  }

  private receive(message: string): void {
    let parsed: { origin?: unknown; change?: StateChange };
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    if (parsed.origin === this.origin || !parsed.change) return;
    this.applySafely(parsed.change);
  }

  private applySafely(change: StateChange): void {
    try {
      this.opts.apply(change);
    } catch (err) {
      this.opts.onError(err);
    }
  }

  /** Reads the open circuits, cooldowns and facts in Redis into this instance. */
  private async load(): Promise<void> {
    if (this.loading || this.closed || this.redis.status !== 'ready') return;
    this.loading = true;
    try {
      let loaded = 0;
      for (const kind of ['breaker', 'cooldown']) {
        let cursor = '0';
        do {
          const [next, keys] = await this.redis.scan(cursor, 'MATCH', `${this.opts.prefix}:state:${kind}:*`, 'COUNT', 500);
          cursor = next;
          if (keys.length > 0) {
            const values = await this.redis.mget(...keys);
            for (const value of values) if (value) this.applyStored(value);
            loaded += keys.length;
          }
        } while (cursor !== '0' && loaded < MAX_LOADED);
      }
      const facts = await this.redis.hkeys(this.factsKey);
      for (const field of facts.slice(0, MAX_SHARED_FACTS)) {
        const entry = safeParse(field);
        if (Array.isArray(entry) && entry.length === 3 && typeof entry[0] === 'string' && typeof entry[1] === 'string') {
          this.applySafely({ type: 'fact', provider: entry[0], model: entry[1], fact: entry[2] as Fact });
        }
      }
    } catch (err) {
      this.opts.onError(err);
    } finally {
      this.loading = false;
    }
  }

  private applyStored(value: string): void {
    const change = safeParse(value) as StateChange | undefined;
    if (change && typeof change === 'object' && typeof change.type === 'string') this.applySafely(change);
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
