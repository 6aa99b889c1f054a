import type { CreateMessageRequest } from '../../generated/types.gen.js';
import { carryFields as carryWith, type CarriedFields, type CarryRules } from '../translated/carry-fields.js';

export { OTHER_ANTHROPIC_FIELDS, type CarriedFields } from '../translated/carry-fields.js';

/**
 * What an OpenAI-compatible upstream does with each part of an Anthropic request that is not a
 * message's content or a tool, by the rule every translated format follows (translated/carry-fields.ts):
 * `metadata.user_id` becomes `user`, `top_k` has no Chat Completions field (dropped), earlier
 * thinking goes back only as `reasoning_content` where the provider asks for it.
 */
export interface CarryOptions {
  /** Thinking blocks of earlier assistant turns go back as `reasoning_content` (provider option). */
  reasoningContent?: boolean;
}

/** How each top-level field of the contract's CreateMessageRequest is carried (the README's table follows it). */
export const TOP_LEVEL_FIELDS = {
  model: 'routing',
  max_tokens: 'carried',
  messages: 'carried',
  system: 'carried',
  metadata: 'carried',
  stream: 'carried',
  temperature: 'carried',
  top_p: 'carried',
  top_k: 'dropped',
  stop_sequences: 'carried',
  tools: 'carried',
  tool_choice: 'carried',
  thinking: 'carried',
  mcp_servers: 'refused',
  output_format: 'carried',
  output_config: 'carried',
  service_tier: 'dropped',
  container: 'refused',
  fallbacks: 'routing',
} as const satisfies Record<string, 'carried' | 'routing' | 'refused' | 'dropped'>;

const METADATA = new Set(['user_id']);
const OUTPUT_CONFIG = new Set(['format', 'effort']);

export function carryFields(req: CreateMessageRequest, opts: CarryOptions = {}): CarriedFields {
  const rules: CarryRules = {
    topLevel: TOP_LEVEL_FIELDS,
    metadata: METADATA,
    outputConfig: OUTPUT_CONFIG,
    carriesThinking: (_block, role) => opts.reasoningContent === true && role === 'assistant',
  };
  return carryWith(req, rules);
}
