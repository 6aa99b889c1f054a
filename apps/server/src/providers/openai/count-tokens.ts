import type { CountTokensRequest } from '../../generated/types.gen.js';
import { convertMessages } from './convert-messages.js';
import { imageUrlTokens } from './image-tokens.js';
import type { OpenAIContentPart, OpenAIFunctionTool, OpenAIMessage } from './openai-types.js';
import { prepareTools } from './prepare-tools.js';
import { countTexts, type CountText } from './token-counter.js';
import { ToolNameMap } from './tool-names.js';
import { UnsupportedFeatures } from './unsupported.js';
import type { CancelSignal } from '../../cancel.js';

export type EncodingName = 'o200k_base' | 'cl100k_base';

/**
 * The tokenizer for a model: cl100k_base for GPT-4 (gpt-4, gpt-4-turbo, gpt-4-32k) and GPT-3.5,
 * o200k_base for everything else, which is exact for gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and the o-series
 * and an estimate for other vendors' models (Llama, Qwen, Mistral, DeepSeek ... have their own
 * tokenizers; o200k_base is usually within about 10-20% of them). A vendor prefix ("openai/gpt-4")
 * is ignored.
 */
export function encodingFor(model: string): EncodingName {
  const id = model.slice(model.lastIndexOf('/') + 1).toLowerCase();
  return /^(gpt-4($|-)|gpt-3\.5)/.test(id) ? 'cl100k_base' : 'o200k_base';
}

const counters = new Map<EncodingName, Promise<CountText>>();

/** Loads an encoding once, on first use (the BPE ranks are large; a server that never counts never loads them). */
function counterFor(encoding: EncodingName): Promise<CountText> {
  let counter = counters.get(encoding);
  if (!counter) {
    const load =
      encoding === 'cl100k_base' ? import('gpt-tokenizer/encoding/cl100k_base') : import('gpt-tokenizer/encoding/o200k_base');
    // Special-token text (e.g. "<|endoftext|>" in a prompt) is counted as the ordinary text it is.
    counter = load.then((m) => (text: string) => (text ? m.countTokens(text, { disallowedSpecial: new Set() }) : 0));
    counters.set(encoding, counter);
  }
  return counter;
}

/** Per-message framing tokens in OpenAI's chat format (<|start|>role ... <|end|>). */
const PER_MESSAGE = 3;
/** Every reply is primed with <|start|>assistant<|message|>. */
const REPLY_PRIMING = 3;
/** Framing of one tool call inside an assistant message. */
const PER_TOOL_CALL = 3;
/** Framing of one function definition in the tools preamble. */
const PER_TOOL = 8;
/** The tools preamble itself (the "functions" namespace header). */
const TOOLS_PREAMBLE = 12;

export interface CountTokensOptions {
  /** Characters tokenized exactly (config `limits.count_tokens_exact_chars`); the rest is estimated. */
  exactChars?: number;
  /** Counting stops when this aborts (the client left). */
  signal?: CancelSignal;
}

/** The schema's default for `limits.count_tokens_exact_chars`. */
const DEFAULT_EXACT_CHARS = 1_000_000;

/**
 * Input tokens of a Messages request as the OpenAI-compatible upstream will see it, counted locally
 * (never a billed call): the request is converted exactly as for a completion (features the upstream
 * cannot take are left out rather than failing, since this is an estimate), then system, messages,
 * tool calls, tool results and tool definitions (their JSON) are tokenized with the model's encoding,
 * plus OpenAI's per-message framing; images are estimated by image-tokens. The text is counted in
 * linear time and in slices that let the event loop run (token-counter.ts); past `exactChars`
 * characters the rest is estimated.
 */
export async function countTokens(req: CountTokensRequest, model: string, opts: CountTokensOptions = {}): Promise<number> {
  const names = new ToolNameMap();
  const ignored = new UnsupportedFeatures();
  const messages = convertMessages(req.system, req.messages, names, ignored);
  const { tools } = prepareTools(req.tools, req.tool_choice, names, ignored);
  const count = await counterFor(encodingFor(model));
  const texts: string[] = [];
  let fixed = REPLY_PRIMING;
  for (const message of messages) fixed += PER_MESSAGE + messageTexts(message, texts);
  if (tools && tools.length > 0) {
    fixed += TOOLS_PREAMBLE;
    for (const tool of tools) fixed += toolTexts(tool, texts);
  }
  return fixed + (await countTexts(texts, count, { exactChars: opts.exactChars ?? DEFAULT_EXACT_CHARS, signal: opts.signal }));
}

/** Adds a message's texts to `texts`; returns its tokens that are not text (framing, images). */
function messageTexts(message: OpenAIMessage, texts: string[]): number {
  let fixed = 0;
  texts.push(message.role);
  if (typeof message.content === 'string') texts.push(message.content);
  else if (Array.isArray(message.content)) for (const part of message.content) fixed += partTexts(part, texts);
  if (message.role === 'assistant' && message.tool_calls) {
    for (const call of message.tool_calls) {
      fixed += PER_TOOL_CALL;
      texts.push(call.function.name, call.function.arguments);
    }
  }
  return fixed;
}

function partTexts(part: OpenAIContentPart, texts: string[]): number {
  if (part.type === 'text') {
    texts.push(part.text);
    return 0;
  }
  if (part.type === 'image_url') return imageUrlTokens(part.image_url.url);
  // Not produced here (messages are converted without pdf_files): a PDF's tokens depend on text
  // only the upstream extracts, so a local count leaves PDFs out.
  return 0;
}

function toolTexts(tool: OpenAIFunctionTool, texts: string[]): number {
  const { name, description, parameters } = tool.function;
  texts.push(name, description ?? '', JSON.stringify(parameters));
  return PER_TOOL;
}
