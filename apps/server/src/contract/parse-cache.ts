/**
 * The parsed values of the large members an agent sends unchanged on every turn of a session: its
 * `system` prompt and its `tools` (a Claude Code turn carries about 26 KB of system prompt and 70 KB
 * of tool schemas, the same bytes each time). A body whose `system` or `tools` bytes are in the
 * cache has only the rest of its bytes decoded and parsed; the cached value is put in their place.
 *
 * The same bytes always parse to the same value, so the result is the value JSON.parse would have
 * given (test: contract/parse-cache.test.ts, property). An entry also remembers when a messages
 * body holding it passed the contract's validation: a member's schema does not depend on the rest
 * of the body, so later bodies holding it have the rest of themselves validated
 * (http/validate-members.ts); every body is still validated, and a value is never taken as valid
 * before a body holding it was.
 *
 * Cached values are shared by every request that sends those bytes, so they are frozen (deeply): a
 * conversion that tried to edit one in place would throw instead of changing another request.
 *
 * Bounded: entries are kept by their size (the member's bytes, counted three times: the key string
 * and the parsed value) up to `maxBytes` (config `limits.parse_cache_mb`), least recently used out
 * first; members under `MIN_MEMBER_BYTES` are not worth a lookup and are parsed with the rest.
 */

/** Members smaller than this are parsed with the rest of the body. */
export const MIN_MEMBER_BYTES = 1024;

/** The top-level members worth remembering: the ones a session repeats. */
export const CACHED_MEMBERS = ['system', 'tools'] as const;

/** Each entry is counted as its bytes times this: the key string (one byte a character) and the parsed value. */
const COST_PER_BYTE = 3;

/** A member's parsed value, and whether a body holding it has passed the contract's validation. */
export interface CacheEntry {
  readonly value: unknown;
  /**
   * Proven valid: a whole messages body holding this value passed validation. A member's schema
   * (`SystemPrompt`, `ToolUnion` items) does not depend on the body around it, so a body holding the
   * same value needs only the rest of itself validated (http/validate-members.ts).
   */
  valid: boolean;
}

/** A top-level member of a body whose value came from (or went into) the cache. */
export interface CachedMember {
  readonly name: string;
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

export class ParseCache {
  /**
   * A member's bytes (as a latin1 string: one character a byte, so no decoding) → the value they
   * parse to, frozen. The same bytes parse to the same value whichever member holds them. Map order
   * is recency: the first entry is the least recently used.
   */
  private readonly entries = new Map<string, CacheEntry>();
  private size = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry;
  }

  /** Keeps `value` (frozen from now on) for `key`; the entry, or undefined when it is larger than the whole budget. */
  set(key: string, value: unknown): CacheEntry | undefined {
    const cost = key.length * COST_PER_BYTE;
    if (value === undefined || cost > this.maxBytes) return undefined;
    const existing = this.entries.get(key);
    if (existing !== undefined) return existing;
    deepFreeze(value);
    const entry: CacheEntry = { value, valid: false };
    this.entries.set(key, entry);
    this.size += cost;
    for (const oldest of this.entries.keys()) {
      if (this.size <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.size -= oldest.length * COST_PER_BYTE;
    }
    return entry;
  }

  /** Bytes counted for the entries held (at most maxBytes). */
  get bytes(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.size;
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
