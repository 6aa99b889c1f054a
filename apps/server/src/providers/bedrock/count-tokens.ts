import { GatewayError } from '../../errors.js';
import type { CountTokensRequest } from '../../generated/types.gen.js';
import { toEnvelopeBody } from '../anthropic/upstream-body.js';
import { BEDROCK_ANTHROPIC_VERSION } from './invoke-envelope.js';

/**
 * The CountTokens body for Claude: the InvokeModel body the request would make, base64 in
 * `input.invokeModel.body`. CountTokens validates that body like InvokeModel does, so it carries a
 * `max_tokens` (one more than a thinking budget, which must stay below it) and only known betas.
 */
export function invokeCountTokensBody(req: CountTokensRequest, betas: readonly string[]): string {
  const thinking = req.thinking as { type?: string; budget_tokens?: number } | undefined;
  const maxTokens = thinking?.type === 'enabled' && typeof thinking.budget_tokens === 'number' ? thinking.budget_tokens + 1 : 1;
  const invokeBody = toEnvelopeBody({ ...req, max_tokens: maxTokens }, { anthropic_version: BEDROCK_ANTHROPIC_VERSION, anthropic_beta: betas.length > 0 ? betas : undefined });
  return JSON.stringify({ input: { invokeModel: { body: Buffer.from(invokeBody, 'utf8').toString('base64') } } });
}

/** Bedrock's `{"inputTokens": n}` → the count, or undefined when the answer is not that. */
export function readCountTokens(parsed: unknown): number | undefined {
  const n = (parsed as { inputTokens?: unknown } | undefined)?.inputTokens;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** A CountTokens refusal that means "not for this model" (CountTokens exists only for some models): count locally instead. */
export function countTokensUnavailable(err: unknown): 'model' | 'request' | undefined {
  if (!(err instanceof GatewayError) || err.origin !== 'upstream' || (err.status !== 400 && err.status !== 404)) return undefined;
  return /support|not available|unknown operation|invalid/i.test(err.message) ? 'model' : 'request';
}

/** Models known to have no CountTokens, remembered so each costs one refused call, not one per request. Bounded: clients name models. */
export class NoCountTokens {
  private readonly models = new Set<string>();
  constructor(private readonly limit = 1000) {}
  has(model: string): boolean {
    return this.models.has(model);
  }
  add(model: string): void {
    if (this.models.size >= this.limit) this.models.clear();
    this.models.add(model);
  }
}
