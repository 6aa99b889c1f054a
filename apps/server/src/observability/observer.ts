import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { errorTypeForStatus } from '../errors.js';
import { requestCost } from './cost.js';
import { clientCredential } from '../client-credential.js';
import { clip } from '../quote.js';
import type { Redactor } from '../redaction.js';
import { MAX_MODEL_ID } from '../routing/model-id.js';
import { credentialId } from './credential.js';
import { NO_TARGET, type Metrics, type Operation } from './metrics.js';
import { attachObservation, Observation } from './observation.js';
import type { PriceBook } from './prices.js';
import { MAX_RECORD_ERROR, type RequestRecord } from '../request-log/record.js';

export interface ObserverOptions {
  metrics: Metrics;
  logger: Logger;
  /** Prices for the cost in logs and metrics (config pricing, else the catalogue). */
  prices: PriceBook;
  /** Put the request body in the log line (config `log_bodies`). */
  logBodies: boolean;
  /** Takes the request's own credential out of the error it logs (the logger itself removes the config's secrets). */
  redactor: Redactor;
  /**
   * Gateway auth is on: lines name the caller by its key's id, name and team, and never carry a
   * hash of the credential sent (it could identify a key).
   */
  gatewayAuth?: boolean;
  /**
   * The request log: gets one record per request to /anthropic/* when the response closes (it
   * batches the writes). Bodies go with them only with `logBodies`, cut at `maxBodyChars`.
   */
  requestLog?: { add(record: RequestRecord): void; maxBodyChars: number };
}

/** Longest path and requested model a log line repeats (a valid model id is at most 256 characters). */
const MAX_LOGGED_TEXT = MAX_MODEL_ID;
/** Longest error message a log line repeats (an upstream's message may be long). */
const MAX_LOGGED_ERROR = 2_000;
/**
 * With log_bodies, the longest request body a log line carries, in characters of its JSON text: a
 * longer one goes in as that text cut here (`body_truncated: true`), not as the whole object, so a
 * 32 MB request does not make a 32 MB line.
 */
export const MAX_LOGGED_BODY = 65_536;

/** Status recorded when the client went away before the response was complete (nginx's convention). */
export const CLIENT_CLOSED = 499;

/**
 * Middleware: gives the request an Observation and, when the response closes, writes its one log
 * line and updates the metrics. Mounted after the probe routes, so scrapes and health checks are
 * neither logged nor counted.
 */
export function observeRequests(opts: ObserverOptions): RequestHandler {
  const { metrics, prices, requestLog } = opts;

  /** The request log's record of a request: the log line's facts, the body only with log_bodies. */
  const recordOf = (
    req: Request,
    res: Response,
    obs: Observation,
    f: { status: number; errorType: string | null; totalMs: number; cost: number | null; keyId: string | null; target: { provider: string; model: string } },
    logged: LoggedBody | undefined,
  ): RequestRecord => {
    let body: string | null = null;
    let bodyTruncated = false;
    if (logged !== undefined) {
      body = logged.text;
      if (body.length > requestLog!.maxBodyChars) {
        body = body.slice(0, requestLog!.maxBodyChars);
        bodyTruncated = true;
      }
    }
    return {
      id: String(res.getHeader('request-id') ?? ''),
      at: Math.round(Date.now() - f.totalMs),
      operation: obs.operation,
      method: req.method,
      path: clip(req.path, MAX_LOGGED_TEXT),
      status: f.status,
      errorType: f.errorType,
      error: obs.error ? clip(opts.redactor.redact(obs.error.message, clientCredential(req.headers)?.secret), MAX_RECORD_ERROR) : null,
      stream: obs.stream,
      requestedModel: obs.requestedModel === null ? null : clip(obs.requestedModel, MAX_LOGGED_TEXT),
      provider: obs.provider,
      model: obs.model,
      providerLabel: f.target.provider,
      modelLabel: f.target.model,
      attempts: obs.attempts,
      fallbackIndex: obs.fallbackIndex,
      latencyMs: ms(f.totalMs),
      ttftMs: obs.ttftMs === null ? null : ms(obs.ttftMs),
      inputTokens: obs.inputTokens,
      outputTokens: obs.outputTokens,
      cacheReadTokens: obs.cacheReadTokens,
      cacheWriteTokens: obs.cacheWriteTokens,
      costUsd: f.cost,
      keyId: f.keyId,
      keyName: obs.keyName,
      team: obs.teamName,
      body,
      bodyTruncated,
    };
  };

  const finish = (req: Request, res: Response, obs: Observation): void => {
    metrics.inFlight--;
    // A request that failed while waiting on the provider is still waiting: that time was upstream's.
    const totalMs = obs.endWait() - obs.startedAt;
    const aborted = !res.writableFinished;
    const status = aborted && obs.error === null ? CLIENT_CLOSED : res.statusCode;
    const errorType = obs.error?.type ?? (status === CLIENT_CLOSED ? 'client_closed' : status >= 400 ? errorTypeForStatus(status) : null);

    // Answered before a handler said what it was (validation, body too large, unknown model): the route says.
    if (obs.provider === null && obs.operation === 'chat') obs.operation = routeOperation(req);
    // Async submits and polls name a provider/model but never wait on it.
    const reached = obs.provider !== null && obs.operation !== 'async_submit' && obs.operation !== 'async_poll';
    const target = metrics.target(obs.operation, obs.provider ?? NO_TARGET, obs.model ?? NO_TARGET);
    const cost = reached ? requestCost(prices, obs) : null;
    target.requests(status, errorType).inc();
    target.duration.observe(totalMs / 1000);
    target.overhead.observe(Math.max(0, totalMs - obs.upstreamMs) / 1000);
    if (reached) target.upstream.observe(obs.upstreamMs / 1000);
    if (obs.ttftMs !== null) target.ttft.observe(obs.ttftMs / 1000);
    const prompt = obs.promptTokens;
    if (prompt !== null) target.inputTokens.observe(prompt);
    if (obs.outputTokens !== null) target.outputTokens.observe(obs.outputTokens);
    if (cost !== null) target.cost.inc(cost);
    if (obs.keyName !== null) {
      const keySeries = metrics.key(obs.keyName, obs.teamName);
      keySeries.requests(status).inc();
      if (prompt !== null) keySeries.inputTokens.inc(prompt);
      if (obs.outputTokens !== null) keySeries.outputTokens.inc(obs.outputTokens);
      if (cost !== null) keySeries.cost.inc(cost);
    }

    const level = status >= 500 || (obs.error !== null && obs.error.status >= 500) ? 'warn' : 'info';
    const logLine = opts.logger.isLevelEnabled(level);
    const recorded = requestLog !== undefined && req.path.startsWith('/anthropic/');
    if (!logLine && !recorded) return;
    const key = opts.gatewayAuth ? { kind: obs.keyKind ?? 'none', id: obs.gatewayKeyId } : credentialId(req.headers);
    const logged = opts.logBodies ? loggedBody(req.body) : undefined;
    if (recorded) requestLog.add(recordOf(req, res, obs, { status, errorType, totalMs, cost, keyId: obs.gatewayKeyId ?? key.id, target }, logged));
    if (!logLine) return;
    const line: Record<string, unknown> = {
      req_id: res.getHeader('request-id'),
      method: req.method,
      path: clip(req.path, MAX_LOGGED_TEXT),
      operation: obs.operation,
      status,
      stream: obs.stream,
      requested_model: obs.requestedModel === null ? null : clip(obs.requestedModel, MAX_LOGGED_TEXT),
      provider: obs.provider,
      model: obs.model,
      attempts: obs.attempts,
      fallback_index: obs.fallbackIndex,
      latency_ms: ms(totalMs),
      ttft_ms: obs.ttftMs === null ? null : ms(obs.ttftMs),
      upstream_ms: reached ? ms(obs.upstreamMs) : null,
      overhead_ms: ms(Math.max(0, totalMs - obs.upstreamMs)),
      input_tokens: obs.inputTokens,
      output_tokens: obs.outputTokens,
      cache_read_tokens: obs.cacheReadTokens,
      cache_write_tokens: obs.cacheWriteTokens,
      cost_usd: cost,
      key_kind: key.kind,
      key_id: obs.gatewayKeyId ?? key.id,
    };
    if (opts.gatewayAuth) {
      line.key_name = obs.keyName;
      line.team = obs.teamName;
    }
    if (obs.continuations !== null) line.continuations = obs.continuations;
    if (errorType !== null) {
      line.error_type = errorType;
      if (obs.error) {
        // Redacted before it is cut, so no part of a secret is left at the cut.
        line.error = clip(opts.redactor.redact(obs.error.message, clientCredential(req.headers)?.secret), MAX_LOGGED_ERROR);
        // The gateway's own failure (a bug): what caused it, with its stack, is what someone will need.
        if (obs.error.origin === 'gateway' && obs.error.status >= 500 && obs.error.cause !== undefined) line.err = obs.error.cause;
      }
    }
    if (logged !== undefined) {
      if (logged.text.length <= MAX_LOGGED_BODY) {
        line.body = logged.value;
      } else {
        line.body = logged.text.slice(0, MAX_LOGGED_BODY);
        line.body_truncated = true;
      }
    }
    opts.logger[level](line, 'request');
  };

  return (req, res, next) => {
    const obs = new Observation();
    attachObservation(res, obs);
    metrics.inFlight++;
    res.once('close', () => finish(req, res, obs));
    next();
  };
}

/**
 * The operation a request's route and headers ask for, for requests answered before their handler
 * set it. The async headers are read as jobs/http.ts reads them: `x-bf-async-id` (a poll) wins over
 * `x-bf-async: true` (a submit). Any other route (a 404) keeps the default, `chat`.
 */
export function routeOperation(req: Pick<Request, 'method' | 'path' | 'headers'>): Operation {
  const path = req.path;
  if (req.method === 'POST') {
    if (path === '/anthropic/v1/messages') {
      if (req.headers['x-bf-async-id'] !== undefined) return 'async_poll';
      return req.headers['x-bf-async'] === 'true' ? 'async_submit' : 'chat';
    }
    if (path === '/anthropic/v1/messages/count_tokens') return 'count_tokens';
    if (path === BATCHES) return 'batch_create';
    if (path.startsWith(`${BATCHES}/`) && path.endsWith('/cancel')) return 'batch_cancel';
  } else if (req.method === 'GET' || req.method === 'HEAD') {
    if (path === '/anthropic/v1/models') return 'list_models';
    if (path.startsWith('/anthropic/v1/models/')) return 'get_model';
    if (path === BATCHES) return 'batch_list';
    if (path.startsWith(`${BATCHES}/`)) return path.endsWith('/results') ? 'batch_results' : 'batch_get';
  } else if (req.method === 'DELETE' && path.startsWith(`${BATCHES}/`)) {
    return 'batch_delete';
  }
  return 'chat';
}

const BATCHES = '/anthropic/v1/messages/batches';

/** Milliseconds to 3 decimals: a log line is for people. */
function ms(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The request body for the log: MCP server tokens are credentials and never leave the process. */
function withoutSecrets(body: unknown): unknown {
  if (!body || typeof body !== 'object' || !Array.isArray((body as { mcp_servers?: unknown }).mcp_servers)) return body;
  const b = body as { mcp_servers: unknown[] };
  return {
    ...b,
    mcp_servers: b.mcp_servers.map((s) =>
      s && typeof s === 'object' && 'authorization_token' in s ? { ...s, authorization_token: '[redacted]' } : s,
    ),
  };
}

/** A request body as the log shows it: its secrets taken out, and its JSON text. */
interface LoggedBody {
  value: unknown;
  text: string;
}

/** The body to log (undefined when the request had none). */
function loggedBody(body: unknown): LoggedBody | undefined {
  if (body === undefined) return undefined;
  const value = withoutSecrets(body);
  const text = JSON.stringify(value);
  return text === undefined ? undefined : { value, text };
}
