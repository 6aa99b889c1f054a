import type { GatewayError } from '../../errors.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import type { RequestBytes, UpstreamBody, UpstreamResponse, UpstreamTarget } from '../transport.js';
import type { AttemptContext, SseBatch } from '../types.js';
import type { CancelSignal } from '../../cancel.js';

/** One HTTP request to an upstream, ready to send. */
export interface EnvelopeRequest {
  url: string;
  headers: Record<string, string>;
  /** JSON: text, or bytes (the client's own, spliced: upstream-body.ts), whole or in pieces. */
  body: RequestBytes;
  /** Parts of the client's request left out on the way (listed in x-bf-dropped). */
  dropped?: readonly string[];
}

/**
 * What differs between Anthropic's own API, Claude on Bedrock and Claude on Vertex AI: where a
 * Messages body goes, in what form, with what credentials, how a stream is framed and how errors
 * read. Everything else (sending, reading the Message, relaying the stream, classifying failures)
 * is shared: see AnthropicMessages.
 */
export interface AnthropicEnvelope {
  /** The upstream request that carries a Messages body (streamed or not). */
  messageRequest(body: CreateMessageRequest, ctx: AttemptContext, stream: boolean): EnvelopeRequest | Promise<EnvelopeRequest>;
  /** The content type of a streamed answer; anything else is a bad response. */
  readonly streamContentType: string;
  /**
   * A streamed answer's bytes → Anthropic events, one batch per upstream chunk (or frame). Throws a
   * GatewayError when the stream fails, and when it ends before `message_stop`: a cut stream must
   * never look complete.
   */
  decodeStream(body: UpstreamBody, target: UpstreamTarget, signal: CancelSignal): AsyncIterable<SseBatch>;
  /** decodeStream has already checked that every frame's data is JSON whose `type` is the event name (StreamResult.wellFormed). */
  readonly streamChecked?: boolean;
  /** A non-2xx answer (its body read, capped) → the gateway error, status and type kept. */
  httpError(res: UpstreamResponse, text: string, target: UpstreamTarget): GatewayError;
}
