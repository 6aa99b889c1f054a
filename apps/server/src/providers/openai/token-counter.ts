import type { CancelSignal } from '../../cancel.js';
/** Counts the tokens of one piece of text (a BPE tokenizer's countTokens). */
export type CountText = (text: string) => number;

/**
 * Text is counted in slices of about this many characters, each cut where the tokenizer's own
 * pre-tokenization would cut (so the sum is the count of the whole), with a yield to the event
 * loop whenever a slice has taken long enough.
 */
export const SLICE_CHARS = 4096;
/**
 * BPE is super-linear in the length of one pre-tokenized piece, and a piece is a run of letters,
 * of punctuation or of whitespace without a break: 100 kB of "a" is one piece and took seconds.
 * Runs at least this long are counted in pieces of this length.
 */
export const RUN_CHARS = 128;
/** Longest stretch of counting between two yields to the event loop. */
const SLICE_MS = 4;

/**
 * A run of letters (and marks), of punctuation, or of whitespace of RUN_CHARS or more: what the
 * tokenizer's regex would turn into one long piece. Digits need no care: pieces hold three at most.
 */
const LONG_RUN = new RegExp(`[\\p{L}\\p{M}]{${RUN_CHARS},}|[^\\s\\p{L}\\p{N}]{${RUN_CHARS},}|\\s{${RUN_CHARS},}`, 'gu');
const WORD_END = /[\p{L}\p{N}]/u;
const BREAK = /[^\p{L}\p{N}\p{M}']/u;

/**
 * Where a slice may end between `from` and `to`: after a letter or digit and before whitespace or
 * punctuation (not an apostrophe, which may start a contraction suffix). Both OpenAI encodings'
 * pre-tokenizers (o200k_base, cl100k_base) end a piece there and start the next one there, so
 * counting the two sides apart gives the count of the whole. Returns `to` when there is no such
 * place (then the cut is approximate: within a long run, which is approximate anyway).
 */
function cutBefore(text: string, from: number, to: number): number {
  for (let i = to; i > from; i--) {
    if (BREAK.test(text[i]!) && WORD_END.test(text[i - 1]!)) return i;
  }
  return keepPairs(text, to);
}

/** Never between the two halves of a surrogate pair. */
function keepPairs(text: string, at: number): number {
  const code = text.charCodeAt(at - 1);
  return code >= 0xd800 && code <= 0xdbff ? at - 1 : at;
}

/**
 * The pieces `text` is counted in: slices of about SLICE_CHARS cut where the tokenizer would cut,
 * and, inside them, long runs cut into RUN_CHARS pieces. Summing the counts of the pieces gives
 * the count of the whole for ordinary text (prose, code, JSON, base64); only runs of RUN_CHARS or
 * more characters without a break are counted in pieces, which may add a token or so per piece.
 */
export function* countingPieces(text: string): Generator<string> {
  let pos = 0;
  while (pos < text.length) {
    const end = pos + SLICE_CHARS >= text.length ? text.length : cutBefore(text, pos + SLICE_CHARS / 2, pos + SLICE_CHARS);
    const slice = pos === 0 && end === text.length ? text : text.slice(pos, end);
    pos = end;
    let last = 0;
    for (const m of slice.matchAll(LONG_RUN)) {
      const runEnd = m.index + m[0].length;
      if (m.index > last) yield slice.slice(last, m.index);
      for (let at = m.index; at < runEnd; ) {
        const next = at + RUN_CHARS >= runEnd ? runEnd : keepPairs(slice, at + RUN_CHARS);
        yield slice.slice(at, next);
        at = next;
      }
      last = runEnd;
    }
    if (last < slice.length) yield last === 0 ? slice : slice.slice(last);
  }
}

export interface CountOptions {
  /**
   * Characters counted exactly (config `limits.count_tokens_exact_chars`); the rest is estimated at
   * the tokens per character measured so far.
   */
  exactChars: number;
  /** Stops counting (rejects with its reason) when aborted, e.g. the client left. */
  signal?: CancelSignal;
}

/**
 * The total token count of `texts`, in linear time and without holding the event loop: counting
 * yields to it every few milliseconds (so other requests, /health included, go on meanwhile), and
 * past `exactChars` characters the rest is estimated instead of counted.
 */
export async function countTexts(texts: readonly string[], count: CountText, opts: CountOptions): Promise<number> {
  let tokens = 0;
  let counted = 0;
  let estimated = 0;
  let sliceStart = performance.now();
  const pause = async (): Promise<void> => {
    if (performance.now() - sliceStart < SLICE_MS) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (opts.signal?.aborted) throw opts.signal.reason;
    sliceStart = performance.now();
  };
  for (const text of texts) {
    if (counted >= opts.exactChars) {
      estimated += text.length;
      continue;
    }
    if (text.length <= RUN_CHARS) {
      // Short texts (roles, names, most messages) hold no long run and need no slicing.
      tokens += count(text);
      counted += text.length;
      await pause();
      continue;
    }
    let consumed = 0;
    for (const piece of countingPieces(text)) {
      if (counted >= opts.exactChars) {
        estimated += text.length - consumed;
        break;
      }
      tokens += count(piece);
      counted += piece.length;
      consumed += piece.length;
      await pause();
    }
  }
  if (estimated > 0) tokens += Math.ceil((estimated * tokens) / Math.max(1, counted));
  return tokens;
}
