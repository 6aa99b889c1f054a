import type {
  ContentBlockSourceContent,
  DocumentBlockParam,
  ImageBlockParam,
  InputContentBlock,
  InputMessage,
  SystemPrompt,
  ToolResultBlockParam,
} from '../../generated/types.gen.js';
import { asKnown } from '../../contract/open-unions.js';
import { deepFreeze, isShared } from '../../contract/parse-cache.js';
import type { OpenAIContentPart, OpenAIMessage, OpenAIToolCall } from './openai-types.js';
import { ToolNameMap } from './tool-names.js';
import { UnsupportedFeatures } from './unsupported.js';

/** Text blocks that become one OpenAI string are joined with this. */
const JOIN = '\n';

/** Prefix of a tool message whose result had `is_error: true`, so the model knows the call failed. */
export const TOOL_ERROR_PREFIX = 'Error: ';

/**
 * Anthropic system + messages → OpenAI messages.
 * - `system` (string or text blocks) → one leading `system` message; empty → none.
 * - user text/image blocks → content (a plain string when it is all text, for servers that only take
 *   strings; parts when there is an image); base64 images → `data:` URLs.
 * - assistant text → `content`, `tool_use` → `tool_calls` (input as a JSON string); thinking blocks
 *   → `reasoning_content` on that message with `reasoningContent` (DeepSeek's thinking mode requires
 *   it on tool-call turns; OpenAI refuses the field; "" for a turn without thinking), otherwise
 *   dropped, as redacted_thinking blocks always are (carry-fields lists them in x-bf-dropped).
 * - `tool_result` → one `tool` message each, in order, right after the assistant turn; block arrays
 *   are joined text; images (which a `tool` message cannot carry) and the user's own blocks of that
 *   message go into a user message after all the tool messages.
 * Nothing empty is sent: no empty text part, no empty content array, no message without content.
 * A system prompt or message from the parse cache (a session's, sent on every turn) is translated
 * once and its translation reused (translateShared).
 */
export interface ConvertMessagesOptions {
  /** Send base64 PDF documents as `file` parts (provider option `pdf_files`); otherwise they are unsupported. */
  pdfFiles?: boolean;
  /** Send thinking blocks of assistant turns back as `reasoning_content` (provider option `reasoning_content`). */
  reasoningContent?: boolean;
}

export function convertMessages(
  system: SystemPrompt | undefined,
  messages: readonly InputMessage[],
  names: ToolNameMap,
  unsupported: UnsupportedFeatures,
  opts: ConvertMessagesOptions = {},
): OpenAIMessage[] {
  const out: OpenAIMessage[] = [];
  if (isShared(system)) out.push(...translateShared(system as object, 'system', names, unsupported, () => convertSystem(system)));
  else out.push(...convertSystem(system));
  const profile = `${opts.pdfFiles === true ? 1 : 0}${opts.reasoningContent === true ? 1 : 0}`;
  for (const message of messages) {
    if (isShared(message)) out.push(...translateShared(message, profile, names, unsupported, (n, u) => convertMessage(message, n, u, opts)));
    else out.push(...convertMessage(message, names, unsupported, opts));
  }
  return out;
}

function convertSystem(system: SystemPrompt | undefined): OpenAIMessage[] {
  const systemText = typeof system === 'string' ? system : joinTexts((system ?? []).map((b) => b.text));
  return systemText ? [{ role: 'system', content: systemText }] : [];
}

function convertMessage(message: InputMessage, names: ToolNameMap, unsupported: UnsupportedFeatures, opts: ConvertMessagesOptions): OpenAIMessage[] {
  const blocks: InputContentBlock[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
  if (message.role === 'assistant') {
    const assistant = convertAssistant(blocks, names, unsupported, opts.reasoningContent === true);
    return assistant ? [assistant] : [];
  }
  return convertUser(blocks, unsupported, opts);
}

/** A message's translation, and what converting it added to the request's tool names and unsupported features. */
interface Translation {
  readonly messages: readonly OpenAIMessage[];
  readonly shortenedNames: readonly string[];
  readonly unsupported: readonly string[];
}

/** Translations of shared messages (contract/parse-cache.ts), by the options they were made with. */
const translations = new WeakMap<object, Map<string, Translation>>();

/** OpenAI messages that are translations of shared messages: frozen, shared by every request that sends those bytes. */
const sharedTranslations = new WeakSet<object>();

/** Whether `message` is a shared message's translation: frozen, so its serialised bytes can be kept (request-bytes.ts). */
export function isSharedTranslation(message: OpenAIMessage): boolean {
  return sharedTranslations.has(message);
}

/**
 * A message (or system prompt) from the parse cache, the same frozen value for every turn of a
 * session that sends its bytes, is translated once per set of options (`profile`) and its
 * translation reused: a message's translation depends on the message and the options alone (test:
 * convert-messages.test.ts, property). What translating it adds to the request (tool names
 * shortened, unsupported features) is added again on each reuse.
 */
function translateShared(
  value: object,
  profile: string,
  names: ToolNameMap,
  unsupported: UnsupportedFeatures,
  translate: (names: ToolNameMap, unsupported: UnsupportedFeatures) => OpenAIMessage[],
): readonly OpenAIMessage[] {
  let byProfile = translations.get(value);
  let t = byProfile?.get(profile);
  if (t === undefined) {
    const ownNames = new ToolNameMap();
    const ownUnsupported = new UnsupportedFeatures();
    const converted = translate(ownNames, ownUnsupported);
    for (const m of converted) {
      deepFreeze(m);
      sharedTranslations.add(m);
    }
    t = { messages: converted, shortenedNames: [...ownNames.originalNames()], unsupported: ownUnsupported.list };
    if (byProfile === undefined) translations.set(value, (byProfile = new Map()));
    byProfile.set(profile, t);
  }
  for (const name of t.shortenedNames) names.toUpstream(name);
  for (const feature of t.unsupported) unsupported.add(feature);
  return t.messages;
}

function convertAssistant(
  blocks: readonly InputContentBlock[],
  names: ToolNameMap,
  unsupported: UnsupportedFeatures,
  reasoningContent: boolean,
): OpenAIMessage | undefined {
  const texts: string[] = [];
  const thoughts: string[] = [];
  const toolCalls: OpenAIToolCall[] = [];
  for (const raw of blocks) {
    const block = asKnown(raw);
    switch (block.type) {
      case 'text':
        texts.push(block.text);
        break;
      case 'tool_use':
        toolCalls.push({
          id: block.id,
          type: 'function',
          function: { name: names.toUpstream(block.name), arguments: JSON.stringify(block.input ?? {}) },
        });
        break;
      case 'thinking':
        if (reasoningContent) thoughts.push(block.thinking);
        break;
      case 'redacted_thinking':
        break;
      default:
        unsupported.add(block.type);
    }
  }
  const content = joinTexts(texts);
  if (!content && toolCalls.length === 0) return undefined;
  const message: OpenAIMessage =
    toolCalls.length > 0 ? { role: 'assistant', content: content || null, tool_calls: toolCalls } : { role: 'assistant', content };
  // Every assistant turn carries the field, "" when it had no thinking: DeepSeek refuses a tool-call
  // turn without it (e.g. one answered by another provider) and ignores it elsewhere.
  if (reasoningContent) message.reasoning_content = joinTexts(thoughts);
  return message;
}

function convertUser(blocks: readonly InputContentBlock[], unsupported: UnsupportedFeatures, opts: ConvertMessagesOptions): OpenAIMessage[] {
  const toolMessages: OpenAIMessage[] = [];
  const toolImages: OpenAIContentPart[] = [];
  const parts: OpenAIContentPart[] = [];
  for (const raw of blocks) {
    const block = asKnown(raw);
    switch (block.type) {
      case 'tool_result': {
        const { text, attachments } = convertToolResult(block, unsupported, opts);
        toolMessages.push({ role: 'tool', tool_call_id: block.tool_use_id, content: text });
        if (attachments.length > 0) toolImages.push({ type: 'text', text: `${attachmentWord(attachments, attachments.length > 1)} returned by tool call ${block.tool_use_id}:` }, ...attachments);
        break;
      }
      case 'thinking':
      case 'redacted_thinking':
        break;
      default:
        parts.push(...convertContentBlock(block, unsupported, opts));
    }
  }
  const userParts = [...toolImages, ...parts];
  return userParts.length > 0 ? [...toolMessages, { role: 'user', content: asUserContent(userParts) }] : toolMessages;
}

/**
 * A tool_result's content as the text of a `tool` message plus the images (and PDF files) that must
 * follow it in a user message: a `tool` message carries text only. `is_error` prefixes the text with
 * "Error: ". A result with attachments says so in its text, so the model looks for them.
 */
function convertToolResult(
  block: ToolResultBlockParam,
  unsupported: UnsupportedFeatures,
  opts: ConvertMessagesOptions,
): { text: string; attachments: OpenAIContentPart[] } {
  const texts: string[] = [];
  const attachments: OpenAIContentPart[] = [];
  if (typeof block.content === 'string') {
    texts.push(block.content);
  } else {
    for (const inner of block.content ?? []) {
      for (const part of convertContentBlock(inner as InputContentBlock, unsupported, opts)) {
        if (part.type === 'text') texts.push(part.text);
        else attachments.push(part);
      }
    }
  }
  let text = joinTexts(texts);
  if (attachments.length > 0) {
    const note = `[${attachments.length} ${attachmentWord(attachments, attachments.length > 1).toLowerCase()} attached in the next user message]`;
    text = text ? `${text}${JOIN}${note}` : note;
  }
  if (block.is_error) text = `${TOOL_ERROR_PREFIX}${text}`.trimEnd();
  return { text, attachments };
}

/** "Image(s)" when every attachment is an image, else "File(s)". */
function attachmentWord(parts: readonly OpenAIContentPart[], plural: boolean): string {
  const word = parts.every((p) => p.type === 'image_url') ? 'Image' : 'File';
  return plural ? `${word}s` : word;
}

/** A user-side content block (also inside tool_result and content documents) → content parts. */
function convertContentBlock(
  raw: InputContentBlock | ContentBlockSourceContent,
  unsupported: UnsupportedFeatures,
  opts: ConvertMessagesOptions,
): OpenAIContentPart[] {
  const block = asKnown(raw);
  switch (block.type) {
    case 'text':
      return block.text ? [{ type: 'text', text: block.text }] : [];
    case 'image':
      return convertImage(block, unsupported);
    case 'document':
      return convertDocument(block, unsupported, opts);
    default:
      unsupported.add(block.type);
      return [];
  }
}

function convertImage(block: ImageBlockParam, unsupported: UnsupportedFeatures): OpenAIContentPart[] {
  const source = block.source;
  if (source.type === 'base64') return [{ type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } }];
  if (source.type === 'url') return [{ type: 'image_url', image_url: { url: source.url } }];
  unsupported.add('image_file');
  return [];
}

/**
 * Plain-text and content documents are text the model can read: their title, context and text
 * become text parts. A base64 PDF becomes a `file` part (`file_data` as a data URL, the title as
 * its file name) where the provider takes them (`pdf_files`: OpenAI, Azure OpenAI, OpenRouter);
 * elsewhere, and for PDFs by URL or Files API id (which Chat Completions cannot fetch), unsupported.
 */
function convertDocument(block: DocumentBlockParam, unsupported: UnsupportedFeatures, opts: ConvertMessagesOptions): OpenAIContentPart[] {
  const source = block.source;
  const header = [block.title, block.context].filter((s): s is string => typeof s === 'string' && s !== '');
  const headerParts: OpenAIContentPart[] = header.map((text) => ({ type: 'text', text }));
  if (source.type === 'text') return source.data ? [...headerParts, { type: 'text', text: source.data }] : headerParts;
  if (source.type === 'content') {
    const inner =
      typeof source.content === 'string'
        ? source.content
          ? [{ type: 'text' as const, text: source.content }]
          : []
        : source.content.flatMap((b) => convertContentBlock(b, unsupported, opts));
    return [...headerParts, ...inner];
  }
  if (opts.pdfFiles && source.type === 'base64' && source.media_type === 'application/pdf') {
    const filename = `${(block.title ?? 'document').replace(/[\\/:*?"<>|\u0000-\u001f]+/g, '_').slice(0, 200) || 'document'}.pdf`;
    return [...(block.context ? [{ type: 'text' as const, text: block.context }] : []), { type: 'file', file: { filename, file_data: `data:application/pdf;base64,${source.data}` } }];
  }
  unsupported.add('document');
  return [];
}

/** All text → one string (compatible servers that reject part arrays take it); with images → parts. */
function asUserContent(parts: OpenAIContentPart[]): string | OpenAIContentPart[] {
  if (parts.every((p) => p.type === 'text')) return joinTexts(parts.map((p) => (p as { text: string }).text));
  return parts;
}

function joinTexts(texts: readonly string[]): string {
  return texts.filter((t) => t !== '').join(JOIN);
}
