import type { Dispatcher } from 'undici';
import type { ProviderConfig } from '../../config/schema.js';
import type { CountTokensRequest, CreateMessageRequest } from '../../generated/types.gen.js';
import { droppedHeaders } from '../openai/unsupported.js';
import { headerValue, MAX_ERROR_BODY, networkError, postJson, readUpstreamText, type UpstreamResponse, type UpstreamTarget } from '../transport.js';
import type { AttemptContext, MessageResult, SseBatch, StreamResult } from '../types.js';
import { badUpstreamResponse, tryParseJson } from '../upstream-error.js';
import { convertCountTokensInput, convertRequest, type ConvertedRequest } from './converse/convert-request.js';
import { convertResponse } from './converse/convert-response.js';
import { ConverseStreamConverter } from './converse/convert-stream.js';
import type { ConverseResponse } from './converse/converse-types.js';
import { decodeEventStream } from './event-stream.js';
import { EVENT_STREAM, type BedrockInvokeEnvelope } from './invoke-envelope.js';
import { bedrockHttpError, bedrockStreamException } from './map-error.js';
import { modelPath } from './model-id.js';
import type { CancelSignal } from '../../cancel.js';

/**
 * Bedrock models other than Claude, through Converse (`/model/{id}/converse`) and ConverseStream
 * (`/converse-stream`): the request translated from Anthropic Messages and the answer back, by the
 * pure functions in converse/. Endpoint and credentials are the provider's (shared with InvokeModel).
 */
export class ConverseClient {
  constructor(
    private readonly provider: string,
    private readonly config: ProviderConfig,
    private readonly dispatcher: Dispatcher,
    private readonly endpoint: BedrockInvokeEnvelope,
  ) {}

  async create(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    const converted = this.convert(body, ctx);
    const res = await this.post(modelPath(ctx.model, 'converse'), converted, false, ctx);
    const target = this.target(ctx);
    const parsed = tryParseJson(await readUpstreamText(res, target, ctx.signal)) as ConverseResponse | undefined;
    if (!parsed || typeof parsed !== 'object' || !parsed.output?.message) throw badUpstreamResponse(target, 'the upstream answered with something that is not a Converse response');
    const message = convertResponse(parsed, {
      toolNames: converted.toolNames,
      model: ctx.model,
      stopSequences: body.stop_sequences,
      requestId: headerValue(res.headers, 'x-amzn-requestid'),
    });
    return { message, headers: droppedHeaders(converted.dropped) };
  }

  async stream(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    const converted = this.convert(body, ctx);
    const res = await this.post(modelPath(ctx.model, 'converse-stream'), converted, true, ctx);
    const target = this.target(ctx);
    const contentType = String(res.headers['content-type'] ?? '');
    if (!contentType.includes(EVENT_STREAM)) {
      res.body.release(true);
      throw badUpstreamResponse(target, `expected ${EVENT_STREAM}, the upstream sent ${contentType || 'no content type'}`);
    }
    const converter = new ConverseStreamConverter({
      target,
      toolNames: converted.toolNames,
      stopSequences: body.stop_sequences,
      requestId: headerValue(res.headers, 'x-amzn-requestid'),
    });
    // Every frame is built by the converter (JSON.stringify of the event).
    return { events: relayConverseStream(res.body, converter, target, ctx.signal), headers: droppedHeaders(converted.dropped), wellFormed: true };
  }

  /** The CountTokens body for a non-Claude model: the Converse input the request would make. */
  countTokensBody(body: CountTokensRequest, _ctx: AttemptContext): string {
    return JSON.stringify({ input: { converse: convertCountTokensInput(body) } });
  }

  private convert(body: CreateMessageRequest, ctx: AttemptContext): ConvertedRequest {
    return convertRequest(body, { provider: this.provider, model: ctx.model, dropUnsupported: this.config.drop_unsupported });
  }

  private async post(path: string, converted: ConvertedRequest, stream: boolean, ctx: AttemptContext): Promise<UpstreamResponse> {
    const req = await this.endpoint.signed(path, JSON.stringify(converted.body), stream, ctx);
    const target = this.target(ctx);
    const res = await postJson(this.dispatcher, req.url, req.headers, req.body, ctx.signal, target);
    if (res.status >= 200 && res.status < 300) return res;
    throw bedrockHttpError(res, await readUpstreamText(res, target, ctx.signal, MAX_ERROR_BODY), target);
  }

  private target(ctx: AttemptContext): UpstreamTarget {
    return { provider: this.provider, model: ctx.model };
  }
}

/** ConverseStream frames → Anthropic events; exceptions, corrupt frames and cuts throw (the client gets `event: error`). */
async function* relayConverseStream(
  body: UpstreamResponse['body'],
  converter: ConverseStreamConverter,
  target: UpstreamTarget,
  signal: CancelSignal,
): AsyncGenerator<SseBatch> {
  try {
    for await (const message of decodeEventStream(body)) {
      const payload = Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength).toString('utf8');
      if (message.messageType === 'exception') throw bedrockStreamException(message.name, payload, target);
      if (message.messageType === 'error') throw bedrockStreamException(message.name || 'error', JSON.stringify({ message: message.errorMessage ?? payload }), target);
      const frames = converter.pushEvent(message.name, payload);
      if (frames.length > 0) yield frames;
      if (converter.complete) return;
    }
    const rest = converter.end();
    if (rest.length > 0) yield rest;
  } catch (err) {
    throw networkError(err instanceof Error && !('status' in err) ? badUpstreamResponse(target, `the upstream event stream is corrupt: ${err.message}`) : err, target, signal);
  } finally {
    body.release(converter.complete);
  }
}
