import { describe, expect, it } from 'vitest';
import { QUOTE_LIMIT, clip, quote } from './quote.js';

describe('quote', () => {
  it('quotes short text whole, escaping control characters', () => {
    expect(quote('gpt-4o')).toBe('"gpt-4o"');
    expect(quote('a\r\nb')).toBe('"a\\r\\nb"');
  });

  it('cuts long text to a prefix and says how long it was', () => {
    const out = quote('x'.repeat(8 * 1024 * 1024));
    expect(out).toBe(`"${'x'.repeat(QUOTE_LIMIT)}…" (8388608 characters)`);
  });

  it('never splits a surrogate pair', () => {
    const text = `${'a'.repeat(QUOTE_LIMIT - 1)}😀tail`;
    expect(quote(text)).toBe(`"${'a'.repeat(QUOTE_LIMIT - 1)}…" (${text.length} characters)`);
  });
});

describe('clip', () => {
  it('keeps short text and cuts long text with a mark', () => {
    expect(clip('abc', 5)).toBe('abc');
    expect(clip('abcdefgh', 5)).toBe('abcde… (8 characters)');
  });
});
