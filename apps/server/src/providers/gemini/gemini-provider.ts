import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../../config/schema.js';
import type { CountTokensRequest, CreateMessageRequest } from '../../generated/types.gen.js';
import { MemoryModelFacts, type ModelFacts } from '../../state/model-facts.js';
import { MAX_TOKENS_CLAMPED_HEADER } from '../openai/openai-provider.js';
import { droppedHeaders } from '../openai/unsupported.js';
import { SseParser } from '../sse-parser.js';
import {
  createDispatcher,
  MAX_ERROR_BODY,
  networkError,
  postJson,
  readUpstreamText,
  transportOptions,
  type UpstreamResponse,
  type UpstreamTarget,
} from '../transport.js';
import type { AttemptContext, MessageResult, Provider, SseBatch, StreamResult } from '../types.js';
import { badUpstreamResponse, tryParseJson } from '../upstream-error.js';
import { convertCountTokensInput, convertRequest, type ConvertedRequest } from './convert-request.js';
import { convertResponse } from './convert-response.js';
import { GeminiStreamConverter } from './convert-stream.js';
import { GeminiApiEndpoint, VertexGeminiEndpoint, type GeminiEndpoint, type GeminiMethod } from './endpoint.js';
import type { GeminiResponse } from './gemini-types.js';
import { geminiHttpError, geminiStreamError } from './map-error.js';
import { geminiModelIdProblem } from './model-id.js';
import { geminiOutputLimit } from './output-limit.js';
import type { CancelSignal } from '../../cancel.js';

/**
 * Google Gemini, natively: generateContent and streamGenerateContent on the Gemini API (an API
 * key), or on Vertex AI (`vertex:`, OAuth). The request is translated from Anthropic Messages and
 * the answer (JSON or stream) back, by the pure functions beside this file; thought signatures
 * travel in thinking blocks (thought-signatures.ts). The credential is always the provider's own.
 */
export class GeminiProvider implements Provider {
  readonly type = 'gemini' as const;
  readonly ownCredentials = true;
  private readonly dispatcher: Dispatcher;
  private readonly endpoint: GeminiEndpoint;

  private readonly facts: ModelFacts;

  constructor(
    readonly name: string,
    readonly config: ProviderConfig,
    /** The most output tokens each model takes, learnt from its refusals (state/model-facts.ts; shared with Redis). */
    facts: ModelFacts | undefined = undefined,
  ) {
    this.facts = facts ?? new MemoryModelFacts();
    const timeouts = transportOptions(config);
    this.dispatcher = createDispatcher(timeouts);
    this.endpoint = config.vertex ? new VertexGeminiEndpoint(config, config.vertex, name, timeouts.connectMs) : new GeminiApiEndpoint(config);
  }

  checkModel(model: string): string | undefined {
    return geminiModelIdProblem(model);
  }

  async createMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    const converted = this.convert(body, ctx);
    const target = this.target(ctx);
    const res = await this.generate('generateContent', converted, ctx);
    const parsed = tryParseJson(await readUpstreamText(res, target, ctx.signal)) as GeminiResponse | undefined;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badUpstreamResponse(target, 'the upstream answered with something that is not a GenerateContentResponse');
    const message = convertResponse(parsed, { target, toolNames: converted.toolNames });
    return { message, headers: resultHeaders(converted) };
  }

  async streamMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    const converted = this.convert(body, ctx);
    const target = this.target(ctx);
    const res = await this.generate('streamGenerateContent', converted, ctx);
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) {
      const error = (tryParseJson(await readUpstreamText(res, target, ctx.signal, MAX_ERROR_BODY)) as { error?: unknown } | undefined)?.error;
      if (error) throw geminiStreamError(error, target);
      throw badUpstreamResponse(target, `expected an event stream, the upstream sent ${contentType || 'no content type'}`);
    }
    const converter = new GeminiStreamConverter({ target, toolNames: converted.toolNames });
    // Every frame comes from GeminiStreamConverter.emit (JSON.stringify of the event).
    return { events: relayStream(res.body, converter, target, ctx.signal), headers: resultHeaders(converted), wellFormed: true };
  }

  /** Gemini's countTokens (never billed), with the contents, system instruction and tools a completion would send. */
  async countTokens(body: CountTokensRequest, ctx: AttemptContext): Promise<{ input_tokens: number }> {
    const target = this.target(ctx);
    const res = await this.post('countTokens', this.endpoint.countTokensBody(convertCountTokensInput(body), ctx.model), ctx);
    const parsed = tryParseJson(await readUpstreamText(res, target, ctx.signal));
    if (!parsed || typeof parsed.totalTokens !== 'number') throw badUpstreamResponse(target, 'the upstream countTokens answer has no totalTokens');
    return { input_tokens: parsed.totalTokens };
  }

  close(): Promise<void> {
    return Promise.all([this.dispatcher.close(), this.endpoint.close()]).then(() => undefined);
  }

  /** The converted request, its max tokens lowered to what the model was found to take. */
  private convert(body: CreateMessageRequest, ctx: AttemptContext): Converted {
    const converted: Converted = convertRequest(body, { provider: this.name, model: ctx.model, dropUnsupported: this.config.drop_unsupported });
    const limit = this.facts.outputLimit(ctx.model);
    const config = converted.body.generationConfig!;
    if (limit !== undefined && (config.maxOutputTokens ?? 0) > limit) converted.clampedMaxTokens = config.maxOutputTokens = limit;
    return converted;
  }

  /**
   * generateContent or the stream. A max tokens above what the model produces is refused with the
   * model's range: the request goes once more with max tokens lowered to it, the model's limit is
   * remembered (later requests are lowered from the start), and the answer says so in
   * x-bf-max-tokens-clamped.
   */
  private async generate(method: GeminiMethod, converted: Converted, ctx: AttemptContext): Promise<UpstreamResponse> {
    const config = converted.body.generationConfig!;
    for (let clamped = false; ; clamped = true) {
      const res = await this.send(method, converted.body, ctx);
      if (res.status >= 200 && res.status < 300) return res;
      const target = this.target(ctx);
      const text = await readUpstreamText(res, target, ctx.signal, MAX_ERROR_BODY);
      const limit = clamped ? undefined : geminiOutputLimit(res.status, text, config.maxOutputTokens ?? 0);
      if (limit === undefined) throw this.failure(res, text, ctx);
      this.facts.learnOutputLimit(ctx.model, limit);
      converted.clampedMaxTokens = config.maxOutputTokens = limit;
    }
  }

  private async post(method: GeminiMethod, payload: unknown, ctx: AttemptContext): Promise<UpstreamResponse> {
    const res = await this.send(method, payload, ctx);
    if (res.status >= 200 && res.status < 300) return res;
    throw this.failure(res, await readUpstreamText(res, this.target(ctx), ctx.signal, MAX_ERROR_BODY), ctx);
  }

  private async send(method: GeminiMethod, payload: unknown, ctx: AttemptContext): Promise<UpstreamResponse> {
    const headers = await this.endpoint.headers(ctx);
    if (method === 'streamGenerateContent') headers.accept = 'text/event-stream';
    return postJson(this.dispatcher, this.endpoint.url(ctx.model, method), headers, JSON.stringify(payload), ctx.signal, this.target(ctx));
  }

  private failure(res: UpstreamResponse, text: string, ctx: AttemptContext): Error {
    if (res.status === 401) this.endpoint.refused();
    return geminiHttpError(res, text, this.target(ctx));
  }

  private target(ctx: AttemptContext): UpstreamTarget {
    return { provider: this.name, model: ctx.model };
  }
}

/** A converted request, and the max tokens sent when the client's was above what the model takes. */
type Converted = ConvertedRequest & { clampedMaxTokens?: number };

function resultHeaders(converted: Converted): Record<string, string> | undefined {
  const headers: Record<string, string> = {};
  Object.assign(headers, droppedHeaders(converted.dropped));
  if (converted.clampedMaxTokens !== undefined) headers[MAX_TOKENS_CLAMPED_HEADER] = String(converted.clampedMaxTokens);
  return Object.keys(headers).length > 0 ? headers : undefined;
}

/** Gemini's SSE → Anthropic events. Errors, malformed chunks and cuts throw (the client gets `event: error`). */
async function* relayStream(body: UpstreamResponse['body'], converter: GeminiStreamConverter, target: UpstreamTarget, signal: CancelSignal): AsyncGenerator<SseBatch> {
  const parser = new SseParser();
  try {
    for await (const chunk of body) {
      yield* convertAll(converter, parser.push(chunk).map((e) => e.data));
      if (converter.complete) return;
    }
    yield* convertAll(converter, parser.flush().map((e) => e.data), true);
  } catch (err) {
    throw networkError(err, target, signal);
  } finally {
    // After the finishReason nothing is left but the end of the body: read it so the connection can be reused.
    body.release(converter.complete);
  }
}

/** The events of one upstream read as one batch; what came before a failure is still delivered, then the failure thrown. */
function* convertAll(converter: GeminiStreamConverter, data: readonly string[], atEnd = false): Generator<SseBatch> {
  const batch: SseBatch = [];
  let failure: unknown;
  try {
    for (const d of data) for (const frame of converter.pushData(d)) batch.push(frame);
    if (atEnd) for (const frame of converter.end()) batch.push(frame);
  } catch (err) {
    failure = err;
  }
  if (batch.length > 0) yield batch;
  if (failure !== undefined) throw failure;
}
