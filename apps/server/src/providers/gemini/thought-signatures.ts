/**
 * Gemini's thought signatures in Anthropic's `thinking` blocks.
 *
 * Gemini signs its reasoning with an opaque `thoughtSignature` beside one part of its answer (a
 * function call, a text part, or a thought summary) and, for Gemini 3, refuses a function-calling
 * turn whose call comes back without it. Anthropic's only place for a signature is a thinking
 * block's `signature`, so the gateway puts each one there, prefixed with where it belongs:
 * - `gemini:call:<sig>`: the part after this block (a function call; the block comes right before
 *   its `tool_use`, carrying the thought summary that led to it when there was one);
 * - `gemini:text:<sig>`: the text part before this block (Gemini signs a text answer at its end;
 *   a stream brings the signature last, so the block follows the text in the answer and the
 *   stream alike); with no text before it, an empty text part carries it;
 * - `gemini:thought:<sig>`: the block's own thought summary.
 * The next request sends each back exactly where it was. A signature without one of these
 * prefixes (Claude's, or "" from another translated provider) is never sent to Gemini.
 */
export type SignaturePlacement = 'call' | 'text' | 'thought';

const PREFIX = 'gemini:';

/** Google's documented stand-in for a function call Gemini did not make (a history from another model). */
export const SKIP_SIGNATURE_VALIDATOR = 'skip_thought_signature_validator';

export function encodeSignature(placement: SignaturePlacement, signature: string): string {
  return `${PREFIX}${placement}:${signature}`;
}

/** The placement and Gemini signature a thinking block's `signature` holds, or undefined when it holds none. */
export function decodeSignature(signature: unknown): { placement: SignaturePlacement; signature: string } | undefined {
  if (typeof signature !== 'string' || !signature.startsWith(PREFIX)) return undefined;
  const rest = signature.slice(PREFIX.length);
  const colon = rest.indexOf(':');
  const placement = rest.slice(0, colon);
  const value = rest.slice(colon + 1);
  if (colon <= 0 || !value || (placement !== 'call' && placement !== 'text' && placement !== 'thought')) return undefined;
  return { placement, signature: value };
}
