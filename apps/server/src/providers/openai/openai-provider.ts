import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../../config/schema.js';
import type { CountTokensRequest, CreateMessageRequest } from '../../generated/types.gen.js';
import { pathSegmentProblem } from '../path-segment.js';
import { SseParser, type ParsedSseEvent } from '../sse-parser.js';
import {
  createDispatcher,
  postJson,
  MAX_ERROR_BODY,
  readUpstreamText,
  transportOptions,
  type UpstreamBody,
  type UpstreamResponse,
  type UpstreamTarget,
} from '../transport.js';
import { ChunkRelay, type ChunkDecoder } from '../chunk-relay.js';
import type { AttemptContext, MessageResult, Provider, SseBatch, SseFrame, StreamResult } from '../types.js';
import { tryParseJson } from '../upstream-error.js';
import { convertRequest, type ConvertedRequest } from './convert-request.js';
import { convertResponse } from './convert-response.js';
import { OpenAIStreamConverter } from './convert-stream.js';
import { countTokens } from './count-tokens.js';
import { badResponse, openAIErrorInBody, openAIHttpError } from './map-error.js';
import { MemoryModelFacts, type ModelFacts } from '../../state/model-facts.js';
import { configuredContinuation } from '../../config/continuation.js';
import type { OpenAIChatCompletion } from './openai-types.js';
import { outputLimitFromError } from './output-limit.js';
import { REFUSABLE_PARAMS, refusedParam } from './refused-params.js';
import { droppedHeaders } from './unsupported.js';
import { requestBytes } from './request-bytes.js';
import type { CancelSignal } from '../../cancel.js';

/** The response header that reports a max_tokens lowered to what the model takes. */
export const MAX_TOKENS_CLAMPED_HEADER = 'x-bf-max-tokens-clamped';

/**
 * While an enforced stop sequence has ended the answer and the rest is read for its usage only, a
 * ping goes out this often (at most), well within the stream's idle limit (`timeouts.idle_ms`).
 */
function discardPingMs(config: ProviderConfig): number {
  return Math.max(10, Math.min(5_000, Math.floor((config.timeouts?.idle_ms ?? 120_000) / 3)));
}

/**
 * OpenAI Chat Completions and every compatible server (Groq, Mistral, DeepSeek, vLLM, Ollama ...),
 * and Azure OpenAI when `azure` is set. The request is translated from Anthropic Messages, the answer
 * (JSON or stream) back to Anthropic; the conversions are the pure functions beside this file.
 *
 * Credentials: the provider's own keys only (`Authorization: Bearer`, or `api-key` for Azure). A
 * provider without keys sends no credential (local servers); the client's gateway credential is never
 * passed to an OpenAI-type upstream.
 */
export class OpenAIProvider implements Provider {
  readonly type = 'openai' as const;
  private readonly dispatcher: Dispatcher;
  private readonly baseUrl: string;
  /** Where continuation requests go (config `continuation_base_url`, else the base URL). */
  private readonly continuationBaseUrl: string;

  private readonly facts: ModelFacts;
  private readonly countTokensExactChars: number | undefined;

  constructor(
    readonly name: string,
    readonly config: ProviderConfig,
    opts: {
      /** What this provider's models refused or limit, learnt from their answers (model-facts.ts). */
      facts?: ModelFacts;
      /** Characters of a count_tokens request counted exactly; the rest is estimated (limits.count_tokens_exact_chars). */
      countTokensExactChars?: number;
    } = {},
  ) {
    this.facts = opts.facts ?? new MemoryModelFacts();
    this.countTokensExactChars = opts.countTokensExactChars;
    if (!config.base_url) throw new Error(`providers.${name}.base_url: required for type openai`);
    this.baseUrl = config.base_url.replace(/\/+$/, '');
    this.continuationBaseUrl = (config.continuation_base_url ?? config.base_url).replace(/\/+$/, '');
    this.dispatcher = createDispatcher(transportOptions(config));
  }

  async createMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    const converted = this.convert(body, ctx, false);
    const target = this.target(ctx);
    const res = await this.post(converted, ctx);
    const completion = tryParseJson(await readUpstreamText(res, target, ctx.signal)) as OpenAIChatCompletion | undefined;
    if (!completion || typeof completion !== 'object' || !Array.isArray(completion.choices) || completion.choices.length === 0) {
      // OpenRouter reports a failure after the request was accepted as a 200 whose body is an error.
      if (completion && typeof completion === 'object' && completion.error) throw openAIErrorInBody(completion.error, target);
      throw badResponse(target, 'the upstream answered with something that is not a chat completion');
    }
    const message = convertResponse(completion, {
      toolNames: converted.toolNames,
      stopSequences: converted.stopSequences,
      enforcedStops: enforcedStops(converted),
      target,
    });
    return { message, headers: resultHeaders(converted) };
  }

  async streamMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    const converted = this.convert(body, ctx, true);
    const target = this.target(ctx);
    const res = await this.post(converted, ctx);
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) {
      // A 200 that is not a stream may be an error in the body (OpenRouter): its status and message.
      const error = (tryParseJson(await readUpstreamText(res, target, ctx.signal, MAX_ERROR_BODY)) as { error?: unknown } | undefined)?.error;
      if (error) throw openAIErrorInBody(error, target);
      throw badResponse(target, `expected an event stream, the upstream sent ${contentType || 'no content type'}`);
    }
    const converter = new OpenAIStreamConverter({
      target,
      toolNames: converted.toolNames,
      stopSequences: converted.stopSequences,
      enforcedStops: enforcedStops(converted),
    });
    // Every frame comes from OpenAIStreamConverter.emit (JSON.stringify of the event).
    return { events: relayEvents(res.body, converter, target, ctx.signal, discardPingMs(this.config)), headers: resultHeaders(converted), wellFormed: true };
  }

  /** A local count with the model's tokenizer: never a (billed) upstream call. */
  async countTokens(body: CountTokensRequest, ctx: AttemptContext): Promise<{ input_tokens: number }> {
    return { input_tokens: await countTokens(body, ctx.model, { exactChars: this.countTokensExactChars, signal: ctx.signal }) };
  }

  /** Azure puts the deployment (the model part of "provider/model" when `azure.deployment` is unset) in the URL's path. */
  checkModel(model: string): string | undefined {
    if (!this.config.azure || this.config.azure.deployment !== undefined) return undefined;
    return pathSegmentProblem(model, 'an Azure deployment');
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private convert(body: CreateMessageRequest, ctx: AttemptContext, stream: boolean): ConvertedRequest {
    const refused = this.facts.refusedParams(ctx.model);
    const converted = convertRequest(body, {
      provider: this.name,
      model: ctx.model,
      stream,
      maxTokensField: this.config.max_tokens_field ?? 'max_completion_tokens',
      dropUnsupported: this.config.drop_unsupported,
      omitParams: this.config.omit_params,
      pdfFiles: this.config.pdf_files,
      reasoningContent: this.config.reasoning_content,
      stopTaken: !refused.has('stop'),
      outputLimit: this.facts.outputLimit(ctx.model),
      continuation: ctx.continuation ? continuationOf(this.config) : undefined,
    });
    // What this model refused before is left out from the start (stop was never added).
    const fields = converted.body as unknown as Record<string, unknown>;
    for (const name of refused) {
      if (name === 'stop' || fields[name] === undefined) continue;
      delete fields[name];
      converted.dropped.push(name);
    }
    return converted;
  }

  private target(ctx: AttemptContext): UpstreamTarget {
    return { provider: this.name, model: ctx.model };
  }

  private url(model: string, continuation = false): string {
    const azure = this.config.azure;
    if (!azure) return `${continuation ? this.continuationBaseUrl : this.baseUrl}/chat/completions`;
    const deployment = encodeURIComponent(azure.deployment ?? model);
    return `${this.baseUrl}/openai/deployments/${deployment}/chat/completions?api-version=${encodeURIComponent(azure.api_version)}`;
  }

  private async post(converted: ConvertedRequest, ctx: AttemptContext): Promise<UpstreamResponse> {
    const headers: Record<string, string> = {
      ...this.config.headers,
      'content-type': 'application/json',
      accept: converted.body.stream ? 'text/event-stream' : 'application/json',
    };
    if (ctx.key.value !== undefined) {
      if (this.config.azure) headers['api-key'] = ctx.key.value;
      else headers.authorization = `Bearer ${ctx.key.value}`;
    }
    const target = this.target(ctx);
    const field = this.config.max_tokens_field ?? 'max_completion_tokens';
    // A 400 that a changed request would pass is answered by asking again, once per cause, and
    // remembered for the model:
    // - a field the translation added that the model refuses (reasoning_effort on gpt-4o, stop on
    //   o3, ...) is left out (x-bf-dropped names it; stop sequences move to the gateway);
    // - max tokens above what the model produces is lowered to its limit (x-bf-max-tokens-clamped).
    let clamped = false;
    for (let tries = 0; ; tries++) {
      const res = await postJson(this.dispatcher, this.url(ctx.model, ctx.continuation), headers, requestBytes(converted.body, converted.toolsSource), ctx.signal, target);
      if (res.status >= 200 && res.status < 300) return res;
      const text = await readUpstreamText(res, target, ctx.signal, MAX_ERROR_BODY);
      if (tries > REFUSABLE_PARAMS.length) throw openAIHttpError(res, target, text);
      const refused = refusedParam(res.status, text, converted.body);
      if (refused !== undefined) {
        this.facts.learnRefusedParam(ctx.model, refused);
        delete (converted.body as unknown as Record<string, unknown>)[refused];
        if (refused !== 'stop') converted.dropped.push(refused);
        continue;
      }
      const requested = converted.body[field];
      const limit = !clamped && typeof requested === 'number' ? outputLimitFromError(res.status, text, requested) : undefined;
      if (limit === undefined) throw openAIHttpError(res, target, text);
      clamped = true;
      if (limit.ofModel) this.facts.learnOutputLimit(ctx.model, limit.limit);
      converted.body[field] = limit.limit;
      converted.clampedMaxTokens = limit.limit;
    }
  }
}

/** How this server continues an answer; the router only asks one that can (`none` never gets here). */
function continuationOf(config: ProviderConfig): 'assistant_prefill' | 'prefix' | 'continue_final_message' {
  const mode = configuredContinuation(config);
  return mode === 'none' ? 'assistant_prefill' : mode;
}

/** The stop sequences the gateway enforces: those in effect, less those the upstream was sent. */
function enforcedStops(converted: ConvertedRequest): string[] {
  const sent = converted.body.stop ?? [];
  return converted.stopSequences.filter((s) => !sent.includes(s));
}

function resultHeaders(converted: ConvertedRequest): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  Object.assign(headers, droppedHeaders(converted.dropped));
  if (converted.clampedMaxTokens !== undefined) headers[MAX_TOKENS_CLAMPED_HEADER] = String(converted.clampedMaxTokens);
  return Object.keys(headers).length > 0 ? headers : undefined;
}

/**
 * Upstream SSE → Anthropic events. A socket error, a cut body, an error chunk or a malformed chunk
 * throws (see OpenAIStreamConverter), so the client gets `event: error`, never `message_stop`.
 */
function relayEvents(
  body: UpstreamBody,
  converter: OpenAIStreamConverter,
  target: UpstreamTarget,
  signal: CancelSignal,
  pingEveryMs: number,
): AsyncIterableIterator<SseBatch> {
  return new ChunkRelay(body, new OpenAISse(converter, pingEveryMs), target, signal);
}

const PING_FRAME: SseFrame = { event: 'ping', data: '{"type":"ping"}' };

/**
 * The Anthropic events of each upstream chunk. When a chunk fails to convert part-way, what it
 * produced before the failure is still delivered (ChunkRelay), then the failure is thrown. After
 * message_stop only `[DONE]` is left, which ChunkRelay drains so the connection can be reused.
 */
class OpenAISse implements ChunkDecoder {
  private readonly parser = new SseParser();
  private lastEvent = Date.now();

  constructor(
    private readonly converter: OpenAIStreamConverter,
    private readonly pingEveryMs: number,
  ) {}

  get complete(): boolean {
    return this.converter.complete;
  }

  chunk(bytes: Buffer, out: SseFrame[]): void {
    this.convert(this.parser.push(bytes), out);
    const now = Date.now();
    if (out.length > 0) this.lastEvent = now;
    // The answer ended at an enforced stop sequence and the rest is read for its usage only: pings
    // show the stream is alive meanwhile (the guard's idle timer counts events, not bytes).
    else if (this.converter.discarding && !this.converter.complete && now - this.lastEvent >= this.pingEveryMs) {
      this.lastEvent = now;
      out.push(PING_FRAME);
    }
  }

  end(out: SseFrame[]): void {
    this.convert(this.parser.flush(), out);
    for (const frame of this.converter.end('eof')) out.push(frame);
  }

  private convert(events: readonly ParsedSseEvent[], out: SseFrame[]): void {
    for (const ev of events) for (const frame of this.converter.pushData(ev.data, ev.event)) out.push(frame);
  }
}
