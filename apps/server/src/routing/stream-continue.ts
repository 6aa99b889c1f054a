import type { ContinuationMode } from '../config/schema.js';
import { anthropicFallbacks } from '../contract/fallbacks.js';
import { GatewayError } from '../errors.js';
import type { CreateMessageRequest, InputContentBlock } from '../generated/types.gen.js';

/**
 * Continuing a stream that broke mid-answer: the text the client already has goes back to a model
 * as the start of the assistant's answer, which the model writes on from (stitcher.ts puts its
 * events into the client's stream).
 */

/**
 * Whether the request lets `mode` continue its answer at all. A forced tool call (`tool_choice`
 * any or tool) is an answer that is a tool call, not text to go on from; Anthropic refuses an
 * assistant prefill with extended thinking, and so does a server passing it to Claude.
 */
export function acceptsContinuation(body: Pick<CreateMessageRequest, 'thinking' | 'tool_choice'>, mode: ContinuationMode): boolean {
  if (mode === 'none') return false;
  if (body.tool_choice && (body.tool_choice.type === 'any' || body.tool_choice.type === 'tool')) return false;
  if (mode === 'assistant_prefill' && body.thinking && body.thinking.type !== 'disabled') return false;
  return true;
}

export interface ContinuationRequest {
  body: CreateMessageRequest;
  /** Whitespace taken off the end of the prefix, which the client already has (the continuation may write it again). */
  trimmed: string;
}

/**
 * The request again, with `text` as the start of the assistant's answer (appended to a prefill
 * the client sent itself), the gateway's own fallbacks left out, and `max_tokens` lowered by the
 * output the cut attempts already produced. Anthropic refuses a prefill that ends in whitespace, so
 * for `assistant_prefill` it is trimmed; the other modes take the text as it is.
 */
export function continuationRequest(body: CreateMessageRequest, text: string, mode: ContinuationMode, priorOutput: number): ContinuationRequest {
  const prefix = mode === 'assistant_prefill' ? text.trimEnd() : text;
  const { fallbacks: _ours, ...rest } = body;
  const forwardedFallbacks = anthropicFallbacks(body.fallbacks);
  const out: CreateMessageRequest = {
    ...rest,
    ...(forwardedFallbacks !== undefined ? { fallbacks: forwardedFallbacks } : {}),
    max_tokens: Math.max(1, body.max_tokens - priorOutput),
    messages: [...body.messages],
  };
  const last = out.messages.at(-1);
  if (last?.role === 'assistant') {
    // The client's own prefill: the answer (and so the text sent) goes on from it.
    const content: InputContentBlock[] = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : [...last.content];
    const tail = content.at(-1);
    if (tail?.type === 'text') content[content.length - 1] = { ...tail, text: mode === 'assistant_prefill' ? (tail.text + prefix).trimEnd() : tail.text + prefix };
    else if (prefix) content.push({ type: 'text', text: prefix });
    out.messages[out.messages.length - 1] = { ...last, content };
  } else if (prefix) {
    out.messages.push({ role: 'assistant', content: prefix });
  }
  return { body: out, trimmed: text.slice(prefix.length) };
}

/** Why a stream broke, as a label of `conduit_stream_continuations_total` (a fixed set). */
export type ContinuationReason = 'cut' | 'stall' | 'malformed' | 'upstream_error' | 'aborted' | 'deadline' | 'other';

export function continuationReason(err: unknown): ContinuationReason {
  if (!(err instanceof GatewayError) || !err.upstream) return 'other';
  switch (err.upstream.kind) {
    case 'reset':
    case 'connect':
      return 'cut';
    case 'timeout_idle':
      return 'stall';
    case 'timeout_deadline':
      return 'deadline';
    case 'aborted':
      return 'aborted';
    case 'http':
      return 'upstream_error';
    case 'bad_response':
      // A body that ended before the stream's end is a cut; anything else, a malformed event.
      return /ended before/.test(err.message) ? 'cut' : 'malformed';
    default:
      return 'other';
  }
}

/** A model's answer to a continuation request saying it cannot continue an answer (remembered per model). */
const REFUSES_CONTINUATION = /prefill|prefix|continue_final_message|must end with a user message|final assistant message|last message.*assistant/i;

export function refusesContinuation(err: unknown): boolean {
  if (!(err instanceof GatewayError) || err.upstream?.status === undefined) return false;
  const status = err.upstream.status;
  return (status === 400 || status === 422) && REFUSES_CONTINUATION.test(err.message);
}
