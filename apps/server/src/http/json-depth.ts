/**
 * Whether some value in the JSON text `text` is nested deeper than `max` levels (the outermost
 * object or array is level 1). One pass over the text, without recursion, before it is parsed: a
 * body nested thousands deep would otherwise overflow the stack of whatever walks it later (the
 * contract's validator, the request's conversion, JSON.stringify). Brackets inside strings do not
 * count; strings are skipped with indexOf, so a body that is mostly text costs little to check.
 * Text that is not JSON is not judged here: JSON.parse says what is wrong with it.
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  const n = text.length;
  let depth = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i === -1) return false;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
    i++;
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Index of the quote that closes the string opened at `start`, or -1 when it is never closed. */
function stringEnd(text: string, start: number): number {
  let j = start;
  for (;;) {
    j = text.indexOf('"', j + 1);
    if (j === -1) return -1;
    // Escaped when an odd number of backslashes stand right before it.
    let k = j - 1;
    while (text.charCodeAt(k) === BACKSLASH) k--;
    if ((j - 1 - k) % 2 === 0) return j;
  }
}
