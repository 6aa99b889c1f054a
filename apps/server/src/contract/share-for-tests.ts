import { ParseCache } from './parse-cache.js';

/**
 * `value` as the parse cache holds it once a session has sent its bytes twice: deeply frozen and
 * shared (isShared). For tests of what is derived from shared values.
 */
export function shareForTests<T>(value: T): T {
  const cache = new ParseCache(1 << 30);
  const bytes = Buffer.from(JSON.stringify(value));
  cache.set(bytes, value);
  return cache.set(bytes, value)!.value as T;
}
