/** Seconds a rate window spans: "per minute". */
export const WINDOW_S = 60;

/**
 * A count over the last 60 seconds, in 60 one-second buckets: `total` is what was added in the
 * current second and the 59 before it. Exact at one-second resolution, constant memory. The Redis
 * store keeps the same buckets in a hash (redis-scripts.ts), so both stores count alike.
 */
export class MinuteWindow {
  private readonly seconds = new Float64Array(WINDOW_S).fill(-1);
  private readonly counts = new Float64Array(WINDOW_S);
  /** The last second anything was added in: the window is empty 60 s after it. */
  private newest = -1;
  /** total() of `totalAt`, kept up to date by add(): a busy key asks several times a second. */
  private totalAt = -1;
  private totalValue = 0;

  add(nowS: number, n: number): void {
    const slot = nowS % WINDOW_S;
    if (this.seconds[slot] !== nowS) {
      this.seconds[slot] = nowS;
      this.counts[slot] = 0;
    }
    this.counts[slot]! += n;
    if (n > 0 && nowS > this.newest) this.newest = nowS;
    if (this.totalAt === nowS) this.totalValue += n;
  }

  total(nowS: number): number {
    if (this.totalAt === nowS) return this.totalValue;
    let sum = 0;
    for (let i = 0; i < WINDOW_S; i++) if (this.seconds[i]! > nowS - WINDOW_S) sum += this.counts[i]!;
    this.totalAt = nowS;
    this.totalValue = sum;
    return sum;
  }

  /** The buckets still in the window, oldest first: [second, count]. */
  private live(nowS: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < WINDOW_S; i++) {
      const s = this.seconds[i]!;
      if (s > nowS - WINDOW_S && this.counts[i]! > 0) out.push([s, this.counts[i]!]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  /** Seconds from `nowS` until the total drops below `limit` (0 when it already is). */
  secondsUntilBelow(nowS: number, limit: number): number {
    let total = this.total(nowS);
    if (total < limit) return 0;
    for (const [s, c] of this.live(nowS)) {
      total -= c;
      if (total < limit) return s + WINDOW_S - nowS;
    }
    return WINDOW_S;
  }

  /** The second at which everything now counted has left the window (`nowS` when empty). */
  emptyAt(nowS: number): number {
    return this.newest > nowS - WINDOW_S ? this.newest + WINDOW_S : nowS;
  }
}
