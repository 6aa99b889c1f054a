import type { GatewayError } from '../../../errors.js';
import type { ContentBlock, MessageStreamEvent } from '../../../generated/types.gen.js';
import { generateId } from '../../openai/ids.js';
import type { ToolNameMap } from '../../openai/tool-names.js';
import type { UpstreamTarget } from '../../transport.js';
import type { SseFrame } from '../../types.js';
import { badUpstreamResponse } from '../../upstream-error.js';
import { messageId } from './convert-response.js';
import { convertUsage } from './convert-usage.js';
import type { ConverseStreamEvent, ConverseUsage } from './converse-types.js';
import { mapStopReason } from './map-stop-reason.js';
import { FrameQueue } from '../../translated/frames.js';

export interface StreamContext {
  target: UpstreamTarget;
  toolNames: ToolNameMap;
  stopSequences?: readonly string[];
  /** Bedrock's request id, for the message id. */
  requestId?: string;
}

type BlockKind = 'text' | 'thinking' | 'redacted_thinking' | 'tool_use';

/**
 * ConverseStream events → Anthropic stream events, one event at a time.
 *
 * - `messageStart` → `message_start` (the upstream model id; usage zeros: Converse reports usage
 *   only in its last event, `metadata`, so `message_delta` carries all of it, input included).
 * - Converse blocks arrive one after another; each becomes one Anthropic block, indices 0..n-1.
 *   Text and reasoning have no `contentBlockStart`: their first delta opens the block (an empty
 *   delta opens nothing). A tool call opens with `contentBlockStart` (`tool_use`, `input: {}`) and
 *   its input arrives as `input_json_delta`s. A reasoning signature is a `signature_delta`;
 *   redacted reasoning a whole `redacted_thinking` block.
 * - `messageStop` gives the stop reason, `metadata` the usage; `message_delta` and `message_stop`
 *   follow the later of the two, or the end of the body if `metadata` never comes.
 * - A body that ends before `messageStop` was cut: end() throws, so the client's stream ends with
 *   `event: error`, never with `message_stop`. Malformed events throw too.
 */
export class ConverseStreamConverter {
  private started = false;
  private completed = false;
  private nextBlock = 0;
  private open: { converseIndex: number; index: number; kind: BlockKind } | undefined;
  private hasToolUse = false;
  private stopSeen = false;
  private stopReason: string | undefined;
  private additional: Record<string, unknown> | null | undefined;
  private usage: ConverseUsage | undefined;
  private readonly frames = new FrameQueue();

  constructor(private readonly ctx: StreamContext) {}

  get complete(): boolean {
    return this.completed;
  }

  /** One event's `:event-type` and JSON payload → the Anthropic events it produces. */
  pushEvent(eventType: string, payload: string): SseFrame[] {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      throw this.failure(`the upstream sent a ${eventType} event that is not JSON`);
    }
    if (!body || typeof body !== 'object') throw this.failure(`the upstream sent a ${eventType} event that is not an object`);
    return this.push({ ...body, type: eventType } as ConverseStreamEvent);
  }

  push(event: ConverseStreamEvent): SseFrame[] {
    if (this.completed) return [];
    if (!this.started) this.start();
    switch (event.type) {
      case 'messageStart':
        break;
      case 'contentBlockStart': {
        const tool = event.start?.toolUse;
        if (!tool) break;
        const name = typeof tool.name === 'string' ? tool.name : '';
        if (!name) throw this.failure('the upstream started a tool call without a name');
        this.openBlock(blockIndex(event.contentBlockIndex), 'tool_use', {
          type: 'tool_use',
          id: typeof tool.toolUseId === 'string' && tool.toolUseId ? tool.toolUseId : generateId('toolu'),
          name: this.ctx.toolNames.fromUpstream(name),
          input: {},
        });
        this.hasToolUse = true;
        break;
      }
      case 'contentBlockDelta':
        this.applyDelta(blockIndex(event.contentBlockIndex), event.delta ?? {});
        break;
      case 'contentBlockStop':
        if (this.open?.converseIndex === blockIndex(event.contentBlockIndex)) this.closeOpen();
        break;
      case 'messageStop':
        this.closeOpen();
        this.stopSeen = true;
        this.stopReason = event.stopReason;
        this.additional = event.additionalModelResponseFields;
        if (this.usage) this.finalize();
        break;
      case 'metadata':
        this.usage = event.usage ?? {};
        if (this.stopSeen) this.finalize();
        break;
      default:
        // Events Converse may add later (e.g. guardrail traces) carry nothing for the client.
        break;
    }
    return this.frames.take();
  }

  /** The body ended: finishes a stream that saw `messageStop`, throws for one that did not (cut). */
  end(): SseFrame[] {
    if (this.completed) return [];
    if (!this.started) throw this.failure('the upstream stream ended before its first event');
    if (!this.stopSeen) throw this.failure('the upstream stream ended before messageStop (cut off)');
    this.finalize();
    return this.frames.take();
  }

  private start(): void {
    this.started = true;
    this.frames.emit({
      type: 'message_start',
      message: {
        id: messageId(this.ctx.requestId),
        type: 'message',
        role: 'assistant',
        content: [],
        model: this.ctx.target.model,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
  }

  private applyDelta(converseIndex: number, delta: Extract<ConverseStreamEvent, { type: 'contentBlockDelta' }>['delta'] & object): void {
    if (typeof delta.text === 'string') {
      if (!delta.text) return;
      this.ensureOpen(converseIndex, 'text', { type: 'text', text: '' });
      this.delta({ type: 'text_delta', text: delta.text });
    } else if (delta.toolUse) {
      if (this.open?.converseIndex !== converseIndex || this.open.kind !== 'tool_use') throw this.failure('the upstream sent tool input outside a tool call');
      if (delta.toolUse.input) this.delta({ type: 'input_json_delta', partial_json: delta.toolUse.input });
    } else if (delta.reasoningContent) {
      const r = delta.reasoningContent;
      if (typeof r.redactedContent === 'string') {
        this.openBlock(converseIndex, 'redacted_thinking', { type: 'redacted_thinking', data: r.redactedContent });
      } else if (typeof r.text === 'string' && r.text) {
        this.ensureOpen(converseIndex, 'thinking', { type: 'thinking', thinking: '', signature: '' });
        this.delta({ type: 'thinking_delta', thinking: r.text });
      } else if (typeof r.signature === 'string') {
        this.ensureOpen(converseIndex, 'thinking', { type: 'thinking', thinking: '', signature: '' });
        this.delta({ type: 'signature_delta', signature: r.signature });
      }
    }
  }

  private ensureOpen(converseIndex: number, kind: BlockKind, block: ContentBlock): void {
    if (this.open?.converseIndex === converseIndex && this.open.kind === kind) return;
    this.openBlock(converseIndex, kind, block);
  }

  private openBlock(converseIndex: number, kind: BlockKind, block: ContentBlock): void {
    this.closeOpen();
    const index = this.nextBlock++;
    this.open = { converseIndex, index, kind };
    this.frames.emit({ type: 'content_block_start', index, content_block: block });
  }

  private closeOpen(): void {
    if (!this.open) return;
    this.frames.emit({ type: 'content_block_stop', index: this.open.index });
    this.open = undefined;
  }

  private finalize(): void {
    if (this.completed) return;
    this.completed = true;
    this.closeOpen();
    const stop = mapStopReason(this.stopReason, { hasToolUse: this.hasToolUse, stopSequences: this.ctx.stopSequences, additional: this.additional });
    this.frames.emit({ type: 'message_delta', delta: stop, usage: convertUsage(this.usage) });
    this.frames.emit({ type: 'message_stop' });
  }

  private delta(delta: Extract<MessageStreamEvent, { type: 'content_block_delta' }>['delta']): void {
    this.frames.emit({ type: 'content_block_delta', index: this.open!.index, delta });
  }

  private failure(what: string): GatewayError {
    return badUpstreamResponse(this.ctx.target, what);
  }
}

function blockIndex(n: number | undefined): number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : 0;
}
