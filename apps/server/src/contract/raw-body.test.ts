import { describe, expect, it } from 'vitest';
import { MAX_MEMBERS, scanJson } from './raw-body.js';

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

describe('scanJson: the top-level members', () => {
  it('maps each member’s value range', () => {
    const text = '{ "model" : "m", "n": -1.5e3 ,"o":{"a":[1,"}"]},"s":"x\\"y"}';
    const { members } = scanJson(Buffer.from(text), 128);
    const value = (k: string) => {
      const m = members!.get(k)!;
      return text.slice(m.valueStart, m.valueEnd);
    };
    expect([...members!.keys()]).toEqual(['model', 'n', 'o', 's']);
    expect([value('model'), value('n'), value('o'), value('s')]).toEqual(['"m"', '-1.5e3', '{"a":[1,"}"]}', '"x\\"y"']);
  });

  it('does not map what it cannot be sure of: an array, an escaped key, a key given twice, too many keys', () => {
    expect(scanJson(Buffer.from('[{"a":1}]'), 128).members).toBeUndefined();
    expect(scanJson(Buffer.from('{"mod\\u0065l":"x"}'), 128).members).toBeUndefined();
    expect(scanJson(Buffer.from('{"a":1,"a":2}'), 128).members).toBeUndefined();
    const many = (n: number) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`;
    expect(scanJson(Buffer.from(many(MAX_MEMBERS)), 128).members?.size).toBe(MAX_MEMBERS);
    expect(scanJson(Buffer.from(many(MAX_MEMBERS + 1)), 128).members).toBeUndefined();
  });
});
