import { shortenToolName } from '../openai/tool-names.js';

/** What Gemini takes as a function name: a letter or `_` first, then letters, digits, `_ . : -`, at most 64 characters. */
const GEMINI_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

/**
 * The tool names of one request, both ways. Anthropic's names (letters, digits, `_`, `-`, up to 128
 * characters) that Gemini would refuse are changed reversibly: one that does not start with a
 * letter or `_` gets a `_` in front; one over 64 characters is shortened with a hash of the whole
 * name (the same long name always gets the same short one, so `tools` and the history's
 * `tool_use` blocks stay matched). The answer's calls get the client's names back.
 */
export class GeminiToolNames {
  private readonly originals = new Map<string, string>();

  toUpstream(name: string): string {
    if (GEMINI_NAME.test(name)) return name;
    const upstream = shortenToolName(/^[A-Za-z_]/.test(name) ? name : `_${name}`);
    this.originals.set(upstream, name);
    return upstream;
  }

  fromUpstream(name: string): string {
    return this.originals.get(name) ?? name;
  }
}
