import { createHash } from 'node:crypto';

/** OpenAI rejects function names longer than this. */
export const MAX_OPENAI_TOOL_NAME = 64;
const HASH_CHARS = 10;

/**
 * Shortens a tool name to fit OpenAI's 64-character limit: the first 53 characters, `_`, and 10 hex
 * characters of the full name's SHA-256. The same long name always gets the same short name, so a
 * tool defined in `tools` and called in the history's `tool_use` blocks stay matched.
 */
export function shortenToolName(name: string): string {
  if (name.length <= MAX_OPENAI_TOOL_NAME) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, HASH_CHARS);
  return `${name.slice(0, MAX_OPENAI_TOOL_NAME - HASH_CHARS - 1)}_${hash}`;
}

/**
 * The names of one request, both ways. `toUpstream` shortens (and remembers); `fromUpstream` gives
 * the client's original name back for any name the request shortened, and every other name as is.
 */
export class ToolNameMap {
  private readonly originals = new Map<string, string>();

  toUpstream(name: string): string {
    const short = shortenToolName(name);
    if (short !== name) this.originals.set(short, name);
    return short;
  }

  fromUpstream(name: string): string {
    return this.originals.get(name) ?? name;
  }

  /** The client's names this map shortened. */
  originalNames(): IterableIterator<string> {
    return this.originals.values();
  }

  /** How many names this request shortened. */
  get size(): number {
    return this.originals.size;
  }
}
