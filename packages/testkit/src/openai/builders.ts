/** Pure builders for OpenAI Chat Completions replies: chat.completion, chat.completion.chunk frames and errors. */
import { dataFrame } from '../sse.js';
import { splitText, tokensForChars } from '../text.js';
import type { FakeReply } from '../types.js';

export const DEFAULT_OPENAI_TEXT = 'Hello from the fake OpenAI upstream.';
export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini-2024-07-18';
/** 2025-01-01T00:00:00Z: a fixed `created` keeps replies deterministic. */
export const DEFAULT_OPENAI_CREATED = 1735689600;

export interface OpenAIToolCallSpec {
  id: string;
  name: string;
  /** The JSON text of the arguments, as the API sends it. */
  arguments: string;
}

export interface OpenAIUsageSpec {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens?: number;
}

export interface OpenAIReplyOptions {
  id?: string;
  model?: string;
  created?: number;
  /** Defaults to the fake's text, or null when there are tool calls. */
  content?: string | null;
  tool_calls?: OpenAIToolCallSpec[];
  /** DeepSeek/vLLM style reasoning text. */
  reasoning_content?: string;
  /** Defaults to `tool_calls` when there are tool calls, else `stop`. */
  finish_reason?: string;
  usage?: OpenAIUsageSpec;
  system_fingerprint?: string;
}

export interface OpenAIChunkOptions extends OpenAIReplyOptions {
  /** Code points per content, reasoning or arguments piece. Default 8. */
  chunkSize?: number;
  /** Split the content into exactly this many pieces instead (fewer when shorter). */
  chunks?: number;
  /** End with a usage chunk whose `choices` is empty (and put `usage: null` on every other chunk), as `stream_options.include_usage` does. */
  includeUsage?: boolean;
  /** Send parallel tool call fragments round-robin across indices instead of one call after another. */
  interleaveToolCalls?: boolean;
  /** End with `data: [DONE]`. Default true. */
  done?: boolean;
}

interface Resolved {
  id: string;
  model: string;
  created: number;
  fingerprint: string;
  content: string | null;
  toolCalls: OpenAIToolCallSpec[];
  reasoning: string | undefined;
  finishReason: string;
  usage: Record<string, unknown>;
}

function resolve(opts: OpenAIReplyOptions): Resolved {
  const toolCalls = opts.tool_calls ?? [];
  const content = opts.content !== undefined ? opts.content : toolCalls.length > 0 ? null : DEFAULT_OPENAI_TEXT;
  let chars = (content ?? '').length + (opts.reasoning_content ?? '').length;
  for (const call of toolCalls) chars += call.name.length + call.arguments.length;
  const usage = opts.usage ?? { prompt_tokens: 10, completion_tokens: tokensForChars(chars) };
  return {
    id: opts.id ?? 'chatcmpl-FakeUpstreamCompletion0001',
    model: opts.model ?? DEFAULT_OPENAI_MODEL,
    created: opts.created ?? DEFAULT_OPENAI_CREATED,
    fingerprint: opts.system_fingerprint ?? 'fp_fake0001',
    content,
    toolCalls,
    reasoning: opts.reasoning_content,
    finishReason: opts.finish_reason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: openaiUsage(usage),
  };
}

/** The usage object in the shape the API returns; `prompt_tokens` includes the cached tokens. */
export function openaiUsage(usage: OpenAIUsageSpec): Record<string, unknown> {
  return {
    prompt_tokens: usage.prompt_tokens,
    completion_tokens: usage.completion_tokens,
    total_tokens: usage.prompt_tokens + usage.completion_tokens,
    prompt_tokens_details: { cached_tokens: usage.cached_tokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

/** A complete `chat.completion` object. */
export function openaiCompletion(opts: OpenAIReplyOptions = {}): Record<string, any> {
  const r = resolve(opts);
  const message: Record<string, unknown> = { role: 'assistant', content: r.content };
  if (r.reasoning !== undefined) message.reasoning_content = r.reasoning;
  if (r.toolCalls.length > 0) {
    message.tool_calls = r.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  message.refusal = null;
  message.annotations = [];
  return {
    id: r.id,
    object: 'chat.completion',
    created: r.created,
    model: r.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: r.finishReason }],
    usage: r.usage,
    service_tier: 'default',
    system_fingerprint: r.fingerprint,
  };
}

/**
 * The `data:` frames of a streamed completion, in the order the API sends them: a first chunk with
 * `delta.role`, reasoning pieces, content pieces, tool call fragments (id, type and name in the first
 * fragment of an index, then `arguments` in pieces), a chunk with the finish_reason and an empty delta,
 * the usage chunk with `choices: []` when asked, and `[DONE]`.
 */
export function openaiChunks(opts: OpenAIChunkOptions = {}): string[] {
  const r = resolve(opts);
  const size = { size: opts.chunkSize ?? 8 };
  const includeUsage = opts.includeUsage ?? false;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => {
    const data: Record<string, unknown> = {
      id: r.id,
      object: 'chat.completion.chunk',
      created: r.created,
      model: r.model,
      service_tier: 'default',
      system_fingerprint: r.fingerprint,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    if (includeUsage) data.usage = null;
    return dataFrame(data);
  };

  const fragments = toolCallFragments(r.toolCalls, size, opts.interleaveToolCalls ?? false);
  const frames: string[] = [];
  const first: Record<string, unknown> = { role: 'assistant', content: r.content === null ? null : '' };
  if (r.content === null && r.reasoning === undefined && fragments.length > 0) {
    // With only tool calls the API puts the role on the first tool call fragment.
    first.tool_calls = [fragments.shift()];
  }
  first.refusal = null;
  frames.push(chunk(first));
  if (r.reasoning !== undefined) {
    for (const piece of splitText(r.reasoning, size)) frames.push(chunk({ reasoning_content: piece }));
  }
  if (r.content) {
    const by = opts.chunks !== undefined ? { count: opts.chunks } : size;
    for (const piece of splitText(r.content, by)) frames.push(chunk({ content: piece }));
  }
  for (const fragment of fragments) frames.push(chunk({ tool_calls: [fragment] }));
  frames.push(chunk({}, r.finishReason));
  if (includeUsage) {
    frames.push(
      dataFrame({
        id: r.id,
        object: 'chat.completion.chunk',
        created: r.created,
        model: r.model,
        service_tier: 'default',
        system_fingerprint: r.fingerprint,
        choices: [],
        usage: r.usage,
      }),
    );
  }
  if (opts.done ?? true) frames.push(dataFrame('[DONE]'));
  return frames;
}

function toolCallFragments(calls: OpenAIToolCallSpec[], by: { size: number }, interleave: boolean): Record<string, unknown>[] {
  const perCall = calls.map((call, index) => [
    { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
    ...splitText(call.arguments, by).map((piece) => ({ index, function: { arguments: piece } })),
  ]);
  if (!interleave) return perCall.flat();
  const out: Record<string, unknown>[] = [];
  const longest = Math.max(0, ...perCall.map((f) => f.length));
  for (let i = 0; i < longest; i++) for (const fragments of perCall) if (i < fragments.length) out.push(fragments[i]);
  return out;
}

/** The `error.type` OpenAI uses for an HTTP status. */
export function openaiErrorType(status: number): string {
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** An OpenAI error reply: `{"error":{"message","type","param","code"}}`. */
export function openaiError(
  status: number,
  message: string,
  type?: string,
  code?: string | null,
  param: string | null = null,
): FakeReply {
  return {
    kind: 'json',
    status,
    body: { error: { message, type: type ?? openaiErrorType(status), param, code: code ?? null } },
  };
}
