/**
 * Circuits held at most. Model names are the clients' own (`openai/<anything>` against an upstream
 * that fails); past this many, the circuits that are only counting failures go, and if that is not
 * enough, the oldest tenth of the open ones.
 */
export const MAX_CIRCUITS = 10_000;

/** What the breaker says about a call about to go out. */
export type BreakerDecision = 'closed' | 'probe' | 'open';

export interface BreakerSettings {
  failureThreshold: number;
  cooldownMs: number;
}

interface Circuit {
  consecutiveFailures: number;
  /** Set while open (and half-open): when it opened, or when the last probe failed. */
  openedAt?: number;
  /** A probe call is in flight: every other call keeps going to the fallbacks. */
  probing: boolean;
}

/** Told of the state changes other instances must learn (state/shared-state.ts); never of counting. */
export interface BreakerShare {
  /** The circuit opened (or a probe failed) at `openedAt`, epoch ms, for `cooldownMs`. */
  opened(key: string, openedAt: number, cooldownMs: number): void;
  /** The circuit closed: the upstream answers again. */
  closed(key: string): void;
}

/**
 * Circuit breakers keyed by "provider/model". Closed: calls go out, consecutive failures are
 * counted. At `failureThreshold` the circuit opens: calls are refused (the router moves straight
 * to the next fallback) for `cooldownMs`. Then exactly one call goes out as a probe; its success
 * closes the circuit, its failure opens it for another cooldown. Outcomes that say nothing about
 * the upstream's health (client gone, key refused, rate limited) give the probe slot back.
 *
 * Unlike cockatiel's half-open state, which queues concurrent calls behind the probe, a call that
 * finds a probe in flight is refused at once: a probe can be a minutes-long generation.
 */
export class CircuitBreakers {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly now: () => number = Date.now,
    /** Told of every state change (for the breaker-state metric). */
    private readonly onChange?: (key: string, state: 'closed' | 'open' | 'half_open') => void,
    /** Told of openings and closings, to share them; calls that change nothing tell nothing. */
    private readonly share?: BreakerShare,
  ) {}

  acquire(key: string, settings: BreakerSettings): BreakerDecision {
    const c = this.circuits.get(key);
    if (!c || c.openedAt === undefined) return 'closed';
    if (c.probing || this.now() - c.openedAt < settings.cooldownMs) return 'open';
    c.probing = true;
    this.onChange?.(key, 'half_open');
    return 'probe';
  }

  success(key: string): void {
    const c = this.circuits.get(key);
    if (!c) return;
    this.circuits.delete(key);
    if (c.openedAt !== undefined) {
      this.onChange?.(key, 'closed');
      this.share?.closed(key);
    }
  }

  failure(key: string, settings: BreakerSettings): void {
    let c = this.circuits.get(key);
    if (c === undefined) this.add(key, (c = { consecutiveFailures: 0, probing: false }));
    if (c.openedAt !== undefined) {
      // A failed probe (or a late failure of a call sent before the circuit opened): another cooldown.
      if (c.probing || this.now() - c.openedAt >= settings.cooldownMs) {
        c.openedAt = this.now();
        this.share?.opened(key, c.openedAt, settings.cooldownMs);
      }
      if (c.probing) this.onChange?.(key, 'open');
      c.probing = false;
      return;
    }
    c.consecutiveFailures++;
    if (c.consecutiveFailures >= settings.failureThreshold) {
      c.openedAt = this.now();
      this.onChange?.(key, 'open');
      this.share?.opened(key, c.openedAt, settings.cooldownMs);
    }
  }

  /**
   * Another instance opened the circuit at `openedAt` (null: closed it). An opening only moves
   * the cooldown later; a probe this instance has in flight still reports its own outcome.
   */
  applyRemote(key: string, openedAt: number | null): void {
    const c = this.circuits.get(key);
    if (openedAt === null) {
      if (!c || c.openedAt === undefined) return;
      this.circuits.delete(key);
      this.onChange?.(key, 'closed');
      return;
    }
    if (!c) {
      this.add(key, { consecutiveFailures: 0, openedAt, probing: false });
      this.onChange?.(key, 'open');
      return;
    }
    if (c.openedAt !== undefined && c.openedAt >= openedAt) return;
    const wasOpen = c.openedAt !== undefined;
    c.openedAt = openedAt;
    if (!wasOpen) this.onChange?.(key, 'open');
  }

  get size(): number {
    return this.circuits.size;
  }

  private add(key: string, circuit: Circuit): void {
    if (this.circuits.size >= MAX_CIRCUITS) {
      for (const [k, c] of this.circuits) if (c.openedAt === undefined) this.circuits.delete(k);
      // All open: the oldest tenth goes (a circuit forgotten opens again at the threshold).
      if (this.circuits.size >= MAX_CIRCUITS) {
        let drop = Math.ceil(MAX_CIRCUITS / 10);
        for (const k of this.circuits.keys()) {
          if (drop-- === 0) break;
          this.circuits.delete(k);
          this.onChange?.(k, 'closed');
        }
      }
    }
    this.circuits.set(key, circuit);
  }

  /** The call ended without telling whether the upstream is healthy. */
  release(key: string, decision: BreakerDecision): void {
    if (decision !== 'probe') return;
    const c = this.circuits.get(key);
    if (c) c.probing = false;
  }

  /** Whether `acquire` would refuse a call now (open, or a probe in flight), without taking the probe slot. */
  refuses(key: string, settings: BreakerSettings): boolean {
    const c = this.circuits.get(key);
    if (!c || c.openedAt === undefined) return false;
    return c.probing || this.now() - c.openedAt < settings.cooldownMs;
  }

  /** Milliseconds until an open circuit lets a probe through (0 when it would now), undefined when closed. */
  retryInMs(key: string, settings: BreakerSettings): number | undefined {
    const c = this.circuits.get(key);
    if (!c || c.openedAt === undefined) return undefined;
    return Math.max(0, c.openedAt + settings.cooldownMs - this.now());
  }

  state(key: string, settings: BreakerSettings): 'closed' | 'open' | 'half_open' {
    const c = this.circuits.get(key);
    if (!c || c.openedAt === undefined) return 'closed';
    return c.probing || this.now() - c.openedAt >= settings.cooldownMs ? 'half_open' : 'open';
  }
}
