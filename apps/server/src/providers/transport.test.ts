import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readText, type UpstreamResponse } from './transport.js';

/** A body like undici's: a Readable that also has text(). */
function body(chunks: Buffer[]): UpstreamResponse['body'] {
  const r = Readable.from(chunks) as Readable & { text(): Promise<string>; dump(): Promise<void> };
  r.text = async () => {
    const parts: Buffer[] = [];
    for await (const c of r) parts.push(c as Buffer);
    return Buffer.concat(parts).toString('utf8');
  };
  return r as unknown as UpstreamResponse['body'];
}

describe('readText', () => {
  it('reads a whole answer of any size', async () => {
    const chunks = Array.from({ length: 10 }, (_, i) => Buffer.alloc(16 * 1024, 97 + i));
    const text = await readText(body(chunks));
    expect(text).toHaveLength(160 * 1024);
    expect(text.endsWith('j')).toBe(true);
  });

  it('keeps a character split across chunks whole, also when capped', async () => {
    const bytes = Buffer.from('{"text":"héllo"}');
    const cut = bytes.indexOf(0xc3) + 1;
    expect(await readText(body([bytes.subarray(0, cut), bytes.subarray(cut)]), 1024)).toBe('{"text":"héllo"}');
  });

  it('stops past the limit for error bodies', async () => {
    const chunks = Array.from({ length: 10 }, () => Buffer.alloc(16 * 1024, 120));
    const text = await readText(body(chunks), 64 * 1024);
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(text.length).toBeLessThan(100 * 1024);
  });
});
