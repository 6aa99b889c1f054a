import { periodOf } from './periods.js';
import { refusals } from './refusals.js';
import type { Admission, AdmitResult, BudgetPeriod, LimitState, RateHeadersState, Settlement, Subject } from './types.js';
import { MinuteWindow } from './window.js';

interface SubjectState {
  requests: MinuteWindow;
  tokens: MinuteWindow;
  /** lease → nano-USD reserved by it. */
  leases: Map<string, number>;
  reserved: number;
  /** period id → nano-USD spent. */
  spend: Map<string, number>;
}

/** Spend in a period so far, from the durable ledger: read once per subject and period. */
export type SpentSoFar = (subjectId: string, period: BudgetPeriod, now: number) => number;

/**
 * Limits of one instance, in memory: the embedded store's. Windows and in-flight leases live and
 * die with the process; spend starts from the ledger and follows every settlement.
 */
export class MemoryLimiter {
  private readonly states = new Map<string, SubjectState>();

  constructor(private readonly spentSoFar: SpentSoFar) {}

  admit(a: Admission): AdmitResult {
    const nowS = Math.floor(a.now / 1000);
    const states = a.subjects.map((s) => this.state(s.id));
    if (a.mode !== 'peek') {
      const consume = a.mode === 'consume';
      for (let i = 0; i < a.subjects.length; i++) {
        const s = a.subjects[i]!;
        const st = states[i]!;
        const { rpm, tpm, maxConcurrent, budgetUsd } = s.limits;
        let refusal;
        if (consume && rpm !== null && st.requests.total(nowS) >= rpm) refusal = refusals.rpm(s, st.requests.secondsUntilBelow(nowS, rpm));
        else if (consume && tpm !== null && st.tokens.total(nowS) >= tpm) refusal = refusals.tpm(s, st.tokens.secondsUntilBelow(nowS, tpm));
        else if (a.lease !== null && maxConcurrent !== null && st.leases.size >= maxConcurrent) refusal = refusals.concurrency(s);
        else if (budgetUsd !== null) {
          const period = periodOf(s.limits.budgetPeriod, a.now);
          const spent = this.spent(s.id, st, s.limits.budgetPeriod, a.now);
          const budget = Math.round(budgetUsd * 1e9);
          if (spent >= budget) refusal = refusals.budget(s, period.endsAt);
          else if (consume && st.reserved > 0 && spent + st.reserved >= budget) refusal = refusals.reserved(s);
        }
        if (refusal) return { ok: false, refusal, state: headerState(a.subjects, states, nowS) };
      }
      if (!consume) return { ok: true, state: headerState(a.subjects, states, nowS) };
      for (const st of states) {
        st.requests.add(nowS, 1);
        if (a.lease !== null) {
          st.leases.set(a.lease, a.reserveNusd);
          st.reserved += a.reserveNusd;
        }
      }
    }
    return { ok: true, state: headerState(a.subjects, states, nowS) };
  }

  settle(s: Settlement): void {
    const nowS = Math.floor(s.now / 1000);
    for (const subject of s.subjects) {
      const st = this.state(subject.id);
      if (s.tokens > 0) st.tokens.add(nowS, s.tokens);
      if (s.nusd > 0) {
        for (const period of ['day', 'month'] as const) {
          const id = periodOf(period, s.now).id;
          st.spend.set(id, this.spent(subject.id, st, period, s.now) + s.nusd);
        }
      }
      if (s.lease !== null) {
        const reserved = st.leases.get(s.lease);
        if (reserved !== undefined) {
          st.leases.delete(s.lease);
          st.reserved -= reserved;
        }
      }
    }
  }

  private spent(subjectId: string, st: SubjectState, period: BudgetPeriod, now: number): number {
    const id = periodOf(period, now).id;
    let spent = st.spend.get(id);
    if (spent === undefined) {
      spent = this.spentSoFar(subjectId, period, now);
      // Only the current day and month matter: forget older periods.
      for (const old of st.spend.keys()) if (old[0] === id[0]) st.spend.delete(old);
      st.spend.set(id, spent);
    }
    return spent;
  }

  private state(id: string): SubjectState {
    let st = this.states.get(id);
    if (!st) {
      st = { requests: new MinuteWindow(), tokens: new MinuteWindow(), leases: new Map(), reserved: 0, spend: new Map() };
      this.states.set(id, st);
    }
    return st;
  }
}

/** The tightest requests and tokens limits among the subjects, for the response headers. */
function headerState(subjects: readonly Subject[], states: SubjectState[], nowS: number): RateHeadersState {
  let requests: LimitState | null = null;
  let tokens: LimitState | null = null;
  for (let i = 0; i < subjects.length; i++) {
    const { rpm, tpm } = subjects[i]!.limits;
    const st = states[i]!;
    if (rpm !== null) {
      const remaining = Math.max(0, rpm - st.requests.total(nowS));
      if (requests === null || remaining < requests.remaining) {
        requests = { limit: rpm, remaining, resetAt: st.requests.emptyAt(nowS) * 1000 };
      }
    }
    if (tpm !== null) {
      const remaining = Math.max(0, tpm - st.tokens.total(nowS));
      if (tokens === null || remaining < tokens.remaining) tokens = { limit: tpm, remaining, resetAt: st.tokens.emptyAt(nowS) * 1000 };
    }
  }
  return { requests, tokens };
}

