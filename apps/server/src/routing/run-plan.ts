import { GatewayError } from '../errors.js';
import type { AttemptContext, ClientHeaders } from '../providers/types.js';
import { Attempt } from './attempt.js';
import { backoffDelay, sleep } from './backoff.js';
import type { FactsStore } from '../state/model-facts.js';
import type { CircuitBreakers } from './breaker.js';
import { classifyFailure, describeFailure, exhaustedError, isTimeout, type AttemptRecord, type FailureClass } from './failure.js';
import { pickKey, type KeyCooldowns } from './keys.js';
import { policyFor, type RoutingPolicy } from './policy.js';
import type { RouteTarget } from './resolve.js';
import type { CancelSignal } from '../cancel.js';

export interface RunContext {
  clientHeaders: ClientHeaders;
  signal: CancelSignal;
  requestId: string;
}

/** Shared routing state: outlives requests. */
export interface RoutingState {
  cooldowns: KeyCooldowns;
  breakers: CircuitBreakers;
  /** What models were found to refuse or limit (a refusal to continue an answer among them). */
  facts: FactsStore;
  /** Told of retries and fallbacks (Prometheus counters). */
  metrics?: {
    retry(provider: string, model: string): void;
    fallback(provider: string, model: string): void;
    /** The attempt succeeded: the upstream serves this model. */
    served?(provider: string, model: string): void;
    /** A stream broke mid-answer: why, and what became of it (continuing-stream.ts). */
    continuation?(reason: string, outcome: string): void;
  };
  random?: () => number;
  now?: () => number;
}

/** Which attempt served a request, for the x-bf-* response headers and logs. */
export interface Served {
  target: RouteTarget;
  /** Upstream calls made, retries and fallbacks included. */
  attempts: number;
  /** Position in the plan: 0 = the primary model, n = the n-th fallback. */
  fallbackIndex: number;
}

/** What a call gets besides the provider's AttemptContext. */
export interface AttemptScope {
  attempt: Attempt;
  policy: RoutingPolicy;
  /** Epoch ms: the overall deadline of the request while on this target. */
  deadline: number;
  /** Report a failure that happens after the call returned (a stream cut after its first content). */
  reportLateFailure(err: unknown): void;
}

export interface RunOptions {
  /** The call's result keeps using the attempt (a stream): the call disposes it, not the runner. */
  callOwnsAttempt: boolean;
  /** Upstream calls the run may make in all (config `limits.max_upstream_attempts`); unlimited when absent. */
  maxAttempts?: number;
  /** Epoch ms the request began (the targets' `total_ms` deadlines count from it); default: now. */
  startedAt?: number;
  /**
   * What a failure means for this run, when it differs from classifyFailure's answer (a
   * continuation moves on from any target that cannot continue, whatever it answered).
   */
  classify?: (failure: unknown, cls: FailureClass) => FailureClass;
}

export type AttemptCall<T> = (target: RouteTarget, ctx: AttemptContext, scope: AttemptScope) => Promise<T>;

/**
 * Runs a request's plan: per target, attempts with retries (backoff with full jitter, 429
 * retry-after up to a cap, another key first), then the next target; circuit breakers skip
 * targets that keep failing. Failure handling per class is in failure.ts. Throws the final
 * error at once, or, when every target failed, the most useful error naming all attempts.
 */
export async function runPlan<T>(
  plan: RouteTarget[],
  ctx: RunContext,
  state: RoutingState,
  call: AttemptCall<T>,
  opts: RunOptions,
): Promise<{ value: T; served: Served }> {
  const now = state.now ?? Date.now;
  const random = state.random ?? Math.random;
  const requestStart = opts.startedAt ?? now();
  const records: AttemptRecord[] = [];
  let attempts = 0;
  let nextProbeInMs: number | undefined;
  const maxAttempts = opts.maxAttempts ?? Infinity;

  plan: for (let index = 0; index < plan.length; index++) {
    const target = plan[index]!;
    const policy = policyFor(target.provider.config);
    const deadline = requestStart + policy.totalMs;
    const circuit = `${target.provider.name}/${target.model}`;
    const refusedKeys = new Set<string>();
    const keyCount = Math.max(1, target.provider.config.keys?.length ?? 0);
    let retries = 0;
    let keySwitches = 0;
    let firstPick = true;
    const skip = (outcome: string) => records.push({ targetIndex: index, label: target.label, outcome });

    for (;;) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (attempts >= maxAttempts) {
        skip(`not tried: ${maxAttempts} attempts made, the most one request may make (limits.max_upstream_attempts)`);
        break plan;
      }
      if (now() >= deadline) {
        skip('deadline passed');
        break;
      }
      const picked = pickKey(target.provider.name, target.provider.config, target.model, { cooldowns: state.cooldowns, exclude: refusedKeys, random });
      // A provider with its own credentials (cloud signing, OAuth) never uses the client's: a 401/403 is the gateway's to own.
      const choice = picked && target.provider.ownCredentials && !picked.configured ? { ...picked, configured: true } : picked;
      if (!choice) {
        if (firstPick) skip('no usable key (all cooling down after 401/403)');
        break;
      }
      // Every key already rate-limited by other requests: move on while there is somewhere to go.
      if (firstPick && choice.coolingMs > 0 && index < plan.length - 1) {
        skip('all keys rate-limited');
        break;
      }
      firstPick = false;
      const decision = state.breakers.acquire(circuit, policy.breaker);
      if (decision === 'open') {
        skip('circuit open');
        const wait = state.breakers.retryInMs(circuit, policy.breaker);
        if (wait !== undefined) nextProbeInMs = Math.min(nextProbeInMs ?? Infinity, wait);
        break;
      }

      attempts++;
      const attempt = new Attempt(ctx.signal, now);
      const attemptCtx: AttemptContext = {
        model: target.model,
        key: choice.key,
        clientHeaders: ctx.clientHeaders,
        signal: attempt.signal,
        requestId: ctx.requestId,
      };
      const scope: AttemptScope = {
        attempt,
        policy,
        deadline,
        reportLateFailure: (err) => {
          if (classifyFailure(err, choice.configured) === 'transient') state.breakers.failure(circuit, policy.breaker);
        },
      };
      let failure: unknown;
      try {
        const value = await call(target, attemptCtx, scope);
        // Before the breaker reports its state: a model's first success labels it by name.
        state.metrics?.served?.(target.provider.name, target.model);
        state.breakers.success(circuit);
        state.cooldowns.served(choice.key.id, target.model);
        if (!opts.callOwnsAttempt) attempt.dispose(false);
        return { value, served: { target, attempts, fallbackIndex: index } };
      } catch (err) {
        attempt.dispose(true);
        failure = attempt.failure ?? err;
      }
      if (ctx.signal.aborted) {
        state.breakers.release(circuit, decision);
        throw ctx.signal.reason;
      }

      const cls = opts.classify ? opts.classify(failure, classifyFailure(failure, choice.configured)) : classifyFailure(failure, choice.configured);
      records.push({
        targetIndex: index,
        label: target.label,
        outcome: describeFailure(failure),
        error: failure instanceof GatewayError ? failure : undefined,
        usedConfiguredKey: choice.configured,
      });
      if (cls === 'transient') state.breakers.failure(circuit, policy.breaker);
      else if (cls === 'key' || cls === 'rate_limited' || (failure instanceof GatewayError && failure.upstream?.kind === 'unsupported')) state.breakers.release(circuit, decision);
      else state.breakers.success(circuit); // the upstream answered: it is up

      if (cls === 'final') throw failure;
      if (cls === 'next_target') break;
      // A silent upstream asked again only multiplies the wait: a timeout moves on at once while a
      // later target can be tried, and is retried here only on the plan's last usable target.
      if (isTimeout(failure) && laterTargetUsable(plan, index, state)) break;
      if (cls === 'key') {
        state.cooldowns.coolDown(choice.key.id, target.model, policy.keyCooldownMs, 'auth');
        refusedKeys.add(choice.key.id);
        continue;
      }

      let wait: number;
      if (cls === 'rate_limited') {
        const retryAfterMs = (failure as GatewayError).upstream?.retryAfterMs;
        if (choice.configured) {
          const ceiling = Math.min(policy.backoff.maxMs, policy.backoff.baseMs * 2 ** retries);
          state.cooldowns.coolDown(choice.key.id, target.model, retryAfterMs ?? ceiling, 'rate_limit');
          const other = pickKey(target.provider.name, target.provider.config, target.model, { cooldowns: state.cooldowns, exclude: refusedKeys, random });
          if (other && other.coolingMs === 0 && other.key.id !== choice.key.id && keySwitches < keyCount) {
            keySwitches++;
            state.metrics?.retry(target.provider.name, target.model);
            continue;
          }
        }
        // Waiting longer than the cap would hold the client for nothing a fallback could not do now.
        if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) break;
        wait = retryAfterMs ?? backoffDelay(retries, policy.backoff, random);
      } else {
        wait = backoffDelay(retries, policy.backoff, random);
      }
      if (retries >= policy.maxRetries || now() + wait >= deadline) break;
      retries++;
      state.metrics?.retry(target.provider.name, target.model);
      await sleep(wait, ctx.signal);
    }
    if (index < plan.length - 1) state.metrics?.fallback(target.provider.name, target.model);
  }
  throw exhaustedError(records, nextProbeInMs);
}

/** Some target after `index` whose circuit would let a call through now. */
function laterTargetUsable(plan: RouteTarget[], index: number, state: RoutingState): boolean {
  for (let i = index + 1; i < plan.length; i++) {
    const t = plan[i]!;
    if (!state.breakers.refuses(`${t.provider.name}/${t.model}`, policyFor(t.provider.config).breaker)) return true;
  }
  return false;
}
