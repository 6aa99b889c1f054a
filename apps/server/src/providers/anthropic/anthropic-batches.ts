import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { ProviderKeyConfig } from '../../config/schema.js';
import { networkError, type UpstreamTarget } from '../transport.js';
import type { ClientHeaders } from '../types.js';
import { badUpstreamResponse, tryParseJson } from '../upstream-error.js';
import { anthropicHttpError } from './anthropic-error.js';
import type { CancelSignal } from '../../cancel.js';

/** Anthropic's MessageBatch as its API answers (the fields Conduit reads). */
export interface UpstreamMessageBatch {
  id: string;
  processing_status: 'in_progress' | 'canceling' | 'ended';
  request_counts: { processing: number; succeeded: number; errored: number; canceled: number; expired: number };
  ended_at: string | null;
  cancel_initiated_at: string | null;
  results_url: string | null;
}

export interface BatchCallContext {
  /** The caller's anthropic-* headers and credential (forwarded when the provider has no key). */
  clientHeaders: ClientHeaders;
  /** Index in `keys` of the key to use; undefined: the client's credential. */
  keyIndex?: number;
  signal: CancelSignal;
}

const MAX_ERROR_BODY = 64 * 1024;
const MAX_BATCH_BODY = 1024 * 1024;

/**
 * Anthropic's own Message Batches API (`/v1/messages/batches`) on an anthropic-type provider, for
 * batches passed through (`batches: native`). Headers as for messages: the client's anthropic-*
 * headers, the provider's extra headers, and its key or the client's credential.
 */
export class AnthropicBatchesApi {
  constructor(
    private readonly name: string,
    private readonly baseUrl: string,
    private readonly dispatcher: Dispatcher,
    private readonly extraHeaders: Record<string, string>,
    private readonly keys: readonly ProviderKeyConfig[],
  ) {}

  /** Creates the batch upstream from `body`, the JSON bytes of `{"requests": [...]}` as they are produced. */
  async create(body: AsyncIterable<string>, ctx: BatchCallContext): Promise<UpstreamMessageBatch> {
    return this.batchCall('POST', '/v1/messages/batches', ctx, Readable.from(body));
  }

  retrieve(id: string, ctx: BatchCallContext): Promise<UpstreamMessageBatch> {
    return this.batchCall('GET', `/v1/messages/batches/${encodeURIComponent(id)}`, ctx);
  }

  cancel(id: string, ctx: BatchCallContext): Promise<UpstreamMessageBatch> {
    return this.batchCall('POST', `/v1/messages/batches/${encodeURIComponent(id)}/cancel`, ctx);
  }

  async delete(id: string, ctx: BatchCallContext): Promise<void> {
    const res = await this.call('DELETE', `/v1/messages/batches/${encodeURIComponent(id)}`, ctx);
    await this.check(res);
    res.body.resume();
  }

  /** The results JSONL, as a stream of bytes: the caller reads it as fast as its own client takes it. */
  async results(id: string, ctx: BatchCallContext): Promise<AsyncIterable<Buffer> & { destroy(): void }> {
    const res = await this.call('GET', `/v1/messages/batches/${encodeURIComponent(id)}/results`, ctx);
    await this.check(res);
    return res.body;
  }

  private target(): UpstreamTarget {
    return { provider: this.name, model: 'batches' };
  }

  private async batchCall(method: string, path: string, ctx: BatchCallContext, body?: Readable): Promise<UpstreamMessageBatch> {
    const res = await this.call(method, path, ctx, body);
    await this.check(res);
    const text = await readCapped(res.body, MAX_BATCH_BODY);
    const batch = tryParseJson(text) as UpstreamMessageBatch | undefined;
    if (!batch || typeof batch.id !== 'string' || typeof batch.processing_status !== 'string' || !batch.request_counts) {
      throw badUpstreamResponse(this.target(), 'the upstream answered with something that is not a MessageBatch');
    }
    return batch;
  }

  private async call(method: string, path: string, ctx: BatchCallContext, body?: Readable): Promise<Dispatcher.ResponseData> {
    const url = new URL(this.baseUrl + path);
    try {
      return await this.dispatcher.request({
        origin: url.origin,
        path: url.pathname,
        method: method as Dispatcher.HttpMethod,
        headers: this.headers(ctx, body !== undefined),
        body: body ?? null,
        signal: ctx.signal,
      });
    } catch (err) {
      throw networkError(err, this.target(), ctx.signal);
    }
  }

  /** A non-2xx answer becomes the gateway error, its status, type and message kept. */
  private async check(res: Dispatcher.ResponseData): Promise<void> {
    if (res.statusCode >= 200 && res.statusCode < 300) return;
    const text = await readCapped(res.body, MAX_ERROR_BODY).catch(() => '');
    throw anthropicHttpError({ status: res.statusCode, headers: res.headers as Record<string, string> }, text, this.target());
  }

  private headers(ctx: BatchCallContext, json: boolean): Record<string, string> {
    const h = ctx.clientHeaders;
    const headers: Record<string, string> = {
      ...h.anthropicOther,
      ...this.extraHeaders,
      accept: 'application/json',
      'anthropic-version': h.anthropicVersion ?? '2023-06-01',
    };
    if (json) headers['content-type'] = 'application/json';
    if (h.anthropicBeta) headers['anthropic-beta'] = h.anthropicBeta;
    const key = ctx.keyIndex === undefined ? undefined : this.keys[ctx.keyIndex]?.value;
    if (key !== undefined) headers['x-api-key'] = key;
    else if (h.credential?.kind === 'x-api-key') headers['x-api-key'] = h.credential.secret;
    else if (h.credential?.kind === 'bearer') headers.authorization = `Bearer ${h.credential.secret}`;
    return headers;
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      body.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
