import type { ContentBlock, Message } from '../../../generated/types.gen.js';
import { generateId } from '../../openai/ids.js';
import type { ToolNameMap } from '../../openai/tool-names.js';
import { convertUsage } from './convert-usage.js';
import type { ConverseResponse } from './converse-types.js';
import { mapStopReason } from './map-stop-reason.js';

export interface ResponseContext {
  toolNames: ToolNameMap;
  /** The upstream model id (Converse does not name it in the answer). */
  model: string;
  stopSequences?: readonly string[];
  /** Bedrock's request id, for the message id. */
  requestId?: string;
}

/**
 * Converse answer → Anthropic Message, blocks in the model's order: `reasoningContent` → thinking
 * (its signature, or "" when the model signs none) or redacted_thinking, `text` → text (empty text
 * left out), `toolUse` → tool_use (original tool name restored).
 */
export function convertResponse(res: ConverseResponse, ctx: ResponseContext): Message {
  const content: ContentBlock[] = [];
  for (const block of res.output?.message?.content ?? []) {
    if (typeof block.text === 'string') {
      if (block.text) content.push({ type: 'text', text: block.text });
    } else if (block.toolUse) {
      const input = block.toolUse.input;
      content.push({
        type: 'tool_use',
        id: typeof block.toolUse.toolUseId === 'string' && block.toolUse.toolUseId ? block.toolUse.toolUseId : generateId('toolu'),
        name: ctx.toolNames.fromUpstream(String(block.toolUse.name ?? '')),
        input: input && typeof input === 'object' && !Array.isArray(input) ? input : {},
      });
    } else if (block.reasoningContent) {
      const r = block.reasoningContent;
      if (typeof r.redactedContent === 'string') content.push({ type: 'redacted_thinking', data: r.redactedContent });
      else if (typeof r.reasoningText?.text === 'string') content.push({ type: 'thinking', thinking: r.reasoningText.text, signature: r.reasoningText.signature ?? '' });
    }
  }
  const stop = mapStopReason(res.stopReason, {
    hasToolUse: content.some((b) => b.type === 'tool_use'),
    stopSequences: ctx.stopSequences,
    additional: res.additionalModelResponseFields,
  });
  return {
    id: messageId(ctx.requestId),
    type: 'message',
    role: 'assistant',
    content,
    model: ctx.model,
    stop_reason: stop.stop_reason,
    stop_sequence: stop.stop_sequence,
    usage: convertUsage(res.usage),
  };
}

/** `msg_bdrk_` + Bedrock's request id (Converse answers have no id of their own), or a new id. */
export function messageId(requestId: string | undefined): string {
  return requestId && /^[A-Za-z0-9-]{1,64}$/.test(requestId) ? `msg_bdrk_${requestId}` : generateId('msg');
}
