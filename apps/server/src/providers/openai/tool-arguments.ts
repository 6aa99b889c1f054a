import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, isJsonSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE } from '../../contract/json-bytes.js';

/**
 * A tool call's `arguments` as they stream in, checked fragment by fragment in time linear in their
 * length: each character is looked at once, whatever the number of fragments. (Parsing the whole
 * text again on every fragment is quadratic: a 200 KB argument in 8-byte pieces would cost gigabytes
 * of copying and block the event loop for seconds.)
 *
 * It follows just enough of JSON to know where the top-level object ends: strings (with escapes) and
 * bracket depth. When the depth returns to zero the text is parsed once, so a complete object is known
 * to be valid JSON. Anything but an object (`[...]`, `"text"`, a bare word) is invalid from its first
 * character; so is anything but whitespace after the object's end.
 */
export class ToolArguments {
  /** Every fragment received, in order. */
  text = '';
  private state: 'start' | 'object' | 'done' | 'invalid' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;

  /** Nothing but whitespace so far (a call without arguments). */
  get blank(): boolean {
    return this.state === 'start';
  }

  /** The text is one whole JSON object (possibly followed by whitespace). */
  get complete(): boolean {
    return this.state === 'done';
  }

  /** The text can no longer become one JSON object. */
  get invalid(): boolean {
    return this.state === 'invalid';
  }

  push(fragment: string): void {
    const base = this.text.length;
    this.text += fragment;
    if (this.state === 'invalid') return;
    for (let i = 0; i < fragment.length; i++) {
      const c = fragment.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (this.state === 'object') {
        if (c === QUOTE) this.inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
        else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
          if (--this.depth === 0) {
            this.state = isJsonObject(this.text.slice(0, base + i + 1)) ? 'done' : 'invalid';
            if (this.state === 'invalid') return;
          }
        }
        continue;
      }
      if (isJsonSpace(c)) continue;
      if (this.state === 'start' && c === OPEN_BRACE) {
        this.state = 'object';
        this.depth = 1;
        continue;
      }
      this.state = 'invalid';
      return;
    }
  }
}

function isJsonObject(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * A tool call's `arguments` from a whole answer → the tool_use `input`, or undefined when they are not
 * a JSON object. Servers send `""` for a call without parameters (`{}`); llama.cpp's server sends the
 * object itself rather than its JSON text (taken as it is). When the answer was cut by the token
 * limit (`truncated`), a text that is the start of a JSON object becomes what the official SDK makes of
 * the same text streamed (see completeTruncatedObject), so a JSON answer and a stream agree.
 */
export function toolInput(args: unknown, truncated: boolean): Record<string, unknown> | undefined {
  if (args === undefined || args === null) return {};
  if (typeof args === 'object') return Array.isArray(args) ? undefined : (args as Record<string, unknown>);
  if (typeof args !== 'string') return undefined;
  const scan = new ToolArguments();
  scan.push(args);
  if (scan.blank) return {};
  if (scan.complete) return JSON.parse(args) as Record<string, unknown>;
  if (truncated && !scan.invalid) return completeTruncatedObject(args);
  return undefined;
}

/** A streamed `arguments` fragment as text: llama.cpp's server sends the object itself. */
export function argumentsText(fragment: unknown): string {
  if (fragment === undefined || fragment === null) return '';
  return typeof fragment === 'string' ? fragment : JSON.stringify(fragment);
}

type Token =
  | { kind: '{' | '}' | '[' | ']' | ':' | ',' }
  | { kind: 'string'; raw: string }
  | { kind: 'number'; raw: string; atEnd: boolean }
  | { kind: 'literal'; raw: string };

const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$/;
const LITERALS = ['true', 'false', 'null'];

/**
 * The start of a JSON object cut off by the token limit → the object it holds so far, the way the
 * official Anthropic SDK reads a streamed tool input that stopped there: a token the cut left
 * unfinished (a string, a number running to the end, a literal) is dropped, so is a key still waiting
 * for its value and a trailing `:` or `,`, and the open brackets are closed. Undefined when the text
 * is not the start of a JSON object.
 */
export function completeTruncatedObject(text: string): Record<string, unknown> | undefined {
  const tokens = tokenize(text);
  if (!tokens) return undefined;
  const open: string[] = [];
  for (const t of tokens) {
    if (t.kind === '{' || t.kind === '[') open.push(t.kind);
    else if (t.kind === '}' || t.kind === ']') open.pop();
  }
  const innermost = open[open.length - 1];
  let end = tokens.length;
  while (end > 0) {
    const last = tokens[end - 1]!;
    if (last.kind === ':') {
      end--;
      continue;
    }
    if (last.kind === 'number' && (last.atEnd || !NUMBER.test(last.raw))) {
      end--;
      continue;
    }
    if (last.kind === 'string' && innermost === '{') {
      const before = tokens[end - 2];
      if (before?.kind === ',' || before?.kind === '{') {
        end--; // a key without its value yet
        continue;
      }
    }
    if (last.kind === ',') end--;
    break;
  }
  let out = '';
  const closers: string[] = [];
  let previous: Token | undefined;
  for (const t of tokens.slice(0, end)) {
    if (t.kind === '{') closers.push('}');
    else if (t.kind === '[') closers.push(']');
    else if (t.kind === '}' || t.kind === ']') {
      if (closers.pop() !== t.kind) return undefined;
    }
    // Two values side by side (`1 2`) stay apart, so the parse below fails as it should.
    if (previous && isScalar(previous) && isScalar(t)) out += ' ';
    out += 'raw' in t ? t.raw : t.kind;
    previous = t;
  }
  out += closers.reverse().join('');
  try {
    const value: unknown = JSON.parse(out);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isScalar(t: Token): boolean {
  return t.kind === 'string' || t.kind === 'number' || t.kind === 'literal';
}

/** JSON tokens, an unfinished string or literal at the end left out; undefined for anything that is not JSON. */
function tokenize(text: string): Token[] | undefined {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '{' || ch === '}' || ch === '[' || ch === ']' || ch === ':' || ch === ',') {
      tokens.push({ kind: ch });
      i++;
    } else if (ch === '"') {
      let j = i + 1;
      let closed = false;
      while (j < text.length) {
        const c = text[j]!;
        if (c === '\\') j += 2;
        else if (c === '"') {
          closed = true;
          break;
        } else j++;
      }
      if (!closed) break; // cut inside a string: dropped
      tokens.push({ kind: 'string', raw: text.slice(i, j + 1) });
      i = j + 1;
    } else if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      i++;
    } else if (ch === '-' || ch === '.' || (ch >= '0' && ch <= '9')) {
      let j = i + 1;
      while (j < text.length && isNumberChar(text[j]!, text[j - 1]!)) j++;
      tokens.push({ kind: 'number', raw: text.slice(i, j), atEnd: j === text.length });
      i = j;
    } else if (/[a-z]/i.test(ch)) {
      let j = i + 1;
      while (j < text.length && /[a-z]/i.test(text[j]!)) j++;
      const word = text.slice(i, j);
      if (LITERALS.includes(word)) tokens.push({ kind: 'literal', raw: word });
      else if (!(LITERALS.some((l) => l.startsWith(word)) && /^[ \t\n\r]*$/.test(text.slice(j)))) return undefined;
      i = j;
    } else {
      return undefined;
    }
  }
  return tokens;
}

/** Digits, `.`, an exponent marker, or a sign right after the exponent marker. */
function isNumberChar(c: string, previous: string): boolean {
  if ((c >= '0' && c <= '9') || c === '.' || c === 'e' || c === 'E') return true;
  return (c === '-' || c === '+') && (previous === 'e' || previous === 'E');
}
