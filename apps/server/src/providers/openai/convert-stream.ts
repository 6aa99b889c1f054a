import { JSON_STRING_PATTERN } from '../../contract/json-bytes.js';
import type { GatewayError } from '../../errors.js';
import type { ContentBlock, MessageStreamEvent } from '../../generated/types.gen.js';
import { MAX_UPSTREAM_ANSWER, type UpstreamTarget } from '../transport.js';
import type { SseFrame } from '../types.js';
import { convertUsage } from './convert-usage.js';
import { generateId, messageId } from './ids.js';
import { abortedGeneration, badResponse, invalidToolArguments, isAbortedFinish, openAIErrorInBody } from './map-error.js';
import { mapFinishReason, matchedStopSequence, stopTailLength } from './map-finish-reason.js';
import type { OpenAIChatChunk, OpenAIChunkDelta, OpenAIToolCallDelta, OpenAIUsage } from './openai-types.js';
import { StopSequenceWatch } from './stop-sequences.js';
import { argumentsText, ToolArguments } from './tool-arguments.js';
import type { ToolNameMap } from './tool-names.js';
import { FrameQueue } from '../translated/frames.js';

export interface StreamContext {
  target: UpstreamTarget;
  toolNames: ToolNameMap;
  /** The request's stop_sequences, to report which one matched. */
  stopSequences?: readonly string[];
  /** The stop sequences the upstream was not sent, which the gateway enforces itself (see stop-sequences.ts). */
  enforcedStops?: readonly string[];
}

interface ToolCallState {
  upstreamIndex: number;
  id?: string;
  name: string;
  /** Every argument fragment received so far, checked as it comes. */
  args: ToolArguments;
  /** The Anthropic block index once the block was opened. */
  block?: number;
  closed: boolean;
}

type OpenBlock = { kind: 'thinking' | 'text'; index: number } | { kind: 'tool'; index: number; call: ToolCallState };

/**
 * OpenAI chat.completion.chunk stream → Anthropic stream events, one chunk at a time.
 *
 * - `message_start` goes out with the first chunk that has an id (id `msg_` + the upstream id, the
 *   upstream's model), or with the first content if that comes sooner: Azure OpenAI opens its streams
 *   with a chunk whose id and model are empty. Nothing else is held. OpenAI reports usage only at the
 *   end, so its usage is all zeros; the final `message_delta` carries the whole usage, input tokens
 *   included (the SDK takes both from there).
 * - Blocks are opened and closed one at a time, indices 0..n-1: reasoning → a thinking block
 *   (signature ""), content → a text block, each tool call → its own tool_use block (`input: {}`, then
 *   `input_json_delta`s). Empty deltas open nothing.
 * - Parallel tool calls whose deltas interleave: the lowest-index call not yet shown is the open
 *   block and streams live; the arguments of the others are buffered and flushed, whole, when their
 *   block opens in index order. The open call's block is closed early only when its arguments are
 *   already a complete JSON object and a later call is waiting; otherwise at finish_reason. A new id
 *   at an index already used (Ollama, some vLLM builds number every call 0) is a new call. Text or
 *   reasoning that arrives after the first tool call is kept and shown after the tool blocks.
 * - Tool arguments are checked as they arrive (tool-arguments.ts, linear time): arguments that are
 *   not a JSON object (or an object sent as such, by llama.cpp's server, which is taken as its JSON)
 *   fail the stream, as they fail a JSON answer; so do unfinished arguments at a finish_reason other
 *   than `length`. Only a stream cut by the token limit may end inside a tool call's arguments.
 * - Stop sequences the gateway enforces (`enforcedStops`): text is held back only as far as it could
 *   still become one; when one completes, the text stops before it, the open block closes, and the
 *   rest of the upstream's answer is read (for its usage) but not shown; the stop reason is
 *   `stop_sequence`.
 * - `message_delta` (stop reason + usage) is held until the usage arrives after finish_reason, or
 *   until `[DONE]` / the end of the body; then `message_stop`.
 * - Failures throw a GatewayError, so the client stream ends with `event: error`, never with
 *   `message_stop`: an `{"error": ...}` chunk, a chunk that is not JSON (skipping it could drop part of
 *   the answer silently), a body that ends with neither finish_reason nor `[DONE]` (cut), and a
 *   finish_reason of `abort` or `error` (vLLM ends an aborted request so, with no error object).
 */
const JSON_SCALAR = String.raw`(?:${JSON_STRING_PATTERN}|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|null)`;
/** Top-level fields a text chunk may carry that mean nothing once message_start is out (usage only as null). */
const INERT_FIELD = String.raw`"(?:id|object|created|model|service_tier|system_fingerprint|obfuscation)":${JSON_SCALAR}|"usage":null`;
/** A text chunk up to its text: `{`, inert fields, `"choices":[{"index":0,"delta":{"content":`. */
const TEXT_CHUNK_HEAD = new RegExp(String.raw`^\{(?:(?:${INERT_FIELD}),)*"choices":\[\{"index":0,"delta":\{(?:"role":"assistant",)?"content":`);
/** The rest of it, read from where the head ended: the text, then nothing but inert fields. */
const TEXT_CHUNK_REST = new RegExp(String.raw`(${JSON_STRING_PATTERN})\}(?:,"logprobs":null)?,"finish_reason":null\}\](?:,(?:${INERT_FIELD}))*\}$`, 'y');

/**
 * Reads the text of a chunk that carries nothing but text, written compactly the way OpenAI, vLLM,
 * Ollama and llama.cpp write it (`{"id":…,"choices":[{"index":0,"delta":{"content":"…"},"logprobs":
 * null,"finish_reason":null}]}`, the inert fields in any order); undefined for any other chunk, which
 * is then parsed whole. The patterns are linear (no two alternatives match the same character) and
 * only literal key names match, so a chunk with any other field, an escaped key name or a second
 * choice never takes this path. Within a stream every text chunk starts the same way (same id,
 * model, created): a head proven once is compared, not matched again.
 */
export class PlainTextReader {
  private head = '';

  read(data: string): string | undefined {
    let from = this.head.length;
    // slice and === compare as memory does; startsWith here measured ten times slower
    if (from === 0 || data.slice(0, from) !== this.head) {
      const head = TEXT_CHUNK_HEAD.exec(data);
      if (!head) return undefined;
      this.head = head[0];
      from = head[0].length;
    }
    TEXT_CHUNK_REST.lastIndex = from;
    const rest = TEXT_CHUNK_REST.exec(data);
    if (!rest) return undefined;
    const raw = rest[1]!;
    return raw.includes('\\') ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }
}

/**
 * Tool calls one answer may open: far above what any model makes in a turn, and low enough that the
 * work per delta stays small. Past it the answer is a malformed one (502).
 */
export const MAX_STREAM_TOOL_CALLS = 1024;

/**
 * Characters the converter holds for one answer at most: every tool call's arguments (kept to check
 * and complete them) and the text and thinking that arrive after a tool call (shown once the calls
 * are). The same bound as one SSE event's; past it the answer is a malformed one (502).
 */
export const MAX_HELD_CHARS = MAX_UPSTREAM_ANSWER;

export class OpenAIStreamConverter {
  /** A chunk arrived (with or without an id). */
  private sawChunk = false;
  /** message_start was produced. */
  private started = false;
  /** The first non-empty id and model the upstream sent, for message_start. */
  private upstreamId: string | undefined;
  private upstreamModel: string | undefined;
  private completed = false;
  private nextBlock = 0;
  private open: OpenBlock | undefined;
  /** Tool calls in the order their blocks open. */
  private readonly calls: ToolCallState[] = [];
  /** The latest call seen at each upstream index. */
  private readonly callAtIndex = new Map<number, ToolCallState>();
  /** The first call with each id (for servers that send no index). */
  private readonly callById = new Map<string, ToolCallState>();
  /** Calls whose block is not open yet, and where in `calls` the first of them may be (none before it). */
  private unopened = 0;
  private firstUnopened = 0;
  /** Characters held: tool arguments, late text and thinking (MAX_HELD_CHARS). */
  private heldChars = 0;
  private readonly stopWatch: StopSequenceWatch | undefined;
  /** The enforced stop sequence that ended the text; the rest of the upstream's answer is not shown. */
  private gatewayStop: string | undefined;
  private finishReason: string | null | undefined;
  private finishSeen = false;
  private reportedStop: string | number | null | undefined;
  private usage: OpenAIUsage | undefined;
  private lateThinking = '';
  private lateText = '';
  private textTail = '';
  private readonly tailLength: number;
  private refused = false;
  private hasText = false;
  private readonly frames = new FrameQueue();
  private readonly plainText = new PlainTextReader();

  constructor(private readonly ctx: StreamContext) {
    this.tailLength = stopTailLength(ctx.stopSequences);
    this.stopWatch = ctx.enforcedStops && ctx.enforcedStops.length > 0 ? new StopSequenceWatch(ctx.enforcedStops) : undefined;
  }

  /** True once `message_stop` was produced. */
  get complete(): boolean {
    return this.completed;
  }

  /** An enforced stop sequence ended the answer: what the upstream still sends is read but not shown. */
  get discarding(): boolean {
    return this.gatewayStop !== undefined && !this.completed;
  }

  /** One SSE event's data from the upstream (a JSON chunk or `[DONE]`) → the events it produces. */
  pushData(data: string, event = 'message'): SseFrame[] {
    const trimmed = data.trim();
    if (trimmed === '[DONE]') return this.end('done');
    if (trimmed === '' || this.completed) return [];
    // The bulk of a stream: one more piece of text. Read without building the chunk's object; what it
    // does here is exactly what push() does with that chunk once message_start is out.
    if (this.started && !this.finishSeen && event !== 'error') {
      const text = this.plainText.read(trimmed);
      if (text !== undefined) {
        if (text && this.gatewayStop === undefined) this.appendText(text);
        return this.frames.take();
      }
    }
    let chunk: OpenAIChatChunk;
    try {
      chunk = JSON.parse(trimmed) as OpenAIChatChunk;
    } catch {
      throw this.failure(`the upstream sent a stream chunk that is not JSON: ${trimmed.slice(0, 200)}`);
    }
    if (event === 'error' && chunk && typeof chunk === 'object' && !chunk.error) throw openAIErrorInBody(chunk, this.ctx.target);
    return this.push(chunk);
  }

  /** One parsed chunk → the events it produces. */
  push(chunk: OpenAIChatChunk): SseFrame[] {
    if (this.completed) return [];
    if (!chunk || typeof chunk !== 'object') throw this.failure('the upstream sent a stream chunk that is not an object');
    if (chunk.error) throw openAIErrorInBody(chunk.error, this.ctx.target);
    this.sawChunk = true;
    if (!this.started) {
      if (!this.upstreamModel && typeof chunk.model === 'string' && chunk.model) this.upstreamModel = chunk.model;
      if (typeof chunk.id === 'string' && chunk.id) {
        this.upstreamId = chunk.id;
        this.start();
      }
    }
    const usage = chunk.usage ?? chunk.x_groq?.usage;
    if (usage) this.usage = usage;
    const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
    if (choice && !this.finishSeen) {
      if (choice.delta && this.gatewayStop === undefined) this.applyDelta(choice.delta);
      if (choice.stop_reason !== undefined && choice.stop_reason !== null) this.reportedStop = choice.stop_reason;
      if (choice.finish_reason) {
        if (isAbortedFinish(choice.finish_reason)) throw abortedGeneration(this.ctx.target, choice.finish_reason);
        this.finishSeen = true;
        this.finishReason = choice.finish_reason;
        this.closeAll();
      }
    }
    // Usage that came with or after finish_reason is final; earlier usage (servers that report running
    // totals) waits for the end of the stream.
    if (this.finishSeen && usage) this.finalize();
    return this.frames.take();
  }

  /**
   * The upstream stream ended: `done` for `[DONE]`, `eof` for the end of the HTTP body. A stream
   * that saw a finish_reason (or `[DONE]`) is finalised; one that saw neither was cut: throws.
   */
  end(how: 'done' | 'eof'): SseFrame[] {
    if (this.completed) return [];
    if (!this.sawChunk) throw this.failure('the upstream stream ended before its first chunk');
    if (!this.finishSeen && how === 'eof') throw this.failure('the upstream stream ended before finish_reason (cut off)');
    if (!this.finishSeen) {
      this.finishSeen = true;
      this.closeAll();
    }
    this.finalize();
    return this.frames.take();
  }

  /** message_start, once: with the upstream's id and model when it sent them by now. */
  private start(): void {
    if (this.started) return;
    this.started = true;
    this.frames.emit({
      type: 'message_start',
      message: {
        id: messageId(this.upstreamId),
        type: 'message',
        role: 'assistant',
        content: [],
        model: this.upstreamModel || this.ctx.target.model,
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    });
  }

  private applyDelta(delta: OpenAIChunkDelta): void {
    const reasoning = delta.reasoning_content || delta.reasoning;
    if (typeof reasoning === 'string' && reasoning) this.appendThinking(reasoning);
    if (typeof delta.content === 'string' && delta.content) this.appendText(delta.content);
    if (typeof delta.refusal === 'string' && delta.refusal) {
      if (!this.hasText) this.refused = true;
      this.appendText(delta.refusal);
    }
    if (Array.isArray(delta.tool_calls)) for (const d of delta.tool_calls) this.appendToolCall(d);
    if (delta.function_call) this.appendToolCall({ index: 0, function: delta.function_call });
  }

  private appendThinking(text: string): void {
    if (this.calls.length > 0) {
      this.hold(text.length);
      this.lateThinking += text;
      return;
    }
    this.ensureOpen('thinking');
    this.stringDelta('thinking_delta', 'thinking', text);
  }

  private appendText(text: string): void {
    this.hasText = true;
    const watch = this.stopWatch;
    const shown = watch ? watch.push(text) : text;
    if (shown) this.showText(shown);
    if (watch?.matched !== undefined) this.stopAt(watch.matched);
  }

  private showText(text: string): void {
    if (this.tailLength > 0) this.textTail = (this.textTail + text).slice(-this.tailLength);
    if (this.calls.length > 0) {
      this.hold(text.length);
      this.lateText += text;
      return;
    }
    this.ensureOpen('text');
    this.stringDelta('text_delta', 'text', text);
  }

  /** Text held back by the stop-sequence watch, once no sequence can complete any more. */
  private releaseHeldText(): void {
    const rest = this.stopWatch?.flush();
    if (rest) this.showText(rest);
  }

  /** An enforced stop sequence completed: the answer ends here; the upstream's rest is not shown. */
  private stopAt(sequence: string): void {
    this.gatewayStop = sequence;
    this.closeAll();
  }

  private appendToolCall(d: OpenAIToolCallDelta): void {
    const call = this.callFor(d);
    const fragment = argumentsText(d.function?.arguments);
    if (!fragment) {
      this.advanceTools();
      return;
    }
    const wasBlank = call.args.blank;
    this.hold(fragment.length);
    call.args.push(fragment);
    if (call.args.invalid) throw invalidToolArguments(this.ctx.target, call.id, call.name, call.args.text);
    // Whitespace alone is never sent: the SDK cannot read a tool input that is only whitespace.
    if (!call.closed && this.open?.kind === 'tool' && this.open.call === call && !call.args.blank) {
      this.stringDelta('input_json_delta', 'partial_json', wasBlank ? call.args.text : fragment);
    }
    this.advanceTools();
  }

  /**
   * The state of the call a delta belongs to; servers that omit `index` get one by id or order. A
   * new id at an index already taken by a call with another id starts a new call (Ollama numbers
   * every parallel call 0); it goes after the calls seen so far.
   */
  private callFor(d: OpenAIToolCallDelta): ToolCallState {
    let index = d.index;
    if (typeof index !== 'number') {
      const byId = d.id ? this.callById.get(d.id) : undefined;
      const last = this.calls[this.calls.length - 1];
      index = byId ? byId.upstreamIndex : d.id || !last ? this.calls.length : last.upstreamIndex;
    }
    let call = this.callAtIndex.get(index);
    const reused = call !== undefined && Boolean(d.id) && call.id !== undefined && call.id !== d.id;
    if (!call || reused) {
      // Text held back for the stop sequences ends before the first tool call.
      if (this.calls.length === 0) this.releaseHeldText();
      if (this.calls.length >= MAX_STREAM_TOOL_CALLS) throw this.failure(`the upstream's answer opened more than ${MAX_STREAM_TOOL_CALLS} tool calls`);
      call = { upstreamIndex: index, name: '', args: new ToolArguments(), closed: false };
      const at = reused ? -1 : this.calls.findIndex((c) => c.upstreamIndex > index);
      if (at === -1) this.calls.push(call);
      else {
        this.calls.splice(at, 0, call);
        if (at < this.firstUnopened) this.firstUnopened = at;
      }
      this.unopened++;
      this.callAtIndex.set(index, call);
    }
    if (d.id && !call.id) {
      call.id = d.id;
      if (!this.callById.has(d.id)) this.callById.set(d.id, call);
    }
    if (d.function?.name && !call.name) call.name = d.function.name;
    return call;
  }

  /** Opens tool blocks in index order as far as possible without ever mixing two calls. */
  private advanceTools(): void {
    for (;;) {
      const open = this.open;
      if (open?.kind === 'tool') {
        if (this.unopened === 0 || !open.call.args.complete) return;
        this.closeOpen();
        continue;
      }
      const next = this.nextUnopened();
      if (!next || !next.name) return;
      this.closeOpen();
      this.openTool(next);
    }
  }

  /** The first call in `calls` whose block is not open, if any. */
  private nextUnopened(): ToolCallState | undefined {
    if (this.unopened === 0) return undefined;
    while (this.calls[this.firstUnopened]!.block !== undefined) this.firstUnopened++;
    return this.calls[this.firstUnopened];
  }

  /** Counts `chars` more held for this answer; past MAX_HELD_CHARS the answer is refused as malformed. */
  private hold(chars: number): void {
    this.heldChars += chars;
    if (this.heldChars > MAX_HELD_CHARS) throw this.failure(`the upstream's answer holds more than ${MAX_HELD_CHARS} characters of tool arguments and text after them`);
  }

  private openTool(call: ToolCallState): void {
    this.start();
    const index = this.nextBlock++;
    call.block = index;
    this.unopened--;
    this.open = { kind: 'tool', index, call };
    this.frames.emit({
      type: 'content_block_start',
      index,
      content_block: { type: 'tool_use', id: call.id || generateId('toolu'), name: this.ctx.toolNames.fromUpstream(call.name), input: {} },
    });
    if (!call.args.blank) this.delta({ type: 'input_json_delta', partial_json: call.args.text });
  }

  private ensureOpen(kind: 'thinking' | 'text'): void {
    if (this.open?.kind === kind) return;
    this.start();
    this.closeOpen();
    const index = this.nextBlock++;
    this.open = { kind, index };
    const block: ContentBlock = kind === 'text' ? { type: 'text', text: '' } : { type: 'thinking', thinking: '', signature: '' };
    this.frames.emit({ type: 'content_block_start', index, content_block: block });
  }

  private closeOpen(): void {
    const open = this.open;
    if (!open) return;
    if (open.kind === 'tool') open.call.closed = true;
    this.frames.emit({ type: 'content_block_stop', index: open.index });
    this.open = undefined;
  }

  /**
   * At finish: the open block, every tool call not shown yet (in index order), then late text. Tool
   * arguments must be whole by now, unless the token limit (or an enforced stop sequence) cut them.
   */
  private closeAll(): void {
    this.releaseHeldText();
    this.closeOpen();
    const cut = this.finishReason === 'length' || this.gatewayStop !== undefined;
    for (const call of this.calls) {
      if (!cut && !call.args.blank && !call.args.complete) throw invalidToolArguments(this.ctx.target, call.id, call.name, call.args.text);
    }
    for (const call of this.calls) {
      if (call.block !== undefined) continue;
      this.openTool(call);
      this.closeOpen();
    }
    if (this.lateThinking) {
      this.ensureOpen('thinking');
      this.delta({ type: 'thinking_delta', thinking: this.lateThinking });
      this.closeOpen();
      this.lateThinking = '';
    }
    if (this.lateText) {
      this.ensureOpen('text');
      this.delta({ type: 'text_delta', text: this.lateText });
      this.closeOpen();
      this.lateText = '';
    }
  }

  private finalize(): void {
    if (this.completed) return;
    this.start();
    this.completed = true;
    const stop =
      this.gatewayStop !== undefined
        ? { stop_reason: 'stop_sequence' as const, stop_sequence: this.gatewayStop }
        : mapFinishReason(this.finishReason, {
            hasToolCalls: this.calls.length > 0,
            refused: this.refused,
            matchedStop: matchedStopSequence(this.ctx.stopSequences, this.reportedStop, this.textTail),
          });
    this.frames.emit({ type: 'message_delta', delta: stop, usage: convertUsage(this.usage) });
    this.frames.emit({ type: 'message_stop' });
  }

  private delta(delta: Extract<MessageStreamEvent, { type: 'content_block_delta' }>['delta']): void {
    this.frames.emit({ type: 'content_block_delta', index: this.open!.index, delta });
  }

  /**
   * A delta whose payload is one string field: the bulk of every stream. Written as the exact text
   * JSON.stringify gives for `{ type: 'content_block_delta', index, delta: { type, [field]: text } }`
   * (same keys, same order), without building and walking the object for each of dozens of deltas.
   */
  private stringDelta(type: 'text_delta' | 'thinking_delta' | 'input_json_delta', field: 'text' | 'thinking' | 'partial_json', text: string): void {
    this.frames.push({
      event: 'content_block_delta',
      data: `{"type":"content_block_delta","index":${this.open!.index},"delta":{"type":"${type}","${field}":${JSON.stringify(text)}}}`,
    });
  }

  private failure(what: string): GatewayError {
    return badResponse(this.ctx.target, what);
  }
}
