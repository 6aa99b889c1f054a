import type { Dispatcher } from 'undici';
import type { CreateMessageRequest, Message } from '../../generated/types.gen.js';
import { droppedHeaders } from '../openai/unsupported.js';
import { MAX_ERROR_BODY, postJson, readUpstreamText, type UpstreamResponse, type UpstreamTarget } from '../transport.js';
import type { AttemptContext, MessageResult, StreamResult } from '../types.js';
import { badUpstreamResponse, tryParseJson } from '../upstream-error.js';
import type { AnthropicEnvelope, EnvelopeRequest } from './envelope.js';

/**
 * Messages calls to any upstream that speaks Anthropic's body, whatever its envelope (Anthropic's
 * own API, Claude on Bedrock, Claude on Vertex AI): the answer is read and relayed the same way.
 */
export class AnthropicMessages {
  constructor(
    private readonly provider: string,
    private readonly dispatcher: Dispatcher,
    private readonly envelope: AnthropicEnvelope,
  ) {}

  async create(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    const req = await this.envelope.messageRequest(body, ctx, false);
    const res = await this.send(req, ctx);
    const target = this.target(ctx);
    const text = await readUpstreamText(res, target, ctx.signal);
    const message = tryParseJson(text) as Message | undefined;
    if (!message || message.type !== 'message' || !Array.isArray(message.content)) {
      throw badUpstreamResponse(target, 'the upstream answered with something that is not a Message');
    }
    return { message, raw: text, headers: droppedHeaders(req.dropped ?? []) };
  }

  async stream(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    const req = await this.envelope.messageRequest(body, ctx, true);
    const res = await this.send(req, ctx);
    const target = this.target(ctx);
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes(this.envelope.streamContentType)) {
      res.body.release(true);
      throw badUpstreamResponse(target, `expected ${this.envelope.streamContentType}, the upstream sent ${contentType || 'no content type'}`);
    }
    return { events: this.envelope.decodeStream(res.body, target, ctx.signal), headers: droppedHeaders(req.dropped ?? []), wellFormed: this.envelope.streamChecked };
  }

  /** Sends one request; a non-2xx answer throws the envelope's error for it. */
  async send(req: EnvelopeRequest, ctx: AttemptContext): Promise<UpstreamResponse> {
    const target = this.target(ctx);
    const res = await postJson(this.dispatcher, req.url, req.headers, req.body, ctx.signal, target);
    if (res.status >= 200 && res.status < 300) return res;
    const text = await readUpstreamText(res, target, ctx.signal, MAX_ERROR_BODY);
    throw this.envelope.httpError(res, text, target);
  }

  private target(ctx: AttemptContext): UpstreamTarget {
    return { provider: this.provider, model: ctx.model };
  }
}
