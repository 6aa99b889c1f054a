/**
 * What the Gemini API refuses, checked as it checks it: a 400 INVALID_ARGUMENT with Gemini's own
 * wording for each. The request's JSON is parsed against Gemini's schema, so a field it does not
 * know is "Unknown name ...: Cannot find field" (the usual failure of a JSON Schema sent as
 * `parameters` or `responseSchema`); then the request's own rules: contents, roles, parts, function
 * names, an OBJECT with empty `properties`, an ARRAY without `items`, at most 5 stop sequences, and
 * thought signatures: every one must be one Gemini issued, unaltered ("Corrupted thought
 * signature."), and for models that require them (Gemini 3), the first function call of each model
 * turn since the last user message must carry one ("... is missing a thought_signature ...").
 */
import { isValidThoughtSignature } from './signatures.js';

export interface GeminiViolation {
  message: string;
}

export interface GeminiCheckOptions {
  /** Function-calling turns must carry their thought signatures. */
  requireSignatures: boolean;
}

const REQUEST_FIELDS = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent', 'labels', 'model']);
const PART_DATA = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'];
const PART_FIELDS = new Set([...PART_DATA, 'thought', 'thoughtSignature', 'videoMetadata', 'mediaResolution', 'partMetadata']);
const SCHEMA_FIELDS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'items', 'minItems', 'maxItems', 'properties', 'propertyOrdering', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'anyOf', 'default', 'example',
]);
const SCHEMA_TYPES = new Set(['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);
const GENERATION_FIELDS = new Set([
  'stopSequences', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'responseModalities', 'candidateCount', 'maxOutputTokens', 'temperature',
  'topP', 'topK', 'seed', 'presencePenalty', 'frequencyPenalty', 'responseLogprobs', 'logprobs', 'thinkingConfig', 'mediaResolution', 'speechConfig',
]);
const FUNCTION_FIELDS = new Set(['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema', 'behavior']);
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;
const MODES = new Set(['AUTO', 'ANY', 'NONE', 'VALIDATED']);

const unknown = (name: string, at: string): GeminiViolation => ({ message: `Invalid JSON payload received. Unknown name "${name}"${at ? ` at '${at}'` : ''}: Cannot find field.` });
const invalid = (at: string, what: string): GeminiViolation => ({ message: `* GenerateContentRequest.${at}: ${what}` });

/** The first thing the Gemini API would refuse in a generateContent request, or null. */
export function checkGeminiRequest(body: unknown, opts: GeminiCheckOptions): GeminiViolation | null {
  if (!isObject(body)) return { message: 'Invalid JSON payload received.' };
  for (const key of Object.keys(body)) if (!REQUEST_FIELDS.has(key)) return unknown(key, '');
  return checkContents(body.contents, opts) ?? checkSystem(body.systemInstruction) ?? checkTools(body.tools) ?? checkToolConfig(body.toolConfig) ?? checkGeneration(body.generationConfig);
}

function checkContents(contents: unknown, opts: GeminiCheckOptions): GeminiViolation | null {
  if (!Array.isArray(contents) || contents.length === 0) return invalid('contents', 'contents is not specified');
  for (const [i, content] of contents.entries()) {
    if (!isObject(content)) return invalid(`contents[${i}]`, 'must be an object');
    if (content.role !== 'user' && content.role !== 'model') return { message: 'Please use a valid role: user, model.' };
    const problem = checkParts(content.parts, `contents[${i}].parts`);
    if (problem) return problem;
  }
  return checkSignatures(contents as Array<{ role: string; parts: Array<Record<string, unknown>> }>, opts);
}

function checkParts(parts: unknown, at: string): GeminiViolation | null {
  if (!Array.isArray(parts) || parts.length === 0) return invalid(at, 'contents.parts must not be empty.');
  for (const [j, part] of parts.entries()) {
    const where = `${at}[${j}]`;
    if (!isObject(part)) return invalid(where, 'must be an object');
    for (const key of Object.keys(part)) if (!PART_FIELDS.has(key)) return unknown(key, where);
    const data = PART_DATA.filter((k) => part[k] !== undefined);
    if (data.length === 0) return invalid(where, 'required oneof field \'data\' must have one initialized field');
    if (data.length > 1) return { message: `Invalid value at '${where}' (oneof), oneof field 'data' is already set. Cannot set '${data[1]}'` };
    if (part.text !== undefined && typeof part.text !== 'string') return { message: `Invalid value at '${where}.text' (TYPE_STRING)` };
    if (part.functionCall !== undefined) {
      if (!isObject(part.functionCall) || typeof part.functionCall.name !== 'string' || !part.functionCall.name) return invalid(`${where}.function_call.name`, 'Name cannot be empty.');
      if (part.functionCall.args !== undefined && !isObject(part.functionCall.args)) return { message: `Invalid value at '${where}.function_call.args' (type.googleapis.com/google.protobuf.Struct)` };
    }
    if (part.functionResponse !== undefined) {
      if (!isObject(part.functionResponse) || typeof part.functionResponse.name !== 'string' || !part.functionResponse.name) return invalid(`${where}.function_response.name`, 'Name cannot be empty.');
      if (!isObject(part.functionResponse.response)) return { message: `Invalid value at '${where}.function_response.response' (type.googleapis.com/google.protobuf.Struct)` };
    }
    if (part.inlineData !== undefined && (!isObject(part.inlineData) || typeof part.inlineData.mimeType !== 'string' || typeof part.inlineData.data !== 'string')) {
      return invalid(`${where}.inline_data`, 'mime_type and data are required');
    }
    if (part.fileData !== undefined && (!isObject(part.fileData) || typeof part.fileData.fileUri !== 'string')) return invalid(`${where}.file_data.file_uri`, 'file_uri is required');
  }
  return null;
}

/**
 * Every signature must verify; in the current turn (the model turns after the last user content that
 * is not only function responses) the first function call of each model turn must carry one.
 */
function checkSignatures(contents: Array<{ role: string; parts: Array<Record<string, unknown>> }>, opts: GeminiCheckOptions): GeminiViolation | null {
  for (const content of contents) {
    for (const part of content.parts) if (part.thoughtSignature !== undefined && !isValidThoughtSignature(part.thoughtSignature)) return { message: 'Corrupted thought signature.' };
  }
  if (!opts.requireSignatures) return null;
  let start = 0;
  contents.forEach((c, i) => {
    if (c.role === 'user' && c.parts.some((p) => p.functionResponse === undefined)) start = i;
  });
  for (let i = start; i < contents.length; i++) {
    const content = contents[i]!;
    if (content.role !== 'model') continue;
    const first = content.parts.find((p) => p.functionCall !== undefined);
    if (first && first.thoughtSignature === undefined) {
      const name = (first.functionCall as { name: string }).name;
      return {
        message:
          `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. ` +
          `Additional data, function call \`default_api:${name}\` , position ${i + 1}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.`,
      };
    }
  }
  return null;
}

function checkSystem(system: unknown): GeminiViolation | null {
  if (system === undefined) return null;
  if (!isObject(system)) return { message: "Invalid value at 'system_instruction' (type.googleapis.com/google.ai.generativelanguage.v1beta.Content)" };
  for (const key of Object.keys(system)) if (key !== 'parts' && key !== 'role') return unknown(key, 'system_instruction');
  return checkParts(system.parts, 'system_instruction.parts');
}

function checkTools(tools: unknown): GeminiViolation | null {
  if (tools === undefined) return null;
  if (!Array.isArray(tools)) return { message: "Invalid value at 'tools' (type.googleapis.com/google.ai.generativelanguage.v1beta.Tool)" };
  for (const [i, tool] of tools.entries()) {
    if (!isObject(tool)) return invalid(`tools[${i}]`, 'must be an object');
    for (const key of Object.keys(tool)) {
      if (!['functionDeclarations', 'googleSearch', 'codeExecution', 'urlContext', 'googleSearchRetrieval'].includes(key)) return unknown(key, `tools[${i}]`);
    }
    for (const [j, fn] of (Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations : []).entries()) {
      const at = `tools[${i}].function_declarations[${j}]`;
      if (!isObject(fn)) return invalid(at, 'must be an object');
      for (const key of Object.keys(fn)) if (!FUNCTION_FIELDS.has(key)) return unknown(key, at);
      if (typeof fn.name !== 'string' || !FUNCTION_NAME.test(fn.name)) {
        return invalid(`${at}.name`, 'Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.');
      }
      if (fn.parameters !== undefined && fn.parametersJsonSchema !== undefined) return invalid(at, 'parameters and parameters_json_schema are mutually exclusive.');
      if (fn.parameters !== undefined) {
        const problem = checkSchema(fn.parameters, `${at}.parameters`);
        if (problem) return problem;
      }
    }
  }
  return null;
}

/** Gemini's Schema: only its own fields, string enums, known types, a non-empty `properties`, and `items` on arrays. */
export function checkSchema(schema: unknown, at: string): GeminiViolation | null {
  if (!isObject(schema)) return { message: `Invalid value at '${at}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Schema)` };
  for (const key of Object.keys(schema)) if (!SCHEMA_FIELDS.has(key)) return unknown(key, at);
  const type = typeof schema.type === 'string' ? schema.type.toUpperCase() : undefined;
  if (schema.type !== undefined && (type === undefined || !SCHEMA_TYPES.has(type))) {
    return { message: `Invalid value at '${at}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), ${JSON.stringify(schema.type)}` };
  }
  if (schema.enum !== undefined) {
    if (!Array.isArray(schema.enum)) return { message: `Invalid value at '${at}.enum' (TYPE_STRING)` };
    for (const [k, v] of schema.enum.entries()) if (typeof v !== 'string') return { message: `Invalid value at '${at}.enum[${k}]' (TYPE_STRING), ${JSON.stringify(v)}` };
  }
  if (schema.required !== undefined && (!Array.isArray(schema.required) || schema.required.some((r) => typeof r !== 'string'))) return { message: `Invalid value at '${at}.required' (TYPE_STRING)` };
  if (schema.properties !== undefined) {
    if (!isObject(schema.properties)) return { message: `Invalid value at '${at}.properties'` };
    if (type === 'OBJECT' && Object.keys(schema.properties).length === 0) return invalid(`${at}.properties`, 'should be non-empty for OBJECT type');
    for (const [name, sub] of Object.entries(schema.properties)) {
      const problem = checkSchema(sub, `${at}.properties[${name}].value`);
      if (problem) return problem;
    }
  }
  if (type === 'ARRAY' && schema.items === undefined) return invalid(`${at}.items`, 'missing field.');
  if (schema.items !== undefined) {
    const problem = checkSchema(schema.items, `${at}.items`);
    if (problem) return problem;
  }
  for (const [k, sub] of (Array.isArray(schema.anyOf) ? schema.anyOf : []).entries()) {
    const problem = checkSchema(sub, `${at}.any_of[${k}]`);
    if (problem) return problem;
  }
  return null;
}

function checkToolConfig(config: unknown): GeminiViolation | null {
  if (config === undefined) return null;
  if (!isObject(config)) return { message: "Invalid value at 'tool_config'" };
  for (const key of Object.keys(config)) if (key !== 'functionCallingConfig' && key !== 'retrievalConfig') return unknown(key, 'tool_config');
  const fcc = config.functionCallingConfig;
  if (fcc === undefined) return null;
  if (!isObject(fcc)) return { message: "Invalid value at 'tool_config.function_calling_config'" };
  for (const key of Object.keys(fcc)) if (key !== 'mode' && key !== 'allowedFunctionNames') return unknown(key, 'tool_config.function_calling_config');
  if (fcc.mode !== undefined && !MODES.has(String(fcc.mode))) return { message: `Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), ${JSON.stringify(fcc.mode)}` };
  if (fcc.allowedFunctionNames !== undefined && fcc.mode !== 'ANY' && fcc.mode !== 'VALIDATED') return invalid('tool_config.function_calling_config', 'allowed_function_names should only be set when the mode is ANY.');
  return null;
}

function checkGeneration(config: unknown): GeminiViolation | null {
  if (config === undefined) return null;
  if (!isObject(config)) return { message: "Invalid value at 'generation_config'" };
  for (const key of Object.keys(config)) if (!GENERATION_FIELDS.has(key)) return unknown(key, 'generation_config');
  if (Array.isArray(config.stopSequences) && config.stopSequences.length > 5) return invalid('generation_config.stop_sequences', 'Only up to 5 stop sequences are supported.');
  if (config.responseSchema !== undefined) {
    const problem = checkSchema(config.responseSchema, 'generation_config.response_schema');
    if (problem) return problem;
  }
  const thinking = config.thinkingConfig;
  if (thinking !== undefined) {
    if (!isObject(thinking)) return { message: "Invalid value at 'generation_config.thinking_config'" };
    for (const key of Object.keys(thinking)) if (!['includeThoughts', 'thinkingBudget', 'thinkingLevel'].includes(key)) return unknown(key, 'generation_config.thinking_config');
    if (thinking.thinkingBudget !== undefined && thinking.thinkingLevel !== undefined) return invalid('generation_config.thinking_config', 'thinking_budget and thinking_level are mutually exclusive.');
  }
  return null;
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
