import { anthropicFallbacks } from '../../contract/fallbacks.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';

/**
 * The body sent to an Anthropic-type upstream: the client's, with the upstream model id and
 * without the gateway's own string `fallbacks` (Anthropic's own form of the field stays: object
 * items, or a string such as "default"). Unknown fields pass through untouched.
 */
export function toUpstreamBody(body: CreateMessageRequest, model: string, stream: boolean): string {
  const out: Record<string, unknown> = { ...body, model, stream };
  if (!stream) delete out.stream;
  if (body.fallbacks !== undefined) {
    const own = anthropicFallbacks(body.fallbacks);
    if (own === undefined) delete out.fallbacks;
    else out.fallbacks = own;
  }
  return JSON.stringify(out);
}
