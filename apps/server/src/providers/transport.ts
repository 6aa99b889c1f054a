import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import { GatewayError, type UpstreamFailure } from '../errors.js';
import type { ProviderTimeouts } from '../config/schema.js';

export interface TransportTimeouts {
  connectMs: number;
  headersMs: number;
}

/** Connect and response-header limits from a provider's `timeouts` (schema defaults when absent). */
export function transportTimeouts(config: { timeouts?: Partial<ProviderTimeouts> }): TransportTimeouts {
  return {
    connectMs: config.timeouts?.connect_ms ?? 10_000,
    headersMs: config.timeouts?.headers_ms ?? 600_000,
  };
}

/** A keep-alive connection pool for one provider. */
export function createDispatcher(timeouts: TransportTimeouts): Dispatcher {
  return new Agent({
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 600_000,
    connections: 256,
    pipelining: 1,
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.headersMs,
    // Streams are watched by the router's own idle timer; undici's would cut a slow stream silently.
    bodyTimeout: 0,
  });
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
}

export interface UpstreamTarget {
  provider: string;
  model: string;
}

/** POSTs a JSON body; network failures become GatewayErrors the router can classify. */
export async function postJson(
  dispatcher: Dispatcher,
  url: string,
  headers: Record<string, string>,
  body: string,
  signal: AbortSignal,
  target: UpstreamTarget,
): Promise<UpstreamResponse> {
  try {
    const res = await request(url, { method: 'POST', headers, body, signal, dispatcher });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  } catch (err) {
    throw networkError(err, target, signal);
  }
}

/** Classifies an undici / socket error. An abort by our own signal is rethrown as it is. */
export function networkError(err: unknown, target: UpstreamTarget, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason ?? err;
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string }).code ?? '';
  const fail = (status: number, kind: UpstreamFailure['kind'], what: string) =>
    new GatewayError(status, `${target.provider}/${target.model}: ${what}`, {
      origin: 'upstream',
      upstream: { provider: target.provider, model: target.model, kind },
      cause: err,
    });
  if (err instanceof undiciErrors.ConnectTimeoutError || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return fail(504, 'timeout_connect', 'timed out connecting to the upstream');
  }
  if (err instanceof undiciErrors.HeadersTimeoutError || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return fail(504, 'timeout_headers', 'the upstream did not answer in time');
  }
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EHOSTUNREACH') {
    return fail(502, 'connect', `cannot connect to the upstream (${code})`);
  }
  return fail(502, 'reset', `the upstream connection failed (${code || (err as Error).message})`);
}

/** How much of an error body is worth reading: enough for any provider's error message. */
export const MAX_ERROR_BODY = 64 * 1024;

/**
 * Reads an upstream body as UTF-8 text. With a `limit` (error bodies) it stops reading past that
 * many bytes and closes the connection; without one the whole body is read (answers of any size).
 */
export async function readText(body: UpstreamResponse['body'], limit?: number): Promise<string> {
  if (limit === undefined) return body.text();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(buf);
    size += buf.length;
    if (size > limit) {
      body.on('error', () => undefined);
      body.destroy();
      break;
    }
  }
  // Decoded once, so a character split across chunks stays whole.
  return Buffer.concat(chunks, size).toString('utf8');
}

export function headerValue(headers: UpstreamResponse['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Parses retry-after-ms or retry-after (seconds or HTTP date) into milliseconds. */
export function retryAfterMs(headers: UpstreamResponse['headers'], now = Date.now()): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const ra = headerValue(headers, 'retry-after');
  if (ra === undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Math.ceil(Number(ra) * 1000);
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Reads an upstream body (capped at `limit` bytes when given); a socket failure while reading becomes a classified GatewayError. */
export async function readUpstreamText(res: UpstreamResponse, target: UpstreamTarget, signal: AbortSignal, limit?: number): Promise<string> {
  try {
    return await readText(res.body, limit);
  } catch (err) {
    throw networkError(err, target, signal);
  }
}

/** Largest remainder read before giving up on reusing the connection. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * Lets go of a body we no longer need. A finished exchange (`reusable`) is read to its end in the
 * background so undici can reuse the keep-alive connection; otherwise the connection is closed.
 */
export function releaseBody(body: UpstreamResponse['body'], reusable: boolean): void {
  if (body.destroyed || body.readableEnded) return;
  if (reusable) {
    body.dump({ limit: DRAIN_LIMIT }).catch(() => undefined);
    return;
  }
  body.on('error', () => undefined); // undici reports its own destroy as an AbortError
  body.destroy();
}

