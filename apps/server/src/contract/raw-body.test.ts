import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ELEMENTS_OF, MAX_ELEMENTS, MAX_MEMBERS, scanJson } from './raw-body.js';

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

describe('scanJson: the elements of `messages`', () => {
  const elementsOf = (text: string): string[] | undefined => {
    const m = scanJson(Buffer.from(text), 128).members?.get(ELEMENTS_OF);
    if (m?.elements === undefined) return undefined;
    const out: string[] = [];
    for (let i = 0; i < m.elements.length; i += 2) out.push(text.slice(m.elements[i], m.elements[i + 1]));
    return out;
  };

  it('maps each element’s range, whatever its kind, spaces left out', () => {
    expect(elementsOf('{"messages":[ {"role":"user","content":"a,]}"} , [1,[2]],"s\\"]", -1.5e3 ,true,null ],"n":1}')).toEqual([
      '{"role":"user","content":"a,]}"}',
      '[1,[2]]',
      '"s\\"]"',
      '-1.5e3',
      'true',
      'null',
    ]);
    expect(elementsOf('{"messages":[]}')).toEqual([]);
    expect(elementsOf('{"messages": [ ] }')).toEqual([]);
  });

  it('maps only the top-level `messages`, and only an array', () => {
    expect(elementsOf('{"messages":{"a":[1,2]}}')).toBeUndefined();
    expect(elementsOf('{"messages":"[1,2]"}')).toBeUndefined();
    expect(elementsOf('{"x":{"messages":[1,2]},"messages":[3]}')).toEqual(['3']);
    expect(scanJson(Buffer.from('{"other":[1,2]}'), 128).members?.get('other')?.elements).toBeUndefined();
  });

  it('gives up on more than MAX_ELEMENTS elements, and keeps mapping the members', () => {
    const body = (n: number) => `{"messages":[${Array.from({ length: n }, () => '0').join(',')}],"model":"m"}`;
    expect(elementsOf(body(MAX_ELEMENTS))).toHaveLength(MAX_ELEMENTS);
    expect(elementsOf(body(MAX_ELEMENTS + 1))).toBeUndefined();
    expect(scanJson(Buffer.from(body(MAX_ELEMENTS + 1)), 128).members?.has('model')).toBe(true);
  });

  it('the elements of any body are the JSON of its messages (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 8 }), fc.constantFrom(undefined, 1, '\t'), (messages, indent) => {
        const text = JSON.stringify({ model: 'm', messages, tail: messages[0] ?? null }, null, indent);
        const got = elementsOf(text)!;
        expect(got.map((t) => JSON.parse(t) as unknown)).toEqual(JSON.parse(text).messages);
      }),
      { numRuns: 300 },
    );
  });
});
