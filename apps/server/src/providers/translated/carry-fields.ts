import { anthropicFallbacks } from '../../contract/fallbacks.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';

/**
 * What a translated provider (OpenAI Chat Completions, Gemini, ...) does with each part of an
 * Anthropic request that is not a message's content or a tool (those are converted, or refused by
 * their `type`, by each wire format's own message and tool conversion).
 *
 * The rule, the same for every translated wire format: a field the upstream cannot carry is
 * - refused by name (400, and the plan moves on to the next fallback; with `drop_unsupported` it is
 *   dropped and listed instead) when leaving it out would change what the answer says or may do:
 *   the tools the model has (`mcp_servers`), the state its tools run in (`container`), or where the
 *   request may be processed (`inference_geo`, a data-residency requirement the gateway cannot keep);
 * - dropped and listed in `x-bf-dropped` when it only tunes how the answer is produced and the answer
 *   is still a full answer to the request without it: prompt caching (`cache_control`), capacity and
 *   latency (`service_tier`, `speed`), sampling detail the format has no field for, context trimming
 *   that only saves tokens (`context_management`; the whole conversation the client sent goes up),
 *   effort when `thinking` already set it, request metadata the format cannot carry, citation markup,
 *   thinking blocks of earlier turns the upstream cannot take back, and Anthropic's own `fallbacks`.
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

export type FieldTreatment = 'carried' | 'routing' | 'refused' | 'dropped';

/** One wire format's decisions (each format's README table follows its rules). */
export interface CarryRules {
  /** How each top-level field of the contract's CreateMessageRequest is carried. */
  topLevel: Readonly<Record<string, FieldTreatment>>;
  /** `metadata` members the translation carries. */
  metadata: ReadonlySet<string>;
  /** `output_config` members the translation carries. `effort` is carried only when `thinking` does not decide it. */
  outputConfig: ReadonlySet<string>;
  /** Whether the format takes back this thinking block of an earlier turn; otherwise it is dropped and listed. */
  carriesThinking(block: { thinking?: unknown; signature?: unknown }, role: 'user' | 'assistant'): boolean;
}

/** Fields of Anthropic's API that the contract leaves to its open `additionalProperties`: the same for every translated format. */
export const OTHER_ANTHROPIC_FIELDS = {
  context_management: 'dropped',
  speed: 'dropped',
  inference_geo: 'refused',
} as const satisfies Record<string, 'refused' | 'dropped'>;

export function carryFields(req: CreateMessageRequest, rules: CarryRules): CarriedFields {
  const unsupported: string[] = [];
  const dropped: string[] = [];
  const fields = req as unknown as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    const value = fields[name];
    if (value === undefined || value === null) continue;
    const known: string | undefined = rules.topLevel[name] ?? (OTHER_ANTHROPIC_FIELDS as Record<string, string>)[name];
    if (known === 'refused') {
      if (Array.isArray(value) && value.length === 0) continue; // e.g. mcp_servers: []: nothing to carry
      unsupported.push(name);
    } else if (known === 'dropped' || known === undefined) {
      dropped.push(name);
    }
  }
  if (req.fallbacks !== undefined && anthropicFallbacks(req.fallbacks) !== undefined) dropped.push('fallbacks');
  if (rules.topLevel.metadata === 'carried') {
    for (const key of Object.keys(req.metadata ?? {})) {
      if (!rules.metadata.has(key) && (req.metadata as Record<string, unknown>)[key] != null) dropped.push(`metadata.${key}`);
    }
  }
  const outputConfig = (req.output_config ?? {}) as Record<string, unknown>;
  if (rules.topLevel.output_config === 'carried') {
    for (const key of Object.keys(outputConfig)) {
      if (!rules.outputConfig.has(key) && outputConfig[key] != null) dropped.push(`output_config.${key}`);
    }
  }
  // A carried effort is used only when `thinking` does not decide it (enabled or disabled).
  const thinkingType = req.thinking?.type;
  if (rules.outputConfig.has('effort') && outputConfig.effort != null && (thinkingType === 'enabled' || thinkingType === 'disabled')) {
    dropped.push('output_config.effort');
  }
  for (const found of scanContent(req, rules)) dropped.push(found);
  return { unsupported, dropped };
}

/** cache_control, citations and earlier thinking, wherever the request has them. */
function scanContent(req: CreateMessageRequest, rules: CarryRules): Set<string> {
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
      else if (type === 'thinking' && !rules.carriesThinking(block as { thinking?: unknown; signature?: unknown }, message.role)) found.add('thinking');
    }
  }
  return found;
}
