import type { CreateMessageRequest, OutputConfig, ThinkingConfig } from '../../generated/types.gen.js';
import { asKnown } from '../../contract/open-unions.js';
import { convertMessages } from './convert-messages.js';
import type { OpenAIChatRequest, OpenAIReasoningEffort } from './openai-types.js';
import { prepareTools } from './prepare-tools.js';
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
}

export interface ConvertedRequest {
  body: OpenAIChatRequest;
  /** Tool names as sent upstream ↔ the client's; used to restore names in the answer. */
  toolNames: ToolNameMap;
  /** Features left out because of drop_unsupported (empty otherwise). */
  dropped: string[];
}

/**
 * Anthropic Messages request → OpenAI Chat Completions request. Throws a 400 GatewayError naming the
 * features the upstream cannot take (unless dropUnsupported), before anything is sent.
 *
 * Besides messages and tools (see convert-messages, prepare-tools):
 * - max_tokens → max_completion_tokens or max_tokens; temperature, top_p as they are; top_k dropped
 *   (Chat Completions has none); stop_sequences → stop; metadata.user_id → user;
 * - thinking → reasoning_effort (see reasoningEffort); output_format / output_config.format →
 *   response_format json_schema (name "output", strict: Anthropic's structured output is strict);
 * - stream → stream + stream_options.include_usage, so the stream ends with its usage;
 * - mcp_servers and container are unsupported; service_tier and other Anthropic-only fields are ignored.
 */
export function convertRequest(req: CreateMessageRequest, opts: ConvertRequestOptions): ConvertedRequest {
  const toolNames = new ToolNameMap();
  const unsupported = new UnsupportedFeatures();
  if (Array.isArray(req.mcp_servers) && req.mcp_servers.length > 0) unsupported.add('mcp_servers');
  if (req.container !== undefined && req.container !== null) unsupported.add('container');
  if (req.thinking && !KNOWN_THINKING.has(req.thinking.type)) unsupported.add(`thinking ${req.thinking.type}`);

  const body: OpenAIChatRequest = {
    model: opts.model,
    messages: convertMessages(req.system, req.messages, toolNames, unsupported, { pdfFiles: opts.pdfFiles }),
  };
  body[opts.maxTokensField] = req.max_tokens;
  if (typeof req.temperature === 'number') body.temperature = req.temperature;
  if (typeof req.top_p === 'number') body.top_p = req.top_p;
  if (req.stop_sequences && req.stop_sequences.length > 0) body.stop = req.stop_sequences;
  Object.assign(body, prepareTools(req.tools, req.tool_choice, toolNames, unsupported));
  const effort = reasoningEffort(req.thinking, req.output_config);
  if (effort) body.reasoning_effort = effort;
  const format = req.output_config?.format ?? req.output_format;
  if (format && format.type === 'json_schema') {
    body.response_format = { type: 'json_schema', json_schema: { name: 'output', schema: format.schema, strict: true } };
  }
  if (typeof req.metadata?.user_id === 'string' && req.metadata.user_id) body.user = req.metadata.user_id;
  if (opts.stream) {
    body.stream = true;
    body.stream_options = { include_usage: true };
  }
  for (const param of opts.omitParams ?? []) delete (body as unknown as Record<string, unknown>)[param];

  const dropped = unsupported.settle(opts.provider, opts.model, opts.dropUnsupported);
  return { body, toolNames, dropped };
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
