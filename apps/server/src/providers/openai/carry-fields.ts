import { anthropicFallbacks } from '../../contract/fallbacks.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';

/**
 * What an OpenAI-compatible upstream does with each part of an Anthropic request that is not a
 * message's content or a tool (those are converted, or refused by their `type`, in convert-messages
 * and prepare-tools).
 *
 * The rule: a field the upstream cannot carry is
 * - refused by name (400, and the plan moves on to the next fallback; with `drop_unsupported` it is
 *   dropped and listed instead) when leaving it out would change what the answer says or may do:
 *   the tools the model has (`mcp_servers`), the state its tools run in (`container`), or where the
 *   request may be processed (`inference_geo`, a data-residency requirement the gateway cannot keep);
 * - dropped and listed in `x-bf-dropped` when it only tunes how the answer is produced and the answer
 *   is still a full answer to the request without it: prompt caching (`cache_control`), capacity and
 *   latency (`service_tier`, `speed`), sampling detail (`top_k`), context trimming that only saves
 *   tokens (`context_management`; the whole conversation the client sent goes up), effort when
 *   `thinking` already set it, request metadata other than `user_id`, citation markup, thinking
 *   blocks of earlier turns (which OpenAI cannot take back), and Anthropic's own `fallbacks`.
 * A top-level field the gateway does not know at all is dropped and listed by name: Anthropic adds
 * fields often, most are tuning knobs, and refusing them would break every translated request of a
 * client the day it upgrades. Nothing is left out silently.
 */
export interface CarriedFields {
  /** Refused by name unless the provider drops unsupported features. */
  unsupported: string[];
  /** Always left out, and listed in x-bf-dropped. */
  dropped: string[];
}

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

/** Fields of Anthropic's API that the contract leaves to its open `additionalProperties`. */
export const OTHER_ANTHROPIC_FIELDS = {
  context_management: 'dropped',
  speed: 'dropped',
  inference_geo: 'refused',
} as const satisfies Record<string, 'refused' | 'dropped'>;

/** `metadata` and `output_config` members the translation carries. */
const CARRIED_METADATA = new Set(['user_id']);
const CARRIED_OUTPUT_CONFIG = new Set(['format', 'effort']);

export function carryFields(req: CreateMessageRequest, opts: CarryOptions = {}): CarriedFields {
  const unsupported: string[] = [];
  const dropped: string[] = [];
  const fields = req as unknown as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (value === undefined || value === null) continue;
    const known: string | undefined =
      (TOP_LEVEL_FIELDS as Record<string, string>)[name] ?? (OTHER_ANTHROPIC_FIELDS as Record<string, string>)[name];
    if (known === 'refused') {
      if (Array.isArray(value) && value.length === 0) continue; // e.g. mcp_servers: []: nothing to carry
      unsupported.push(name);
    } else if (known === 'dropped' || known === undefined) {
      dropped.push(name);
    }
  }
  if (req.fallbacks !== undefined && anthropicFallbacks(req.fallbacks) !== undefined) dropped.push('fallbacks');
  for (const key of Object.keys(req.metadata ?? {})) {
    if (!CARRIED_METADATA.has(key) && (req.metadata as Record<string, unknown>)[key] != null) dropped.push(`metadata.${key}`);
  }
  const outputConfig = (req.output_config ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(outputConfig)) {
    if (!CARRIED_OUTPUT_CONFIG.has(key) && outputConfig[key] != null) dropped.push(`output_config.${key}`);
  }
  // Effort becomes reasoning_effort only when `thinking` does not decide it (see reasoningEffort).
  const thinkingType = req.thinking?.type;
  if (outputConfig.effort != null && (thinkingType === 'enabled' || thinkingType === 'disabled')) dropped.push('output_config.effort');
  for (const found of scanContent(req, opts)) dropped.push(found);
  return { unsupported, dropped };
}

/** cache_control, citations and earlier thinking, wherever the request has them. */
function scanContent(req: CreateMessageRequest, opts: CarryOptions): Set<string> {
  const found = new Set<string>();
  const visit = (block: unknown): void => {
    if (!block || typeof block !== 'object') return;
    const b = block as Record<string, unknown>;
    if (b.cache_control != null) found.add('cache_control');
    // Anthropic's citations: markup on earlier answers' text, or a document asking to be cited.
    // The answer's text is the same without them; only its source references are missing.
    if (Array.isArray(b.citations) ? b.citations.length > 0 : (b.citations as { enabled?: unknown } | null | undefined)?.enabled === true) {
      found.add('citations');
    }
    const content = b.type === 'document' ? (b.source as { content?: unknown } | undefined)?.content : b.content;
    if (Array.isArray(content)) for (const inner of content) visit(inner);
  };
  if (Array.isArray(req.system)) for (const block of req.system) visit(block);
  for (const tool of req.tools ?? []) if ((tool as { cache_control?: unknown }).cache_control != null) found.add('cache_control');
  for (const message of req.messages) {
    if (typeof message.content === 'string') continue;
    for (const block of message.content) {
      visit(block);
      const type = (block as { type?: unknown }).type;
      if (type === 'redacted_thinking') found.add('redacted_thinking');
      else if (type === 'thinking' && !(opts.reasoningContent && message.role === 'assistant')) found.add('thinking');
    }
  }
  return found;
}
