/**
 * Request checks the real Chat Completions API enforces with a 400. Each rule looks at one concern and
 * returns the first problem it finds; add a rule to `openaiStrictRules` (or pass `extraRules`) to extend.
 */

export interface StrictViolation {
  message: string;
  param: string | null;
}

export interface StrictContext {
  /** Azure routes name the deployment in the path, so `model` may be absent from the body. */
  modelInPath: boolean;
}

export type StrictRule = (body: Record<string, any>, ctx: StrictContext) => StrictViolation | null;

const ROLES = ['system', 'developer', 'user', 'assistant', 'tool'];
const PART_TYPES_BY_ROLE: Record<string, readonly string[]> = {
  system: ['text'],
  developer: ['text'],
  user: ['text', 'image_url', 'input_audio', 'file'],
  assistant: ['text', 'refusal'],
  tool: ['text'],
};
const TOOL_CHOICE_STRINGS = ['none', 'auto', 'required'];
const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

function supported(values: readonly string[]): string {
  const quoted = values.map((v) => `'${v}'`);
  return quoted.length > 1 ? `${quoted.slice(0, -1).join(', ')}, and ${quoted[quoted.length - 1]}` : quoted.join('');
}

function invalidValue(value: unknown, allowed: readonly string[], param: string): StrictViolation {
  return { message: `Invalid value: '${String(value)}'. Supported values are: ${supported(allowed)}.`, param };
}

function isObject(value: unknown): value is Record<string, any> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

const NO_MESSAGE: Record<string, any> = {};

/** The messages, with anything that is not an object replaced by {} so each rule can stay about its own concern. */
function messagesOf(body: Record<string, any>): Record<string, any>[] {
  return Array.isArray(body.messages) ? body.messages.map((m: unknown) => (isObject(m) ? m : NO_MESSAGE)) : [];
}

export const requireModel: StrictRule = (body, ctx) =>
  ctx.modelInPath || (typeof body.model === 'string' && body.model !== '')
    ? null
    : { message: 'you must provide a model parameter', param: null };

export const requireMessages: StrictRule = (body) => {
  if (body.messages === undefined) return { message: "Missing required parameter: 'messages'.", param: 'messages' };
  if (!Array.isArray(body.messages)) {
    return { message: `Invalid type for 'messages': expected an array, but got ${typeName(body.messages)} instead.`, param: 'messages' };
  }
  if (body.messages.length === 0) {
    return {
      message: "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
      param: 'messages',
    };
  }
  return null;
};

export const messageRoles: StrictRule = (body) => {
  const messages: unknown[] = Array.isArray(body.messages) ? body.messages : [];
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (!isObject(message)) {
      return { message: `Invalid type for 'messages[${i}]': expected an object, but got ${typeName(message)} instead.`, param: `messages[${i}]` };
    }
    if (!ROLES.includes(message.role)) return invalidValue(message.role, ROLES, `messages[${i}].role`);
  }
  return null;
};

export const messageContent: StrictRule = (body) => {
  const messages = messagesOf(body);
  for (let i = 0; i < messages.length; i++) {
    if (messages[i] === NO_MESSAGE) continue;
    const { role, content, tool_calls: toolCalls } = messages[i];
    const param = `messages[${i}].content`;
    if (content === undefined || content === null) {
      if (role === 'assistant' && Array.isArray(toolCalls) && toolCalls.length > 0) continue;
      if (role === 'assistant' && content === null) {
        return { message: `Invalid value for '${param}': expected a string, got null.`, param };
      }
      return { message: `Missing required parameter: '${param}'.`, param };
    }
    if (typeof content === 'string') continue;
    if (!Array.isArray(content)) {
      const expected = role === 'tool' ? 'a string or an array of text parts' : 'a string or an array';
      return { message: `Invalid type for '${param}': expected ${expected}, but got ${typeName(content)} instead.`, param };
    }
    if (content.length === 0) {
      return {
        message: `Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
        param,
      };
    }
    const allowed = PART_TYPES_BY_ROLE[role] ?? [];
    for (let j = 0; j < content.length; j++) {
      const type = isObject(content[j]) ? content[j].type : undefined;
      if (!allowed.includes(type)) return invalidValue(type, allowed, `${param}[${j}].type`);
      if (type === 'file') {
        // A file part carries the file inline (file_data: a base64 data URL, with a filename) or by Files API id.
        const file = content[j].file;
        if (!isObject(file) || (typeof file.file_data !== 'string' && typeof file.file_id !== 'string')) {
          return { message: `Missing required parameter: '${param}[${j}].file.file_data' or '${param}[${j}].file.file_id'.`, param: `${param}[${j}].file` };
        }
        if (typeof file.file_data === 'string' && (!/^data:[^;,]+;base64,/.test(file.file_data) || typeof file.filename !== 'string')) {
          return { message: `Invalid '${param}[${j}].file': file_data must be a base64 data URL and filename is required with it.`, param: `${param}[${j}].file` };
        }
      }
    }
  }
  return null;
};

export const assistantToolCalls: StrictRule = (body) => {
  const messages = messagesOf(body);
  for (let i = 0; i < messages.length; i++) {
    const calls = messages[i].tool_calls;
    if (calls === undefined || messages[i].role !== 'assistant') continue;
    if (!Array.isArray(calls)) {
      return { message: `Invalid type for 'messages[${i}].tool_calls': expected an array, but got ${typeName(calls)} instead.`, param: `messages[${i}].tool_calls` };
    }
    for (let j = 0; j < calls.length; j++) {
      const param = `messages[${i}].tool_calls[${j}]`;
      const call = calls[j];
      if (!isObject(call) || typeof call.id !== 'string') return { message: `Missing required parameter: '${param}.id'.`, param: `${param}.id` };
      if (call.type !== 'function') return invalidValue(call.type, ['function'], `${param}.type`);
      if (!isObject(call.function) || typeof call.function.name !== 'string') {
        return { message: `Missing required parameter: '${param}.function.name'.`, param: `${param}.function.name` };
      }
      if (typeof call.function.arguments !== 'string') {
        return {
          message: `Invalid type for '${param}.function.arguments': expected a string, but got ${typeName(call.function.arguments)} instead.`,
          param: `${param}.function.arguments`,
        };
      }
    }
  }
  return null;
};

/** Tool messages directly follow the assistant message with tool_calls, and answer every call before anything else. */
export const toolMessageSequence: StrictRule = (body) => {
  const messages = messagesOf(body);
  let callIds: Set<string> | null = null;
  let unanswered = new Set<string>();
  let owner = -1;
  const missingAnswers = (): StrictViolation => ({
    message:
      "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. " +
      `The following tool_call_ids did not have response messages: ${[...unanswered].join(', ')}`,
    param: `messages.[${owner}].role`,
  });
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    if (message.role === 'tool') {
      if (typeof message.tool_call_id !== 'string') {
        return { message: `Missing required parameter: 'messages[${i}].tool_call_id'.`, param: `messages[${i}].tool_call_id` };
      }
      if (callIds === null) {
        return {
          message: "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          param: `messages.[${i}].role`,
        };
      }
      if (!callIds.has(message.tool_call_id)) {
        return {
          message: `Invalid parameter: 'tool_call_id' of '${message.tool_call_id}' not found in 'tool_calls' of previous message.`,
          param: `messages.[${i}].tool_call_id`,
        };
      }
      unanswered.delete(message.tool_call_id);
      continue;
    }
    if (unanswered.size > 0) return missingAnswers();
    callIds = null;
    if (message.role === 'assistant' && Array.isArray(message.tool_calls) && message.tool_calls.length > 0) {
      const ids = message.tool_calls.map((call: any) => call?.id);
      callIds = new Set(ids);
      unanswered = new Set(ids);
      owner = i;
    }
  }
  return unanswered.size > 0 ? missingAnswers() : null;
};

export const toolsShape: StrictRule = (body) => {
  if (body.tools === undefined || body.tools === null) return null;
  if (!Array.isArray(body.tools)) {
    return { message: `Invalid type for 'tools': expected an array, but got ${typeName(body.tools)} instead.`, param: 'tools' };
  }
  if (body.tools.length === 0) {
    return { message: "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array instead.", param: 'tools' };
  }
  for (let i = 0; i < body.tools.length; i++) {
    const tool = body.tools[i];
    const param = `tools[${i}]`;
    if (!isObject(tool) || tool.type === undefined) return { message: `Missing required parameter: '${param}.type'.`, param: `${param}.type` };
    if (tool.type !== 'function') return invalidValue(tool.type, ['function'], `${param}.type`);
    const fn = tool.function;
    if (!isObject(fn)) return { message: `Missing required parameter: '${param}.function'.`, param: `${param}.function` };
    if (typeof fn.name !== 'string' || !TOOL_NAME.test(fn.name)) {
      return {
        message: `Invalid '${param}.function.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.`,
        param: `${param}.function.name`,
      };
    }
    if (fn.description !== undefined && typeof fn.description !== 'string') {
      return { message: `Invalid type for '${param}.function.description': expected a string.`, param: `${param}.function.description` };
    }
    if (fn.parameters !== undefined && !isObject(fn.parameters)) {
      return { message: `Invalid type for '${param}.function.parameters': expected an object.`, param: `${param}.function.parameters` };
    }
  }
  return null;
};

export const toolChoice: StrictRule = (body) => {
  const choice = body.tool_choice;
  if (choice === undefined || choice === null) return null;
  if (!Array.isArray(body.tools) || body.tools.length === 0) {
    return { message: "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", param: 'tool_choice' };
  }
  if (typeof choice === 'string') {
    return TOOL_CHOICE_STRINGS.includes(choice) ? null : invalidValue(choice, TOOL_CHOICE_STRINGS, 'tool_choice');
  }
  if (!isObject(choice) || choice.type !== 'function' || !isObject(choice.function) || typeof choice.function.name !== 'string') {
    return {
      message: `Invalid value for 'tool_choice': expected one of ${supported(TOOL_CHOICE_STRINGS)} or {"type": "function", "function": {"name": ...}}.`,
      param: 'tool_choice',
    };
  }
  const name = choice.function.name;
  if (!body.tools.some((tool: any) => tool?.function?.name === name)) {
    return { message: `Invalid value for 'tool_choice': no function named '${name}' in 'tools'.`, param: 'tool_choice' };
  }
  return null;
};

export const tokenLimits: StrictRule = (body) =>
  body.max_tokens != null && body.max_completion_tokens != null
    ? { message: "Invalid request: 'max_tokens' and 'max_completion_tokens' cannot both be set. Use 'max_completion_tokens'.", param: 'max_tokens' }
    : null;

export const temperatureRange: StrictRule = (body) => {
  const t = body.temperature;
  if (t === undefined || t === null) return null;
  if (typeof t !== 'number') return { message: `Invalid type for 'temperature': expected a decimal, but got ${typeName(t)} instead.`, param: 'temperature' };
  if (t < 0) return { message: `Invalid 'temperature': decimal below minimum value. Expected a value >= 0, but got ${t} instead.`, param: 'temperature' };
  if (t > 2) return { message: `Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got ${t} instead.`, param: 'temperature' };
  return null;
};

export const choicesWithStream: StrictRule = (body) =>
  body.stream === true && typeof body.n === 'number' && body.n > 1
    ? { message: "Invalid 'n': n > 1 is not supported when 'stream' is true.", param: 'n' }
    : null;

export const stopSequences: StrictRule = (body) =>
  Array.isArray(body.stop) && body.stop.length > 4
    ? {
        message: `Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${body.stop.length} instead.`,
        param: 'stop',
      }
    : null;

/** OpenAI refuses a `user` longer than 64 characters (Claude Code's metadata.user_id is about 150). */
export const userLength: StrictRule = (body) =>
  typeof body.user === 'string' && body.user.length > 64
    ? {
        message: `Invalid 'user': string too long. Expected a string with maximum length 64, but got a string with length ${body.user.length} instead.`,
        param: 'user',
      }
    : null;

export const streamOptions: StrictRule = (body) =>
  body.stream_options != null && body.stream !== true
    ? { message: "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param: 'stream_options' }
    : null;

/** The default rules, checked in order; the first violation is reported. */
export const openaiStrictRules: readonly StrictRule[] = [
  requireModel,
  requireMessages,
  messageRoles,
  messageContent,
  assistantToolCalls,
  toolMessageSequence,
  toolsShape,
  toolChoice,
  tokenLimits,
  temperatureRange,
  choicesWithStream,
  stopSequences,
  userLength,
  streamOptions,
];

/** The first violation of `rules` in a Chat Completions request body, or null when the real API would accept it. */
export function checkOpenAIRequest(
  body: unknown,
  ctx: StrictContext = { modelInPath: false },
  rules: readonly StrictRule[] = openaiStrictRules,
): StrictViolation | null {
  if (!isObject(body)) return { message: 'We could not parse the JSON body of your request. (HINT: This likely means you aren\'t using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)', param: null };
  for (const rule of rules) {
    const violation = rule(body, ctx);
    if (violation) return violation;
  }
  return null;
}
