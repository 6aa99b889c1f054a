import { anthropicFallbacks } from '../contract/fallbacks.js';
import type { CreateMessageRequest, InputContentBlock } from '../generated/types.gen.js';
import type { SseFrame } from '../providers/types.js';

/**
 * Continuing a stream that failed mid-way on another model: the text the client already has goes
 * to the fallback as an assistant prefill, and the fallback's events are renumbered into the
 * client's stream (its message_start dropped, its first text block merged into the open one).
 */

/** What the client has been sent: enough to tell whether and how the message can be continued. */
export class SentContent {
  /** The text of every text block sent, in order. */
  text = '';
  /** Only text blocks so far (a tool call or thinking cut in half cannot be continued). */
  textOnly = true;
  /** Index and type of the block the client has open, if any. */
  open: { index: number; type: string } | undefined;
  /** The first block index not used yet. */
  nextIndex = 0;

  observe(frame: SseFrame): void {
    if (frame.event !== 'content_block_start' && frame.event !== 'content_block_delta' && frame.event !== 'content_block_stop') return;
    const data = JSON.parse(frame.data);
    if (frame.event === 'content_block_start') {
      const type = String(data.content_block?.type);
      if (type !== 'text') this.textOnly = false;
      else if (typeof data.content_block.text === 'string') this.text += data.content_block.text;
      this.open = { index: data.index, type };
      this.nextIndex = Math.max(this.nextIndex, data.index + 1);
    } else if (frame.event === 'content_block_delta') {
      if (data.delta?.type === 'text_delta') this.text += data.delta.text;
      else if (data.delta?.type !== 'citations_delta') this.textOnly = false;
    } else {
      this.open = undefined;
    }
  }
}

/** Whether the request allows an assistant prefill at all (Anthropic refuses it with thinking or a forced tool). */
export function acceptsPrefill(body: Pick<CreateMessageRequest, 'thinking' | 'tool_choice'>): boolean {
  if (body.thinking && body.thinking.type !== 'disabled') return false;
  return !(body.tool_choice && (body.tool_choice.type === 'any' || body.tool_choice.type === 'tool'));
}

/**
 * The request again, with `text` as the start of the assistant's answer (appended to an
 * existing prefill). Anthropic refuses a prefill ending in whitespace, so it is trimmed.
 */
export function withPrefill(body: CreateMessageRequest, text: string): CreateMessageRequest {
  const prefill = text.trimEnd();
  const { fallbacks: _ours, ...rest } = body;
  const forwardedFallbacks = anthropicFallbacks(body.fallbacks);
  const out: CreateMessageRequest = { ...rest, ...(forwardedFallbacks !== undefined ? { fallbacks: forwardedFallbacks } : {}), messages: [...body.messages] };
  if (!prefill) return out;
  const last = out.messages.at(-1);
  if (last?.role === 'assistant') {
    const content: InputContentBlock[] = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : [...last.content];
    const tail = content.at(-1);
    if (tail?.type === 'text') content[content.length - 1] = { ...tail, text: (tail.text + prefill).trimEnd() };
    else content.push({ type: 'text', text: prefill });
    out.messages[out.messages.length - 1] = { ...last, content };
  } else {
    out.messages.push({ role: 'assistant', content: prefill });
  }
  return out;
}

/** Renumbers a continuation's events into the client's stream. */
export class Stitcher {
  private offset: number | undefined;
  private skipLeadingSpace: boolean;

  constructor(private readonly sent: SentContent) {
    // The prefill lost its trailing whitespace, which the client already has: drop the model's repeat of it.
    this.skipLeadingSpace = /\s$/.test(sent.text);
  }

  /** The frames to send the client for one continuation event (none, one, or a close then a start). */
  map(frame: SseFrame): SseFrame[] {
    switch (frame.event) {
      case 'message_start':
        return [];
      case 'content_block_start': {
        const data = JSON.parse(frame.data);
        const out: SseFrame[] = [];
        if (this.offset === undefined) {
          const open = this.sent.open;
          if (open && open.type === 'text' && data.content_block?.type === 'text') {
            // The continuation's first text block is the rest of the one the client has open.
            this.offset = open.index - data.index;
            this.sent.open = undefined;
            return [];
          }
          if (open) out.push(frame_('content_block_stop', { type: 'content_block_stop', index: open.index }));
          this.offset = this.sent.nextIndex - data.index;
          this.sent.open = undefined;
        }
        out.push(frame_('content_block_start', { ...data, index: data.index + this.offset }));
        return out;
      }
      case 'content_block_delta':
      case 'content_block_stop': {
        const data = JSON.parse(frame.data);
        if (this.offset === undefined) return [];
        if (this.skipLeadingSpace && data.delta?.type === 'text_delta') {
          const text = String(data.delta.text).replace(/^\s+/, '');
          if (text === '') return [];
          this.skipLeadingSpace = false;
          data.delta = { ...data.delta, text };
        }
        return [frame_(frame.event, { ...data, index: data.index + this.offset })];
      }
      default:
        return [frame];
    }
  }
}

function frame_(event: string, data: unknown): SseFrame {
  return { event, data: JSON.stringify(data) };
}
