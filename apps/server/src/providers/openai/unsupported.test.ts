import { validateHeaderValue } from 'node:http';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DROPPED_HEADER, droppedHeaders, MAX_DROPPED_LISTED, MAX_DROPPED_NAME } from './unsupported.js';

const value = (names: string[]) => droppedHeaders(names)?.[DROPPED_HEADER];

describe('x-bf-dropped', () => {
  it('lists plain field paths as they are, once each; nothing dropped, no header', () => {
    expect(droppedHeaders([])).toBeUndefined();
    expect(value(['top_k', 'metadata.tenant', 'tool_choice auto_search', 'top_k', 'messages[2].cache_control'])).toBe(
      'top_k, metadata.tenant, tool_choice auto_search, messages[2].cache_control',
    );
  });

  it('quotes any other name as a JSON string in printable ASCII, cut at its limit', () => {
    expect(value(['a\r\nb', 'pré', 'x,y', 'say "hi"', '\u{1F600}'])).toBe('"a\\r\\nb", "pr\\u00e9", "x,y", "say \\"hi\\"", "\\ud83d\\ude00"');
    const long = 'n'.repeat(MAX_DROPPED_NAME + 1);
    expect(value([long])).toBe(`"${'n'.repeat(MAX_DROPPED_NAME)}..."`);
    expect(value(['n'.repeat(MAX_DROPPED_NAME)])).toBe('n'.repeat(MAX_DROPPED_NAME));
  });

  it('lists at most MAX_DROPPED_LISTED names, then how many more', () => {
    const names = Array.from({ length: MAX_DROPPED_LISTED + 5 }, (_, i) => `f${i}`);
    expect(value(names)).toBe(`${names.slice(0, MAX_DROPPED_LISTED).join(', ')}, and 5 more`);
    expect(value(names.slice(0, MAX_DROPPED_LISTED))).toBe(names.slice(0, MAX_DROPPED_LISTED).join(', '));
  });

  it('is a valid header value of bounded length whatever the names', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary', maxLength: 200 }), { minLength: 1, maxLength: 100 }), (names) => {
        const v = value(names)!;
        expect(() => validateHeaderValue(DROPPED_HEADER, v)).not.toThrow();
        expect(v).toMatch(/^[\x20-\x7e]*$/);
        // Each name at most 6 characters an escaped character, plus quotes, dots and separators.
        expect(v.length).toBeLessThanOrEqual(MAX_DROPPED_LISTED * (MAX_DROPPED_NAME * 6 + 7) + 20);
      }),
      { numRuns: 300 },
    );
  });
});
