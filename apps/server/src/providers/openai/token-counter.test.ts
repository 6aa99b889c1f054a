import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { countingPieces, countTexts, RUN_CHARS, SLICE_CHARS, type CountText } from './token-counter.js';

const opts = { disallowedSpecial: new Set<string>() };
let o200k: CountText;
let cl100k: CountText;

beforeAll(async () => {
  const [a, b] = await Promise.all([import('gpt-tokenizer/encoding/o200k_base'), import('gpt-tokenizer/encoding/cl100k_base')]);
  o200k = (t) => (t ? a.countTokens(t, opts) : 0);
  cl100k = (t) => (t ? b.countTokens(t, opts) : 0);
}, 30_000);

const repoFile = (name: string) => readFileSync(fileURLToPath(new URL(`../../../../../${name}`, import.meta.url)), 'utf8');
const sumOfPieces = (text: string, count: CountText) => [...countingPieces(text)].reduce((n, p) => n + count(p), 0);

/** A fixed pseudo-random sequence (no two runs differ). */
function random(seed: number): () => number {
  return () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

/** Random CJK ideographs: text the tokenizer's merge cache cannot shortcut. */
function randomCjk(length: number): string {
  const next = random(7);
  return Array.from({ length }, () => String.fromCharCode(0x4e00 + Math.floor(next() * 0x5000))).join('');
}

/** Ordinary text of every kind a prompt carries, each far longer than one slice. */
function ordinaryTexts(): Record<string, string> {
  const readme = repoFile('README.md');
  const spec = repoFile('openapi.yaml');
  const next = random(42);
  const bytes = Buffer.from(Array.from({ length: 60_000 }, () => Math.floor(next() * 256)));
  return {
    'markdown prose and code': readme,
    'YAML': spec,
    'minified JSON': JSON.stringify({ readme: readme.slice(0, 20_000), list: Array.from({ length: 2_000 }, (_, i) => ({ id: i, name: `item-${i}` })) }),
    'base64': bytes.toString('base64'),
    'Chinese prose': '我们今天去公园散步，天气很好。孩子们在草地上玩耍，老人们在树下下棋。'.repeat(400),
    'Russian prose': 'Привет, как дела? Это тест токенизатора, и он должен считать точно.\n'.repeat(400),
    'whitespace and newlines': 'indented   code\n\n\n    with  gaps\t\tand tabs\r\n'.repeat(600),
  };
}

describe('countingPieces', () => {
  it('cuts ordinary text only where the tokenizer cuts: the sum of the pieces is the exact count (o200k_base and cl100k_base)', () => {
    for (const [kind, text] of Object.entries(ordinaryTexts())) {
      expect(text.length, kind).toBeGreaterThan(2 * SLICE_CHARS);
      expect([...countingPieces(text)].join(''), kind).toBe(text);
      expect(sumOfPieces(text, o200k), `${kind} (o200k_base)`).toBe(o200k(text));
      expect(sumOfPieces(text, cl100k), `${kind} (cl100k_base)`).toBe(cl100k(text));
    }
  });

  it('counts runs without a break in pieces: within 1% of the exact count', () => {
    const runs = {
      letters: 'a'.repeat(8_000),
      'CJK without punctuation': '漢字仮名交じり文日本語'.repeat(400),
      punctuation: '=-'.repeat(4_000),
      spaces: `${' '.repeat(8_000)}end`,
    };
    for (const [kind, text] of Object.entries(runs)) {
      const pieces = [...countingPieces(text)];
      expect(pieces.join(''), kind).toBe(text);
      expect(Math.max(...pieces.map((p) => p.length)), kind).toBeLessThanOrEqual(SLICE_CHARS);
      const exact = o200k(text);
      expect(Math.abs(sumOfPieces(text, o200k) - exact), kind).toBeLessThanOrEqual(Math.ceil(exact / 100));
    }
  });

  it('never splits a surrogate pair', () => {
    // A run that starts with a one-unit character, and astral text starting at an odd offset: plain
    // cuts every RUN_CHARS or SLICE_CHARS units would land inside pairs.
    const text = `!${'😀'.repeat(3 * RUN_CHARS + 1)}${'x'.repeat(SLICE_CHARS + 2)}${'🎉'.repeat(SLICE_CHARS)}`;
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    for (const piece of countingPieces(text)) expect(loneSurrogate.test(piece)).toBe(false);
  });
});

describe('countTexts', () => {
  it('lets the event loop run while it counts', async () => {
    let turns = 0;
    let counting = true;
    const spin = () => {
      turns++;
      if (counting) setImmediate(spin);
    };
    setImmediate(spin);
    await countTexts([randomCjk(20_000)], o200k, { exactChars: Infinity });
    counting = false;
    expect(turns).toBeGreaterThan(3);
  });

  it('counts exactly up to exactChars, then estimates the rest at the rate measured so far', async () => {
    const seen: string[] = [];
    // One token per 4 characters, rounded up: easy to reason about.
    const fake: CountText = (t) => {
      seen.push(t);
      return Math.ceil(t.length / 4);
    };
    const texts = ['word '.repeat(2_000), 'more '.repeat(2_000), 'last '.repeat(2_000)]; // 30 000 characters
    const total = await countTexts(texts, fake, { exactChars: 12_000 });
    const countedChars = seen.reduce((n, t) => n + t.length, 0);
    expect(countedChars).toBeGreaterThanOrEqual(12_000);
    expect(countedChars).toBeLessThan(12_000 + SLICE_CHARS);
    expect(total).toBeGreaterThanOrEqual(7_500);
    expect(total).toBeLessThanOrEqual(7_500 + 30);
    // Without the cap every character is counted.
    seen.length = 0;
    expect(await countTexts(texts, fake, { exactChars: Infinity })).toBeGreaterThanOrEqual(7_500);
    expect(seen.reduce((n, t) => n + t.length, 0)).toBe(30_000);
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    const slow: CountText = (t) => {
      const until = performance.now() + 2;
      while (performance.now() < until);
      return t.length;
    };
    const counting = countTexts(['x '.repeat(50_000)], slow, { exactChars: Infinity, signal: controller.signal });
    controller.abort(new Error('client left'));
    await expect(counting).rejects.toThrow('client left');
  });
});
