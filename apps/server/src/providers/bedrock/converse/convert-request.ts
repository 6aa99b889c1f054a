import type { CountTokensRequest, CreateMessageRequest } from '../../../generated/types.gen.js';
import { ToolNameMap } from '../../openai/tool-names.js';
import { UnsupportedFeatures } from '../../openai/unsupported.js';
import { convertMessages, convertSystem } from './convert-messages.js';
import type { ConverseMessage, ConverseRequest } from './converse-types.js';
import { prepareTools } from './prepare-tools.js';

export interface ConvertRequestOptions {
  /** Provider name, for error messages. */
  provider: string;
  model: string;
  /** Drop unsupported features (and name them in x-bf-dropped) instead of failing with 400. */
  dropUnsupported: boolean;
}

export interface ConvertedRequest {
  body: ConverseRequest;
  toolNames: ToolNameMap;
  /** Left out of the request: unsupported features (with drop_unsupported) and settings Converse cannot carry. */
  dropped: string[];
}

export const CONVERSE_WIRE = 'Bedrock Converse';

/**
 * Anthropic Messages request → Converse request (messages: convert-messages, tools: prepare-tools).
 * - max_tokens, temperature, top_p, stop_sequences → inferenceConfig;
 * - `thinking` (enabled or adaptive) has no model-independent Converse form: it is not sent, and
 *   named in x-bf-dropped; top_k, metadata, cache_control and service_tier are dropped silently
 *   (sampling detail and accounting, as on the OpenAI path);
 * - mcp_servers, container, output_format / output_config.format and server tools are unsupported:
 *   a 400 naming them before any call, or dropped with `drop_unsupported`.
 */
export function convertRequest(req: CreateMessageRequest, opts: ConvertRequestOptions): ConvertedRequest {
  const toolNames = new ToolNameMap();
  const unsupported = new UnsupportedFeatures();
  if (Array.isArray(req.mcp_servers) && req.mcp_servers.length > 0) unsupported.add('mcp_servers');
  if (req.container !== undefined && req.container !== null) unsupported.add('container');
  if (req.output_config?.format ?? req.output_format) unsupported.add('output_format');

  const body = converseInput(req, toolNames, unsupported);
  const inferenceConfig: NonNullable<ConverseRequest['inferenceConfig']> = { maxTokens: req.max_tokens };
  if (typeof req.temperature === 'number') inferenceConfig.temperature = req.temperature;
  if (typeof req.top_p === 'number') inferenceConfig.topP = req.top_p;
  if (req.stop_sequences && req.stop_sequences.length > 0) inferenceConfig.stopSequences = req.stop_sequences;
  body.inferenceConfig = inferenceConfig;

  const dropped = unsupported.settle(opts.provider, opts.model, opts.dropUnsupported, CONVERSE_WIRE);
  if (req.thinking && req.thinking.type !== 'disabled') dropped.push('thinking');
  return { body, toolNames, dropped };
}

/**
 * The CountTokens `converse` input for a count_tokens request: messages, system and tools as a
 * completion would send them (features Converse cannot carry are left out: this is a count).
 */
export function convertCountTokensInput(req: CountTokensRequest): ConverseRequest {
  return converseInput(req, new ToolNameMap(), new UnsupportedFeatures());
}

function converseInput(req: CountTokensRequest, toolNames: ToolNameMap, unsupported: UnsupportedFeatures): ConverseRequest {
  const messages = convertMessages(req.messages, toolNames, unsupported);
  const body: ConverseRequest = { messages };
  const system = convertSystem(req.system);
  if (system) body.system = system;
  const toolConfig = prepareTools(req.tools, req.tool_choice, hasToolBlocks(messages), toolNames, unsupported);
  if (toolConfig) body.toolConfig = toolConfig;
  return body;
}

function hasToolBlocks(messages: readonly ConverseMessage[]): boolean {
  return messages.some((m) => m.content.some((b) => 'toolUse' in b || 'toolResult' in b));
}
