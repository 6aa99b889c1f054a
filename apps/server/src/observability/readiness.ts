/**
 * What /ready asks before it says yes. Each part of the gateway that can be down registers a
 * check (the job store registers "store"); "config" is always there: a gateway exists only once
 * its config has loaded.
 */
export type ReadinessCheck = () => unknown;

export interface ReadinessReport {
  ready: boolean;
  /** Check name → "ok" or what is wrong. */
  checks: Record<string, string>;
}

export class ReadinessChecks {
  private readonly checks = new Map<string, ReadinessCheck>([['config', () => true]]);
  private draining = false;

  constructor(private readonly timeoutMs = 2_000) {}

  /** Adds (or replaces) a check. It passes when it returns or resolves, and fails when it throws, rejects or takes longer than the timeout. */
  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** From now on /ready answers 503: the process is shutting down and the load balancer should stop sending. */
  setDraining(): void {
    this.draining = true;
  }

  async run(): Promise<ReadinessReport> {
    const entries = [...this.checks];
    const results = await Promise.all(entries.map(([, check]) => this.runOne(check)));
    const checks: Record<string, string> = {};
    let ready = true;
    entries.forEach(([name], i) => {
      checks[name] = results[i]!;
      if (results[i] !== 'ok') ready = false;
    });
    if (this.draining) {
      checks.shutdown = 'draining';
      ready = false;
    }
    return { ready, checks };
  }

  private async runOne(check: ReadinessCheck): Promise<string> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer in ${this.timeoutMs} ms`), this.timeoutMs);
    });
    try {
      return await Promise.race([
        Promise.resolve()
          .then(check)
          .then(() => 'ok'),
        timeout,
      ]);
    } catch (err) {
      return `error: ${err instanceof Error ? err.message : String(err)}`;
    } finally {
      clearTimeout(timer);
    }
  }
}
