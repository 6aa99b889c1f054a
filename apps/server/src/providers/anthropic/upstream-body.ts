import { anthropicFallbacks } from '../../contract/fallbacks.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';

/**
 * The client's body as it may leave the gateway: unchanged, except that the gateway's own string
 * `fallbacks` are removed (Anthropic's own form of the field stays: object items, or a string such
 * as "default"). Unknown fields pass through untouched. A shallow copy the caller may edit.
 */
export function clientBody(body: CreateMessageRequest): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  if (body.fallbacks !== undefined) {
    const own = anthropicFallbacks(body.fallbacks);
    if (own === undefined) delete out.fallbacks;
    else out.fallbacks = own;
  }
  return out;
}

/** The body sent to Anthropic's own API: the client's, with the upstream model id. */
export function toUpstreamBody(body: CreateMessageRequest, model: string, stream: boolean): string {
  const out = clientBody(body);
  out.model = model;
  if (stream) out.stream = true;
  else delete out.stream;
  return JSON.stringify(out);
}

/**
 * The body Claude takes on a cloud platform (Bedrock, Vertex): no `model` (the URL names it), the
 * platform's `anthropic_version` in the body rather than a header, and the other `fields` the
 * platform wants (`stream`, `anthropic_beta`). Fields set to undefined are left out.
 */
export function toEnvelopeBody(body: CreateMessageRequest | Record<string, unknown>, fields: Record<string, unknown>): string {
  const out = clientBody(body as CreateMessageRequest);
  delete out.model;
  delete out.stream;
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) out[name] = value;
  return JSON.stringify(out);
}
