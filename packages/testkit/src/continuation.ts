/**
 * Answers that a model continuing from a prefix would give: a request whose last message is an
 * assistant message (Anthropic's prefill, DeepSeek's and Mistral's `prefix: true`, vLLM's
 * `continue_final_message`, OpenRouter's trailing assistant message) gets the rest of the text
 * after that prefix; any other request gets the whole text. With these a test can assert that the
 * text a client assembled from a broken and continued stream equals the uncut answer.
 */
import { anthropicMessage, anthropicSseEvents } from './anthropic/builders.js';
import { openaiChunks, openaiCompletion } from './openai/builders.js';
import { countInputTokens, tokensForChars } from './text.js';
import type { FakeReply } from './types.js';

/** The text of a request's final assistant message (Anthropic or OpenAI body), or undefined when it has none. */
export function assistantPrefix(body: any): string | undefined {
  const messages = body?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return undefined;
  const last = messages[messages.length - 1];
  if (last?.role !== 'assistant') return undefined;
  if (typeof last.content === 'string') return last.content;
  if (!Array.isArray(last.content)) return undefined;
  let text = '';
  for (const part of last.content) if (part?.type === 'text' && typeof part.text === 'string') text += part.text;
  return text;
}

/**
 * What is left of `text` after the request's prefix: all of it without one. Throws when the prefix
 * is not the start of `text` (the gateway sent something the answer never said).
 */
export function restOfAnswer(body: any, text: string): string {
  const prefix = assistantPrefix(body);
  if (prefix === undefined) return text;
  if (!text.startsWith(prefix)) throw new Error(`the prefix ${JSON.stringify(prefix.slice(-80))} is not the start of the answer`);
  return text.slice(prefix.length);
}

/** Stream timing and faults for an answer (see FakeReply `sse`). */
export interface AnswerFaults {
  chunkSize?: number;
  cutAfter?: number;
  stallAfter?: number;
  delayMs?: number;
  firstChunkDelayMs?: number;
  chunkDelayMs?: number;
}

/** An Anthropic reply to `body` writing `text` (the rest of it after a prefill), streamed or not as the body asks. */
export function anthropicAnswer(body: any, text: string, opts: AnswerFaults & { model?: string } = {}): FakeReply {
  const rest = restOfAnswer(body, text);
  const message = anthropicMessage({
    model: opts.model ?? (typeof body?.model === 'string' ? body.model : undefined),
    text: rest,
    usage: { input_tokens: countInputTokens(body), output_tokens: tokensForChars(rest.length) },
  });
  if (body?.stream !== true) return { kind: 'json', body: message, delayMs: opts.delayMs };
  const { chunkSize, ...faults } = opts;
  return { kind: 'sse', events: anthropicSseEvents(message, { textChunkSize: chunkSize ?? 4 }), ...faults };
}

/** An OpenAI-compatible reply to `body` writing `text` (the rest of it after a prefix), streamed or not as the body asks. */
export function openaiAnswer(body: any, text: string, opts: AnswerFaults & { model?: string } = {}): FakeReply {
  const rest = restOfAnswer(body, text);
  const reply = {
    model: opts.model ?? (typeof body?.model === 'string' ? body.model : undefined),
    content: rest,
    usage: { prompt_tokens: countInputTokens(body), completion_tokens: tokensForChars(rest.length) },
  };
  if (body?.stream !== true) return { kind: 'json', body: openaiCompletion(reply), delayMs: opts.delayMs };
  const { chunkSize, ...faults } = opts;
  return { kind: 'sse', events: openaiChunks({ ...reply, chunkSize: chunkSize ?? 4, includeUsage: body?.stream_options?.include_usage === true }), ...faults };
}

/** Anthropic's answer to a prefill on a model that does not take one (Claude Opus 4.6 and later). */
export const PREFILL_REFUSAL = 'This model does not support assistant message prefill. The conversation must end with a user message.';
