/**
 * Stop sequences the gateway enforces itself: those the upstream was not sent (OpenAI takes at most
 * 4; o3, o4-mini and gpt-5 take none). Generation "stops" where the first sequence is complete: the
 * text is cut at its start, the sequence itself is not part of the answer, and nothing generated after
 * it is kept, as Anthropic does.
 */

/** OpenAI's limit on `stop`: the sequences past it are enforced by the gateway. */
export const MAX_UPSTREAM_STOP_SEQUENCES = 4;

/**
 * What the gateway checks on every piece of text it relays: at most this many sequences, of at most
 * this many characters each. A request past either is refused by an openai-type provider (it moves
 * on to the next fallback), rather than slowing every chunk of its stream.
 */
export const MAX_STOP_SEQUENCES = 64;
export const MAX_STOP_SEQUENCE_LENGTH = 1_000;

/** Why the gateway will not take these stop sequences, or undefined when it will. */
export function stopSequencesBeyondLimits(sequences: readonly string[] | undefined): string | undefined {
  if (!sequences) return undefined;
  if (sequences.length > MAX_STOP_SEQUENCES) return `more than ${MAX_STOP_SEQUENCES}`;
  if (sequences.some((s) => s.length > MAX_STOP_SEQUENCE_LENGTH)) return `one longer than ${MAX_STOP_SEQUENCE_LENGTH} characters`;
  return undefined;
}

/**
 * Splits the request's stop sequences into those sent upstream and those the gateway enforces.
 * `upstreamTakesStop` is false for a model known to refuse the field.
 */
export function splitStopSequences(
  sequences: readonly string[] | undefined,
  upstreamTakesStop: boolean,
): { sent: string[]; enforced: string[] } {
  const usable = (sequences ?? []).filter((s) => s !== '');
  if (!upstreamTakesStop) return { sent: [], enforced: usable };
  return { sent: usable.slice(0, MAX_UPSTREAM_STOP_SEQUENCES), enforced: usable.slice(MAX_UPSTREAM_STOP_SEQUENCES) };
}

/**
 * The first stop sequence to complete in `text` (the one ending earliest; of two ending at the same
 * place, the longer), and where it starts; undefined when none occurs.
 */
export function firstStop(text: string, sequences: readonly string[]): { at: number; sequence: string } | undefined {
  let best: { at: number; sequence: string; end: number } | undefined;
  for (const sequence of sequences) {
    const at = text.indexOf(sequence);
    if (at === -1) continue;
    const end = at + sequence.length;
    if (!best || end < best.end || (end === best.end && at < best.at)) best = { at, sequence, end };
  }
  return best && { at: best.at, sequence: best.sequence };
}

/** A whole answer's text cut at the first stop sequence. */
export function cutAtStop(text: string, sequences: readonly string[]): { text: string; matched?: string } {
  const stop = firstStop(text, sequences);
  return stop ? { text: text.slice(0, stop.at), matched: stop.sequence } : { text };
}

/**
 * The same for text that arrives in pieces. `push` returns what can be shown now; it holds back only
 * as many characters as the longest sequence needs to be recognised (its length less one), so text
 * flows with at most that delay. Once a sequence completes, `matched` is set and the rest is dropped.
 * Each piece costs one search per sequence over the held text and the piece.
 */
export class StopSequenceWatch {
  /** The sequence that stopped the text, once one did. */
  matched: string | undefined;
  private held = '';
  private readonly holdBack: number;

  constructor(private readonly sequences: readonly string[]) {
    this.holdBack = Math.max(0, ...sequences.map((s) => s.length - 1));
  }

  push(text: string): string {
    if (this.matched !== undefined) return '';
    const pending = this.held + text;
    const stop = firstStop(pending, this.sequences);
    if (stop) {
      this.matched = stop.sequence;
      this.held = '';
      return pending.slice(0, stop.at);
    }
    const keep = Math.min(this.holdBack, pending.length);
    this.held = keep > 0 ? pending.slice(pending.length - keep) : '';
    return keep > 0 ? pending.slice(0, pending.length - keep) : pending;
  }

  /** The text held back, at the end of the text (no sequence can complete any more). */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return rest;
  }
}
