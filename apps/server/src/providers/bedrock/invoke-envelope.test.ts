import { anthropicMessage, anthropicSseEvents, bedrockChunkFrame, bedrockExceptionFrame, bedrockInvokeFrames, parseSse } from '@conduit/testkit';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { UpstreamBody } from '../transport.js';
import type { SseFrame } from '../types.js';
import { relayInvokeStream } from './invoke-envelope.js';

const target = { provider: 'bedrock', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0' };

/** An upstream body delivering `chunks`, recording how it was let go. */
function bodyOf(chunks: Uint8Array[]): UpstreamBody & { released?: boolean } {
  const body = {
    released: undefined as boolean | undefined,
    async *[Symbol.asyncIterator]() {
      for (const c of chunks) yield Buffer.from(c);
    },
    release(reusable: boolean) {
      body.released = reusable;
    },
  };
  return body as unknown as UpstreamBody & { released?: boolean };
}

async function relay(chunks: Uint8Array[]): Promise<{ frames: SseFrame[]; error?: unknown; body: ReturnType<typeof bodyOf> }> {
  const body = bodyOf(chunks);
  const frames: SseFrame[] = [];
  try {
    for await (const batch of relayInvokeStream(body, target, new AbortController().signal)) frames.push(...batch);
  } catch (error) {
    return { frames, error, body };
  }
  return { frames, body };
}

const message = anthropicMessage({
  id: 'msg_bdrk_01X',
  model: 'claude-sonnet-4-5-20250929',
  content: [
    { type: 'thinking', thinking: 'Let me see…', signature: 'sig==' },
    { type: 'text', text: 'Ünïcödé text, "quoted" \\ and\nnewline' },
    { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: [1, 2] } },
  ],
});

describe('InvokeModelWithResponseStream → Anthropic SSE', () => {
  it('relays every event as Anthropic sends it; message_stop loses Bedrock’s invocation metrics', async () => {
    const { frames, error, body } = await relay(bedrockInvokeFrames(message));
    expect(error).toBeUndefined();
    const expected = parseSse(anthropicSseEvents(message, { ping: false }).join(''));
    expect(frames.map((f) => f.event)).toEqual(expected.map((e) => e.event));
    // Byte for byte: the JSON text each chunk carried, as Anthropic's API writes it.
    const anthropicText = anthropicSseEvents(message, { ping: false }).map((f) => f.split('\n')[1]!.slice('data: '.length));
    expect(frames.map((f) => f.data)).toEqual(anthropicText);
    expect(frames.at(-1)).toEqual({ event: 'message_stop', data: '{"type":"message_stop"}' });
    expect(body.released).toBe(true);
  });

  it('frames split across network chunks are reassembled', async () => {
    const whole = Buffer.concat(bedrockInvokeFrames(message));
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < whole.length; i += 7) pieces.push(whole.subarray(i, i + 7));
    const { frames, error } = await relay(pieces);
    expect(error).toBeUndefined();
    expect(frames.at(-1)?.event).toBe('message_stop');
  });

  it('an exception frame mid-stream: the mapped error after what arrived, never message_stop', async () => {
    const frames = bedrockInvokeFrames(message);
    const { frames: out, error } = await relay([...frames.slice(0, 4), bedrockExceptionFrame('throttlingException', 'Too many tokens, please wait before trying again.')]);
    expect(out.map((f) => f.event)).toEqual(['message_start', 'content_block_start', 'content_block_delta', 'content_block_delta']);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ status: 429, type: 'rate_limit_error', upstream: { status: 429 } });
    expect((error as Error).message).toContain('throttlingException mid-stream: Too many tokens');
    const internal = await relay([frames[0]!, bedrockExceptionFrame('modelStreamErrorException', 'Model stream error', { originalStatusCode: 500 })]);
    expect(internal.error).toMatchObject({ status: 500, type: 'api_error' });
  });

  it('a cut: the body ends before message_stop (or inside a frame)', async () => {
    const frames = bedrockInvokeFrames(message);
    const cut = await relay(frames.slice(0, 5));
    expect(cut.error).toMatchObject({ status: 502, upstream: { kind: 'bad_response' } });
    expect((cut.error as Error).message).toMatch(/ended before message_stop/);
    expect(cut.body.released).toBe(false);
    const half = frames[5]!.subarray(0, 20);
    const mid = await relay([...frames.slice(0, 5), half]);
    expect(mid.error).toMatchObject({ status: 502, upstream: { kind: 'bad_response' } });
    expect(mid.frames).toHaveLength(5);
  });

  it('a corrupt frame (CRC) or a chunk that is not an Anthropic event is a bad response', async () => {
    const frames = bedrockInvokeFrames(message);
    const corrupt = Buffer.from(frames[1]!);
    corrupt[corrupt.length - 6] ^= 0xff;
    const crc = await relay([frames[0]!, corrupt]);
    expect(crc.error).toMatchObject({ status: 502, upstream: { kind: 'bad_response' } });
    expect((crc.error as Error).message).toMatch(/event stream is corrupt/);
    const notEvent = await relay([bedrockChunkFrame('"just a string"')]);
    expect((notEvent.error as Error).message).toMatch(/without an event type/);
  });
});
