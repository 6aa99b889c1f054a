import { randomUUID } from 'node:crypto';
import type { OpenAIChatRequest } from './openai-types.js';

/**
 * The bytes of an OpenAI request body. A Claude Code turn carries about 70 KB of tool schemas, the
 * same on every turn: when the client's `tools` came from the parse cache (a frozen array, shared by
 * the session's requests: contract/parse-cache.ts), their converted form is serialised once and its
 * bytes reused, and only the rest of the body is serialised and encoded. The result is byte for byte
 * `JSON.stringify(body)` (request-bytes.test.ts).
 *
 * The converted tools are a function of the client's tools and the names they are sent under (names
 * over 64 characters are shortened per request: tool-names.ts), so an entry is reused only when the
 * names match too.
 */
const serialised = new WeakMap<object, { names: string; json: Buffer }>();

/**
 * Stands for the tools while the rest is serialised: random per process, so no client text can
 * hold it (and it is checked to occur once).
 */
const PLACEHOLDER = `\u0000tools-${randomUUID()}`;
const QUOTED = JSON.stringify(PLACEHOLDER);

export function requestBytes(body: OpenAIChatRequest, toolsSource: readonly unknown[] | undefined): string | Buffer {
  const tools = body.tools;
  if (tools === undefined || toolsSource === undefined || !Object.isFrozen(toolsSource)) return JSON.stringify(body);
  let names = '';
  for (const t of tools) names += `${t.function.name}\n`;
  let entry = serialised.get(toolsSource);
  if (entry === undefined || entry.names !== names) {
    entry = { names, json: Buffer.from(JSON.stringify(tools)) };
    serialised.set(toolsSource, entry);
  }
  const text = JSON.stringify({ ...body, tools: PLACEHOLDER });
  const at = text.indexOf(QUOTED);
  if (at === -1 || text.indexOf(QUOTED, at + 1) !== -1) return JSON.stringify(body);
  return Buffer.concat([Buffer.from(text.slice(0, at)), entry.json, Buffer.from(text.slice(at + QUOTED.length))]);
}
