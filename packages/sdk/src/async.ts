import { client as defaultClient } from './generated/client.gen.js';
import type { Client } from './generated/client/index.js';
import type { CreateMessageRequest, Message } from './generated/types.gen.js';
import { ConduitError } from './errors.js';
import { sleep } from './sleep.js';

/** Where an async job is: queued and running have no result yet. */
export type AsyncJobStatus = 'queued' | 'running' | 'completed' | 'failed';

/** Queued or running: `message` is a placeholder with `content: []` and the requested model. */
export interface PendingAsyncJob {
  id: string;
  status: 'queued' | 'running';
  message: Message;
}

/** Done: `message` is exactly what the synchronous call would have returned. */
export interface CompletedAsyncJob {
  id: string;
  status: 'completed';
  message: Message;
  /** Response headers of the poll, including the stored x-bf-provider, x-bf-model, x-bf-attempts, x-bf-fallback-index. */
  headers: Headers;
}

/** Failed: the error the synchronous call would have thrown. */
export interface FailedAsyncJob {
  id: string;
  status: 'failed';
  error: ConduitError;
}

export type AsyncJob = PendingAsyncJob | CompletedAsyncJob | FailedAsyncJob;
export type FinishedAsyncJob = CompletedAsyncJob | FailedAsyncJob;

export interface AsyncRequestOptions {
  /** A client from createConduitClient (its base URL, credential and headers are used). Default: the generated default client. */
  client?: Client;
  /** Extra headers on this request. */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface SubmitAsyncOptions extends AsyncRequestOptions {
  /** x-bf-async-job-result-ttl: seconds the result is kept after the job finishes (gateway default 3600). */
  resultTtlSeconds?: number;
}

export interface WaitForAsyncOptions extends AsyncRequestOptions {
  /** Pause between polls. Default 1000 ms. */
  intervalMs?: number;
  /** Give up after this long with an AsyncTimeoutError. Default 10 minutes. */
  timeoutMs?: number;
}

/** waitForAsync ran out of time; the job may still finish (poll it again with getAsync). */
export class AsyncTimeoutError extends Error {
  constructor(
    readonly id: string,
    readonly lastStatus: AsyncJobStatus,
  ) {
    super(`async job ${id} still ${lastStatus} when waitForAsync gave up`);
    this.name = 'AsyncTimeoutError';
  }
}

/**
 * Submits a request as a background job (x-bf-async: true) and returns at once.
 * Throws a ConduitError when the gateway refuses it (400 invalid request, 429 queue full, ...).
 */
export async function submitAsync(body: Omit<CreateMessageRequest, 'stream'>, opts: SubmitAsyncOptions = {}): Promise<PendingAsyncJob> {
  const headers: Record<string, string> = { 'x-bf-async': 'true', ...opts.headers };
  if (opts.resultTtlSeconds !== undefined) headers['x-bf-async-job-result-ttl'] = String(opts.resultTtlSeconds);
  const job = await post(opts, headers, JSON.stringify(body));
  if (job.status !== 'queued' && job.status !== 'running') {
    throw new ConduitError(502, { type: 'error', error: { type: 'api_error', message: `submit answered with job status ${job.status}` } });
  }
  return job;
}

/**
 * Polls a job once. Queued, running, completed and failed are all answers; a job that is
 * unknown, expired or not this credential's throws a ConduitError (404 not_found_error).
 */
export async function getAsync(id: string, opts: AsyncRequestOptions = {}): Promise<AsyncJob> {
  return post(opts, { 'x-bf-async-id': id, ...opts.headers }, undefined);
}

/** Polls every `intervalMs` until the job completes or fails. */
export async function waitForAsync(id: string, opts: WaitForAsyncOptions = {}): Promise<FinishedAsyncJob> {
  const intervalMs = opts.intervalMs ?? 1000;
  const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
  for (;;) {
    const job = await getAsync(id, opts);
    if (job.status === 'completed' || job.status === 'failed') return job;
    const wait = Math.min(intervalMs, deadline - Date.now());
    if (wait <= 0) throw new AsyncTimeoutError(id, job.status);
    await sleep(wait, opts.signal);
  }
}

async function post(opts: AsyncRequestOptions, extra: Record<string, string>, body: string | undefined): Promise<AsyncJob> {
  const config = (opts.client ?? defaultClient).getConfig();
  const headers = new Headers(config.headers as HeadersInit | undefined);
  headers.set('accept', 'application/json');
  if (body !== undefined) headers.set('content-type', 'application/json');
  for (const [k, v] of Object.entries(extra)) headers.set(k, v);
  const doFetch = config.fetch ?? fetch;
  const res = await doFetch(`${config.baseUrl}/anthropic/v1/messages`, { method: 'POST', headers, body, signal: opts.signal });
  const parsed = parseJson(await res.text());
  const requestId = res.headers.get('request-id');
  const id = res.headers.get('x-bf-async-id');
  const status = res.headers.get('x-bf-async-status') as AsyncJobStatus | null;
  if (id === null || status === null) throw new ConduitError(res.status, parsed, requestId);
  switch (status) {
    case 'queued':
    case 'running':
      return { id, status, message: parsed as Message };
    case 'completed':
      return { id, status, message: parsed as Message, headers: res.headers };
    case 'failed':
      return { id, status, error: new ConduitError(res.status, parsed, requestId) };
    default:
      throw new ConduitError(502, { type: 'error', error: { type: 'api_error', message: `unknown async job status ${String(status)}` } }, requestId);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
