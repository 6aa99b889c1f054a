import { createHash } from 'node:crypto';
import type { ContinuationMode } from '../../config/schema.js';
import type { CreateMessageRequest, OutputConfig, ThinkingConfig, ToolUnion } from '../../generated/types.gen.js';
import { asKnown } from '../../contract/open-unions.js';
import { carryFields } from './carry-fields.js';
import { markContinuation } from './continuation.js';
import { convertMessages } from './convert-messages.js';
import type { OpenAIChatRequest, OpenAIReasoningEffort } from './openai-types.js';
import { prepareTools } from './prepare-tools.js';
import { splitStopSequences, stopSequencesBeyondLimits } from './stop-sequences.js';
import { ToolNameMap } from './tool-names.js';
import { UnsupportedFeatures } from './unsupported.js';

export interface ConvertRequestOptions {
  /** Provider name, for error messages. */
  provider: string;
  /** Upstream model id. */
  model: string;
  stream: boolean;
  /** Which field carries max_tokens: OpenAI's current `max_completion_tokens` or the older `max_tokens`. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  /** Drop unsupported features (and report them) instead of failing with 400. */
  dropUnsupported: boolean;
  /** Top-level request fields this upstream rejects; never sent (e.g. Mistral refuses stream_options). */
  omitParams?: readonly string[];
  /** Base64 PDF documents go as `file` parts (else they are unsupported). */
  pdfFiles?: boolean;
  /** Thinking blocks of earlier assistant turns go back as `reasoning_content` (DeepSeek requires it). */
  reasoningContent?: boolean;
  /** False when the model refuses `stop`: every stop sequence is then enforced by the gateway. Default true. */
  stopTaken?: boolean;
  /** The most output tokens the model takes, when learnt: a larger max_tokens is lowered to it. */
  outputLimit?: number;
  /**
   * The final assistant message is the start of an answer to continue (a stream that broke), and
   * this is how the server is asked to continue it (continuation.ts).
   */
  continuation?: Exclude<ContinuationMode, 'none'>;
}

export interface ConvertedRequest {
  body: OpenAIChatRequest;
  /** Tool names as sent upstream ↔ the client's; used to restore names in the answer. */
  toolNames: ToolNameMap;
  /** What was left out of the request, for x-bf-dropped: fields the upstream cannot carry, and unsupported features with drop_unsupported. */
  dropped: string[];
  /** The max tokens sent when the client's was above what the model takes (x-bf-max-tokens-clamped). */
  clampedMaxTokens?: number;
  /** The stop sequences in effect: sent upstream as `stop`, or enforced by the gateway (see enforcedStops). */
  stopSequences: string[];
  /** The client's tools the body's were converted from (its serialised form may be reused: request-bytes.ts). */
  toolsSource?: readonly ToolUnion[];
}

/** OpenAI refuses a `user` longer than this. */
export const MAX_USER_LENGTH = 64;

/**
 * Anthropic Messages request → OpenAI Chat Completions request. Throws a 400 GatewayError naming the
 * features the upstream cannot take (unless dropUnsupported), before anything is sent.
 *
 * Besides messages and tools (see convert-messages, prepare-tools):
 * - max_tokens → max_completion_tokens or max_tokens, lowered to the model's learnt output limit;
 *   temperature, top_p as they are; metadata.user_id → user (a longer id than OpenAI takes becomes
 *   its SHA-256, 64 hex digits: stable per user, within the limit);
 * - stop_sequences → stop, the first four (OpenAI's limit; none when the model refuses `stop`); the
 *   gateway enforces the others (stop-sequences.ts);
 * - thinking → reasoning_effort (see reasoningEffort); output_format / output_config.format →
 *   response_format json_schema (name "output", strict: Anthropic's structured output is strict);
 * - stream → stream + stream_options.include_usage, so the stream ends with its usage;
 * - every other field is refused by name or dropped and listed (carry-fields.ts).
 */
export function convertRequest(req: CreateMessageRequest, opts: ConvertRequestOptions): ConvertedRequest {
  const toolNames = new ToolNameMap();
  const unsupported = new UnsupportedFeatures();
  const fields = carryFields(req, { reasoningContent: opts.reasoningContent });
  for (const name of fields.unsupported) unsupported.add(name);
  if (req.thinking && !KNOWN_THINKING.has(req.thinking.type)) unsupported.add(`thinking ${req.thinking.type}`);

  const body: OpenAIChatRequest = {
    model: opts.model,
    messages: convertMessages(req.system, req.messages, toolNames, unsupported, { pdfFiles: opts.pdfFiles, reasoningContent: opts.reasoningContent }),
  };
  let clampedMaxTokens: number | undefined;
  if (opts.outputLimit !== undefined && req.max_tokens > opts.outputLimit) clampedMaxTokens = opts.outputLimit;
  body[opts.maxTokensField] = clampedMaxTokens ?? req.max_tokens;
  if (typeof req.temperature === 'number') body.temperature = req.temperature;
  if (typeof req.top_p === 'number') body.top_p = req.top_p;
  // Past the limits the gateway checks, stop sequences are refused (or, dropped, not used at all).
  const beyondLimits = stopSequencesBeyondLimits(req.stop_sequences) !== undefined;
  if (beyondLimits) unsupported.add('stop_sequences');
  const stopSequences = beyondLimits ? [] : (req.stop_sequences ?? []).filter((s) => s !== '');
  const stops = splitStopSequences(stopSequences, opts.stopTaken ?? true);
  if (stops.sent.length > 0) body.stop = stops.sent;
  Object.assign(body, prepareTools(req.tools, req.tool_choice, toolNames, unsupported));
  const effort = reasoningEffort(req.thinking, req.output_config);
  if (effort) body.reasoning_effort = effort;
  const format = req.output_config?.format ?? req.output_format;
  if (format && format.type === 'json_schema') {
    body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
  }
  if (typeof req.metadata?.user_id === 'string' && req.metadata.user_id) body.user = openAIUser(req.metadata.user_id);
  if (opts.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  if (opts.continuation) markContinuation(body, opts.continuation);
  const dropped = [...fields.dropped];
  // Fields this server never gets (omit_params) are listed too when the request gave them a value,
  // except stop: the gateway then enforces the stop sequences itself.
  const sent = body as unknown as Record<string, unknown>;
  for (const param of opts.omitParams ?? []) {
    if (sent[param] === undefined) continue;
    delete sent[param];
    if (param !== 'stop') dropped.push(param);
  }

  dropped.push(...unsupported.settle(opts.provider, opts.model, opts.dropUnsupported));
  return {
    body,
    toolNames,
    dropped,
    stopSequences,
    ...(clampedMaxTokens !== undefined ? { clampedMaxTokens } : {}),
    ...(req.tools !== undefined ? { toolsSource: req.tools } : {}),
  };
}

/**
 * metadata.user_id → OpenAI's `user`. Claude Code sends a JSON blob of about 150 characters and OpenAI
 * refuses more than 64: a longer id goes as its SHA-256 in hex, 64 characters, the same for the same id.
 */
export function openAIUser(userId: string): string {
  return userId.length <= MAX_USER_LENGTH ? userId : createHash('sha256').update(userId).digest('hex');
}

/** The thinking kinds reasoningEffort understands; any other is refused by name. */
const KNOWN_THINKING: ReadonlySet<string> = new Set(['enabled', 'disabled', 'adaptive']);

/** Thinking budgets below this get reasoning_effort "low" (Claude Code's "think" is 4,000). */
export const LOW_EFFORT_BELOW = 8_192;
/** Budgets from LOW_EFFORT_BELOW up to this get "medium" ("think hard" is 10,000); above, "high" ("ultrathink" is 31,999). */
export const MEDIUM_EFFORT_BELOW = 24_576;

/**
 * `thinking` → OpenAI `reasoning_effort`:
 * - enabled: budget_tokens < 8,192 → low, < 24,576 → medium, otherwise high;
 * - disabled: not sent (whatever output_config.effort says);
 * - adaptive or absent: output_config.effort when given (low/medium/high; xhigh and max → high),
 *   otherwise not sent, which leaves the upstream's default (medium on OpenAI's reasoning models).
 * Not sending it when thinking is off matters: non-reasoning models reject the field.
 */
export function reasoningEffort(raw: ThinkingConfig | undefined, outputConfig: OutputConfig | undefined): OpenAIReasoningEffort | undefined {
  const thinking = raw && asKnown(raw);
  if (thinking?.type === 'enabled') {
    const budget = thinking.budget_tokens;
    return budget < LOW_EFFORT_BELOW ? 'low' : budget < MEDIUM_EFFORT_BELOW ? 'medium' : 'high';
  }
  if (thinking?.type === 'disabled') return undefined;
  switch (outputConfig?.effort) {
    case 'low':
    case 'medium':
    case 'high':
      return outputConfig.effort;
    case 'xhigh':
    case 'max':
      return 'high';
    default:
      return undefined;
  }
}
