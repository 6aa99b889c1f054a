import { ParseCache } from './parse-cache.js';

/**
 * `value` as the parse cache holds it once a session has sent its bytes twice: deeply frozen and
 * shared (isShared). For tests of what is derived from shared values.
 */
export function shareForTests<T>(value: T): T {
  const bytes = Buffer.from(JSON.stringify(value));
  // Room for the entry (it counts a few times its bytes), and no more: the cache's ring of parts
  // seen once grows with its size, and a test shares thousands of values.
  const cache = new ParseCache(Math.max(1 << 20, bytes.length * 16));
  cache.set(bytes, value);
  return cache.set(bytes, value)!.value as T;
}
