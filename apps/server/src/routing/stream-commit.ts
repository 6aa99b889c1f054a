import { GatewayError } from '../errors.js';
import type { SseFrame } from '../providers/types.js';
import type { GuardedStream, GuardTarget } from './stream-guard.js';

/**
 * Reads a stream up to its first content event and returns what it read. Until then nothing has
 * reached the client, so any failure (thrown here) can still be retried or sent to a fallback.
 */
export async function readUntilContent(stream: GuardedStream, target: GuardTarget): Promise<SseFrame[]> {
  const head: SseFrame[] = [];
  while (!stream.sawContent) {
    const r = await stream.next();
    if (r.done) {
      throw new GatewayError(502, `${target.provider}/${target.model}: the upstream stream ended before any content`, {
        type: 'api_error',
        origin: 'upstream',
        upstream: { ...target, kind: 'bad_response' },
      });
    }
    head.push(r.value);
  }
  return head;
}

export interface CommittedStreamHooks {
  /** The stream failed after content reached the client. */
  onError?(err: unknown): void;
  /** Always, once: `completed` is false when the stream failed or the consumer stopped early. */
  onEnd(completed: boolean): void;
}

/** The frames read before commit, then the rest of the stream. */
export async function* committedStream(head: SseFrame[], rest: GuardedStream, hooks: CommittedStreamHooks): AsyncGenerator<SseFrame> {
  let completed = false;
  try {
    yield* head;
    for await (const frame of rest) yield frame;
    completed = true;
  } catch (err) {
    hooks.onError?.(err);
    throw err;
  } finally {
    hooks.onEnd(completed);
  }
}
