import { asKnown } from '../../contract/open-unions.js';
import type {
  ContentBlockSourceContent,
  DocumentBlockParam,
  ImageBlockParam,
  InputContentBlock,
  InputMessage,
  SystemPrompt,
  ToolResultBlockParam,
} from '../../generated/types.gen.js';
import type { UnsupportedFeatures } from '../openai/unsupported.js';
import type { GeminiContent, GeminiPart } from './gemini-types.js';
import { decodeSignature, SKIP_SIGNATURE_VALIDATOR } from './thought-signatures.js';
import type { GeminiToolNames } from './tool-names.js';

/** `system` (string or text blocks) → `systemInstruction`, one part per non-blank block; nothing for an empty prompt. */
export function convertSystem(system: SystemPrompt | undefined): { parts: Array<{ text: string }> } | undefined {
  const texts = typeof system === 'string' ? [system] : (system ?? []).map((b) => b.text);
  const parts = texts.filter((t) => t.trim() !== '').map((text) => ({ text }));
  return parts.length > 0 ? { parts } : undefined;
}

interface Ctx {
  names: GeminiToolNames;
  unsupported: UnsupportedFeatures;
  /** Each tool_use id of the history → the function name Gemini knows it by (functionResponse needs the name). */
  callNames: Map<string, string>;
}

/**
 * Anthropic messages → Gemini `contents` (roles `user` and `model`).
 * - text → `{text}` (empty text is not sent); base64 images and PDFs → `inlineData`; images and PDFs
 *   by URL → `fileData {mimeType, fileUri}`; plain-text and content documents → their text, title and
 *   context first. Files API sources, search results and server-tool blocks are unsupported, by type.
 * - assistant `tool_use` → `{functionCall: {name, args}}`; `tool_result` → `{functionResponse: {name,
 *   response: {output}}}` (`{error}` when `is_error`), the name found from the call; images and PDFs
 *   a result holds follow the responses in the same content.
 * - thinking blocks carrying a Gemini signature (thought-signatures.ts) put it back on the part it
 *   came with; other thinking and redacted_thinking are left out (carry-fields lists them).
 * - In the current turn (after the last user message that is not only tool results), a model turn
 *   with function calls whose first call has no signature (the history came from another model)
 *   gets Google's documented stand-in, so Gemini 3 takes it.
 * - consecutive contents of one role are merged, empty ones dropped.
 */
export function convertMessages(messages: readonly InputMessage[], names: GeminiToolNames, unsupported: UnsupportedFeatures): GeminiContent[] {
  const ctx: Ctx = { names, unsupported, callNames: new Map() };
  for (const message of messages) {
    if (message.role !== 'assistant' || typeof message.content === 'string') continue;
    for (const raw of message.content) {
      const block = asKnown(raw);
      if (block.type === 'tool_use') ctx.callNames.set(block.id, names.toUpstream(block.name));
    }
  }
  const currentTurn = currentTurnStart(messages);
  const out: GeminiContent[] = [];
  messages.forEach((message, i) => {
    const blocks: readonly InputContentBlock[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    const parts = message.role === 'assistant' ? modelParts(blocks, ctx, i > currentTurn) : userParts(blocks, ctx);
    if (parts.length === 0) return;
    const role = message.role === 'assistant' ? 'model' : 'user';
    const last = out[out.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else out.push({ role, parts });
  });
  return out;
}

/** Index of the last user message with anything but tool results: Gemini validates signatures from there on. */
function currentTurnStart(messages: readonly InputMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string' || m.content.some((b) => b.type !== 'tool_result')) return i;
  }
  return -1;
}

function modelParts(blocks: readonly InputContentBlock[], ctx: Ctx, inCurrentTurn: boolean): GeminiPart[] {
  const parts: GeminiPart[] = [];
  let pendingCallSignature: string | undefined;
  for (const raw of blocks) {
    const block = asKnown(raw);
    switch (block.type) {
      case 'text':
        if (block.text) parts.push({ text: block.text });
        break;
      case 'tool_use': {
        const part: GeminiPart = { functionCall: { name: ctx.names.toUpstream(block.name), args: (block.input ?? {}) as Record<string, unknown> } };
        if (pendingCallSignature !== undefined) part.thoughtSignature = pendingCallSignature;
        pendingCallSignature = undefined;
        parts.push(part);
        break;
      }
      case 'thinking': {
        const signed = decodeSignature(block.signature);
        if (!signed) break;
        if (signed.placement === 'call') pendingCallSignature = signed.signature;
        else if (signed.placement === 'thought') parts.push({ text: block.thinking, thought: true, thoughtSignature: signed.signature });
        else {
          const previous = parts[parts.length - 1];
          if (previous && typeof previous.text === 'string' && !previous.thought && previous.thoughtSignature === undefined) previous.thoughtSignature = signed.signature;
          else parts.push({ text: '', thoughtSignature: signed.signature });
        }
        break;
      }
      case 'redacted_thinking':
        break;
      default:
        ctx.unsupported.add(block.type);
    }
  }
  if (inCurrentTurn) {
    const firstCall = parts.find((p) => p.functionCall);
    if (firstCall && firstCall.thoughtSignature === undefined) firstCall.thoughtSignature = SKIP_SIGNATURE_VALIDATOR;
  }
  return parts;
}

function userParts(blocks: readonly InputContentBlock[], ctx: Ctx): GeminiPart[] {
  const responses: GeminiPart[] = [];
  const attachments: GeminiPart[] = [];
  const own: GeminiPart[] = [];
  for (const raw of blocks) {
    const block = asKnown(raw);
    switch (block.type) {
      case 'tool_result': {
        const { response, files } = convertToolResult(block, ctx);
        responses.push(response);
        if (files.length > 0) attachments.push({ text: `${files.length === 1 ? 'File' : 'Files'} returned by tool call ${block.tool_use_id}:` }, ...files);
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        break;
      default:
        own.push(...contentParts(raw, ctx));
    }
  }
  return [...responses, ...attachments, ...own];
}

/** A user-side content block (also inside tool results and content documents). */
function contentParts(raw: InputContentBlock | ContentBlockSourceContent, ctx: Ctx): GeminiPart[] {
  const block = asKnown(raw);
  switch (block.type) {
    case 'text':
      return block.text ? [{ text: block.text }] : [];
    case 'image':
      return imageParts(block, ctx.unsupported);
    case 'document':
      return documentParts(block, ctx);
    default:
      ctx.unsupported.add(block.type);
      return [];
  }
}

function imageParts(block: ImageBlockParam, unsupported: UnsupportedFeatures): GeminiPart[] {
  const source = block.source;
  if (source.type === 'base64') return [{ inlineData: { mimeType: source.media_type, data: source.data } }];
  if (source.type === 'url') return [{ fileData: { mimeType: imageMimeType(source.url), fileUri: source.url } }];
  unsupported.add('image_file');
  return [];
}

/** Gemini needs the MIME type of a file it fetches: from the URL's extension, JPEG when it has none it knows. */
export function imageMimeType(url: string): string {
  const path = url.split(/[?#]/)[0]!.toLowerCase();
  if (path.endsWith('.png')) return 'image/png';
  if (path.endsWith('.gif')) return 'image/gif';
  if (path.endsWith('.webp')) return 'image/webp';
  if (path.endsWith('.heic')) return 'image/heic';
  return 'image/jpeg';
}

function documentParts(block: DocumentBlockParam, ctx: Ctx): GeminiPart[] {
  const source = block.source;
  const header: GeminiPart[] = [block.title, block.context].filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((text) => ({ text }));
  switch (source.type) {
    case 'text':
      return source.data ? [...header, { text: source.data }] : header;
    case 'content': {
      const inner = typeof source.content === 'string' ? (source.content ? [{ text: source.content }] : []) : source.content.flatMap((b) => contentParts(b, ctx));
      return [...header, ...inner];
    }
    case 'base64':
      return [...header, { inlineData: { mimeType: source.media_type, data: source.data } }];
    case 'url':
      return [...header, { fileData: { mimeType: 'application/pdf', fileUri: source.url } }];
    default:
      ctx.unsupported.add('document');
      return [];
  }
}

/** A tool_result → its functionResponse (the text under `output`, or `error`), and the files it holds. */
function convertToolResult(block: ToolResultBlockParam, ctx: Ctx): { response: GeminiPart; files: GeminiPart[] } {
  const texts: string[] = [];
  const files: GeminiPart[] = [];
  if (typeof block.content === 'string') texts.push(block.content);
  else {
    for (const inner of block.content ?? []) {
      for (const part of contentParts(inner as InputContentBlock, ctx)) {
        if (typeof part.text === 'string') texts.push(part.text);
        else files.push(part);
      }
    }
  }
  const text = texts.filter((t) => t !== '').join('\n');
  const name = ctx.callNames.get(block.tool_use_id) ?? ctx.names.toUpstream(block.tool_use_id);
  return { response: { functionResponse: { name, response: block.is_error ? { error: text } : { output: text } } }, files };
}
