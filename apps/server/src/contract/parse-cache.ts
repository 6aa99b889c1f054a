/**
 * The parsed values of the large parts of a body an agent sends unchanged on every turn of a
 * session: its `system` prompt, its `tools` (a Claude Code turn carries about 26 KB of system prompt
 * and 70 KB of tool schemas, the same bytes each time) and the messages of its history (each turn
 * sends every earlier message again, byte for byte, and one or two new ones). A body whose parts'
 * bytes are in the cache has only the rest of its bytes decoded and parsed; the cached values are
 * put in their place.
 *
 * The same bytes always parse to the same value, so the result is the value JSON.parse would have
 * given (test: contract/parse-cache.test.ts, property). An entry also remembers when a messages
 * body holding it passed the contract's validation: a member's or a message's schema does not
 * depend on the rest of the body, so later bodies holding it have the rest of themselves validated
 * (http/validate-members.ts); every body is still validated, and a value is never taken as valid
 * before a body holding it was.
 *
 * Cached values are shared by every request that sends those bytes, so they are frozen (deeply): a
 * conversion that tried to edit one in place would throw instead of changing another request.
 *
 * Entries are found by the SHA-256 of their bytes: a lookup costs one pass of a native hash over
 * the bytes whatever the cache holds (a Map keyed by the bytes themselves hashes long strings by
 * their length alone, so equal-length entries would be compared one by one), and the cache holds no
 * second copy of the bytes. Bounded: entries are kept by their size (the bytes, counted twice: the
 * parsed value) up to `maxBytes` (config `limits.parse_cache_mb`), least recently used out first;
 * parts under `MIN_MEMBER_BYTES` are not worth a lookup and are parsed with the rest.
 */
import { hash } from 'node:crypto';

/** Members smaller than this are parsed with the rest of the body. */
export const MIN_MEMBER_BYTES = 256;

/** The top-level members worth remembering: the ones a session repeats. */
export const CACHED_MEMBERS = ['system', 'tools'] as const;

/** Each entry is counted as its bytes times this: the parsed value (strings of one byte a character, objects). */
const COST_PER_BYTE = 2;

/** Keys of parts seen once remembered at least, and one more for each this many bytes of budget. */
const MIN_SEEN_ONCE = 1024;
const BYTES_PER_SEEN_ONCE = 2048;

/** Values that are cache entries: deeply frozen, shared by every request that sends their bytes. */
const shared = new WeakSet<object>();

/**
 * Whether `value` is a cache entry's value: deeply frozen and shared, so what is derived from it
 * alone (a translation of a message, say) can be kept beside it and reused.
 */
export function isShared(value: unknown): boolean {
  return value !== null && typeof value === 'object' && shared.has(value);
}

/** The key of the bytes [start, end): their SHA-256. */
export function keyOf(bytes: Buffer, start = 0, end = bytes.length): string {
  return hash('sha256', bytes.subarray(start, end), 'base64');
}

/** A member's parsed value, and whether a body holding it has passed the contract's validation. */
export interface CacheEntry {
  readonly value: unknown;
  /**
   * Proven valid: a whole messages body holding this value passed validation. A member's schema
   * (`SystemPrompt`, `ToolUnion` items) does not depend on the body around it, so a body holding the
   * same value needs only the rest of itself validated (http/validate-members.ts).
   */
  valid: boolean;
  /** What it counts for in the budget. */
  readonly cost: number;
}

/** A part of a body whose value came from (or went into) the cache: a top-level member, or one of `messages`. */
export interface CachedMember {
  readonly name: string;
  /** For an element of `messages`: its index. */
  readonly index?: number;
  readonly entry: CacheEntry;
}

const membersOf = new WeakMap<object, readonly CachedMember[]>();

/** The members of `body` that are cache entries (set by the body reader). */
export function cachedMembersOf(body: unknown): readonly CachedMember[] | undefined {
  return body !== null && typeof body === 'object' ? membersOf.get(body) : undefined;
}

export function rememberCachedMembers(body: object, members: readonly CachedMember[]): void {
  if (members.length > 0) membersOf.set(body, members);
}

/** An entry in the cache's recency list: `older` toward the least recently used, `newer` toward the most. */
interface Slot {
  readonly key: string;
  readonly entry: CacheEntry;
  older: Slot | undefined;
  newer: Slot | undefined;
}

export class ParseCache {
  /**
   * keyOf(bytes) → the value they parse to, frozen. The same bytes parse to the same value whichever
   * member holds them. The slots form a list by recency, so a lookup and an eviction cost the same
   * however many entries are held (a Map kept in recency order by delete-and-set leaves holes that
   * every eviction's iteration walks over).
   */
  private readonly slots = new Map<string, Slot>();
  private oldest: Slot | undefined;
  private newest: Slot | undefined;
  private size = 0;
  /**
   * The keys of parts seen once and not kept (a ring: the oldest is forgotten first). A part is
   * kept the second time it is seen: a session sends its parts again on the next turn, a one-off
   * request never does, and caching it would cost a freeze and push a session's parts out.
   */
  private readonly seenOnce = new Set<string>();
  private readonly ring: (string | undefined)[];
  private ringAt = 0;

  constructor(readonly maxBytes: number) {
    this.ring = new Array<string | undefined>(Math.max(MIN_SEEN_ONCE, Math.floor(maxBytes / BYTES_PER_SEEN_ONCE)));
  }

  get(key: string): CacheEntry | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    if (slot !== this.newest) {
      this.unlink(slot);
      this.append(slot);
    }
    return slot.entry;
  }

  /**
   * Keeps `value` (frozen from now on), parsed from `bytes` bytes, for `key`, if `key` was seen
   * before; the entry, or undefined when it was not kept (seen for the first time, or larger than
   * the whole budget).
   */
  set(key: string, value: unknown, bytes: number): CacheEntry | undefined {
    const cost = bytes * COST_PER_BYTE;
    if (value === undefined || cost > this.maxBytes) return undefined;
    const existing = this.get(key);
    if (existing !== undefined) return existing;
    if (!this.seenOnce.delete(key)) {
      this.rememberSeen(key);
      return undefined;
    }
    deepFreeze(value);
    if (value !== null && typeof value === 'object') shared.add(value);
    const slot: Slot = { key, entry: { value, valid: false, cost }, older: undefined, newer: undefined };
    this.slots.set(key, slot);
    this.append(slot);
    this.size += cost;
    while (this.size > this.maxBytes && this.oldest !== undefined) {
      const gone = this.oldest;
      this.unlink(gone);
      this.slots.delete(gone.key);
      this.size -= gone.entry.cost;
    }
    return slot.entry;
  }

  /** Bytes counted for the entries held (at most maxBytes). */
  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.slots.size;
  }

  private rememberSeen(key: string): void {
    const old = this.ring[this.ringAt];
    if (old !== undefined) this.seenOnce.delete(old);
    this.ring[this.ringAt] = key;
    this.ringAt = (this.ringAt + 1) % this.ring.length;
    this.seenOnce.add(key);
  }

  private unlink(slot: Slot): void {
    if (slot.older !== undefined) slot.older.newer = slot.newer;
    else this.oldest = slot.newer;
    if (slot.newer !== undefined) slot.newer.older = slot.older;
    else this.newest = slot.older;
    slot.older = slot.newer = undefined;
  }

  private append(slot: Slot): void {
    slot.older = this.newest;
    if (this.newest !== undefined) this.newest.newer = slot;
    else this.oldest = slot;
    this.newest = slot;
  }
}

function deepFreeze(value: unknown): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object' || Object.isFrozen(v)) continue;
    Object.freeze(v);
    for (const child of Object.values(v as Record<string, unknown>)) stack.push(child);
  }
}
