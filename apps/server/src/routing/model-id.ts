/**
 * What a client's model id (`model`, string `fallbacks` entries) may be. The id comes back in the
 * `x-bf-model` response header, so it must be text a header can carry: printable ASCII, no control
 * characters, no CR/LF. (Node writes a non-ASCII header value as UTF-8 or Latin-1 depending on how
 * the response is sent, so anything past ASCII would reach the client garbled.) openapi.yaml says
 * the same with `maxLength` and `pattern`; these are checked again by the router, which async jobs
 * and embedders reach without the contract's validator.
 */
export const MAX_MODEL_ID = 256;

/** The `pattern` of CreateMessageRequest.model and CountTokensRequest.model in openapi.yaml. */
export const MODEL_ID_PATTERN = '^[\\x20-\\x7E]+$';
/** The `pattern` of FallbackModel in openapi.yaml: a "provider/model" whose provider part has no space or slash. */
export const FALLBACK_MODEL_PATTERN = '^[\\x21-\\x2E\\x30-\\x7E]+/[\\x20-\\x7E]+$';

export const MODEL_ID_RULE = 'must be printable ASCII (no control characters, no CR or LF)';
export const FALLBACK_MODEL_RULE = 'must be "provider/model" in printable ASCII (no control characters, no CR or LF)';

const PRINTABLE_ASCII = /^[\x20-\x7E]+$/;

/** Why `id` cannot be a model id, or undefined when it can. */
export function modelIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'must NOT have fewer than 1 characters';
  if (id.length > MAX_MODEL_ID) return `must NOT have more than ${MAX_MODEL_ID} characters`;
  if (!PRINTABLE_ASCII.test(id)) return MODEL_ID_RULE;
  return undefined;
}
