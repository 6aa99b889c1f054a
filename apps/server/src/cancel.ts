/**
 * What the gateway's own code needs of an abort signal: whether it fired, why, and a callback when
 * it does. A DOM `AbortSignal` has this shape, so jobs and tests can pass one; a request uses a
 * `Cancel`, which has no EventTarget behind it.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/**
 * A cancel signal and its trigger in one object, for the two a request makes (the client leaving,
 * and each upstream attempt). Node 20 builds an `AbortController`'s signal as an EventTarget and then
 * changes its prototype (`Object.setPrototypeOf`), and wraps each listener in an object of its own:
 * a few microseconds per signal, a measurable share of a small request.
 *
 * Semantics follow `AbortSignal`'s where the gateway relies on them: `abort` fires once (later calls
 * do nothing), listeners run in the order added, each at most once, a listener added twice is kept
 * once, a listener added after the abort is never called, one removed while they run is skipped, and
 * a listener that throws does not stop the others (its error is rethrown on a later tick, as an
 * EventTarget reports it).
 */
export class Cancel implements CancelSignal {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.aborted) return;
    const listeners = (this.listeners ??= []);
    if (!listeners.includes(listener)) listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const listeners = this.listeners;
    if (listeners === undefined) return;
    const i = listeners.indexOf(listener);
    if (i !== -1) listeners.splice(i, 1);
  }

  /** Fires the signal with `reason` (an `AbortError`-like Error when left out), once. */
  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason === undefined ? abortError() : reason;
    const listeners = this.listeners;
    if (listeners === undefined) return;
    // A listener may remove a later one while they run: as with an EventTarget, that one is skipped.
    for (const listener of listeners.slice()) {
      if (!listeners.includes(listener)) continue;
      try {
        listener();
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
    this.listeners = undefined;
  }
}

function abortError(): Error {
  const err = new Error('This operation was aborted');
  err.name = 'AbortError';
  return err;
}
