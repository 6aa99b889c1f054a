import { expect } from 'vitest';
import { expectContractStream } from './contract.js';

type Event = { event: string; data: any };

/**
 * A stream that is one well-formed message: valid against the contract, one message_start first,
 * blocks numbered 0..n-1 in order (each started once, its deltas while it is open, stopped once),
 * one message_delta and one message_stop at the end, no error. Returns the events.
 */
export function expectOneMessage(text: string): Event[] {
  const events = expectContractStream(text);
  const kinds = events.map((e) => e.event).filter((e) => e !== 'ping');
  expect(kinds[0]).toBe('message_start');
  expect(kinds.filter((k) => k === 'message_start')).toHaveLength(1);
  expect(kinds.slice(-2)).toEqual(['message_delta', 'message_stop']);
  expect(kinds.filter((k) => k === 'message_stop')).toHaveLength(1);
  expect(kinds).not.toContain('error');
  let next = 0;
  let open = -1;
  for (const e of events) {
    if (e.event === 'content_block_start') {
      expect(open, 'a block starts while another is open').toBe(-1);
      expect(e.data.index, 'block indexes are contiguous').toBe(next);
      open = next++;
    } else if (e.event === 'content_block_delta') {
      expect(e.data.index, 'a delta belongs to the open block').toBe(open);
    } else if (e.event === 'content_block_stop') {
      expect(e.data.index).toBe(open);
      open = -1;
    }
  }
  expect(open).toBe(-1);
  return events;
}

/** A stream that broke and was not continued: `event: error` last, never message_stop. */
export function expectBrokenStream(text: string): Event[] {
  const events = expectContractStream(text);
  expect(events.at(-1)!.event).toBe('error');
  expect(events.some((e) => e.event === 'message_stop')).toBe(false);
  return events;
}

/** The SSE comment lines of a stream (`: ...`), which SDKs skip. */
export function comments(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(': '))
    .map((l) => l.slice(2));
}

/** The final usage a stream reported (its message_delta). */
export function finalUsage(events: Event[]): Record<string, number> {
  return events.filter((e) => e.event === 'message_delta').at(-1)!.data.usage;
}

/** A long answer: enough text for 4-character deltas to pass 40 tokens well before its end. */
export const LONG_TEXT = Array.from({ length: 8 }, (_, i) => `Sentence ${i + 1}: the quick brown fox jumps over the lazy dog.`).join(' ');
