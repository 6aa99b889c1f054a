import type { MessageStreamEvent } from '../../generated/types.gen.js';
import type { SseFrame } from '../types.js';

/**
 * The Anthropic events a translated stream (OpenAI, Gemini, Bedrock Converse) has produced from the
 * upstream chunk at hand, handed on as one batch.
 */
export class FrameQueue {
  private frames: SseFrame[] = [];

  /** An event, serialised as Anthropic sends it. */
  emit(event: MessageStreamEvent): void {
    this.frames.push({ event: event.type, data: JSON.stringify(event), value: event });
  }

  /** A frame serialised already (a delta written without building its object). */
  push(frame: SseFrame): void {
    this.frames.push(frame);
  }

  /** The frames since the last take. */
  take(): SseFrame[] {
    const frames = this.frames;
    this.frames = [];
    return frames;
  }
}
