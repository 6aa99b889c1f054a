import { createHash } from 'node:crypto';
import type { ContentBlock, MessageStreamEvent } from '../../generated/types.gen.js';
import { generateId } from '../openai/ids.js';
import type { GeminiPart } from './gemini-types.js';
import { encodeSignature } from './thought-signatures.js';
import type { GeminiToolNames } from './tool-names.js';

export type BlockDelta = Extract<MessageStreamEvent, { type: 'content_block_delta' }>['delta'];

/** Where assembled blocks go: a stream's events, or a JSON answer's content. */
export interface BlockSink {
  start(index: number, block: ContentBlock): void;
  delta(index: number, delta: BlockDelta): void;
  stop(index: number): void;
}

type OpenKind = 'text' | 'thinking' | 'signed_thinking' | 'tool';

/**
 * Gemini parts, in the order they come (a whole answer, or chunk after chunk of a stream) →
 * Anthropic content blocks, one open at a time, indices 0..n-1. The JSON answer and the stream use
 * this same code, so the two give the same message.
 * - thought parts → one thinking block per run of them; a signature on a thought part closes its
 *   run and becomes the block's signature (`gemini:thought:`);
 * - text parts → one text block per run (empty text opens nothing); a signature on a text part
 *   ends the run and goes in a thinking block of its own right after it (`gemini:text:`);
 * - each functionCall → a tool_use block (its arguments as one input_json_delta); a signature on
 *   it goes in the thinking block just before: the open thought run's, or a new empty one
 *   (`gemini:call:`). Ids: Gemini's own when it sends one, else derived from the response id and
 *   the call's position, so the same answer always gets the same ids.
 * Other parts (images the model generates, code execution) have no Anthropic block and are skipped.
 */
export class BlockAssembler {
  private next = 0;
  private open: { kind: OpenKind; index: number } | undefined;
  private calls = 0;

  constructor(
    private readonly sink: BlockSink,
    private readonly names: GeminiToolNames,
    /** The response id, for stable tool ids. */
    private readonly responseId: () => string | undefined,
  ) {}

  get hasToolUse(): boolean {
    return this.calls > 0;
  }

  push(parts: readonly GeminiPart[] | undefined): void {
    for (const part of parts ?? []) {
      if (!part || typeof part !== 'object') continue;
      const signature = typeof part.thoughtSignature === 'string' && part.thoughtSignature ? part.thoughtSignature : undefined;
      if (part.functionCall && typeof part.functionCall === 'object') this.call(part, signature);
      else if (part.thought === true) this.thought(typeof part.text === 'string' ? part.text : '', signature);
      else if (typeof part.text === 'string') this.text(part.text, signature);
    }
  }

  /** The answer is over: closes the open block. */
  finish(): void {
    this.close();
  }

  private thought(text: string, signature: string | undefined): void {
    if (this.open?.kind !== 'thinking') this.openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
    if (text) this.sink.delta(this.open!.index, { type: 'thinking_delta', thinking: text });
    if (signature) {
      this.sink.delta(this.open!.index, { type: 'signature_delta', signature: encodeSignature('thought', signature) });
      this.close();
    }
  }

  private text(text: string, signature: string | undefined): void {
    if (text) {
      if (this.open?.kind !== 'text') this.openBlock('text', { type: 'text', text: '' });
      this.sink.delta(this.open!.index, { type: 'text_delta', text });
    }
    if (signature) this.signatureBlock(encodeSignature('text', signature));
  }

  private call(part: GeminiPart, signature: string | undefined): void {
    const call = part.functionCall!;
    if (signature) {
      if (this.open?.kind === 'thinking') {
        this.sink.delta(this.open.index, { type: 'signature_delta', signature: encodeSignature('call', signature) });
        this.close();
      } else {
        this.signatureBlock(encodeSignature('call', signature));
      }
    }
    const ordinal = this.calls++;
    this.openBlock('tool', {
      type: 'tool_use',
      id: this.toolId(call.id, ordinal),
      name: this.names.fromUpstream(typeof call.name === 'string' ? call.name : ''),
      input: {},
    });
    const args = call.args && typeof call.args === 'object' && !Array.isArray(call.args) ? call.args : {};
    if (Object.keys(args).length > 0) this.sink.delta(this.open!.index, { type: 'input_json_delta', partial_json: JSON.stringify(args) });
    this.close();
  }

  /** A thinking block that only carries a signature. */
  private signatureBlock(signature: string): void {
    this.openBlock('signed_thinking', { type: 'thinking', thinking: '', signature: '' });
    this.sink.delta(this.open!.index, { type: 'signature_delta', signature });
    this.close();
  }

  private openBlock(kind: OpenKind, block: ContentBlock): void {
    this.close();
    const index = this.next++;
    this.open = { kind, index };
    this.sink.start(index, block);
  }

  private close(): void {
    if (!this.open) return;
    this.sink.stop(this.open.index);
    this.open = undefined;
  }

  private toolId(upstream: string | undefined, ordinal: number): string {
    if (typeof upstream === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(upstream)) return upstream;
    const responseId = this.responseId();
    if (!responseId) return generateId('toolu');
    return `toolu_${createHash('sha256').update(`${responseId}#${ordinal}`).digest('base64url').slice(0, 24)}`;
  }
}

/** A sink that builds the content of a JSON answer. */
export class ContentCollector implements BlockSink {
  readonly content: ContentBlock[] = [];
  private json = new Map<number, string>();

  start(_index: number, block: ContentBlock): void {
    this.content.push({ ...block } as ContentBlock);
  }

  delta(index: number, delta: BlockDelta): void {
    const block = this.content[index] as Record<string, unknown>;
    switch (delta.type) {
      case 'text_delta':
        block.text = `${String(block.text)}${delta.text}`;
        break;
      case 'thinking_delta':
        block.thinking = `${String(block.thinking)}${delta.thinking}`;
        break;
      case 'signature_delta':
        block.signature = delta.signature;
        break;
      case 'input_json_delta':
        this.json.set(index, (this.json.get(index) ?? '') + delta.partial_json);
        break;
    }
  }

  stop(index: number): void {
    const json = this.json.get(index);
    if (json !== undefined) (this.content[index] as { input: unknown }).input = JSON.parse(json);
  }
}
