/** Pure builders for Bedrock Runtime answers: errors, the Claude event stream, Converse responses and streams. */
import { anthropicMessage, anthropicSseEvents, type AnthropicMessage } from '../anthropic/builders.js';
import { parseSse } from '../sse.js';
import { splitText, tokensForChars } from '../text.js';
import type { FakeReply } from '../types.js';
import { EVENT_STREAM_CONTENT_TYPE, bedrockChunkFrame, converseEventFrame } from './eventstream.js';

export const DEFAULT_BEDROCK_TEXT = 'Hello from the fake Bedrock upstream.';

/** Where the error names live on the wire: `x-amzn-ErrorType: <Name>:<namespace>`. */
const ERROR_NAMESPACE = 'http://internal.amazon.com/coral/com.amazon.bedrock/';

/** A Bedrock error answer: `{"message": ...}` and the `x-amzn-ErrorType` header naming the exception. */
export function bedrockError(status: number, errorType: string, message: string): FakeReply {
  return {
    kind: 'json',
    status,
    headers: { 'x-amzn-errortype': `${errorType}:${ERROR_NAMESPACE}` },
    body: { message },
  };
}

/** A binary event-stream reply; the frames are sent as separate writes so tests can cut between them. */
export function bedrockStreamReply(frames: Uint8Array[], opts: Omit<Extract<FakeReply, { kind: 'stream' }>, 'kind' | 'contentType' | 'chunks'> = {}): FakeReply {
  return { kind: 'stream', contentType: EVENT_STREAM_CONTENT_TYPE, chunks: frames, ...opts };
}

/** The model id Bedrock reports in a Claude answer: `anthropic.claude-x-v1:0` (or a profile) → `claude-x`. */
export function bedrockReportedModel(modelId: string): string {
  const m = /anthropic\.(claude-[a-z0-9-]+?)(?:-v\d+(?::\d+)?)?$/.exec(modelId);
  return m ? m[1]! : modelId;
}

/**
 * The frames of InvokeModelWithResponseStream for `message`: each Anthropic event in a `chunk`
 * (pings are not sent on Bedrock), and `message_stop` carrying Bedrock's invocation metrics, which
 * Anthropic's own API does not have.
 */
export function bedrockInvokeFrames(message: AnthropicMessage, opts: { textChunkSize?: number } = {}): Uint8Array[] {
  const events = parseSse(anthropicSseEvents(message, { ping: false, textChunkSize: opts.textChunkSize }).join(''));
  return events.map((ev, i) => {
    const data = ev.event === 'message_stop'
      ? {
          ...ev.data,
          'amazon-bedrock-invocationMetrics': {
            inputTokenCount: message.usage.input_tokens,
            outputTokenCount: message.usage.output_tokens,
            invocationLatency: 420,
            firstByteLatency: 180,
          },
        }
      : ev.data;
    return bedrockChunkFrame(data, i);
  });
}

/** A Claude answer as Bedrock's InvokeModel returns it (id `msg_bdrk_...`, model without the Bedrock prefix). */
export function bedrockClaudeMessage(modelId: string, opts: Parameters<typeof anthropicMessage>[0] = {}): AnthropicMessage {
  return anthropicMessage({ id: 'msg_bdrk_01FakeBedrockMessage001', model: bedrockReportedModel(modelId), text: DEFAULT_BEDROCK_TEXT, ...opts });
}

export interface ConverseToolUseSpec {
  toolUseId: string;
  name: string;
  input: unknown;
}

export interface ConverseReplyOptions {
  text?: string;
  reasoning?: { text: string; signature?: string };
  toolUses?: ConverseToolUseSpec[];
  stopReason?: string;
  usage?: { inputTokens?: number; outputTokens?: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number };
  /** Claude-style extra fields, e.g. `{ stop_sequence: "END" }`. */
  additionalModelResponseFields?: Record<string, unknown>;
  /** Characters per text delta in streams. Default 8. */
  chunkSize?: number;
}

function converseUsage(opts: ConverseReplyOptions, outputChars: number) {
  const inputTokens = opts.usage?.inputTokens ?? 10;
  const outputTokens = opts.usage?.outputTokens ?? tokensForChars(outputChars);
  const cacheRead = opts.usage?.cacheReadInputTokens;
  const cacheWrite = opts.usage?.cacheWriteInputTokens;
  return {
    inputTokens,
    outputTokens,
    totalTokens: inputTokens + outputTokens + (cacheRead ?? 0) + (cacheWrite ?? 0),
    ...(cacheRead !== undefined ? { cacheReadInputTokens: cacheRead } : {}),
    ...(cacheWrite !== undefined ? { cacheWriteInputTokens: cacheWrite } : {}),
  };
}

function defaultStopReason(opts: ConverseReplyOptions): string {
  return opts.stopReason ?? ((opts.toolUses?.length ?? 0) > 0 ? 'tool_use' : 'end_turn');
}

/** A Converse answer. */
export function converseResponse(opts: ConverseReplyOptions = {}): Record<string, unknown> {
  const content: unknown[] = [];
  if (opts.reasoning) content.push({ reasoningContent: { reasoningText: { text: opts.reasoning.text, ...(opts.reasoning.signature ? { signature: opts.reasoning.signature } : {}) } } });
  const text = opts.text ?? (opts.toolUses?.length ? undefined : DEFAULT_BEDROCK_TEXT);
  if (text) content.push({ text });
  for (const t of opts.toolUses ?? []) content.push({ toolUse: { toolUseId: t.toolUseId, name: t.name, input: t.input } });
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: defaultStopReason(opts),
    usage: converseUsage(opts, (text ?? '').length + (opts.reasoning?.text.length ?? 0)),
    metrics: { latencyMs: 321 },
    ...(opts.additionalModelResponseFields ? { additionalModelResponseFields: opts.additionalModelResponseFields } : {}),
  };
}

/**
 * The ConverseStream frames for the same answer: messageStart; per block, a contentBlockStart only
 * for tool use (text and reasoning have none), its deltas (tool input as JSON text in pieces, the
 * reasoning signature last), contentBlockStop; messageStop; then metadata with the usage.
 */
export function converseStreamFrames(opts: ConverseReplyOptions = {}): Uint8Array[] {
  const size = opts.chunkSize ?? 8;
  const events: Array<[string, Record<string, unknown>]> = [['messageStart', { role: 'assistant' }]];
  let index = 0;
  if (opts.reasoning) {
    for (const piece of splitText(opts.reasoning.text, { size })) {
      events.push(['contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { text: piece } } }]);
    }
    if (opts.reasoning.signature) events.push(['contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { signature: opts.reasoning.signature } } }]);
    events.push(['contentBlockStop', { contentBlockIndex: index++ }]);
  }
  const text = opts.text ?? (opts.toolUses?.length ? undefined : DEFAULT_BEDROCK_TEXT);
  if (text) {
    for (const piece of splitText(text, { size })) events.push(['contentBlockDelta', { contentBlockIndex: index, delta: { text: piece } }]);
    events.push(['contentBlockStop', { contentBlockIndex: index++ }]);
  }
  for (const t of opts.toolUses ?? []) {
    events.push(['contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: t.toolUseId, name: t.name } } }]);
    for (const piece of splitText(JSON.stringify(t.input ?? {}), { size })) {
      events.push(['contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: piece } } }]);
    }
    events.push(['contentBlockStop', { contentBlockIndex: index++ }]);
  }
  events.push(['messageStop', { stopReason: defaultStopReason(opts), ...(opts.additionalModelResponseFields ? { additionalModelResponseFields: opts.additionalModelResponseFields } : {}) }]);
  events.push(['metadata', { usage: converseUsage(opts, (text ?? '').length + (opts.reasoning?.text.length ?? 0)), metrics: { latencyMs: 321 } }]);
  return events.map(([type, payload], i) => converseEventFrame(type, payload, i));
}
