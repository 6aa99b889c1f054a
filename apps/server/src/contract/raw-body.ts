/**
 * A request body's own bytes, kept beside the value parsed from them, so a native upstream can be
 * sent the client's bytes with only what the gateway changes spliced in (the `model` id, the
 * gateway's own `fallbacks` taken out) instead of the whole body serialised again: on a 100 KB
 * agent request, JSON.stringify and the string's encoding back to UTF-8 cost as much as the parse.
 *
 * One pass over the bytes finds the top-level members' value ranges and checks the nesting depth
 * (it replaces a separate depth check on the decoded text). Strings are skipped with indexOf, so a
 * body that is mostly text costs little. The scan only maps a body JSON.parse then accepts.
 */

import { BACKSLASH, CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, isJsonSpace, OPEN_BRACE, OPEN_BRACKET, QUOTE, skipJsonSpace } from './json-bytes.js';

/** Where one top-level member sits in the bytes: `"key"` starts at `keyStart`, its value is [valueStart, valueEnd). */
export interface MemberRange {
  readonly keyStart: number;
  readonly valueStart: number;
  readonly valueEnd: number;
  /**
   * For the member named ELEMENTS_OF whose value is an array: its elements' ranges, flat
   * ([start, end, start, end, ...], end exclusive, spaces around them left out). Undefined when the
   * array has more than MAX_ELEMENTS elements (they are parsed with the rest).
   */
  readonly elements?: readonly number[];
}

export interface RawJson {
  readonly bytes: Buffer;
  /** The top-level object's members by key. */
  readonly members: ReadonlyMap<string, MemberRange>;
}

export interface JsonScan {
  /** Some value is nested deeper than the limit (the outermost object or array is level 1). */
  tooDeep: boolean;
  /**
   * The top-level object's members; undefined when the body is not an object, or its top level
   * cannot be mapped with certainty: a key written with escapes (`"mod\u0065l"` is `model` once
   * parsed), a key given twice (the parse keeps the last), more than MAX_MEMBERS keys. Such a body
   * is serialised again.
   */
  members: Map<string, MemberRange> | undefined;
}

/**
 * Top-level members mapped at most (Anthropic's request has about 30 fields): a body with more is
 * not mapped, and is serialised again, so a body of a million keys costs no map of a million.
 */
export const MAX_MEMBERS = 256;

/** The member whose array elements are mapped too: a session's history, repeated turn after turn. */
export const ELEMENTS_OF = 'messages';

/** Elements mapped at most: a longer array is not mapped (bounded work and memory for `[0,0,0,...]`). */
export const MAX_ELEMENTS = 10_000;

/**
 * Index of the quote that closes the string opened at `start`, or -1 when it is never closed. A
 * quote or backslash byte is never part of a multi-byte UTF-8 sequence, so bytes work as well as text.
 */
function stringEnd(bytes: Buffer, start: number): number {
  let j = start;
  for (;;) {
    j = bytes.indexOf(QUOTE, j + 1);
    if (j === -1) return -1;
    // Escaped when an odd number of backslashes stand right before it.
    let k = j - 1;
    while (bytes[k] === BACKSLASH) k--;
    if ((j - 1 - k) % 2 === 0) return j;
  }
}

/**
 * Values the scan may jump over: the gateway's parse cache (contract/parse-cache.ts). Where the value
 * of one of `members` or an element of ELEMENTS_OF starts, `find` gives the end of a value known to
 * be there (bytes that parsed before, nesting at most `maxDepth` deep), or -1. The scan takes it
 * when a comma or the closing bracket follows, as after any value.
 */
export interface KnownValues {
  readonly members: ReadonlySet<string>;
  find(at: number, maxDepth: number): number;
}

/**
 * Scans JSON bytes once: the nesting depth, and the top-level object's member ranges. Known values
 * are jumped over (their bytes parsed before, so they hold no string to skip and no depth to
 * count beyond what `find` was told).
 */
export function scanJson(bytes: Buffer, maxDepth: number, known?: KnownValues): JsonScan {
  const n = bytes.length;
  let members: Map<string, MemberRange> | undefined;
  let mappable = true;
  let depth = 0;
  // At depth 1 of an object: the member being read.
  let expectKey = false;
  let key: string | undefined;
  let keyStart = -1;
  let valueStart = -1;
  // Inside the ELEMENTS_OF array (its elements are at depth 2): their ranges, and where the one being read began.
  let elements: number[] | undefined;
  let inElements = false;
  let elementStart = -1;
  const trimEnd = (from: number, end: number): number => {
    while (end > from && isJsonSpace(bytes[end - 1]!)) end--;
    return end;
  };
  const endElement = (terminator: number): void => {
    if (elementStart === -1) return;
    if (elements !== undefined && elements.length >= MAX_ELEMENTS * 2) elements = undefined;
    elements?.push(elementStart, trimEnd(elementStart, terminator));
    elementStart = -1;
  };
  const close = (terminator: number): void => {
    if (key === undefined || valueStart === -1) return;
    const end = trimEnd(valueStart, terminator);
    if (members!.has(key) || members!.size >= MAX_MEMBERS) mappable = false;
    else members!.set(key, key === ELEMENTS_OF && elements !== undefined ? { keyStart, valueStart, valueEnd: end, elements } : { keyStart, valueStart, valueEnd: end });
    key = undefined;
    valueStart = -1;
    elements = undefined;
  };
  /** The end of a known value at `at` (a member's value, closed by `}`, or an element, by `]`), or -1. */
  const jump = (at: number, closer: number): number => {
    const end = known!.find(at, maxDepth - depth);
    if (end === -1) return -1;
    const next = bytes[skipJsonSpace(bytes, end)];
    return next === COMMA || next === closer ? end : -1;
  };
  let i = 0;
  while (i < n) {
    const c = bytes[i]!;
    if (known !== undefined && (c === QUOTE || c === OPEN_BRACE || c === OPEN_BRACKET)) {
      // A value that may be known: a cached member's, or an element of ELEMENTS_OF.
      let end = -1;
      if (depth === 1 && members !== undefined && !expectKey && valueStart === -1 && key !== undefined && known.members.has(key)) {
        end = jump(i, CLOSE_BRACE);
        if (end !== -1) valueStart = i;
      } else if (depth === 2 && inElements && elementStart === -1) {
        end = jump(i, CLOSE_BRACKET);
        if (end !== -1) elementStart = i;
      }
      if (end !== -1) {
        i = end;
        continue;
      }
    }
    if (c === QUOTE) {
      const end = stringEnd(bytes, i);
      if (end === -1) return { tooDeep: false, members: undefined };
      if (depth === 1 && members !== undefined) {
        if (expectKey) {
          const escaped = bytes.indexOf(BACKSLASH, i + 1);
          if (escaped !== -1 && escaped < end) mappable = false;
          key = bytes.toString('latin1', i + 1, end);
          keyStart = i;
          expectKey = false;
        } else if (valueStart === -1) valueStart = i;
      } else if (depth === 2 && inElements && elementStart === -1) elementStart = i;
      i = end + 1;
      continue;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (depth === 0) {
        if (c === OPEN_BRACE && i === skipJsonSpace(bytes)) members = new Map();
      } else if (depth === 1 && members !== undefined && valueStart === -1) {
        valueStart = i;
        if (c === OPEN_BRACKET && key === ELEMENTS_OF) {
          inElements = true;
          elements = [];
        }
      } else if (depth === 2 && inElements && elementStart === -1) elementStart = i;
      if (++depth > maxDepth) return { tooDeep: true, members: undefined };
      if (depth === 1 && members !== undefined) expectKey = true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
      if (depth === 1 && inElements) {
        endElement(i);
        inElements = false;
      }
      if (depth === 0 && members !== undefined) close(i);
    } else if (depth === 1 && members !== undefined) {
      if (c === COMMA) {
        close(i);
        expectKey = true;
      } else if (c !== COLON && !isJsonSpace(c) && key !== undefined && valueStart === -1) valueStart = i;
    } else if (depth === 2 && inElements) {
      if (c === COMMA) endElement(i);
      else if (!isJsonSpace(c) && elementStart === -1) elementStart = i;
    }
    i++;
  }
  return { tooDeep: false, members: mappable ? members : undefined };
}

const raws = new WeakMap<object, RawJson>();

/** Remembers the bytes `value` was parsed from (for as long as `value` lives). */
export function rememberRaw(value: object, raw: RawJson): void {
  raws.set(value, raw);
}

/**
 * The bytes `value` was parsed from, if it was parsed by the gateway's body reader and is the very
 * object that came out of the parse. A body rebuilt on the way (a continuation's, a stored job's) has
 * none, and is serialised as before.
 */
export function rawOf(value: object): RawJson | undefined {
  return raws.get(value);
}

/** One change to the bytes: [start, end) replaced by `text` (empty: removed). */
export interface Splice {
  start: number;
  end: number;
  text: string;
}

/** The range that removes member `m` and one comma beside it, so the object stays well-formed. */
export function memberRemoval(bytes: Buffer, m: MemberRange): Splice {
  const after = skipJsonSpace(bytes, m.valueEnd);
  if (bytes[after] === COMMA) return { start: m.keyStart, end: after + 1, text: '' };
  // The last member: take the comma before it instead (if there is one: it may be the only member).
  let before = m.keyStart;
  while (before > 0 && isJsonSpace(bytes[before - 1]!)) before--;
  if (bytes[before - 1] === COMMA) return { start: before - 1, end: m.valueEnd, text: '' };
  return { start: m.keyStart, end: m.valueEnd, text: '' };
}

/** The bytes with the splices applied; undefined when two of them overlap (two removals that want the same comma). */
export function applySplices(bytes: Buffer, splices: Splice[]): Buffer | undefined {
  const parts = splicedParts(bytes, splices, Infinity);
  return parts === undefined ? undefined : parts.length === 1 ? parts[0] : Buffer.concat(parts);
}

/**
 * The same bytes as `applySplices` gives, in pieces that are not copied: each run of at least
 * `keepAbove` bytes between the splices stays a view of `bytes`, and what stands between two such
 * runs (the new text, the short runs beside it) is joined into one small buffer. A 100 KB body whose
 * `model` changed is then two pieces, its first bytes with the new model and a view of the rest,
 * instead of a second 100 KB buffer: large buffers are what makes V8 collect garbage early (it
 * counts their memory apart, and each one brings the next collection nearer). Undefined as for
 * `applySplices`.
 */
export function splicedParts(bytes: Buffer, splices: Splice[], keepAbove: number): Buffer[] | undefined {
  splices.sort((a, b) => a.start - b.start);
  const parts: Buffer[] = [];
  let small: Buffer[] = [];
  const joinSmall = (): void => {
    if (small.length > 0) parts.push(small.length === 1 ? small[0]! : Buffer.concat(small));
    small = [];
  };
  const push = (part: Buffer): void => {
    if (part.length === 0) return;
    if (part.length < keepAbove) {
      small.push(part);
      return;
    }
    joinSmall();
    parts.push(part);
  };
  let at = 0;
  for (const s of splices) {
    if (s.start < at) return undefined;
    push(bytes.subarray(at, s.start));
    if (s.text !== '') push(Buffer.from(s.text, 'utf8'));
    at = s.end;
  }
  push(bytes.subarray(at));
  joinSmall();
  if (parts.length === 0) parts.push(Buffer.alloc(0));
  return parts;
}
