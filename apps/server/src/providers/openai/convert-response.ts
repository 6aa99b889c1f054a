import type { ContentBlock, Message } from '../../generated/types.gen.js';
import { convertUsage } from './convert-usage.js';
import { generateId, messageId } from './ids.js';
import { mapFinishReason, matchedStopSequence } from './map-finish-reason.js';
import type { OpenAIChatCompletion, OpenAIResponseMessage } from './openai-types.js';
import type { ToolNameMap } from './tool-names.js';

export interface ResponseContext {
  toolNames: ToolNameMap;
  /** The request's stop_sequences, to report which one matched. */
  stopSequences?: readonly string[];
  /** Used when the upstream does not say which model answered. */
  model: string;
}

/**
 * OpenAI chat.completion → Anthropic Message. Blocks in this order: thinking (from
 * `reasoning_content` / `reasoning`), text (content, or the refusal text), then one tool_use per tool
 * call with its arguments parsed and its original name restored. No empty block is produced.
 *
 * The thinking block's signature is "": OpenAI-compatible reasoning is not signed. Clients keep it
 * (the SDK takes any string) and Conduit drops thinking blocks when it sends history to an OpenAI
 * upstream; an Anthropic upstream would refuse such a block, so do not replay it there.
 */
export function convertResponse(completion: OpenAIChatCompletion, ctx: ResponseContext): Message {
  const choice = completion.choices?.[0];
  const message: OpenAIResponseMessage = choice?.message ?? {};
  const content: ContentBlock[] = [];

  const reasoning = message.reasoning_content || message.reasoning;
  if (typeof reasoning === 'string' && reasoning) content.push({ type: 'thinking', thinking: reasoning, signature: '' });

  const text = contentText(message.content);
  const refusal = typeof message.refusal === 'string' ? message.refusal : '';
  if (text) content.push({ type: 'text', text });
  else if (refusal) content.push({ type: 'text', text: refusal });

  for (const call of message.tool_calls ?? []) {
    content.push({
      type: 'tool_use',
      id: call.id || generateId('toolu'),
      name: ctx.toolNames.fromUpstream(call.function?.name ?? ''),
      input: parseToolArguments(call.function?.arguments),
    });
  }
  if (message.function_call?.name) {
    content.push({
      type: 'tool_use',
      id: generateId('toolu'),
      name: ctx.toolNames.fromUpstream(message.function_call.name),
      input: parseToolArguments(message.function_call.arguments),
    });
  }

  const stop = mapFinishReason(choice?.finish_reason, {
    hasToolCalls: content.some((b) => b.type === 'tool_use'),
    refused: !text && refusal !== '',
    matchedStop: matchedStopSequence(ctx.stopSequences, choice?.stop_reason, text),
  });
  return {
    id: messageId(completion.id),
    type: 'message',
    role: 'assistant',
    content,
    model: completion.model || ctx.model,
    stop_reason: stop.stop_reason,
    stop_sequence: stop.stop_sequence,
    usage: convertUsage(completion.usage),
  };
}

/**
 * A tool call's `arguments` JSON string → the tool_use `input` object. Empty arguments (servers send
 * "" for a call without parameters) are `{}`. Arguments that are not a JSON object (broken JSON from a
 * weak model, or a bare value) are also `{}`: `input` must be an object, and a tool called with `{}`
 * fails its own validation visibly instead of with garbage.
 */
export function parseToolArguments(args: string | null | undefined): Record<string, unknown> {
  if (!args || !args.trim()) return {};
  try {
    const value: unknown = JSON.parse(args);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // falls through
  }
  return {};
}

/** Content as a string; some servers answer with text parts. */
function contentText(content: OpenAIResponseMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('');
}
