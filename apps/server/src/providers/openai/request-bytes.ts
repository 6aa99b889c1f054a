import { randomUUID } from 'node:crypto';
import { isSharedTranslation } from './convert-messages.js';
import type { OpenAIChatRequest, OpenAIMessage } from './openai-types.js';

/**
 * The bytes of an OpenAI request body, with the parts a session sends on every turn serialised once:
 * - the tools: a Claude Code turn carries about 70 KB of tool schemas. When the client's `tools`
 *   came from the parse cache (a frozen array, shared by the session's requests:
 *   contract/parse-cache.ts), their converted form is serialised once and its bytes reused. The
 *   converted tools are a function of the client's tools and the names they are sent under (names
 *   over 64 characters are shortened per request: tool-names.ts), so those bytes are reused only
 *   when the names match too;
 * - the history: messages translated from cached messages are shared and frozen
 *   (convert-messages.ts), and each one's bytes are kept beside it.
 * Only the rest of the body is serialised and encoded. The result is byte for byte
 * `JSON.stringify(body)` (request-bytes.test.ts, property).
 */
const serialisedTools = new WeakMap<object, { names: string; json: Buffer }>();
const serialisedMessages = new WeakMap<OpenAIMessage, Buffer>();

/**
 * Stand for the tools and the messages while the rest is serialised: random per process, so no
 * client text can hold them (and each is checked to occur once).
 */
const TOOLS_PLACEHOLDER = `\u0000tools-${randomUUID()}`;
const MESSAGES_PLACEHOLDER = `\u0000messages-${randomUUID()}`;
/** The placeholders as they stand in the serialised text. */
const TOOLS = JSON.stringify(TOOLS_PLACEHOLDER);
const MESSAGES = JSON.stringify(MESSAGES_PLACEHOLDER);

export function requestBytes(body: OpenAIChatRequest, toolsSource: readonly unknown[] | undefined): string | Buffer {
  const tools = toolsBytes(body, toolsSource);
  const messages = messagesBytes(body.messages);
  if (tools === undefined && messages === undefined) return JSON.stringify(body);
  const shell: Record<string, unknown> = { ...body };
  const parts: { placeholder: string; json: Buffer[] }[] = [];
  if (tools !== undefined) {
    shell.tools = TOOLS_PLACEHOLDER;
    parts.push({ placeholder: TOOLS, json: [tools] });
  }
  if (messages !== undefined) {
    shell.messages = MESSAGES_PLACEHOLDER;
    parts.push({ placeholder: MESSAGES, json: messages });
  }
  const text = JSON.stringify(shell);
  const found = parts.map((p) => ({ ...p, at: text.indexOf(p.placeholder) }));
  for (const p of found) if (p.at === -1 || text.indexOf(p.placeholder, p.at + 1) !== -1) return JSON.stringify(body);
  found.sort((a, b) => a.at - b.at);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of found) {
    out.push(Buffer.from(text.slice(from, p.at)), ...p.json);
    from = p.at + p.placeholder.length;
  }
  out.push(Buffer.from(text.slice(from)));
  return Buffer.concat(out);
}

/** The serialised tools, when they were converted from a cached tool list; else undefined. */
function toolsBytes(body: OpenAIChatRequest, toolsSource: readonly unknown[] | undefined): Buffer | undefined {
  const tools = body.tools;
  if (tools === undefined || toolsSource === undefined || !Object.isFrozen(toolsSource)) return undefined;
  let names = '';
  for (const t of tools) names += `${t.function.name}\n`;
  let entry = serialisedTools.get(toolsSource);
  if (entry === undefined || entry.names !== names) {
    entry = { names, json: Buffer.from(JSON.stringify(tools)) };
    serialisedTools.set(toolsSource, entry);
  }
  return entry.json;
}

/**
 * The serialised messages array in pieces, each shared translation's bytes kept beside it and the
 * messages between them serialised together; undefined when none is shared.
 */
function messagesBytes(messages: readonly OpenAIMessage[]): Buffer[] | undefined {
  if (!messages.some(isSharedTranslation)) return undefined;
  let pieces: Buffer[] | undefined;
  let pending = '[';
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (i > 0) pending += ',';
    if (!isSharedTranslation(m)) {
      pending += JSON.stringify(m);
      continue;
    }
    let json = serialisedMessages.get(m);
    if (json === undefined) serialisedMessages.set(m, (json = Buffer.from(JSON.stringify(m))));
    (pieces ??= []).push(Buffer.from(pending), json);
    pending = '';
  }
  if (pieces === undefined) return undefined;
  pieces.push(Buffer.from(`${pending}]`));
  return pieces;
}
