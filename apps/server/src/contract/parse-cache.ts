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
 * Entries are found while the body is scanned (contract/raw-body.ts): where a cached part may start
 * (the value of `system` or `tools`, an element of `messages`), the first PREFIX_BYTES bytes there
 * pick at most MAX_PER_PREFIX entries, and an entry whose bytes are the body's bytes from there on
 * (one memcmp) is a hit: the scan jumps over it, so a session's repeated parts are neither scanned
 * character by character nor parsed. Bounded: entries are kept by their size (the bytes, counted
 * COST_PER_BYTE times: their copy, the parsed value, and what is derived from it, such as a
 * translation and its bytes) up to `maxBytes` (config `limits.parse_cache_mb`), least recently used
 * out first; parts under `MIN_MEMBER_BYTES` are not worth a lookup and are parsed with the rest.
 */
import { hash } from 'node:crypto';

/** Members smaller than this are parsed with the rest of the body. */
export const MIN_MEMBER_BYTES = 256;

/** The top-level members worth remembering: the ones a session repeats. */
export const CACHED_MEMBERS = ['system', 'tools'] as const;

/** Each entry is counted as its bytes times this: their copy, the parsed value, a translation and its bytes. */
export const COST_PER_BYTE = 4;

/**
 * And this much more for each object and array in its value: `{}` is 3 bytes of JSON and about 60 of
 * heap once parsed, so a part made of empty objects would otherwise weigh 5 to 20 times its count.
 */
export const COST_PER_NODE = 64;

/** The bytes at the start of a part that pick the entries it is compared with. */
export const PREFIX_BYTES = 128;

/**
 * Entries that start with the same PREFIX_BYTES kept at most (the oldest of them goes first): a
 * lookup compares a part with at most this many, whatever a client sends.
 */
export const MAX_PER_PREFIX = 8;

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
  readonly prefix: string;
  /** A copy of the bytes the value was parsed from. */
  readonly bytes: Buffer;
  /** How deep the value nests (a scalar 0, `[]` 1, `[{}]` 2). */
  readonly depth: number;
  readonly entry: CacheEntry;
  older: Slot | undefined;
  newer: Slot | undefined;
}

/** A cached part found in a body: where its bytes end, and its entry. */
export interface Found {
  readonly end: number;
  readonly entry: CacheEntry;
}

export class ParseCache {
  /**
   * Entries by the first PREFIX_BYTES of their bytes (latin1: a character a byte). The slots also
   * form a list by recency, so a lookup and an eviction cost the same however many entries are held.
   */
  private readonly byPrefix = new Map<string, Slot[]>();
  private oldest: Slot | undefined;
  private newest: Slot | undefined;
  private size = 0;
  private entries = 0;
  /**
   * The SHA-256 of parts seen once and not kept (a ring: the oldest is forgotten first). A part is
   * kept the second time it is seen: a session sends its parts again on the next turn, a one-off
   * request never does, and caching it would cost a copy and a freeze and push a session's parts out.
   */
  private readonly seenOnce = new Set<string>();
  private readonly ring: (string | undefined)[];
  private ringAt = 0;

  constructor(readonly maxBytes: number) {
    this.ring = new Array<string | undefined>(Math.max(MIN_SEEN_ONCE, Math.floor(maxBytes / BYTES_PER_SEEN_ONCE)));
  }

  /**
   * The entry whose bytes are `body`'s from `at` on and whose value nests at most `maxDepth` deep;
   * undefined when there is none.
   */
  find(body: Buffer, at: number, maxDepth: number): Found | undefined {
    const list = this.byPrefix.get(body.toString('latin1', at, at + PREFIX_BYTES));
    if (list === undefined) return undefined;
    for (const slot of list) {
      const end = at + slot.bytes.length;
      if (end > body.length || slot.depth > maxDepth || body.compare(slot.bytes, 0, slot.bytes.length, at, end) !== 0) continue;
      if (slot !== this.newest) {
        this.unlink(slot);
        this.append(slot);
      }
      return { end, entry: slot.entry };
    }
    return undefined;
  }

  /**
   * Keeps `value` (frozen from now on), parsed from `part`, if those bytes were seen before; the
   * entry, or undefined when it was not kept (seen for the first time, or larger than the whole
   * budget).
   */
  set(part: Buffer, value: unknown): CacheEntry | undefined {
    const cost = part.length * COST_PER_BYTE;
    if (value === undefined || cost > this.maxBytes) return undefined;
    const existing = this.find(part, 0, Infinity);
    if (existing !== undefined && existing.end === part.length) return existing.entry;
    const key = hash('sha256', part, 'base64');
    if (!this.seenOnce.delete(key)) {
      this.rememberSeen(key);
      return undefined;
    }
    // Weighed before it is frozen: a value that is not kept stays the request's own, to change.
    const weight = cost + walk(value, false).nodes * COST_PER_NODE;
    if (weight > this.maxBytes) return undefined;
    const { depth } = walk(value, true);
    if (value !== null && typeof value === 'object') shared.add(value);
    const prefix = part.toString('latin1', 0, PREFIX_BYTES);
    const slot: Slot = { prefix, bytes: Buffer.from(part), depth, entry: { value, valid: false, cost: weight }, older: undefined, newer: undefined };
    let list = this.byPrefix.get(prefix);
    if (list === undefined) this.byPrefix.set(prefix, (list = []));
    if (list.length >= MAX_PER_PREFIX) this.remove(list[0]!);
    list.push(slot);
    this.append(slot);
    this.entries++;
    this.size += weight;
    while (this.size > this.maxBytes && this.oldest !== undefined) this.remove(this.oldest);
    return slot.entry;
  }

  /** Bytes counted for the entries held (at most maxBytes). */
  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries;
  }

  private remove(slot: Slot): void {
    this.unlink(slot);
    const list = this.byPrefix.get(slot.prefix)!;
    list.splice(list.indexOf(slot), 1);
    if (list.length === 0) this.byPrefix.delete(slot.prefix);
    this.entries--;
    this.size -= slot.entry.cost;
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

/**
 * Freezes `value` and everything in it, without recursion (a cached value may nest as deep as
 * `body_max_depth`); how deep it nests (a scalar 0, `[]` 1, `[{}]` 2).
 */
export function deepFreeze(value: unknown): number {
  return walk(value, true).depth;
}

/** How deep `value` nests and how many objects and arrays it holds; each frozen with `freeze`. */
function walk(value: unknown, freeze: boolean): { depth: number; nodes: number } {
  let deepest = 0;
  let nodes = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > deepest) deepest = depth;
    nodes++;
    if (freeze) Object.freeze(v);
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return { depth: deepest, nodes };
}
