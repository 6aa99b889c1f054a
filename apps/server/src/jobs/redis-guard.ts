import { ReplyError, type Redis } from 'ioredis';
import { StoreUnavailableError } from './types.js';

/**
 * Runs a request's Redis work within `timeoutMs`, or throws StoreUnavailableError: at once when
 * Redis was just found unreachable (ioredis is waiting to reconnect), after the timeout when a
 * connection attempt does not succeed or Redis does not answer, and when the work fails for any
 * reason but Redis's own answer (a ReplyError: Redis is up and refused the command, which is a
 * bug, not an outage) or an error `keep` says is the work's own verdict (a full queue).
 */
export function guardedRedis(
  redis: Redis,
  timeoutMs: number,
  keep: (err: unknown) => boolean = () => false,
): <T>(what: string, work: () => Promise<T>) => Promise<T> {
  return async <T>(what: string, work: () => Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    let onReady: (() => void) | undefined;
    let onClose: (() => void) | undefined;
    const unavailable = (why: string) => new StoreUnavailableError(`${why} to ${what}`);
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(unavailable(`Redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const connected = new Promise<void>((resolve, reject) => {
      const status = redis.status;
      if (status === 'ready') return resolve();
      // 'wait', 'connecting', 'connect': a connection is on its way; anything else, it just failed.
      if (status !== 'wait' && status !== 'connecting' && status !== 'connect') return reject(unavailable(`Redis is not connected (${status})`));
      onReady = resolve;
      onClose = () => reject(unavailable('Redis could not be reached'));
      redis.once('ready', onReady);
      redis.once('close', onClose);
    });
    try {
      return await Promise.race([connected.then(work), limit]);
    } catch (err) {
      if (err instanceof StoreUnavailableError || err instanceof ReplyError || keep(err)) throw err;
      throw new StoreUnavailableError(`Redis failed to ${what}: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
      if (onReady) redis.off('ready', onReady);
      if (onClose) redis.off('close', onClose);
    }
  };
}
