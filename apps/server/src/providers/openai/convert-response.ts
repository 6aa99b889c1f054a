import type { ContentBlock, Message } from '../../generated/types.gen.js';
import type { UpstreamTarget } from '../transport.js';
import { convertUsage } from './convert-usage.js';
import { generateId, messageId } from './ids.js';
import { abortedGeneration, invalidToolArguments, isAbortedFinish } from './map-error.js';
import { mapFinishReason, matchedStopSequence, type StopInfo } from './map-finish-reason.js';
import type { OpenAIChatCompletion, OpenAIResponseMessage } from './openai-types.js';
import { cutAtStop } from './stop-sequences.js';
import { toolInput } from './tool-arguments.js';
import type { ToolNameMap } from './tool-names.js';

export interface ResponseContext {
  toolNames: ToolNameMap;
  /** The request's stop_sequences, to report which one matched. */
  stopSequences?: readonly string[];
  /** The stop sequences the upstream was not sent, which the gateway enforces itself (see stop-sequences.ts). */
  enforcedStops?: readonly string[];
  /** Which upstream answered; its model is used when the answer does not name one. */
  target: UpstreamTarget;
}

/**
 * OpenAI chat.completion → Anthropic Message. Blocks in this order: thinking (from
 * `reasoning_content` / `reasoning`), text (content, or the refusal text), then one tool_use per tool
 * call with its arguments parsed and its original name restored. No empty block is produced.
 *
 * The same answer as the stream of the same completion (convert-stream.ts) in every case:
 * - tool arguments must be a JSON object (as text, or the object itself from llama.cpp's server);
 *   anything else fails the answer, as it fails a stream, except arguments cut by the token limit,
 *   which become what the SDK makes of them streamed (tool-arguments.ts);
 * - a finish_reason of `abort` or `error` (vLLM, an aborted request) fails it;
 * - an enforced stop sequence in the text cuts the text before it and drops what follows (the tool
 *   calls), with stop_reason `stop_sequence`.
 *
 * The thinking block's signature is "": OpenAI-compatible reasoning is not signed. Clients keep it
 * (the SDK takes any string) and Conduit drops thinking blocks when it sends history to an OpenAI
 * upstream; an Anthropic upstream would refuse such a block, so do not replay it there.
 */
export function convertResponse(completion: OpenAIChatCompletion, ctx: ResponseContext): Message {
  const choice = completion.choices?.[0];
  const finishReason = choice?.finish_reason;
  if (typeof finishReason === 'string' && isAbortedFinish(finishReason)) throw abortedGeneration(ctx.target, finishReason);
  const message: OpenAIResponseMessage = choice?.message ?? {};
  const content: ContentBlock[] = [];

  const reasoning = message.reasoning_content || message.reasoning;
  if (typeof reasoning === 'string' && reasoning) content.push({ type: 'thinking', thinking: reasoning, signature: '' });

  let text = contentText(message.content);
  const refusal = typeof message.refusal === 'string' ? message.refusal : '';
  let gatewayStop: string | undefined;
  if (ctx.enforcedStops && ctx.enforcedStops.length > 0) {
    const cut = cutAtStop(text || refusal, ctx.enforcedStops);
    gatewayStop = cut.matched;
    if (gatewayStop !== undefined) text = cut.text;
  }
  if (text) content.push({ type: 'text', text });
  else if (refusal && gatewayStop === undefined) content.push({ type: 'text', text: refusal });

  if (gatewayStop === undefined) {
    const truncated = finishReason === 'length';
    for (const call of message.tool_calls ?? []) {
      const name = call.function?.name ?? '';
      const input = toolInput(call.function?.arguments, truncated);
      if (!input) throw invalidToolArguments(ctx.target, call.id, name, String(call.function?.arguments));
      content.push({ type: 'tool_use', id: call.id || generateId('toolu'), name: ctx.toolNames.fromUpstream(name), input });
    }
    if (message.function_call?.name) {
      const input = toolInput(message.function_call.arguments, truncated);
      if (!input) throw invalidToolArguments(ctx.target, undefined, message.function_call.name, String(message.function_call.arguments));
      content.push({ type: 'tool_use', id: generateId('toolu'), name: ctx.toolNames.fromUpstream(message.function_call.name), input });
    }
  }

  const stop: StopInfo =
    gatewayStop !== undefined
      ? { stop_reason: 'stop_sequence', stop_sequence: gatewayStop }
      : mapFinishReason(finishReason, {
          hasToolCalls: content.some((b) => b.type === 'tool_use'),
          refused: !text && refusal !== '',
          matchedStop: matchedStopSequence(ctx.stopSequences, choice?.stop_reason, text),
        });
  return {
    id: messageId(completion.id),
    type: 'message',
    role: 'assistant',
    content,
    model: completion.model || ctx.target.model,
    stop_reason: stop.stop_reason,
    stop_sequence: stop.stop_sequence,
    usage: convertUsage(completion.usage),
  };
}

/** Content as a string; some servers answer with text parts. */
function contentText(content: OpenAIResponseMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('');
}
