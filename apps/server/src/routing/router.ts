import type { Config, ModelAlias } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { CountTokensRequest, CreateMessageRequest } from '../generated/types.gen.js';
import type { AttemptContext, ClientHeaders, MessageResult, Provider, SseBatch, StreamResult } from '../providers/types.js';
import { CircuitBreakers } from './breaker.js';
import { chooseKey, KeyCooldowns } from './keys.js';
import { modelIdProblem } from './model-id.js';
import { resolveModel, type RouteTarget } from './resolve.js';
import { runPlan, type AttemptScope, type RoutingState, type Served } from './run-plan.js';
import { classifyFailure } from './failure.js';
import { committedStream, readUntilContent } from './stream-commit.js';
import { acceptsPrefill, SentContent, Stitcher, withPrefill } from './stream-continue.js';
import { GuardedStream, timeoutError } from './stream-guard.js';

export type { Served } from './run-plan.js';

export interface RequestContext {
  clientHeaders: ClientHeaders;
  signal: AbortSignal;
  requestId: string;
}

/** Resolves a request's model and fallbacks and runs the attempts (retries, fallbacks, breakers: run-plan.ts). */
export class Router {
  /** Key cooldowns and circuit breakers: shared by every request through this router. */
  readonly state: RoutingState;
  /** `models:` from the config. A Map: clients name the key, and `constructor` or `__proto__` must find nothing. */
  private readonly aliases: ReadonlyMap<string, ModelAlias>;

  constructor(
    private readonly providers: ReadonlyMap<string, Provider>,
    private readonly config: Pick<Config, 'default_provider'> & Partial<Pick<Config, 'models' | 'stream_fallback_prefill' | 'limits'>>,
    state: Partial<RoutingState> = {},
  ) {
    const now = state.now ?? Date.now;
    this.state = {
      cooldowns: state.cooldowns ?? new KeyCooldowns(now),
      breakers: state.breakers ?? new CircuitBreakers(now),
      metrics: state.metrics,
      random: state.random,
      now,
    };
    this.aliases = new Map(Object.entries(config.models ?? {}));
  }

  /** A model name (an alias from config `models:`, "provider/model" or a bare id) → where it goes. */
  resolve(model: string, field = 'model'): RouteTarget {
    const problem = modelIdProblem(model);
    if (problem !== undefined) throw new GatewayError(400, `${field}: ${problem}`);
    const alias = this.aliases.get(model);
    return resolveModel({ providers: this.providers, defaultProvider: this.config.default_provider }, alias ? alias.target : model, field);
  }

  /**
   * The primary target, the request's string fallbacks, then the alias's configured fallbacks not
   * already listed. Unknown providers fail here, before any upstream call, and so does a plan longer
   * than `limits.max_plan_targets` (each target may cost several upstream calls).
   */
  plan(body: Pick<CreateMessageRequest, 'model' | 'fallbacks'>): RouteTarget[] {
    const max = this.config.limits?.max_plan_targets ?? DEFAULT_MAX_PLAN_TARGETS;
    let own = 0;
    if (body.fallbacks) for (const f of body.fallbacks) if (typeof f === 'string') own++;
    if (1 + own > max) throw planTooLong(`the model and ${own} fallbacks make ${1 + own} targets`, max);
    const targets = [this.resolve(body.model)];
    if (Array.isArray(body.fallbacks)) {
      body.fallbacks.forEach((f, i) => {
        if (typeof f === 'string') targets.push(this.resolve(f, `fallbacks[${i}]`));
      });
    }
    const alias = this.aliases.get(body.model);
    alias?.fallbacks.forEach((f, i) => {
      const target = this.resolve(f, `models.${body.model}.fallbacks[${i}]`);
      if (!targets.some((t) => t.label === target.label)) targets.push(target);
    });
    if (targets.length > max) throw planTooLong(`with the fallbacks configured for "${body.model}" the plan has ${targets.length} targets`, max);
    return targets;
  }

  /** Upstream calls one request may make (retries, key switches and fallbacks included). */
  private get maxAttempts(): number {
    return this.config.limits?.max_upstream_attempts ?? DEFAULT_MAX_UPSTREAM_ATTEMPTS;
  }

  async createMessage(body: CreateMessageRequest, ctx: RequestContext): Promise<MessageResult & { served: Served }> {
    const plan = this.plan(body);
    const { value, served } = await runPlan(
      plan,
      ctx,
      this.state,
      (target, attempt, scope) => {
        scope.attempt.arm(scope.deadline, () => timeoutError(label(target), 'timeout_deadline', scope.policy.totalMs), this.state.now);
        return target.provider.createMessage(body, attempt);
      },
      { callOwnsAttempt: false, maxAttempts: this.maxAttempts },
    );
    return Object.assign(value, { served });
  }

  /**
   * Resolves once a stream has produced its first content event (message_start and ping do not
   * count): failures before that are retried and sent to fallbacks like any other. The returned
   * events replay what was read, then follow the upstream; after that a failure (cut, stall,
   * malformed event) makes the iterator throw, which the HTTP layer turns into `event: error`.
   */
  async streamMessage(body: CreateMessageRequest, ctx: RequestContext): Promise<StreamResult & { served: Served }> {
    const plan = this.plan(body);
    const { value, served } = await runPlan(plan, ctx, this.state, (target, attempt, scope) => this.openStream(body, target, attempt, scope), {
      callOwnsAttempt: true,
      maxAttempts: this.maxAttempts,
    });
    if (this.config.stream_fallback_prefill && acceptsPrefill(body)) {
      const rest = plan.slice(served.fallbackIndex + 1).filter((t) => t.provider.type === 'anthropic');
      // The continuation's calls count towards the request's limit too.
      const attemptsLeft = this.maxAttempts - served.attempts;
      if (rest.length > 0 && attemptsLeft > 0) value.events = this.continueOnFailure(body, value.events, rest, ctx, attemptsLeft);
    }
    return Object.assign(value, { served });
  }

  /**
   * Relays `events`; if they fail after the client got only text, the message continues on the
   * first of `rest` that serves it, with that text as an assistant prefill. When that is not
   * possible, or the continuation fails before its first content, the original failure stands.
   */
  private async *continueOnFailure(
    body: CreateMessageRequest,
    events: AsyncIterable<SseBatch>,
    rest: RouteTarget[],
    ctx: RequestContext,
    maxAttempts: number,
  ): AsyncGenerator<SseBatch> {
    const sent = new SentContent();
    try {
      for await (const batch of events) {
        for (const frame of batch) sent.observe(frame);
        yield batch;
      }
      return;
    } catch (err) {
      if (ctx.signal.aborted || !sent.textOnly || classifyFailure(err, true) === 'final') throw err;
      const prefilled = withPrefill(body, sent.text);
      let continuation: StreamResult;
      try {
        ({ value: continuation } = await runPlan(rest, ctx, this.state, (t, a, scope) => this.openStream(prefilled, t, a, scope), {
          callOwnsAttempt: true,
          maxAttempts,
        }));
      } catch {
        throw err;
      }
      const stitcher = new Stitcher(sent);
      for await (const batch of continuation.events) {
        const out = batch.flatMap((frame) => stitcher.map(frame));
        if (out.length > 0) yield out;
      }
    }
  }

  private async openStream(body: CreateMessageRequest, target: RouteTarget, attemptCtx: AttemptContext, scope: AttemptScope): Promise<StreamResult> {
    const { attempt, policy, deadline } = scope;
    const now = this.state.now ?? Date.now;
    const firstTokenBy = Math.min(attempt.startedAt + policy.firstTokenMs, deadline);
    const where = label(target);
    attempt.arm(
      firstTokenBy,
      () => (firstTokenBy < deadline ? timeoutError(where, 'timeout_first_token', policy.firstTokenMs) : timeoutError(where, 'timeout_deadline', policy.totalMs)),
      now,
    );
    const result = await target.provider.streamMessage(body, attemptCtx);
    attempt.disarm();
    const guarded = new GuardedStream(result.events, {
      target: where,
      firstTokenBy,
      firstTokenMs: policy.firstTokenMs,
      idleMs: policy.idleMs,
      deadline,
      totalMs: policy.totalMs,
      onTimeout: (err) => attempt.fail(err),
      now,
      wellFormed: result.wellFormed,
    });
    let head;
    try {
      head = await readUntilContent(guarded, where);
    } catch (err) {
      await guarded.return();
      throw err;
    }
    return {
      ...result,
      events: committedStream(head, guarded, {
        onError: (err) => scope.reportLateFailure(attempt.failure ?? err),
        onEnd: (completed) => attempt.dispose(!completed),
      }),
    };
  }

  async countTokens(body: CountTokensRequest, ctx: RequestContext): Promise<{ input_tokens: number }> {
    const target = this.resolve(body.model);
    return target.provider.countTokens(body, this.attemptContext(target, ctx));
  }

  private attemptContext(target: RouteTarget, ctx: RequestContext): AttemptContext {
    return {
      model: target.model,
      key: chooseKey(target.provider.name, target.provider.config, target.model),
      clientHeaders: ctx.clientHeaders,
      signal: ctx.signal,
      requestId: ctx.requestId,
    };
  }
}

/** The schema's defaults, for a Router built without a parsed config (tests, embedders). */
const DEFAULT_MAX_PLAN_TARGETS = 8;
const DEFAULT_MAX_UPSTREAM_ATTEMPTS = 16;

function planTooLong(what: string, max: number): GatewayError {
  return new GatewayError(400, `fallbacks: ${what}; at most ${max} are allowed (limits.max_plan_targets)`);
}

function label(target: RouteTarget): { provider: string; model: string } {
  return { provider: target.provider.name, model: target.model };
}
