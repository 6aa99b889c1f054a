import type { Config, ModelAlias } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { CountTokensRequest, CreateMessageRequest } from '../generated/types.gen.js';
import type { AttemptContext, ClientHeaders, MessageResult, Provider, SseBatch, SseFrame, StreamResult } from '../providers/types.js';
import { CircuitBreakers } from './breaker.js';
import { chooseKey, KeyCooldowns } from './keys.js';
import { modelIdProblem } from './model-id.js';
import { resolveModel, type RouteTarget } from './resolve.js';
import { runPlan, type AttemptScope, type RoutingState, type Served } from './run-plan.js';
import { classifyFailure } from './failure.js';
import { MemoryFactsStore } from '../state/model-facts.js';
import { continuationModeOf } from './continuation-mode.js';
import { ContinuingStream, StreamTrace, type ContinuationRecord, type Continuer } from './continuing-stream.js';
import { SentAnswer } from './sent-answer.js';
import { UsageSum } from './stitcher.js';
import { committedStream, readUntilContent } from './stream-commit.js';
import { acceptsContinuation, continuationReason, continuationRequest, refusesContinuation } from './stream-continue.js';
import { GuardedStream, timeoutError } from './stream-guard.js';
import type { CancelSignal } from '../cancel.js';

export type { Served } from './run-plan.js';
export type { ContinuationRecord } from './continuing-stream.js';
export { StreamTrace } from './continuing-stream.js';

export interface RequestContext {
  clientHeaders: ClientHeaders;
  signal: CancelSignal;
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
    private readonly config: Pick<Config, 'default_provider'> & Partial<Pick<Config, 'models'>> & { limits?: Partial<Config['limits']> },
    state: Partial<RoutingState> = {},
  ) {
    const now = state.now ?? Date.now;
    this.state = {
      cooldowns: state.cooldowns ?? new KeyCooldowns(now),
      breakers: state.breakers ?? new CircuitBreakers(now),
      facts: state.facts ?? new MemoryFactsStore(),
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
   * events replay what was read, then follow the upstream. A failure after that (cut, stall,
   * malformed event, an upstream error, an aborted generation) is continued when it can be: the
   * answer goes on in the same stream, first on the same target, else on the next fallback that can
   * continue it (continuer). When it cannot, the iterator throws the original failure, which the
   * HTTP layer turns into `event: error`. `trace` names the attempts as the stream goes.
   */
  async streamMessage(body: CreateMessageRequest, ctx: RequestContext): Promise<StreamResult & { served: Served; trace: StreamTrace }> {
    const plan = this.plan(body);
    const startedAt = (this.state.now ?? Date.now)();
    const { value, served } = await runPlan(plan, ctx, this.state, (target, attempt, scope) => this.openStream(body, target, attempt, scope), {
      callOwnsAttempt: true,
      maxAttempts: this.maxAttempts,
      startedAt,
    });
    const trace = new StreamTrace(served.attempts);
    const maxContinuations = this.config.limits?.max_stream_continuations ?? DEFAULT_MAX_STREAM_CONTINUATIONS;
    // Only a stream some target could take up is watched: the others cost nothing more.
    if (maxContinuations > 0 && plan.slice(served.fallbackIndex).some((t) => this.canContinue(body, t))) {
      const sent = new SentAnswer(this.config.limits?.max_continuation_chars ?? DEFAULT_MAX_CONTINUATION_CHARS);
      const usage = new UsageSum();
      value.events = new ContinuingStream(value.events, sent, usage, this.continuer({ body, ctx, plan, startedAt, trace, sent, usage, servedIndex: served.fallbackIndex, maxContinuations }));
    }
    return Object.assign(value, { served, trace });
  }

  /** Whether `target` can continue an answer to `body`: its provider can, the request allows it, the model did not refuse. */
  private canContinue(body: CreateMessageRequest, target: RouteTarget): boolean {
    const mode = continuationModeOf(target.provider, target.model);
    return acceptsContinuation(body, mode) && !this.state.facts.forProvider(target.provider.name).refusesContinuation(target.model);
  }

  /**
   * What a broken stream does next (see streamMessage). The targets asked: the one whose stream
   * broke, when the failure is one it may be retried after, then the plan's later targets that can
   * continue; each with its retries, key choice and breaker, like any plan, within the request's
   * attempts (`limits.max_upstream_attempts`), its deadline, and `limits.max_stream_continuations`.
   * A target that answers the continuation with a refusal is passed over (a refusal to continue at
   * all is remembered for its model); when none takes it up, the original failure stands.
   */
  private continuer(run: {
    body: CreateMessageRequest;
    ctx: RequestContext;
    plan: RouteTarget[];
    startedAt: number;
    trace: StreamTrace;
    sent: SentAnswer;
    usage: UsageSum;
    servedIndex: number;
    maxContinuations: number;
  }): Continuer {
    const { body, ctx, plan, trace, sent, usage } = run;
    let current = run.servedIndex;
    return async (err) => {
      if (ctx.signal.aborted) throw err;
      const reason = continuationReason(err);
      const record: ContinuationRecord = { reason, outcome: 'impossible', from: plan[current]!.label, attempts: 0 };
      const done = (outcome: ContinuationRecord['outcome']) => {
        record.outcome = outcome;
        trace.continuations.push(record);
        this.state.metrics?.continuation?.(reason, outcome);
      };
      // The stop reason and the final usage were sent, only message_stop was lost: the answer is whole.
      if (usage.delivered) {
        record.to = record.from;
        done('continued');
        return { events: messageStopOnly(), trimmed: '' };
      }
      const attemptsLeft = this.maxAttempts - trace.attempts;
      // A failure the client must see as it is (a refusal), or no time, calls or continuations left.
      if (reason === 'deadline' || classifyFailure(err, true) === 'final' || !sent.continuable || trace.continuations.length >= run.maxContinuations || attemptsLeft <= 0) {
        done('impossible');
        throw err;
      }
      const indexes: number[] = [];
      if (classifyFailure(err, true) !== 'next_target' && this.canContinue(body, plan[current]!)) indexes.push(current);
      for (let i = current + 1; i < plan.length; i++) if (this.canContinue(body, plan[i]!)) indexes.push(i);
      if (indexes.length === 0) {
        done('impossible');
        throw err;
      }
      const text = sent.text();
      usage.cut(sent.takeAttemptChars());
      let trimmed = '';
      try {
        const { value, served } = await runPlan(
          indexes.map((i) => plan[i]!),
          ctx,
          this.state,
          async (target, attempt, scope) => {
            record.attempts++;
            const request = continuationRequest(body, text, continuationModeOf(target.provider, target.model), usage.priorOutput);
            trimmed = request.trimmed;
            try {
              return await this.openStream(request.body, target, { ...attempt, continuation: true }, scope);
            } catch (refusal) {
              if (refusesContinuation(refusal)) this.state.facts.forProvider(target.provider.name).learnContinuationRefused(target.model);
              throw refusal;
            }
          },
          {
            callOwnsAttempt: true,
            maxAttempts: attemptsLeft,
            startedAt: run.startedAt,
            // Whatever a target answers a continuation (a refusal of the prefill, of its length), the next one may take it.
            classify: (_failure, cls) => (cls === 'final' ? 'next_target' : cls),
          },
        );
        trace.attempts += record.attempts;
        current = indexes[served.fallbackIndex]!;
        record.to = served.target.label;
        done('continued');
        return { events: value.events, trimmed };
      } catch (failure) {
        trace.attempts += record.attempts;
        done('failed');
        if (ctx.signal.aborted) throw failure;
        throw err;
      }
    };
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
const DEFAULT_MAX_STREAM_CONTINUATIONS = 2;
const MESSAGE_STOP: SseFrame = { event: 'message_stop', data: '{"type":"message_stop"}' };
const DEFAULT_MAX_CONTINUATION_CHARS = 500_000;

async function* messageStopOnly(): AsyncGenerator<SseBatch> {
  yield [MESSAGE_STOP];
}

function planTooLong(what: string, max: number): GatewayError {
  return new GatewayError(400, `fallbacks: ${what}; at most ${max} are allowed (limits.max_plan_targets)`);
}

function label(target: RouteTarget): { provider: string; model: string } {
  return { provider: target.provider.name, model: target.model };
}
