import { asKnown } from '../../../contract/open-unions.js';
import type {
  ContentBlockSourceContent,
  DocumentBlockParam,
  ImageBlockParam,
  InputContentBlock,
  InputMessage,
  SystemPrompt,
  ToolResultBlockParam,
} from '../../../generated/types.gen.js';
import { decodeSignature } from '../../gemini/thought-signatures.js';
import type { ToolNameMap } from '../../openai/tool-names.js';
import type { UnsupportedFeatures } from '../../openai/unsupported.js';
import type { ConverseContentBlock, ConverseImageFormat, ConverseMessage, ConverseToolResultContent } from './converse-types.js';

/** Converse refuses empty text, also inside a tool result; an empty result says so instead. */
export const EMPTY_TOOL_RESULT = '(empty result)';

const IMAGE_FORMATS: Record<string, ConverseImageFormat> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };

/** `system` (string or text blocks) → Converse `system`; nothing for an empty prompt. */
export function convertSystem(system: SystemPrompt | undefined): Array<{ text: string }> | undefined {
  const texts = typeof system === 'string' ? [system] : (system ?? []).map((b) => b.text);
  const blocks = texts.filter((t) => t.trim() !== '').map((text) => ({ text }));
  return blocks.length > 0 ? blocks : undefined;
}

/**
 * Anthropic messages → Converse messages.
 * - text → `{text}` (blank text is left out: Converse refuses it); base64 images → `{image}`;
 *   base64 PDFs → `{document: {format: pdf}}`; plain-text and content documents → their text.
 * - assistant `tool_use` → `{toolUse}` (input as an object); `tool_result` → `{toolResult}` with
 *   text, image and document content, `status: error` for `is_error`.
 * - signed `thinking` → `{reasoningContent: {reasoningText: {text, signature}}}`, `redacted_thinking`
 *   → `{reasoningContent: {redactedContent}}`; unsigned thinking (from a translated provider) and
 *   thinking that carries Gemini's signature (which only Gemini can read) are left out.
 * - a message left empty is dropped, and consecutive messages of one role are merged: Converse
 *   requires the roles to alternate, Anthropic merges them itself.
 * Everything else (images by URL, server tool blocks, ...) is an unsupported feature, named by type.
 */
export function convertMessages(messages: readonly InputMessage[], names: ToolNameMap, unsupported: UnsupportedFeatures): ConverseMessage[] {
  const out: ConverseMessage[] = [];
  const ctx: Ctx = { names, unsupported, documents: 0 };
  for (const message of messages) {
    const blocks: readonly InputContentBlock[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
    const content = blocks.flatMap((b) => convertBlock(b, message.role, ctx));
    if (content.length === 0) continue;
    const last = out[out.length - 1];
    if (last && last.role === message.role) last.content.push(...content);
    else out.push({ role: message.role, content });
  }
  return out;
}

interface Ctx {
  names: ToolNameMap;
  unsupported: UnsupportedFeatures;
  /** PDFs without a title so far: they are named "document 1", "document 2", ... */
  documents: number;
}

function convertBlock(raw: InputContentBlock, role: 'user' | 'assistant', ctx: Ctx): ConverseContentBlock[] {
  const { names, unsupported } = ctx;
  const block = asKnown(raw);
  switch (block.type) {
    case 'tool_use':
      if (role !== 'assistant') break;
      return [{ toolUse: { toolUseId: block.id, name: names.toUpstream(block.name), input: block.input ?? {} } }];
    case 'tool_result':
      if (role !== 'user') break;
      return [convertToolResult(block, ctx)];
    case 'thinking':
      return block.signature && !decodeSignature(block.signature) ? [{ reasoningContent: { reasoningText: { text: block.thinking, signature: block.signature } } }] : [];
    case 'redacted_thinking':
      return [{ reasoningContent: { redactedContent: block.data } }];
    default:
      return convertContent(raw, ctx);
  }
  unsupported.add(block.type);
  return [];
}

/** A user-side content block (also inside tool results and content documents). */
function convertContent(raw: InputContentBlock | ContentBlockSourceContent, ctx: Ctx): Array<ConverseContentBlock & ConverseToolResultContent> {
  const { unsupported } = ctx;
  const block = asKnown(raw);
  switch (block.type) {
    case 'text':
      return block.text.trim() ? [{ text: block.text }] : [];
    case 'image':
      return convertImage(block, unsupported);
    case 'document':
      return convertDocument(block, ctx);
    default:
      unsupported.add(block.type);
      return [];
  }
}

function convertImage(block: ImageBlockParam, unsupported: UnsupportedFeatures): Array<ConverseContentBlock & ConverseToolResultContent> {
  const source = block.source;
  if (source.type === 'base64' && IMAGE_FORMATS[source.media_type]) {
    return [{ image: { format: IMAGE_FORMATS[source.media_type]!, source: { bytes: source.data } } }];
  }
  unsupported.add(source.type === 'url' ? 'image_url' : source.type === 'file' ? 'image_file' : 'image');
  return [];
}

/** Plain-text and content documents are text; a base64 PDF is a Converse document (names: letters, digits, spaces, - ( ) [ ]). */
function convertDocument(block: DocumentBlockParam, ctx: Ctx): Array<ConverseContentBlock & ConverseToolResultContent> {
  const source = block.source;
  const header = [block.title, block.context].filter((s): s is string => typeof s === 'string' && s.trim() !== '').map((text) => ({ text }));
  if (source.type === 'text') return source.data.trim() ? [...header, { text: source.data }] : header;
  if (source.type === 'content') {
    const inner = typeof source.content === 'string' ? (source.content.trim() ? [{ text: source.content }] : []) : source.content.flatMap((b) => convertContent(b, ctx));
    return [...header, ...inner];
  }
  if (source.type === 'base64' && source.media_type === 'application/pdf') {
    const name = documentName(block.title) || `document ${++ctx.documents}`;
    return [...(block.context?.trim() ? [{ text: block.context }] : []), { document: { format: 'pdf', name, source: { bytes: source.data } } }];
  }
  ctx.unsupported.add('document');
  return [];
}

/** The title with only the characters Converse accepts in a document name, single spaces; '' when nothing is left. */
export function documentName(title: string | null | undefined): string {
  return (title ?? '').replace(/[^A-Za-z0-9\-()[\] ]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200);
}

function convertToolResult(block: ToolResultBlockParam, ctx: Ctx): ConverseContentBlock {
  const content: ConverseToolResultContent[] =
    typeof block.content === 'string'
      ? block.content.trim()
        ? [{ text: block.content }]
        : []
      : (block.content ?? []).flatMap((inner) => convertContent(inner as InputContentBlock, ctx));
  return {
    toolResult: {
      toolUseId: block.tool_use_id,
      content: content.length > 0 ? content : [{ text: EMPTY_TOOL_RESULT }],
      ...(block.is_error ? { status: 'error' as const } : {}),
    },
  };
}
