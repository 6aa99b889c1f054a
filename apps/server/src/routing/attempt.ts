import { Cancel, type CancelSignal } from '../cancel.js';
import type { GatewayError } from '../errors.js';

/**
 * One upstream call's lifetime: its own abort signal (fired by the client leaving, by a timeout
 * the router arms, or by the router giving up on it) and at most one armed timer.
 */
export class Attempt {
  readonly startedAt: number;
  /** The timeout (or other failure) the router aborted this attempt with. */
  failure?: GatewayError;
  private readonly cancel = new Cancel();
  private timer: NodeJS.Timeout | undefined;
  private disposed = false;

  constructor(
    private readonly parent: CancelSignal,
    now: () => number = Date.now,
  ) {
    this.startedAt = now();
    if (parent.aborted) this.cancel.abort(parent.reason);
    else parent.addEventListener('abort', this.onParentAbort);
  }

  get signal(): CancelSignal {
    return this.cancel;
  }

  /** Aborts the call with `makeError()` at `at` (epoch ms) unless disarmed or re-armed first. */
  arm(at: number, makeError: () => GatewayError, now: () => number = Date.now): void {
    this.disarm();
    this.timer = setTimeout(() => this.fail(makeError()), Math.max(0, at - now()));
  }

  disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Aborts the upstream call; the provider rethrows `err` (the signal's reason). */
  fail(err: GatewayError): void {
    if (this.cancel.aborted) return;
    this.failure = err;
    this.cancel.abort(err);
  }

  /** Releases timers and the link to the client's signal; `abandon` also closes the upstream call. */
  dispose(abandon: boolean): void {
    if (this.disposed) return;
    this.disposed = true;
    this.disarm();
    this.parent.removeEventListener('abort', this.onParentAbort);
    if (abandon && !this.cancel.aborted) this.cancel.abort(new Error('attempt abandoned'));
  }

  private readonly onParentAbort = () => {
    this.disarm();
    this.cancel.abort(this.parent.reason);
  };
}
