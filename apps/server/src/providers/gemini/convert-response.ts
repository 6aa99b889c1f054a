import type { Message } from '../../generated/types.gen.js';
import { generateId } from '../openai/ids.js';
import type { UpstreamTarget } from '../transport.js';
import { BlockAssembler, ContentCollector } from './assemble-blocks.js';
import { convertUsage } from './convert-usage.js';
import type { GeminiResponse } from './gemini-types.js';
import { failedCall, geminiStreamError, promptBlocked } from './map-error.js';
import { isFailedCall, mapFinishReason } from './map-finish-reason.js';
import type { GeminiToolNames } from './tool-names.js';

export interface ResponseContext {
  target: UpstreamTarget;
  toolNames: GeminiToolNames;
}

/**
 * A generateContent answer → Anthropic Message: the first candidate's parts as blocks
 * (assemble-blocks.ts), its finishReason as stop_reason, usageMetadata as usage, `msg_` + Gemini's
 * responseId as the id, Gemini's modelVersion as the model. A prompt Gemini blocked
 * (`promptFeedback.blockReason`) and a failed function call throw (map-error.ts).
 */
export function convertResponse(res: GeminiResponse, ctx: ResponseContext): Message {
  if (res.error) throw geminiStreamError(res.error, ctx.target);
  const candidate = res.candidates?.[0];
  if (!candidate && res.promptFeedback?.blockReason) throw promptBlocked(ctx.target, res.promptFeedback.blockReason, res.promptFeedback.blockReasonMessage);
  if (isFailedCall(candidate?.finishReason)) throw failedCall(ctx.target, candidate!.finishReason!, candidate!.finishMessage);
  const collector = new ContentCollector();
  const blocks = new BlockAssembler(collector, ctx.toolNames, () => res.responseId);
  blocks.push(candidate?.content?.parts);
  blocks.finish();
  const stop = mapFinishReason(candidate?.finishReason, { hasToolUse: blocks.hasToolUse });
  return {
    id: messageId(res.responseId),
    type: 'message',
    role: 'assistant',
    content: collector.content,
    model: responseModel(res.modelVersion, ctx.target.model),
    stop_reason: stop.stop_reason,
    stop_sequence: stop.stop_sequence,
    usage: convertUsage(res.usageMetadata),
  };
}

/** `msg_` + Gemini's responseId, or a new id. */
export function messageId(responseId: string | undefined): string {
  return typeof responseId === 'string' && /^[A-Za-z0-9_-]{1,128}$/.test(responseId) ? `msg_${responseId}` : generateId('msg');
}

/** The model that answered: Gemini's modelVersion (without a `models/` prefix), else the requested id. */
export function responseModel(modelVersion: string | undefined, requested: string): string {
  return typeof modelVersion === 'string' && modelVersion ? modelVersion.replace(/^models\//, '') : requested;
}
