/**
 * What Bedrock Runtime refuses before running a model, for the two request shapes the gateway
 * sends: Claude's body on InvokeModel, and the Converse API. Each check returns the
 * ValidationException message the real service gives (or one in its style), or null.
 */

/** anthropic-beta values Bedrock accepts for Claude (body field `anthropic_beta`). */
export const BEDROCK_KNOWN_BETAS = [
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19',
  'dev-full-thinking-2025-05-14',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'effort-2025-11-24',
  'tool-search-tool-2025-10-19',
  'tool-examples-2025-10-29',
];

const malformed = (detail: string) => `Malformed input request: #: ${detail}, please reformat your input and try again.`;

/** Claude's body on InvokeModel: `anthropic_version` in the body, no `model`, no `stream`, only betas Bedrock knows. */
export function checkInvokeBody(body: unknown, knownBetas: readonly string[] = BEDROCK_KNOWN_BETAS): string | null {
  if (!isObject(body)) return malformed('expected type: JSONObject');
  if (body.anthropic_version === undefined) return malformed('required key [anthropic_version] not found');
  // Bedrock's own version; Anthropic's Bedrock SDK (1.x) sends the date of its API version instead.
  if (body.anthropic_version !== 'bedrock-2023-05-31' && !/^\d{4}-\d{2}-\d{2}$/.test(String(body.anthropic_version))) return 'invalid anthropic_version';
  for (const key of ['model', 'stream']) if (key in body) return malformed(`extraneous key [${key}] is not permitted`);
  if (typeof body.max_tokens !== 'number') return malformed('required key [max_tokens] not found');
  if (!Array.isArray(body.messages)) return malformed('required key [messages] not found');
  if (body.anthropic_beta !== undefined) {
    if (!Array.isArray(body.anthropic_beta) || !body.anthropic_beta.every((b) => typeof b === 'string')) return malformed('anthropic_beta: expected type: JSONArray of strings');
    const unknown = body.anthropic_beta.find((b: string) => !knownBetas.includes(b));
    if (unknown !== undefined) return 'invalid beta flag';
  }
  return null;
}

const CONVERSE_FIELDS = new Set([
  'messages', 'system', 'inferenceConfig', 'toolConfig', 'guardrailConfig', 'additionalModelRequestFields',
  'additionalModelResponseFieldPaths', 'promptVariables', 'requestMetadata', 'performanceConfig', 'serviceTier', 'outputConfig',
]);
const BLOCK_KINDS = new Set(['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent', 'citationsContent']);
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A Converse / ConverseStream body. */
export function checkConverseBody(body: unknown): string | null {
  if (!isObject(body)) return 'Malformed request body';
  for (const key of Object.keys(body)) if (!CONVERSE_FIELDS.has(key)) return `Unknown parameter in input: "${key}", must be one of: ${[...CONVERSE_FIELDS].join(', ')}`;
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'The model returned the following errors: messages: at least one message is required';
  let usesTools = false;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (!isObject(m) || (m.role !== 'user' && m.role !== 'assistant')) return `messages.${i}.role: must be user or assistant`;
    if (i === 0 && m.role !== 'user') return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
    if (i > 0 && messages[i - 1].role === m.role) return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
    if (!Array.isArray(m.content) || m.content.length === 0) return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`;
    for (let j = 0; j < m.content.length; j++) {
      const problem = checkBlock(m.content[j], `messages.${i}.content.${j}`, m.role);
      if (problem) return problem;
      if ('toolUse' in m.content[j] || 'toolResult' in m.content[j]) usesTools = true;
    }
  }
  if (body.system !== undefined) {
    if (!Array.isArray(body.system)) return 'system: expected a list';
    for (const [i, b] of body.system.entries()) {
      if (!isObject(b) || Object.keys(b).length !== 1 || !('text' in b || 'cachePoint' in b || 'guardContent' in b)) return `system.${i}: expected one of text, cachePoint, guardContent`;
      if ('text' in b && (typeof b.text !== 'string' || b.text === '')) return `The text field in the SystemContentBlock object at system.${i} is blank. Add text to the text field, and try again.`;
    }
  }
  const ic = body.inferenceConfig;
  if (ic !== undefined) {
    if (!isObject(ic)) return 'inferenceConfig: expected an object';
    for (const key of Object.keys(ic)) if (!['maxTokens', 'temperature', 'topP', 'stopSequences'].includes(key)) return `Unknown parameter in inferenceConfig: "${key}"`;
    if (ic.maxTokens !== undefined && (!Number.isInteger(ic.maxTokens) || ic.maxTokens < 1)) return 'inferenceConfig.maxTokens: must be an integer >= 1';
    if (ic.temperature !== undefined && (typeof ic.temperature !== 'number' || ic.temperature < 0 || ic.temperature > 1)) return 'inferenceConfig.temperature: must be between 0 and 1';
    if (ic.topP !== undefined && (typeof ic.topP !== 'number' || ic.topP < 0 || ic.topP > 1)) return 'inferenceConfig.topP: must be between 0 and 1';
    if (ic.stopSequences !== undefined && (!Array.isArray(ic.stopSequences) || ic.stopSequences.some((s: unknown) => typeof s !== 'string' || s === ''))) return 'inferenceConfig.stopSequences: must be non-empty strings';
  }
  const tc = body.toolConfig;
  if (usesTools && tc === undefined) return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  if (tc !== undefined) {
    if (!isObject(tc) || !Array.isArray(tc.tools) || tc.tools.length === 0) return 'toolConfig.tools: at least one tool is required';
    for (const [i, t] of tc.tools.entries()) {
      const spec = isObject(t) ? t.toolSpec : undefined;
      if (!isObject(spec)) return `toolConfig.tools.${i}: expected toolSpec`;
      if (typeof spec.name !== 'string' || !TOOL_NAME.test(spec.name)) return `toolConfig.tools.${i}.toolSpec.name: must match ^[a-zA-Z0-9_-]{1,64}$`;
      if (!isObject(spec.inputSchema) || !isObject(spec.inputSchema.json)) return `toolConfig.tools.${i}.toolSpec.inputSchema: expected {json: {...}}`;
      if (spec.description !== undefined && (typeof spec.description !== 'string' || spec.description === '')) return `toolConfig.tools.${i}.toolSpec.description: must not be empty`;
    }
    if (tc.toolChoice !== undefined) {
      const tcc = tc.toolChoice;
      if (!isObject(tcc) || Object.keys(tcc).length !== 1 || !['auto', 'any', 'tool'].includes(Object.keys(tcc)[0]!)) return 'toolConfig.toolChoice: expected exactly one of auto, any, tool';
      if ('tool' in tcc && (!isObject(tcc.tool) || !tc.tools.some((t: any) => t.toolSpec.name === tcc.tool.name))) return 'toolConfig.toolChoice.tool.name: names no tool in toolConfig.tools';
    }
  }
  return null;
}

function checkBlock(block: unknown, at: string, role: string): string | null {
  if (!isObject(block)) return `${at}: expected a ContentBlock object`;
  const kinds = Object.keys(block);
  if (kinds.length !== 1 || !BLOCK_KINDS.has(kinds[0]!)) return `${at}: a ContentBlock has exactly one of ${[...BLOCK_KINDS].join(', ')}; got ${kinds.join(', ') || 'none'}`;
  const v = (block as Record<string, any>)[kinds[0]!];
  switch (kinds[0]) {
    case 'text':
      if (typeof v !== 'string' || v.trim() === '') return `The text field in the ContentBlock object at ${at} is blank. Add text to the text field, and try again.`;
      return null;
    case 'image':
      if (!isObject(v) || !IMAGE_FORMATS.has(v.format) || !isObject(v.source) || typeof v.source.bytes !== 'string' || !BASE64.test(v.source.bytes)) return `${at}.image: expected {format: png|jpeg|gif|webp, source: {bytes: base64}}`;
      return null;
    case 'document':
      if (!isObject(v) || typeof v.format !== 'string' || typeof v.name !== 'string' || !/^[A-Za-z0-9\-()[\] ]+$/.test(v.name) || /\s{2}/.test(v.name)) return `${at}.document: expected {format, name (letters, digits, spaces, - ( ) [ ]), source}`;
      if (!isObject(v.source) || (typeof v.source.bytes !== 'string' && typeof v.source.text !== 'string')) return `${at}.document.source: expected bytes or text`;
      return null;
    case 'toolUse':
      if (role !== 'assistant') return `${at}: toolUse blocks belong to assistant messages`;
      if (!isObject(v) || typeof v.toolUseId !== 'string' || typeof v.name !== 'string' || !TOOL_NAME.test(v.name) || !isObject(v.input)) return `${at}.toolUse: expected {toolUseId, name, input: object}`;
      return null;
    case 'toolResult': {
      if (role !== 'user') return `${at}: toolResult blocks belong to user messages`;
      if (!isObject(v) || typeof v.toolUseId !== 'string' || !Array.isArray(v.content)) return `${at}.toolResult: expected {toolUseId, content: [...]}`;
      if (v.status !== undefined && v.status !== 'success' && v.status !== 'error') return `${at}.toolResult.status: must be success or error`;
      for (const [k, c] of v.content.entries()) {
        if (!isObject(c) || Object.keys(c).length !== 1 || !['text', 'json', 'image', 'document', 'video'].includes(Object.keys(c)[0]!)) return `${at}.toolResult.content.${k}: expected one of text, json, image, document, video`;
      }
      return null;
    }
    case 'reasoningContent':
      if (role !== 'assistant') return `${at}: reasoningContent blocks belong to assistant messages`;
      if (!isObject(v) || !(isObject(v.reasoningText) || typeof v.redactedContent === 'string')) return `${at}.reasoningContent: expected reasoningText or redactedContent`;
      return null;
    default:
      return null;
  }
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
