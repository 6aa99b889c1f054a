/**
 * The bytes (and UTF-16 code units: the same values) that give JSON its structure, for the scanners
 * that read JSON without parsing it (contract/raw-body.ts, jobs/batches/body-reader.ts,
 * providers/openai/tool-arguments.ts).
 */
export const SPACE = 0x20;
export const TAB = 0x09;
export const LF = 0x0a;
export const CR = 0x0d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const COMMA = 0x2c;
export const COLON = 0x3a;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;

/** JSON's whitespace: space, tab, line feed, carriage return. */
export function isJsonSpace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** Index of the first byte at or after `from` that is not JSON whitespace (`bytes.length` when there is none). */
export function skipJsonSpace(bytes: Uint8Array, from = 0): number {
  let i = from;
  while (i < bytes.length && isJsonSpace(bytes[i]!)) i++;
  return i;
}

/**
 * A regex source for one JSON string literal, quotes included: any character but a quote, a
 * backslash or a control character, or an escape. Linear (each character has one way to match), for
 * patterns that accept compact JSON of a known shape without parsing it (routing/stream-guard.ts,
 * providers/openai/convert-stream.ts).
 */
export const JSON_STRING_PATTERN = String.raw`"[^"\\\u0000-\u001f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\u0000-\u001f]*)*"`;
