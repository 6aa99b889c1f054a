import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../../config/schema.js';
import type { CountTokensRequest, CreateMessageRequest } from '../../generated/types.gen.js';
import { SseParser, type ParsedSseEvent } from '../sse-parser.js';
import {
  createDispatcher,
  networkError,
  postJson,
  MAX_ERROR_BODY,
  readUpstreamText,
  transportTimeouts,
  type UpstreamResponse,
  type UpstreamTarget,
} from '../transport.js';
import type { AttemptContext, MessageResult, Provider, SseBatch, StreamResult } from '../types.js';
import { tryParseJson } from '../upstream-error.js';
import { convertRequest, type ConvertedRequest } from './convert-request.js';
import { convertResponse } from './convert-response.js';
import { OpenAIStreamConverter } from './convert-stream.js';
import { countTokens } from './count-tokens.js';
import { badResponse, openAIHttpError } from './map-error.js';
import type { OpenAIChatCompletion } from './openai-types.js';
import { DROPPABLE_PARAMS, RefusedParams, refusedParam } from './refused-params.js';
import { DROPPED_HEADER } from './unsupported.js';

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
  /** Fields this provider's models refused (see refused-params.ts). */
  private readonly refused = new RefusedParams();

  constructor(
    readonly name: string,
    readonly config: ProviderConfig,
    private readonly limits: { countTokensExactChars?: number } = {},
  ) {
    if (!config.base_url) throw new Error(`providers.${name}.base_url: required for type openai`);
    this.baseUrl = config.base_url.replace(/\/+$/, '');
    this.dispatcher = createDispatcher(transportTimeouts(config));
  }

  async createMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    const converted = this.convert(body, ctx, false);
    const target = this.target(ctx);
    const res = await this.post(converted, ctx);
    const completion = tryParseJson(await readUpstreamText(res, target, ctx.signal)) as OpenAIChatCompletion | undefined;
    if (!completion || typeof completion !== 'object' || !Array.isArray(completion.choices) || completion.choices.length === 0) {
      throw badResponse(target, 'the upstream answered with something that is not a chat completion');
    }
    const message = convertResponse(completion, { toolNames: converted.toolNames, stopSequences: body.stop_sequences, model: ctx.model });
    return { message, headers: droppedHeaders(converted) };
  }

  async streamMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    const converted = this.convert(body, ctx, true);
    const target = this.target(ctx);
    const res = await this.post(converted, ctx);
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) {
      res.body.release(true);
      throw badResponse(target, `expected an event stream, the upstream sent ${contentType || 'no content type'}`);
    }
    const converter = new OpenAIStreamConverter({ target, toolNames: converted.toolNames, stopSequences: body.stop_sequences });
    // Every frame comes from OpenAIStreamConverter.emit (JSON.stringify of the event).
    return { events: relayEvents(res.body, converter, target, ctx.signal), headers: droppedHeaders(converted), wellFormed: true };
  }

  /** A local count with the model's tokenizer: never a (billed) upstream call. */
  async countTokens(body: CountTokensRequest, ctx: AttemptContext): Promise<{ input_tokens: number }> {
    return { input_tokens: await countTokens(body, ctx.model, { exactChars: this.limits.countTokensExactChars, signal: ctx.signal }) };
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private convert(body: CreateMessageRequest, ctx: AttemptContext, stream: boolean): ConvertedRequest {
    const converted = convertRequest(body, {
      provider: this.name,
      model: ctx.model,
      stream,
      maxTokensField: this.config.max_tokens_field ?? 'max_completion_tokens',
      dropUnsupported: this.config.drop_unsupported,
      omitParams: this.config.omit_params,
      pdfFiles: this.config.pdf_files,
    });
    for (const name of this.refused.apply(ctx.model, converted.body)) converted.dropped.push(name);
    return converted;
  }

  private target(ctx: AttemptContext): UpstreamTarget {
    return { provider: this.name, model: ctx.model };
  }

  private url(model: string): string {
    const azure = this.config.azure;
    if (!azure) return `${this.baseUrl}/chat/completions`;
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
    // A model that refuses a field the translation added (reasoning_effort on gpt-4o, ...) is asked
    // again without it, once per field; the answer names what was left out (x-bf-dropped).
    for (let tries = 0; ; tries++) {
      const res = await postJson(this.dispatcher, this.url(ctx.model), headers, JSON.stringify(converted.body), ctx.signal, target);
      if (res.status >= 200 && res.status < 300) return res;
      const text = await readUpstreamText(res, target, ctx.signal, MAX_ERROR_BODY);
      const refused = tries < DROPPABLE_PARAMS.length ? refusedParam(res.status, text, converted.body) : undefined;
      if (refused === undefined) throw openAIHttpError(res, target, text);
      this.refused.learn(ctx.model, refused);
      delete (converted.body as unknown as Record<string, unknown>)[refused];
      converted.dropped.push(refused);
    }
  }
}

function droppedHeaders(converted: ConvertedRequest): Record<string, string> | undefined {
  return converted.dropped.length > 0 ? { [DROPPED_HEADER]: converted.dropped.join(', ') } : undefined;
}

/**
 * Upstream SSE → Anthropic events. A socket error, a cut body, an error chunk or a malformed chunk
 * throws (see OpenAIStreamConverter), so the client gets `event: error`, never `message_stop`.
 */
async function* relayEvents(
  body: UpstreamResponse['body'],
  converter: OpenAIStreamConverter,
  target: UpstreamTarget,
  signal: AbortSignal,
): AsyncGenerator<SseBatch> {
  const parser = new SseParser();
  try {
    // Leaving the loop at message_stop does not close the socket; finally drains it.
    for await (const chunk of body) {
      yield* convertAll(converter, parser.push(chunk));
      if (converter.complete) return;
    }
    yield* convertAll(converter, parser.flush(), true);
  } catch (err) {
    throw networkError(err, target, signal);
  } finally {
    // After message_stop only `[DONE]` is left: read it so the keep-alive connection can be reused.
    // Anything else (an error, the client leaving) closes the connection.
    body.release(converter.complete);
  }
}

/**
 * The Anthropic events of one upstream chunk, as one batch (none when it produced no event). When a
 * chunk fails to convert part-way, what it produced before the failure is still delivered, then the
 * failure is thrown. `atEnd`: the body is over, so the converter finishes (or finds the stream cut).
 */
function* convertAll(converter: OpenAIStreamConverter, events: readonly ParsedSseEvent[], atEnd = false): Generator<SseBatch> {
  const batch: SseBatch = [];
  let failure: unknown;
  try {
    for (const ev of events) for (const frame of converter.pushData(ev.data, ev.event)) batch.push(frame);
    if (atEnd) for (const frame of converter.end('eof')) batch.push(frame);
  } catch (err) {
    failure = err;
  }
  if (batch.length > 0) yield batch;
  if (failure !== undefined) throw failure;
}
