import type { CreateMessageRequest } from '../generated/types.gen.js';

type Fallbacks = CreateMessageRequest['fallbacks'];

/**
 * `fallbacks` carries two things: the gateway's list of "provider/model" strings, and Anthropic's own
 * field of the same name (object entries of the list, or a plain string such as `"default"` in
 * place of the list). These split them.
 */

/** The gateway's "provider/model" entries, in order. */
export function gatewayFallbacks(fallbacks: Fallbacks): string[] {
  if (!Array.isArray(fallbacks)) return [];
  return fallbacks.filter((f): f is string => typeof f === 'string');
}

/** What belongs to Anthropic and goes to Anthropic-type upstreams unchanged; undefined when nothing does. */
export function anthropicFallbacks(fallbacks: Fallbacks): Exclude<Fallbacks, undefined> | undefined {
  if (typeof fallbacks === 'string') return fallbacks;
  if (!Array.isArray(fallbacks)) return undefined;
  const own = fallbacks.filter((f) => typeof f === 'object' && f !== null);
  return own.length > 0 ? own : undefined;
}
