/** Characters of client-supplied text an error message or a log field repeats before cutting it short. */
export const QUOTE_LIMIT = 64;

/**
 * Client text (a model name, a block type, a path) as it goes into an error message or a log line:
 * quoted, control characters escaped, and cut to `limit` characters with the full length said, so
 * a client cannot make the gateway repeat megabytes back to it or into its logs.
 *
 * quote('gpt-4o') → "gpt-4o"; quote('x'.repeat(9000)) → "xxx…" (9000 characters)
 */
export function quote(text: string, limit = QUOTE_LIMIT): string {
  if (text.length <= limit) return JSON.stringify(text);
  let end = limit;
  // Never cut a surrogate pair in two.
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${JSON.stringify(text.slice(0, end)).slice(0, -1)}…" (${text.length} characters)`;
}

/** At most `limit` characters of client text for a log field, with a mark when it was cut. */
export function clip(text: string, limit: number): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
}
