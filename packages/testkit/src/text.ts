/** Deterministic token counts and text helpers shared by both fakes. */

/** Roughly four characters a token, never less than one: what the fakes report as usage. */
export function tokensForChars(chars: number): number {
  return chars <= 0 ? 1 : Math.ceil(chars / 4);
}

/** Characters of text in a message `content`: a string, or blocks/parts carrying `text` (tool results included). */
export function contentChars(content: unknown): number {
  if (typeof content === 'string') return content.length;
  if (!Array.isArray(content)) return 0;
  let chars = 0;
  for (const part of content) {
    if (part === null || typeof part !== 'object') continue;
    const text = (part as { text?: unknown }).text;
    if (typeof text === 'string') chars += text.length;
    else if ((part as { type?: unknown }).type === 'tool_result') chars += contentChars((part as { content?: unknown }).content);
  }
  return chars;
}

/** Input tokens of an Anthropic or OpenAI request body: all text in `system` and `messages`, divided by four. */
export function countInputTokens(body: any): number {
  if (body === null || typeof body !== 'object') return 1;
  let chars = contentChars(body.system);
  const messages = body.messages;
  if (Array.isArray(messages)) {
    for (const message of messages) {
      if (message !== null && typeof message === 'object') chars += contentChars(message.content);
    }
  }
  return tokensForChars(chars);
}

/** Text of the last message when it is a user message, else ''. Used to spot the CALL_TOOL trigger. */
export function lastUserText(body: any): string {
  const messages = body?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return '';
  const last = messages[messages.length - 1];
  if (last?.role !== 'user') return '';
  if (typeof last.content === 'string') return last.content;
  if (!Array.isArray(last.content)) return '';
  let text = '';
  for (const part of last.content) if (typeof part?.text === 'string') text += part.text;
  return text;
}

/**
 * Splits text into pieces by code point so a surrogate pair is never cut in two,
 * either into pieces of `size` code points or into exactly `count` pieces (fewer when the text is shorter).
 */
export function splitText(text: string, by: { size?: number; count?: number }): string[] {
  const points = Array.from(text);
  if (points.length === 0) return [];
  if (by.count !== undefined) {
    const count = Math.max(1, Math.min(by.count, points.length));
    const pieces: string[] = [];
    for (let i = 0; i < count; i++) {
      const from = Math.floor((i * points.length) / count);
      const to = Math.floor(((i + 1) * points.length) / count);
      pieces.push(points.slice(from, to).join(''));
    }
    return pieces;
  }
  const size = Math.max(1, by.size ?? 8);
  const pieces: string[] = [];
  for (let i = 0; i < points.length; i += size) pieces.push(points.slice(i, i + size).join(''));
  return pieces;
}

/** The default text repeated until it has at least one character for each of `chunks` stream pieces. */
export function textForChunks(text: string, chunks: number): string {
  let out = text;
  while (out.length < chunks) out += ' ' + text;
  return out;
}
