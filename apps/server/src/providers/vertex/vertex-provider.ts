import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../../config/schema.js';
import type { GatewayError } from '../../errors.js';
import type { CountTokensRequest, CreateMessageRequest } from '../../generated/types.gen.js';
import { AnthropicMessages } from '../anthropic/anthropic-messages.js';
import type { AnthropicEnvelope, EnvelopeRequest } from '../anthropic/envelope.js';
import { relaySse } from '../anthropic/relay-sse.js';
import { toEnvelopeBody } from '../anthropic/upstream-body.js';
import { createGoogleTokenSource, type GoogleTokenSource } from '../google-auth/token-source.js';
import { createDispatcher, readUpstreamText, transportOptions, type UpstreamResponse, type UpstreamTarget } from '../transport.js';
import type { AttemptContext, MessageResult, Provider, StreamResult } from '../types.js';
import { badUpstreamResponse, tryParseJson } from '../upstream-error.js';
import { vertexHttpError } from './map-error.js';
import { vertexBaseUrl, vertexModelIdProblem } from './model-id.js';

export const VERTEX_ANTHROPIC_VERSION = 'vertex-2023-10-16';

/**
 * Claude on Google Vertex AI: the anthropic adapter's Messages calls in Vertex's envelope
 * (VertexEnvelope), with an OAuth access token from the provider's service account or the
 * application default credentials. Never the client's credential.
 */
export class VertexProvider implements Provider {
  readonly type = 'vertex' as const;
  readonly ownCredentials = true;
  private readonly dispatcher: Dispatcher;
  private readonly tokens: GoogleTokenSource;
  private readonly envelope: VertexEnvelope;
  private readonly messages: AnthropicMessages;

  constructor(
    readonly name: string,
    readonly config: ProviderConfig,
  ) {
    if (!config.project || !config.region) throw new Error(`providers.${name}: project and region are required for type vertex`);
    const timeouts = transportOptions(config);
    this.dispatcher = createDispatcher(timeouts);
    this.tokens = createGoogleTokenSource({ credentialsFile: config.credentials_file, provider: name, connectMs: timeouts.connectMs });
    const base = (config.base_url ?? vertexBaseUrl(config.region)).replace(/\/+$/, '').replace(/\/v1$/, '');
    this.envelope = new VertexEnvelope(`${base}/v1/projects/${config.project}/locations/${config.region}/publishers/anthropic/models`, config.headers, this.tokens);
    this.messages = new AnthropicMessages(name, this.dispatcher, this.envelope);
  }

  checkModel(model: string): string | undefined {
    return vertexModelIdProblem(model);
  }

  createMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    return this.messages.create(body, ctx);
  }

  streamMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    return this.messages.stream(body, ctx);
  }

  /** Vertex's count-tokens endpoint (`.../models/count-tokens:rawPredict`), which takes the model in the body. */
  async countTokens(body: CountTokensRequest, ctx: AttemptContext): Promise<{ input_tokens: number }> {
    const payload = toEnvelopeBody(body, { anthropic_version: VERTEX_ANTHROPIC_VERSION, model: ctx.model });
    const res = await this.messages.send(await this.envelope.request('count-tokens:rawPredict', payload, ctx), ctx);
    const target = { provider: this.name, model: ctx.model };
    const parsed = tryParseJson(await readUpstreamText(res, target, ctx.signal));
    if (!parsed || typeof parsed.input_tokens !== 'number') throw badUpstreamResponse(target, 'the upstream count-tokens answer has no input_tokens');
    return { input_tokens: parsed.input_tokens };
  }

  async close(): Promise<void> {
    await Promise.all([this.dispatcher.close(), this.tokens.close()]);
  }
}

/**
 * Vertex's envelope: `{models}/{model}:rawPredict` (or `:streamRawPredict`, whose answer is
 * Anthropic's SSE as it is), the body without `model`, with `anthropic_version: vertex-2023-10-16`
 * (and `stream: true` for streams), the client's betas as the `anthropic-beta` header, and the
 * provider's OAuth token. A 401 makes the token be fetched anew on the next attempt.
 */
class VertexEnvelope implements AnthropicEnvelope {
  readonly streamContentType = 'text/event-stream';
  readonly decodeStream = relaySse;

  constructor(
    private readonly modelsUrl: string,
    private readonly extraHeaders: Record<string, string>,
    private readonly tokens: GoogleTokenSource,
  ) {}

  async messageRequest(body: CreateMessageRequest, ctx: AttemptContext, stream: boolean): Promise<EnvelopeRequest> {
    const payload = toEnvelopeBody(body, { anthropic_version: VERTEX_ANTHROPIC_VERSION, stream: stream ? true : undefined });
    return this.request(`${ctx.model}:${stream ? 'streamRawPredict' : 'rawPredict'}`, payload, ctx);
  }

  async request(resource: string, body: string, ctx: AttemptContext): Promise<EnvelopeRequest> {
    const headers: Record<string, string> = {
      ...this.extraHeaders,
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: `Bearer ${await this.tokens.token()}`,
    };
    if (ctx.clientHeaders.anthropicBeta) headers['anthropic-beta'] = ctx.clientHeaders.anthropicBeta;
    return { url: `${this.modelsUrl}/${resource}`, headers, body };
  }

  httpError = (res: UpstreamResponse, text: string, target: UpstreamTarget): GatewayError => {
    if (res.status === 401) this.tokens.invalidate();
    return vertexHttpError(res, text, target);
  };
}
