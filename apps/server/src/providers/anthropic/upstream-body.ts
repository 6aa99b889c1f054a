import type { CreateMessageRequest } from '../../generated/types.gen.js';

/**
 * The body sent to an Anthropic-type upstream: the client's, with the upstream model id and
 * without the gateway's own string `fallbacks` (object items are Anthropic's beta field and stay).
 * Unknown fields pass through untouched.
 */
export function toUpstreamBody(body: CreateMessageRequest, model: string, stream: boolean): string {
  const out: Record<string, unknown> = { ...body, model, stream };
  if (!stream) delete out.stream;
  const fallbacks = body.fallbacks;
  if (Array.isArray(fallbacks)) {
    const anthropicOwn = fallbacks.filter((f) => typeof f === 'object' && f !== null);
    if (anthropicOwn.length > 0) out.fallbacks = anthropicOwn;
    else delete out.fallbacks;
  }
  return JSON.stringify(out);
}
