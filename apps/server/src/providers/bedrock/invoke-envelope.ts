import type { ProviderConfig } from '../../config/schema.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import type { AnthropicEnvelope, EnvelopeRequest } from '../anthropic/envelope.js';
import { toEnvelopeBody } from '../anthropic/upstream-body.js';
import { networkError, type UpstreamBody, type UpstreamTarget } from '../transport.js';
import type { AttemptContext, SseBatch } from '../types.js';
import { badUpstreamResponse } from '../upstream-error.js';
import type { BedrockAuth } from './auth.js';
import { BEDROCK_BETAS, splitBetas } from './betas.js';
import { decodeEventStream } from './event-stream.js';
import { bedrockHttpError, bedrockStreamException } from './map-error.js';
import { modelPath } from './model-id.js';
import type { CancelSignal } from '../../cancel.js';

export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';
export const EVENT_STREAM = 'application/vnd.amazon.eventstream';

/**
 * Claude on Bedrock: InvokeModel (`/model/{id}/invoke`) and InvokeModelWithResponseStream
 * (`/invoke-with-response-stream`) with Anthropic's body, less `model` and `stream`, plus
 * `anthropic_version: bedrock-2023-05-31` and the client's betas Bedrock knows as
 * `anthropic_beta`; the others are dropped and named in x-bf-dropped.
 */
export class BedrockInvokeEnvelope implements AnthropicEnvelope {
  readonly streamContentType = EVENT_STREAM;
  readonly streamChecked = true;
  readonly httpError = bedrockHttpError;
  private readonly knownBetas: ReadonlySet<string>;

  constructor(
    private readonly baseUrl: string,
    private readonly config: ProviderConfig,
    private readonly auth: BedrockAuth,
    private readonly provider: string,
  ) {
    this.knownBetas = new Set([...BEDROCK_BETAS, ...(config.betas ?? [])]);
  }

  async messageRequest(body: CreateMessageRequest, ctx: AttemptContext, stream: boolean): Promise<EnvelopeRequest> {
    const { kept, dropped } = splitBetas(ctx.clientHeaders.anthropicBeta, this.knownBetas);
    const payload = toEnvelopeBody(body, { anthropic_version: BEDROCK_ANTHROPIC_VERSION, anthropic_beta: kept.length > 0 ? kept : undefined });
    return { ...(await this.signed(modelPath(ctx.model, stream ? 'invoke-with-response-stream' : 'invoke'), payload, stream, ctx)), dropped };
  }

  /** A request to `path` on this provider's endpoint, authenticated. */
  async signed(path: string, body: string, stream: boolean, ctx: AttemptContext): Promise<EnvelopeRequest> {
    const url = new URL(this.baseUrl + path);
    const headers = { ...this.config.headers, 'content-type': 'application/json', accept: stream ? EVENT_STREAM : 'application/json' };
    return { url: url.href, body, headers: await this.auth.headersFor(url, headers, body, ctx.key, { provider: this.provider, model: ctx.model }) };
  }

  decodeStream(body: UpstreamBody, target: UpstreamTarget, signal: CancelSignal): AsyncIterable<SseBatch> {
    return relayInvokeStream(body, target, signal);
  }
}

/**
 * InvokeModelWithResponseStream → Anthropic SSE. Each `chunk` event carries one Anthropic event
 * (`{"bytes": base64}`); it is relayed as Anthropic sends it: byte for byte, except that
 * Bedrock's `amazon-bedrock-invocationMetrics` is taken out of `message_stop`. An exception
 * frame, a corrupt frame, a socket error or a body that ends before `message_stop` throws, so the
 * client's stream ends with `event: error`, never with a truncated answer.
 */
export async function* relayInvokeStream(body: UpstreamBody, target: UpstreamTarget, signal: CancelSignal): AsyncGenerator<SseBatch> {
  let finished = false;
  try {
    for await (const message of decodeEventStream(body)) {
      const payload = Buffer.from(message.payload.buffer, message.payload.byteOffset, message.payload.byteLength).toString('utf8');
      if (message.messageType === 'exception') throw bedrockStreamException(message.name, payload, target);
      if (message.messageType === 'error') throw bedrockStreamException(message.name || 'error', JSON.stringify({ message: message.errorMessage ?? payload }), target);
      if (message.name !== 'chunk') continue;
      const frame = chunkFrame(payload, target);
      finished = frame.event === 'message_stop';
      yield [frame];
      if (finished) return;
    }
  } catch (err) {
    throw networkError(err instanceof Error && !('status' in err) ? badUpstreamResponse(target, `the upstream event stream is corrupt: ${err.message}`) : err, target, signal);
  } finally {
    body.release(finished);
  }
  throw badUpstreamResponse(target, 'the upstream stream ended before message_stop');
}

/** One `chunk` payload → the Anthropic event it carries, its JSON text as the model wrote it. */
function chunkFrame(payload: string, target: UpstreamTarget): { event: string; data: string } {
  let data: string;
  let event: any;
  try {
    data = Buffer.from(String(JSON.parse(payload).bytes), 'base64').toString('utf8');
    event = JSON.parse(data);
  } catch {
    throw badUpstreamResponse(target, 'the upstream sent a stream chunk that is not a base64 Anthropic event');
  }
  if (!event || typeof event !== 'object' || typeof event.type !== 'string') throw badUpstreamResponse(target, 'the upstream sent a stream chunk without an event type');
  if (event.type === 'message_stop' && 'amazon-bedrock-invocationMetrics' in event) {
    delete event['amazon-bedrock-invocationMetrics'];
    data = JSON.stringify(event);
  }
  return { event: event.type, data };
}
