import { asKnown } from '../../contract/open-unions.js';
import type { CountTokensRequest, CreateMessageRequest, ThinkingConfig } from '../../generated/types.gen.js';
import { UnsupportedFeatures } from '../openai/unsupported.js';
import { carryFields, type CarryRules } from '../translated/carry-fields.js';
import { convertMessages, convertSystem } from './convert-messages.js';
import type { GeminiGenerationConfig, GeminiRequest } from './gemini-types.js';
import { SchemaBudget, SchemaTooLarge, toGeminiSchema } from './json-schema.js';
import { prepareTools } from './prepare-tools.js';
import { decodeSignature } from './thought-signatures.js';
import { GeminiToolNames } from './tool-names.js';

export const GEMINI_WIRE = 'Gemini generateContent';

/** Gemini takes at most this many stop sequences. */
export const MAX_GEMINI_STOP_SEQUENCES = 5;

/** The largest thinking budgets Gemini takes: Flash models 24,576 tokens, the others 32,768. */
export const MAX_THINKING_BUDGET = { flash: 24_576, other: 32_768 } as const;

/** How each top-level field of the contract's CreateMessageRequest goes to Gemini (the README's table follows it). */
export const GEMINI_TOP_LEVEL_FIELDS = {
  model: 'routing',
  max_tokens: 'carried',
  messages: 'carried',
  system: 'carried',
  metadata: 'dropped',
  stream: 'carried',
  temperature: 'carried',
  top_p: 'carried',
  top_k: 'carried',
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

const GEMINI_RULES: CarryRules = {
  topLevel: GEMINI_TOP_LEVEL_FIELDS,
  metadata: new Set(),
  outputConfig: new Set(['format']),
  // Thinking blocks go back only with the Gemini signature they carry (thought-signatures.ts).
  carriesThinking: (block, role) => role === 'assistant' && decodeSignature(block.signature) !== undefined,
};

export interface ConvertRequestOptions {
  /** Provider name, for error messages. */
  provider: string;
  model: string;
  /** Drop unsupported features (and name them in x-bf-dropped) instead of failing with 400. */
  dropUnsupported: boolean;
}

export interface ConvertedRequest {
  body: GeminiRequest;
  toolNames: GeminiToolNames;
  /** Left out of the request, for x-bf-dropped. */
  dropped: string[];
}

/**
 * Anthropic Messages request → Gemini GenerateContentRequest (messages: convert-messages, tools:
 * prepare-tools). Throws a 400 naming what Gemini cannot carry, before any call (unless dropUnsupported).
 * - system → systemInstruction; max_tokens, temperature, top_p, top_k, stop_sequences (at most 5)
 *   → generationConfig; output_format / output_config.format → responseMimeType application/json
 *   and responseSchema;
 * - thinking → thinkingConfig (see thinkingConfig);
 * - every other field is refused by name or dropped and listed (translated/carry-fields.ts).
 */
export function convertRequest(req: CreateMessageRequest, opts: ConvertRequestOptions): ConvertedRequest {
  const toolNames = new GeminiToolNames();
  const unsupported = new UnsupportedFeatures();
  const fields = carryFields(req, GEMINI_RULES);
  for (const name of fields.unsupported) unsupported.add(name);
  const dropped = [...fields.dropped];

  // One budget for the tools' schemas and the output format's together.
  const schemas = new SchemaBudget();
  const { body, droppedParallel } = geminiInput(req, toolNames, unsupported, schemas);
  if (droppedParallel) dropped.push('tool_choice.disable_parallel_tool_use');
  const config: GeminiGenerationConfig = { maxOutputTokens: req.max_tokens };
  if (typeof req.temperature === 'number') config.temperature = req.temperature;
  if (typeof req.top_p === 'number') config.topP = req.top_p;
  if (typeof req.top_k === 'number') config.topK = req.top_k;
  const stops = (req.stop_sequences ?? []).filter((s) => s !== '');
  if (stops.length > MAX_GEMINI_STOP_SEQUENCES) unsupported.add('stop_sequences');
  else if (stops.length > 0) config.stopSequences = stops;
  const format = req.output_config?.format ?? req.output_format;
  if (format && format.type === 'json_schema') {
    try {
      config.responseSchema = toGeminiSchema(format.schema, schemas);
      config.responseMimeType = 'application/json';
    } catch (err) {
      if (!(err instanceof SchemaTooLarge)) throw err;
      unsupported.add('output_format');
    }
  }
  if (req.thinking && !KNOWN_THINKING.has(req.thinking.type)) unsupported.add(`thinking ${req.thinking.type}`);
  const thinking = thinkingConfig(req.thinking, opts.model);
  if (thinking) config.thinkingConfig = thinking;
  body.generationConfig = config;

  dropped.push(...unsupported.settle(opts.provider, opts.model, opts.dropUnsupported, GEMINI_WIRE));
  return { body, toolNames, dropped };
}

/**
 * The countTokens input for a count_tokens request: contents, system instruction and tools as a
 * completion would send them (what Gemini cannot carry is left out: this is a count).
 */
export function convertCountTokensInput(req: CountTokensRequest): GeminiRequest {
  return geminiInput(req, new GeminiToolNames(), new UnsupportedFeatures(), new SchemaBudget()).body;
}

function geminiInput(req: CountTokensRequest, toolNames: GeminiToolNames, unsupported: UnsupportedFeatures, schemas: SchemaBudget): { body: GeminiRequest; droppedParallel: boolean } {
  const body: GeminiRequest = { contents: convertMessages(req.messages, toolNames, unsupported) };
  const system = convertSystem(req.system);
  if (system) body.systemInstruction = system;
  const tools = prepareTools(req.tools, req.tool_choice, toolNames, unsupported, schemas);
  if (tools.tools) body.tools = tools.tools;
  if (tools.toolConfig) body.toolConfig = tools.toolConfig;
  return { body, droppedParallel: tools.droppedParallel };
}

const KNOWN_THINKING: ReadonlySet<string> = new Set(['enabled', 'disabled', 'adaptive']);

/**
 * `thinking` → `thinkingConfig`:
 * - enabled: `{includeThoughts: true, thinkingBudget: budget_tokens}`, the budget lowered to what
 *   the model takes (24,576 on Flash models, 32,768 otherwise);
 * - adaptive: `{includeThoughts: true}`: the model decides how much to think;
 * - disabled or absent: nothing, the model's default (Gemini 2.5 Pro and Gemini 3 cannot stop
 *   thinking; no thought summaries come back).
 */
export function thinkingConfig(raw: ThinkingConfig | undefined, model: string): GeminiGenerationConfig['thinkingConfig'] {
  const thinking = raw && asKnown(raw);
  if (thinking?.type === 'enabled') {
    const max = /flash/i.test(model) ? MAX_THINKING_BUDGET.flash : MAX_THINKING_BUDGET.other;
    return { includeThoughts: true, thinkingBudget: Math.min(thinking.budget_tokens, max) };
  }
  if (thinking?.type === 'adaptive') return { includeThoughts: true };
  return undefined;
}
