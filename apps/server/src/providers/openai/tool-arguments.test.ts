import { partialParse } from '@anthropic-ai/sdk/_vendor/partial-json-parser/parser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { argumentsText, completeTruncatedObject, ToolArguments, toolInput } from './tool-arguments.js';

function scan(...fragments: string[]): ToolArguments {
  const args = new ToolArguments();
  for (const f of fragments) args.push(f);
  return args;
}

describe('ToolArguments', () => {
  afterEach(() => vi.restoreAllMocks());

  it('knows when the object is complete, whatever the fragments', () => {
    const text = '{"path": "src/{a}.ts", "edits": [{"old": "x\\"}", "new": "]"}], "n": 1}';
    for (let cut = 0; cut <= text.length; cut++) {
      const args = scan(text.slice(0, cut), text.slice(cut));
      expect(args.complete, `cut at ${cut}`).toBe(true);
      expect(args.text).toBe(text);
    }
    const partial = scan('{"path": "src/{a}.ts", "edits": [{"old": "x\\"}"');
    expect(partial.complete).toBe(false);
    expect(partial.invalid).toBe(false);
  });

  it('whitespace only is blank; whitespace after the object is fine', () => {
    expect(scan(' ', '\n').blank).toBe(true);
    expect(scan(' {"a"', ':1}', ' \n').complete).toBe(true);
  });

  it('anything but one JSON object is invalid from the character that shows it', () => {
    expect(scan('[1, 2]').invalid).toBe(true);
    expect(scan('"text"').invalid).toBe(true);
    expect(scan('city=Paris').invalid).toBe(true);
    expect(scan('{"a": 1}', ' {"a": 1}').invalid).toBe(true);
    // balanced but not JSON: found when the object closes
    expect(scan('{"a": tru', 'e}').complete).toBe(true);
    expect(scan('{"a": tr', 'ue, }').invalid).toBe(true);
    expect(scan("{'a': 1}").invalid).toBe(true);
  });

  it('parses the text once, when the object closes, not once per fragment (linear in the length)', () => {
    const value = 'x'.repeat(200_000);
    const text = JSON.stringify({ content: value, path: 'a.txt' });
    const parse = vi.spyOn(JSON, 'parse');
    const args = new ToolArguments();
    for (let i = 0; i < text.length; i += 8) args.push(text.slice(i, i + 8));
    expect(args.complete).toBe(true);
    expect(parse).toHaveBeenCalledTimes(1);
  });
});

describe('toolInput', () => {
  it('a JSON object text, an empty text, or the object itself (llama.cpp)', () => {
    expect(toolInput('{"a":[1,2]}', false)).toEqual({ a: [1, 2] });
    expect(toolInput('', false)).toEqual({});
    expect(toolInput('  ', false)).toEqual({});
    expect(toolInput(null, false)).toEqual({});
    expect(toolInput({ city: 'Paris' }, false)).toEqual({ city: 'Paris' });
  });

  it('anything else is undefined: broken JSON, a bare value, an array', () => {
    expect(toolInput('{"a":', false)).toBeUndefined();
    expect(toolInput('[1]', false)).toBeUndefined();
    expect(toolInput('"text"', false)).toBeUndefined();
    expect(toolInput('{"a": 1} trailing', false)).toBeUndefined();
    expect(toolInput([1], false)).toBeUndefined();
    expect(toolInput(5, false)).toBeUndefined();
  });

  it('cut by the token limit, the start of an object is what the SDK makes of it; broken JSON is not', () => {
    expect(toolInput('{"path": "a.ts", "content": "hel', true)).toEqual({ path: 'a.ts' });
    expect(toolInput('{"a": tr ue', true)).toBeUndefined();
  });
});

describe('argumentsText', () => {
  it('strings as they are, objects as their JSON', () => {
    expect(argumentsText('{"a"')).toBe('{"a"');
    expect(argumentsText({ a: 1 })).toBe('{"a":1}');
    expect(argumentsText(undefined)).toBe('');
    expect(argumentsText(null)).toBe('');
  });
});

describe('completeTruncatedObject', () => {
  /** What the official SDK's stream accumulator makes of the same text (undefined where it throws or is not an object). */
  function sdk(text: string): unknown {
    try {
      const value: unknown = partialParse(text);
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  const documents = [
    '{"path": "src/a.ts", "content": "line 1\\nline \\"2\\"\\\\", "mode": 420, "append": false, "tags": ["x", "y"], "meta": {"n": -1.5e3, "z": null, "t": true}}',
    '{"edits":[{"old_string":"a{b}[c]","new_string":""},{"old_string":"\\u00e9","new_string":"é"}],"replace_all":true}',
    '{ "a" : [ 1 , [ 2 , { "b" : [ ] } ] , 3 ] , "c" : { } }',
  ];

  it('agrees with the SDK on every prefix of real-looking tool inputs', () => {
    for (const doc of documents) {
      for (let cut = 1; cut <= doc.length; cut++) {
        const prefix = doc.slice(0, cut);
        expect(completeTruncatedObject(prefix), JSON.stringify(prefix)).toEqual(sdk(prefix));
      }
    }
  });

  it('is undefined for text that is not the start of a JSON object', () => {
    expect(completeTruncatedObject('{"a": wrong')).toBeUndefined();
    expect(completeTruncatedObject('{"a": 1]')).toBeUndefined();
    expect(completeTruncatedObject('[1, 2')).toBeUndefined();
  });
});
