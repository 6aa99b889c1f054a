import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { ClaimedJob, JobOutcome } from './types.js';

/**
 * A queue whose jobs are taken under a lease (async jobs' SQLite rows, Message Batch requests).
 * Methods may answer synchronously. `Outcome` is what a finished run records.
 */
export interface LeaseQueue<Outcome = JobOutcome> {
  /** Takes the oldest queued job, or one whose lease lapsed; undefined when there is none. */
  claim(holder: string, leaseMs: number): ClaimedJob | undefined | Promise<ClaimedJob | undefined>;
  /** Extends the lease; false when `holder` no longer holds it (another worker took the job over). */
  renew(id: string, holder: string, leaseMs: number): boolean | Promise<boolean>;
  /** Records the outcome if `holder` still holds the lease. */
  finish(id: string, holder: string, outcome: Outcome): boolean | Promise<boolean>;
  /** Puts the job back in the queue without counting the start (shutdown). */
  release(id: string, holder: string): void | Promise<void>;
}

export interface LeasePoolOptions {
  concurrency: number;
  leaseMs: number;
  /** How often to look for work besides the wake-ups that submits give. */
  pollMs: number;
  onError: (err: unknown) => void;
  /**
   * Asked before each claim: false holds new work back (running jobs go on) until the next wake-up
   * or poll. Batch workers use it to give way to live traffic.
   */
  admit?: () => boolean;
}

/**
 * A bounded worker pool over a LeaseQueue: at most `concurrency` jobs run at once, each one's
 * lease renewed every third of the lease while it runs. A job whose lease is lost is aborted
 * (someone else runs it now); on close, running jobs are aborted and handed back.
 */
export class LeasePool<Outcome = JobOutcome> {
  /** Unique per pool, so a restarted process never mistakes an old lease for its own. */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(6).toString('base64url')}`;
  private readonly running = new Map<string, AbortController>();
  private readonly settled = new Set<Promise<void>>();
  private timer?: NodeJS.Timeout;
  private pumping = false;
  private pumpAgain = false;
  private closed = false;

  constructor(
    private readonly queue: LeaseQueue<Outcome>,
    private readonly run: (job: ClaimedJob, signal: AbortSignal) => Promise<Outcome>,
    private readonly opts: LeasePoolOptions,
  ) {}

  /** Jobs this pool runs right now. */
  get active(): number {
    return this.running.size;
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.opts.pollMs);
    this.timer.unref();
    // After start-up has finished: a claim made while the process is still busy starting would
    // see its lease run down before the job even begins.
    setImmediate(() => this.wake());
  }

  /** Look for work now (after a submit, or when a slot frees up). */
  wake(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    void this.pump();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (!this.closed && this.running.size < this.opts.concurrency && (this.opts.admit?.() ?? true)) {
          const job = await this.queue.claim(this.holder, this.opts.leaseMs);
          if (!job) break;
          this.launch(job);
        }
      } while (this.pumpAgain && !this.closed);
    } catch (err) {
      this.opts.onError(err);
    } finally {
      this.pumping = false;
    }
  }

  private launch(job: ClaimedJob): void {
    const controller = new AbortController();
    this.running.set(job.id, controller);
    const heartbeat = setInterval(() => {
      Promise.resolve(this.queue.renew(job.id, this.holder, this.opts.leaseMs)).then(
        (held) => {
          if (!held) controller.abort(new Error('lease lost: another worker runs this job'));
        },
        (err) => this.opts.onError(err),
      );
    }, Math.max(50, Math.floor(this.opts.leaseMs / 3)));
    heartbeat.unref();

    const done = (async () => {
      try {
        const outcome = await this.run(job, controller.signal);
        await this.queue.finish(job.id, this.holder, outcome);
      } catch (err) {
        if (controller.signal.aborted) {
          // Shutdown: hand the job back now (a lost lease makes this a no-op).
          await Promise.resolve(this.queue.release(job.id, this.holder)).catch(this.opts.onError);
        } else {
          // A store failure: the lease lapses and the job runs again, as a counted attempt.
          this.opts.onError(err);
        }
      } finally {
        clearInterval(heartbeat);
        this.running.delete(job.id);
      }
    })();
    this.settled.add(done);
    void done.finally(() => {
      this.settled.delete(done);
      this.wake();
    });
  }

  /** Stops claiming, aborts the running jobs (they go back to the queue) and waits for them. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    for (const controller of this.running.values()) controller.abort(new Error('gateway shutting down'));
    await Promise.allSettled([...this.settled]);
  }
}
