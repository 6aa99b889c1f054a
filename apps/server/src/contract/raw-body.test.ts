import { describe, expect, it } from 'vitest';
import { scanJson } from './raw-body.js';

const nestedDeeperThan = (text: string, max: number): boolean => scanJson(Buffer.from(text), max).tooDeep;

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('scanJson: nesting depth', () => {
  it('counts the outermost value as level 1', () => {
    expect(nestedDeeperThan('{}', 1)).toBe(false);
    expect(nestedDeeperThan('{"a":[]}', 1)).toBe(true);
    expect(nestedDeeperThan('{"a":[]}', 2)).toBe(false);
    expect(nestedDeeperThan(nested(128), 128)).toBe(false);
    expect(nestedDeeperThan(nested(129), 128)).toBe(true);
  });

  it('measures depth, not how many containers there are', () => {
    expect(nestedDeeperThan(`[${Array.from({ length: 10_000 }, () => '{"a":[1]}').join(',')}]`, 3)).toBe(false);
  });

  it('skips brackets inside strings, escaped quotes included', () => {
    expect(nestedDeeperThan(JSON.stringify({ text: '[[[[{{{{' }), 1)).toBe(false);
    expect(nestedDeeperThan(JSON.stringify({ text: 'say \\"[[[[" and "\\\\" [' }), 1)).toBe(false);
    expect(nestedDeeperThan(`{"a":"\\\\",${'"b":'}[[]]}`, 2)).toBe(true);
  });

  it('handles a million levels without recursion', () => {
    expect(nestedDeeperThan(nested(1_000_000), 128)).toBe(true);
  });

  it('leaves text that is not JSON to the parser', () => {
    expect(nestedDeeperThan('{"unterminated": "[[[[', 1)).toBe(false);
    expect(nestedDeeperThan(']]]]', 1)).toBe(false);
  });
});
