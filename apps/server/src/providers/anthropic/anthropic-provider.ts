import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../../config/schema.js';
import type { CountTokensRequest, CreateMessageRequest, Message } from '../../generated/types.gen.js';
import { SseParser } from '../sse-parser.js';
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
import { badUpstreamResponse, tryParseJson, upstreamHttpError } from '../upstream-error.js';
import { toUpstreamBody } from './upstream-body.js';

export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
export const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

/** The native provider: the request goes upstream as the client sent it, the answer comes back as it is. */
export class AnthropicProvider implements Provider {
  readonly type = 'anthropic' as const;
  private readonly dispatcher: Dispatcher;
  private readonly baseUrl: string;

  constructor(
    readonly name: string,
    readonly config: ProviderConfig,
  ) {
    this.baseUrl = (config.base_url ?? DEFAULT_ANTHROPIC_BASE_URL).replace(/\/+$/, '').replace(/\/v1$/, '');
    this.dispatcher = createDispatcher(transportTimeouts(config));
  }

  async createMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    const res = await this.post('/v1/messages', toUpstreamBody(body, ctx.model, false), ctx);
    const target = this.target(ctx);
    const text = await readUpstreamText(res, target, ctx.signal);
    const message = tryParseJson(text) as Message | undefined;
    if (!message || message.type !== 'message' || !Array.isArray(message.content)) {
      throw badUpstreamResponse(target, 'the upstream answered with something that is not a Message');
    }
    return { message, raw: text };
  }

  async streamMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    const res = await this.post('/v1/messages', toUpstreamBody(body, ctx.model, true), ctx);
    const target = this.target(ctx);
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes('text/event-stream')) {
      res.body.release(true);
      throw badUpstreamResponse(target, `expected an event stream, the upstream sent ${contentType || 'no content type'}`);
    }
    return { events: relayEvents(res.body, target, ctx.signal) };
  }

  async countTokens(body: CountTokensRequest, ctx: AttemptContext): Promise<{ input_tokens: number }> {
    const res = await this.post('/v1/messages/count_tokens', JSON.stringify({ ...body, model: ctx.model }), ctx);
    const target = this.target(ctx);
    const parsed = tryParseJson(await readUpstreamText(res, target, ctx.signal));
    if (!parsed || typeof parsed.input_tokens !== 'number') {
      throw badUpstreamResponse(target, 'the upstream count_tokens answer has no input_tokens');
    }
    return { input_tokens: parsed.input_tokens };
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }

  private target(ctx: AttemptContext): UpstreamTarget {
    return { provider: this.name, model: ctx.model };
  }

  private async post(path: string, payload: string, ctx: AttemptContext): Promise<UpstreamResponse> {
    const headers: Record<string, string> = {
      ...ctx.clientHeaders.anthropicOther,
      ...this.config.headers,
      'content-type': 'application/json',
      accept: 'application/json',
      'anthropic-version': ctx.clientHeaders.anthropicVersion ?? DEFAULT_ANTHROPIC_VERSION,
    };
    if (ctx.clientHeaders.anthropicBeta) headers['anthropic-beta'] = ctx.clientHeaders.anthropicBeta;
    const forwarded = ctx.clientHeaders.credential;
    if (ctx.key.value !== undefined) headers['x-api-key'] = ctx.key.value;
    else if (forwarded?.kind === 'x-api-key') headers['x-api-key'] = forwarded.secret;
    else if (forwarded?.kind === 'bearer') headers.authorization = `Bearer ${forwarded.secret}`;
    const target = this.target(ctx);
    const res = await postJson(this.dispatcher, this.baseUrl + path, headers, payload, ctx.signal, target);
    if (res.status >= 200 && res.status < 300) return res;
    const text = await readUpstreamText(res, target, ctx.signal, MAX_ERROR_BODY);
    const parsed = tryParseJson(text);
    const error = parsed?.type === 'error' && parsed.error ? parsed.error : undefined;
    throw upstreamHttpError(res, target, {
      type: error?.type,
      message: error?.message ?? (text ? `upstream returned HTTP ${res.status}: ${text.slice(0, 300)}` : undefined),
    });
  }
}

/**
 * Relays upstream events as they arrive, one batch per upstream chunk. A stream that ends without
 * `message_stop` (or an upstream `error` event) was cut: it throws, so the client never sees a
 * truncated answer end cleanly.
 */
async function* relayEvents(body: UpstreamResponse['body'], target: UpstreamTarget, signal: AbortSignal): AsyncGenerator<SseBatch> {
  const parser = new SseParser();
  let finished = false;
  try {
    // Leaving the loop at message_stop does not close the socket; finally releases it.
    for await (const chunk of body) {
      const batch = parser.push(chunk);
      if (batch.length === 0) continue;
      finished = endsStream(batch);
      yield batch;
      if (finished) return;
    }
    const rest = parser.flush();
    if (rest.length > 0) {
      finished = endsStream(rest);
      yield rest;
    }
  } catch (err) {
    throw networkError(err, target, signal);
  } finally {
    body.release(finished);
  }
  if (!finished) throw badUpstreamResponse(target, 'the upstream stream ended before message_stop');
}

function endsStream(batch: SseBatch): boolean {
  for (const ev of batch) if (ev.event === 'message_stop' || ev.event === 'error') return true;
  return false;
}
