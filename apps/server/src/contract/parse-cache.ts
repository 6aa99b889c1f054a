/**
 * The parsed values of the large members an agent sends unchanged on every turn of a session: its
 * `system` prompt and its `tools` (a Claude Code turn carries about 26 KB of system prompt and 70 KB
 * of tool schemas, the same bytes each time). A body whose `system` or `tools` bytes are in the
 * cache has only the rest of its bytes decoded and parsed; the cached value is put in their place.
 *
 * It remembers parses, not verdicts: the whole body, cached members included, is still validated
 * against the contract on every request. The same bytes always parse to the same value, so the
 * result is the value JSON.parse would have given (test: contract/parse-cache.test.ts, property).
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

export class ParseCache {
  /**
   * A member's bytes (as a latin1 string: one character a byte, so no decoding) → the value they
   * parse to, frozen. The same bytes parse to the same value whichever member holds them. Map order
   * is recency: the first entry is the least recently used.
   */
  private readonly entries = new Map<string, unknown>();
  private size = 0;

  constructor(readonly maxBytes: number) {}

  get(key: string): unknown {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: string, value: unknown): void {
    const cost = key.length * COST_PER_BYTE;
    if (value === undefined || cost > this.maxBytes || this.entries.has(key)) return;
    deepFreeze(value);
    this.entries.set(key, value);
    this.size += cost;
    for (const oldest of this.entries.keys()) {
      if (this.size <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.size -= oldest.length * COST_PER_BYTE;
    }
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
