import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { CountTokensRequest, CreateMessageRequest } from '../generated/types.gen.js';
import type { AttemptContext, ClientHeaders, MessageResult, Provider, StreamResult } from '../providers/types.js';
import { chooseKey } from './keys.js';
import { resolveModel, type RouteTarget } from './resolve.js';

export interface RequestContext {
  clientHeaders: ClientHeaders;
  signal: AbortSignal;
  requestId: string;
}

/** Which attempt served a request, for the x-bf-* response headers and logs. */
export interface Served {
  target: RouteTarget;
  attempts: number;
  fallbackIndex: number;
}

/** Resolves a request's model and fallbacks and runs the attempts. */
export class Router {
  constructor(
    private readonly providers: ReadonlyMap<string, Provider>,
    private readonly config: Pick<Config, 'default_provider'>,
  ) {}

  resolve(model: string, field = 'model'): RouteTarget {
    return resolveModel({ providers: this.providers, defaultProvider: this.config.default_provider }, model, field);
  }

  /** The primary target and the string fallbacks, in order. Unknown providers fail here, before any upstream call. */
  plan(body: Pick<CreateMessageRequest, 'model' | 'fallbacks'>): RouteTarget[] {
    const targets = [this.resolve(body.model)];
    body.fallbacks?.forEach((f, i) => {
      if (typeof f === 'string') targets.push(this.resolve(f, `fallbacks[${i}]`));
    });
    return targets;
  }

  async createMessage(body: CreateMessageRequest, ctx: RequestContext): Promise<MessageResult & { served: Served }> {
    return this.run(body, ctx, (target, attempt) => target.provider.createMessage(body, attempt));
  }

  async streamMessage(body: CreateMessageRequest, ctx: RequestContext): Promise<StreamResult & { served: Served }> {
    return this.run(body, ctx, (target, attempt) => target.provider.streamMessage(body, attempt));
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

  private async run<T extends object>(
    body: CreateMessageRequest,
    ctx: RequestContext,
    call: (target: RouteTarget, attempt: AttemptContext) => Promise<T>,
  ): Promise<T & { served: Served }> {
    const targets = this.plan(body);
    let attempts = 0;
    let lastError: unknown;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      attempts++;
      try {
        const result = await call(target, this.attemptContext(target, ctx));
        return Object.assign(result, { served: { target, attempts, fallbackIndex: i } });
      } catch (err) {
        lastError = err;
        if (ctx.signal.aborted || !canFallBack(err) || i === targets.length - 1) break;
      }
    }
    throw lastError;
  }
}

/** Failures another model might not have. A client error (bad request, policy) is final. */
function canFallBack(err: unknown): boolean {
  if (!(err instanceof GatewayError) || err.origin !== 'upstream' || !err.upstream) return false;
  const { kind, status } = err.upstream;
  if (kind === 'content_policy') return false;
  if (kind === 'context_length') return true;
  if (status === undefined) return true;
  return status === 401 || status === 403 || status === 408 || status === 429 || status >= 500;
}
