import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../../config/schema.js';
import type { CountTokensRequest, CreateMessageRequest } from '../../generated/types.gen.js';
import { createDispatcher, readUpstreamText, transportOptions, type RequestBytes } from '../transport.js';
import type { AttemptContext, MessageResult, Provider, StreamResult } from '../types.js';
import { badUpstreamResponse, tryParseJson } from '../upstream-error.js';
import { AnthropicBatchesApi } from './anthropic-batches.js';
import { anthropicHttpError } from './anthropic-error.js';
import { AnthropicMessages } from './anthropic-messages.js';
import type { AnthropicEnvelope, EnvelopeRequest } from './envelope.js';
import { relaySse } from './relay-sse.js';
import { nativeUpstreamBody } from './upstream-body.js';

export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/** The native provider: the request goes upstream as the client sent it, the answer comes back as it is. */
export class AnthropicProvider implements Provider {
  readonly type = 'anthropic' as const;
  private readonly dispatcher: Dispatcher;
  private readonly envelope: NativeEnvelope;
  private readonly messages: AnthropicMessages;
  /** Anthropic's own Message Batches API, for batches passed through (`batches: native`). */
  readonly batches: AnthropicBatchesApi;

  constructor(
    readonly name: string,
    readonly config: ProviderConfig,
  ) {
    const baseUrl = (config.base_url ?? DEFAULT_ANTHROPIC_BASE_URL).replace(/\/+$/, '').replace(/\/v1$/, '');
    this.dispatcher = createDispatcher(transportOptions(config));
    this.envelope = new NativeEnvelope(baseUrl, config.headers);
    this.messages = new AnthropicMessages(name, this.dispatcher, this.envelope);
    this.batches = new AnthropicBatchesApi(name, baseUrl, this.dispatcher, config.headers, config.keys);
  }

  createMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    return this.messages.create(body, ctx);
  }

  streamMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    return this.messages.stream(body, ctx);
  }

  async countTokens(body: CountTokensRequest, ctx: AttemptContext): Promise<{ input_tokens: number }> {
    const req = this.envelope.request('/v1/messages/count_tokens', JSON.stringify({ ...body, model: ctx.model }), ctx);
    const res = await this.messages.send(req, ctx);
    const target = { provider: this.name, model: ctx.model };
    const parsed = tryParseJson(await readUpstreamText(res, target, ctx.signal));
    if (!parsed || typeof parsed.input_tokens !== 'number') {
      throw badUpstreamResponse(target, 'the upstream count_tokens answer has no input_tokens');
    }
    return { input_tokens: parsed.input_tokens };
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}

/**
 * Anthropic's own API: `{base}/v1/messages` with the client's `anthropic-*` headers, and the
 * provider's key, or the client's own credential when the provider has none.
 */
class NativeEnvelope implements AnthropicEnvelope {
  readonly streamContentType = 'text/event-stream';
  readonly decodeStream = relaySse;
  readonly httpError = anthropicHttpError;

  constructor(
    private readonly baseUrl: string,
    private readonly extraHeaders: Record<string, string>,
  ) {}

  messageRequest(body: CreateMessageRequest, ctx: AttemptContext, stream: boolean): EnvelopeRequest {
    return this.request('/v1/messages', nativeUpstreamBody(body, ctx.model, stream), ctx);
  }

  request(path: string, body: RequestBytes, ctx: AttemptContext): EnvelopeRequest {
    const headers: Record<string, string> = {
      ...ctx.clientHeaders.anthropicOther,
      ...this.extraHeaders,
      'content-type': 'application/json',
      accept: 'application/json',
      'anthropic-version': ctx.clientHeaders.anthropicVersion ?? DEFAULT_ANTHROPIC_VERSION,
    };
    if (ctx.clientHeaders.anthropicBeta) headers['anthropic-beta'] = ctx.clientHeaders.anthropicBeta;
    const forwarded = ctx.clientHeaders.credential;
    if (ctx.key.value !== undefined) headers['x-api-key'] = ctx.key.value;
    else if (forwarded?.kind === 'x-api-key') headers['x-api-key'] = forwarded.secret;
    else if (forwarded?.kind === 'bearer') headers.authorization = `Bearer ${forwarded.secret}`;
    return { url: this.baseUrl + path, headers, body };
  }
}
