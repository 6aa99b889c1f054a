/** Pure builders for Anthropic Messages API replies: the Message object, its SSE event sequence and errors. */
import { sseFrame } from '../sse.js';
import { splitText, tokensForChars } from '../text.js';
import type { FakeReply } from '../types.js';

export const DEFAULT_ANTHROPIC_TEXT = 'Hello from the fake Anthropic upstream.';
export const DEFAULT_ANTHROPIC_MODEL = 'claude-sonnet-4-5-20250929';

export interface AnthropicUsage {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number } | null;
  server_tool_use?: { web_search_requests: number; web_fetch_requests?: number } | null;
  service_tier?: string | null;
}

export interface AnthropicMessage {
  id: string;
  type: 'message';
  role: 'assistant';
  model: string;
  content: any[];
  stop_reason: string | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

export interface AnthropicMessageOptions {
  id?: string;
  model?: string;
  /** One text block with this text (ignored when `content` is given). */
  text?: string;
  content?: any[];
  /** Defaults to `tool_use` when the content has a tool_use block, else `end_turn`. */
  stop_reason?: string | null;
  stop_sequence?: string | null;
  usage?: Partial<AnthropicUsage>;
}

/** A complete Message as the non-streaming API returns it, with realistic defaults for everything not given. */
export function anthropicMessage(opts: AnthropicMessageOptions = {}): AnthropicMessage {
  const content = opts.content ?? [{ type: 'text', text: opts.text ?? DEFAULT_ANTHROPIC_TEXT }];
  const hasToolUse = content.some((block) => block?.type === 'tool_use');
  return {
    id: opts.id ?? 'msg_01FakeUpstreamMessage0001',
    type: 'message',
    role: 'assistant',
    model: opts.model ?? DEFAULT_ANTHROPIC_MODEL,
    content,
    stop_reason: opts.stop_reason !== undefined ? opts.stop_reason : hasToolUse ? 'tool_use' : 'end_turn',
    stop_sequence: opts.stop_sequence ?? null,
    usage: {
      input_tokens: 10,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: tokensForChars(outputChars(content)),
      service_tier: 'standard',
      ...opts.usage,
    },
  };
}

function outputChars(content: any[]): number {
  let chars = 0;
  for (const block of content) {
    if (typeof block?.text === 'string') chars += block.text.length;
    else if (typeof block?.thinking === 'string') chars += block.thinking.length;
    else if (block?.input !== undefined) chars += JSON.stringify(block.input).length;
  }
  return chars;
}

export interface AnthropicSseOptions {
  /** Code points per text/thinking/input_json delta. Default 10. */
  textChunkSize?: number;
  /** Split each text block into exactly this many deltas instead (fewer if the text is shorter). */
  textChunks?: number;
  /** Send a ping right after message_start. Default true. */
  ping?: boolean;
  /** message_delta usage carries input and cache counts too, as newer API versions send. Default: output_tokens only. */
  fullDeltaUsage?: boolean;
}

const TOOL_USE_TYPES = new Set(['tool_use', 'server_tool_use', 'mcp_tool_use']);

/**
 * The SSE frames the real API sends for `message`: message_start (empty content, null stop_reason),
 * ping, one start/deltas/stop group per block, message_delta with the stop reason and usage, message_stop.
 */
export function anthropicSseEvents(message: AnthropicMessage, opts: AnthropicSseOptions = {}): string[] {
  const by = opts.textChunks !== undefined ? { count: opts.textChunks } : { size: opts.textChunkSize ?? 10 };
  const usage = message.usage;
  const frames: string[] = [];
  frames.push(
    sseFrame('message_start', {
      type: 'message_start',
      message: {
        ...message,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: Math.min(1, usage.output_tokens) },
      },
    }),
  );
  if (opts.ping ?? true) frames.push(sseFrame('ping', { type: 'ping' }));
  message.content.forEach((block, index) => frames.push(...blockFrames(block, index, by)));
  const deltaUsage = opts.fullDeltaUsage
    ? {
        input_tokens: usage.input_tokens,
        cache_creation_input_tokens: usage.cache_creation_input_tokens ?? 0,
        cache_read_input_tokens: usage.cache_read_input_tokens ?? 0,
        output_tokens: usage.output_tokens,
      }
    : { output_tokens: usage.output_tokens };
  frames.push(
    sseFrame('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence },
      usage: deltaUsage,
    }),
  );
  frames.push(sseFrame('message_stop', { type: 'message_stop' }));
  return frames;
}

function blockFrames(block: any, index: number, by: { size?: number; count?: number }): string[] {
  const delta = (d: unknown) => sseFrame('content_block_delta', { type: 'content_block_delta', index, delta: d });
  const frames: string[] = [];
  if (block.type === 'text') {
    const start: Record<string, unknown> = { type: 'text', text: '' };
    if (Array.isArray(block.citations)) start.citations = [];
    frames.push(sseFrame('content_block_start', { type: 'content_block_start', index, content_block: start }));
    for (const text of splitText(block.text ?? '', by)) frames.push(delta({ type: 'text_delta', text }));
    for (const citation of Array.isArray(block.citations) ? block.citations : []) {
      frames.push(delta({ type: 'citations_delta', citation }));
    }
  } else if (TOOL_USE_TYPES.has(block.type)) {
    frames.push(
      sseFrame('content_block_start', { type: 'content_block_start', index, content_block: { ...block, input: {} } }),
    );
    // The real API opens every tool input with an empty partial_json before the pieces.
    frames.push(delta({ type: 'input_json_delta', partial_json: '' }));
    for (const piece of splitText(JSON.stringify(block.input ?? {}), by)) {
      frames.push(delta({ type: 'input_json_delta', partial_json: piece }));
    }
  } else if (block.type === 'thinking') {
    frames.push(
      sseFrame('content_block_start', {
        type: 'content_block_start',
        index,
        content_block: { type: 'thinking', thinking: '', signature: '' },
      }),
    );
    for (const thinking of splitText(block.thinking ?? '', by)) frames.push(delta({ type: 'thinking_delta', thinking }));
    frames.push(delta({ type: 'signature_delta', signature: block.signature ?? '' }));
  } else {
    // redacted_thinking, web_search_tool_result and the like arrive whole in content_block_start.
    frames.push(sseFrame('content_block_start', { type: 'content_block_start', index, content_block: block }));
  }
  frames.push(sseFrame('content_block_stop', { type: 'content_block_stop', index }));
  return frames;
}

const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

/** The `error.type` Anthropic uses for an HTTP status. */
export function anthropicErrorType(status: number): string {
  return ERROR_TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

export const FAKE_ANTHROPIC_ERROR_REQUEST_ID = 'req_011CFakeUpstreamError01';

/** An Anthropic error reply: the envelope plus the `request-id` header. `type` defaults from the status. */
export function anthropicError(status: number, type?: string, message?: string): FakeReply {
  const errorType = type ?? anthropicErrorType(status);
  return {
    kind: 'json',
    status,
    headers: { 'request-id': FAKE_ANTHROPIC_ERROR_REQUEST_ID },
    body: {
      type: 'error',
      error: { type: errorType, message: message ?? `fake upstream ${errorType}` },
      request_id: FAKE_ANTHROPIC_ERROR_REQUEST_ID,
    },
  };
}

/** The frame the API sends when a stream fails after it began (then the stream ends). */
export function anthropicErrorEvent(type = 'overloaded_error', message = 'Overloaded'): string {
  return sseFrame('error', { type: 'error', error: { type, message } });
}
