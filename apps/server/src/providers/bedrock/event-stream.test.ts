import { eventStreamFrame } from '@conduit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEventStream, eventStreamFrames, MAX_EVENT_STREAM_MESSAGE } from './event-stream.js';

/** A body that yields `chunks`, then either ends or (`hang`) never answers again. */
async function* source(chunks: Uint8Array[], hang = false): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
  if (hang) await new Promise(() => {});
}

async function frames(chunks: AsyncIterable<Uint8Array>, max?: number): Promise<{ frames: Buffer[]; error?: Error }> {
  const out: Buffer[] = [];
  try {
    for await (const f of eventStreamFrames(chunks, max)) out.push(Buffer.from(f));
  } catch (error) {
    return { frames: out, error: error as Error };
  }
  return { frames: out };
}

/** Four bytes, big-endian: a prelude's total length. */
function prelude(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

const messages = [
  eventStreamFrame({ ':event-type': 'chunk', ':message-type': 'event' }, '{"bytes":"e30="}'),
  eventStreamFrame({ ':event-type': 'chunk', ':message-type': 'event' }, 'x'.repeat(5000)),
  eventStreamFrame({ ':message-type': 'event', ':event-type': 'empty' }, ''),
  eventStreamFrame({ ':exception-type': 'throttlingException', ':message-type': 'exception' }, '{"message":"slow down"}'),
];

describe('event-stream framing', () => {
  it('gives the same messages however the bytes are cut (a length prelude split too)', async () => {
    const whole = Buffer.concat(messages);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: whole.length - 1 }), { maxLength: 40 }), async (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), whole.length];
        const pieces = at.slice(1).map((end, i) => whole.subarray(at[i], end));
        const got = await frames(source(pieces));
        expect(got.error).toBeUndefined();
        expect(got.frames).toEqual(messages.map((m) => Buffer.from(m)));
      }),
      { numRuns: 300 },
    );
    // One byte at a time, and empty chunks in between.
    const bytes = [...whole].flatMap((b) => [new Uint8Array([b]), new Uint8Array(0)]);
    expect((await frames(source(bytes))).frames).toHaveLength(messages.length);
  });

  it('decodes what it frames: names, types and payloads', async () => {
    const out = [];
    for await (const m of decodeEventStream(source([Buffer.concat(messages)]))) out.push({ ...m, payload: Buffer.from(m.payload).toString('utf8') });
    expect(out.map((m) => [m.messageType, m.name, m.payload.length])).toEqual([
      ['event', 'chunk', 16],
      ['event', 'chunk', 5000],
      ['event', 'empty', 0],
      ['exception', 'throttlingException', 23],
    ]);
  });

  it('a prelude that claims more than the limit is refused on its four bytes, before anything is held for it', async () => {
    // The upstream sends the prelude and then nothing more: a reader that waited for the bytes it claims would hang here.
    const claims4GB = await frames(source([messages[0]!, prelude(0xffffffff)], true));
    expect(claims4GB.frames).toHaveLength(1);
    expect(claims4GB.error?.message).toBe(`a message's prelude gives a length of 4294967295 bytes, over the limit of ${MAX_EVENT_STREAM_MESSAGE}`);
    // Split across chunks, at the limit and one past it.
    const over = await frames(source([prelude(1001).subarray(0, 1), prelude(1001).subarray(1)], true), 1000);
    expect(over.error?.message).toMatch(/length of 1001 bytes, over the limit of 1000/);
    const exact = eventStreamFrame({ ':event-type': 'chunk' }, 'y'.repeat(1000 - eventStreamFrame({ ':event-type': 'chunk' }, '').length));
    expect(exact.length).toBe(1000);
    expect((await frames(source([exact]), 1000)).frames).toHaveLength(1);
  });

  it('a length shorter than the prelude and checksum, or a body that ends inside a message, throws', async () => {
    const short = await frames(source([prelude(15), Buffer.alloc(11)]));
    expect(short.error?.message).toMatch(/length of 15 bytes, shorter than the prelude and checksum alone \(16\)/);
    const cut = await frames(source([messages[0]!, messages[1]!.subarray(0, 100)]));
    expect(cut.frames).toHaveLength(1);
    expect(cut.error?.message).toMatch(/ended inside a message \(100 bytes of it of \d+\)/);
    const cutInPrelude = await frames(source([messages[0]!.subarray(0, 3)]));
    expect(cutInPrelude.error?.message).toMatch(/ended inside a message \(3 bytes of it\)/);
  });
});
