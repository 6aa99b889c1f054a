import { client as defaultClient } from './generated/client.gen.js';
import type { Client } from './generated/client/index.js';
import type { MessageBatch, MessageBatchIndividualResponse } from './generated/types.gen.js';
import { ConduitError } from './errors.js';
import { sleep } from './sleep.js';

export interface BatchRequestOptions {
  /** A client from createConduitClient (its base URL, credential and headers are used). Default: the generated default client. */
  client?: Client;
  /** Extra headers on this request. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface WaitForMessageBatchOptions extends BatchRequestOptions {
  /** Pause between polls. Default 5000 ms. */
  intervalMs?: number;
  /** Give up after this long with a BatchTimeoutError. Default 24 hours (a batch expires by then). */
  timeoutMs?: number;
}

/** waitForMessageBatch ran out of time; the batch may still end (retrieve it again). */
export class BatchTimeoutError extends Error {
  constructor(readonly batch: MessageBatch) {
    super(`message batch ${batch.id} still ${batch.processing_status} when waitForMessageBatch gave up`);
    this.name = 'BatchTimeoutError';
  }
}

/** Retrieves the batch every `intervalMs` until its processing_status is `ended`. */
export async function waitForMessageBatch(id: string, opts: WaitForMessageBatchOptions = {}): Promise<MessageBatch> {
  const intervalMs = opts.intervalMs ?? 5000;
  const deadline = Date.now() + (opts.timeoutMs ?? 24 * 3600_000);
  for (;;) {
    const res = await call(opts, `/anthropic/v1/messages/batches/${encodeURIComponent(id)}`, 'application/json');
    const batch = (await res.json()) as MessageBatch;
    if (batch.processing_status === 'ended') return batch;
    const wait = Math.min(intervalMs, deadline - Date.now());
    if (wait <= 0) throw new BatchTimeoutError(batch);
    await sleep(wait, opts.signal);
  }
}

/**
 * The results of an ended batch, one typed line at a time as they arrive (the gateway streams
 * them: a batch of any size is never held whole, here or there). Throws a ConduitError for a
 * batch that is unknown (404), archived (404) or not ended yet (409).
 */
export async function* messageBatchResults(id: string, opts: BatchRequestOptions = {}): AsyncGenerator<MessageBatchIndividualResponse> {
  const res = await call(opts, `/anthropic/v1/messages/batches/${encodeURIComponent(id)}/results`, 'application/x-jsonl');
  if (!res.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line !== '') yield JSON.parse(line) as MessageBatchIndividualResponse;
    }
  }
  const last = (buffer + decoder.decode()).trim();
  if (last !== '') yield JSON.parse(last) as MessageBatchIndividualResponse;
}

async function call(opts: BatchRequestOptions, path: string, accept: string): Promise<Response> {
  const config = (opts.client ?? defaultClient).getConfig();
  const headers = new Headers(config.headers as HeadersInit | undefined);
  headers.set('accept', accept);
  for (const [k, v] of Object.entries(opts.headers ?? {})) headers.set(k, v);
  const doFetch = config.fetch ?? fetch;
  const res = await doFetch(`${config.baseUrl}${path}`, { method: 'GET', headers, signal: opts.signal });
  if (!res.ok) {
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    throw new ConduitError(res.status, parsed, res.headers.get('request-id'));
  }
  return res;
}
