import type { GatewayError } from '../../errors.js';
import type { UpstreamTarget } from '../transport.js';
import type { SseFrame } from '../types.js';
import { badUpstreamResponse } from '../upstream-error.js';
import { BlockAssembler, type BlockSink } from './assemble-blocks.js';
import { messageId, responseModel } from './convert-response.js';
import { convertUsage } from './convert-usage.js';
import type { GeminiResponse, GeminiUsage } from './gemini-types.js';
import { failedCall, geminiStreamError, promptBlocked } from './map-error.js';
import { isFailedCall, mapFinishReason } from './map-finish-reason.js';
import type { GeminiToolNames } from './tool-names.js';
import { FrameQueue } from '../translated/frames.js';

export interface StreamContext {
  target: UpstreamTarget;
  toolNames: GeminiToolNames;
}

/**
 * streamGenerateContent (`?alt=sse`: every `data:` a whole GenerateContentResponse) → Anthropic
 * stream events, one chunk at a time.
 * - The first chunk gives `message_start` (`msg_` + responseId, the modelVersion, its input tokens).
 * - Each chunk's parts go through the same BlockAssembler as a JSON answer, so blocks open and
 *   close one at a time and the final message equals the JSON one.
 * - The chunk with a finishReason ends the answer: `message_delta` (stop reason, the usage of the
 *   latest usageMetadata) and `message_stop`; anything after it is read but not shown.
 * - Failures throw, so the client's stream ends with `event: error`, never with `message_stop`: an
 *   error chunk, a chunk that is not JSON, a blocked prompt, a failed function call, and a body that
 *   ends before any finishReason (cut).
 */
export class GeminiStreamConverter {
  private started = false;
  private completed = false;
  private responseId: string | undefined;
  private usage: GeminiUsage | undefined;
  private readonly blocks: BlockAssembler;
  private readonly frames = new FrameQueue();

  constructor(private readonly ctx: StreamContext) {
    const sink: BlockSink = {
      start: (index, block) => this.frames.emit({ type: 'content_block_start', index, content_block: block }),
      delta: (index, delta) => this.frames.emit({ type: 'content_block_delta', index, delta }),
      stop: (index) => this.frames.emit({ type: 'content_block_stop', index }),
    };
    this.blocks = new BlockAssembler(sink, ctx.toolNames, () => this.responseId);
  }

  get complete(): boolean {
    return this.completed;
  }

  /** One SSE event's data → the Anthropic events it produces. */
  pushData(data: string): SseFrame[] {
    const trimmed = data.trim();
    if (trimmed === '' || this.completed) return [];
    let chunk: GeminiResponse;
    try {
      chunk = JSON.parse(trimmed) as GeminiResponse;
    } catch {
      throw this.failure(`the upstream sent a stream chunk that is not JSON: ${trimmed.slice(0, 200)}`);
    }
    if (!chunk || typeof chunk !== 'object' || Array.isArray(chunk)) throw this.failure('the upstream sent a stream chunk that is not an object');
    return this.push(chunk);
  }

  push(chunk: GeminiResponse): SseFrame[] {
    if (this.completed) return [];
    if (chunk.error) throw geminiStreamError(chunk.error, this.ctx.target);
    const candidate = chunk.candidates?.[0];
    if (!candidate && chunk.promptFeedback?.blockReason) throw promptBlocked(this.ctx.target, chunk.promptFeedback.blockReason, chunk.promptFeedback.blockReasonMessage);
    if (isFailedCall(candidate?.finishReason)) throw failedCall(this.ctx.target, candidate!.finishReason!, candidate!.finishMessage);
    if (chunk.usageMetadata) this.usage = chunk.usageMetadata;
    if (!this.started) this.startMessage(chunk);
    this.blocks.push(candidate?.content?.parts);
    if (candidate?.finishReason) this.finalize(candidate.finishReason);
    return this.frames.take();
  }

  /** The body ended: nothing more for a finished stream; a stream without a finishReason was cut (throws). */
  end(): SseFrame[] {
    if (this.completed) return [];
    if (!this.started) throw this.failure('the upstream stream ended before its first chunk');
    throw this.failure('the upstream stream ended before a finishReason (cut off)');
  }

  private startMessage(a: GeminiResponse): void {
    this.started = true;
    this.responseId = typeof a.responseId === 'string' ? a.responseId : undefined;
    const input = convertUsage(a.usageMetadata);
    this.frames.emit({
      type: 'message_start',
      message: {
        id: messageId(this.responseId),
        type: 'message',
        role: 'assistant',
        content: [],
        model: responseModel(a.modelVersion, this.ctx.target.model),
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: input.input_tokens, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: input.cache_read_input_tokens },
      },
    });
  }

  private finalize(finishReason: string): void {
    this.completed = true;
    this.blocks.finish();
    const stop = mapFinishReason(finishReason, { hasToolUse: this.blocks.hasToolUse });
    this.frames.emit({ type: 'message_delta', delta: stop, usage: convertUsage(this.usage) });
    this.frames.emit({ type: 'message_stop' });
  }

  private failure(what: string): GatewayError {
    return badUpstreamResponse(this.ctx.target, what);
  }
}
