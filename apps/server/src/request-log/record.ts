import type { Operation } from '../observability/metrics.js';

/**
 * One request as the request log keeps it: what the per-request log line says, minus what only a
 * log line needs. Built once when the response closes (observability/observer.ts); `at` is epoch ms.
 */
export interface RequestRecord {
  id: string;
  at: number;
  operation: Operation;
  method: string;
  path: string;
  status: number;
  errorType: string | null;
  error: string | null;
  stream: boolean;
  requestedModel: string | null;
  provider: string | null;
  model: string | null;
  /** The metrics labels of provider and model (`_none`, `_other`): what the per-minute figures are grouped by. */
  providerLabel: string;
  modelLabel: string;
  attempts: number;
  fallbackIndex: number;
  latencyMs: number;
  ttftMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cacheReadTokens: number | null;
  cacheWriteTokens: number | null;
  costUsd: number | null;
  keyId: string | null;
  keyName: string | null;
  team: string | null;
  /** The request body's JSON text (only with `log_bodies`), cut at `max_body_chars`. */
  body: string | null;
  bodyTruncated: boolean;
}

/** Longest error message a record keeps. */
export const MAX_RECORD_ERROR = 500;

/** What the API answers for a record (openapi.yaml RequestRecord). */
export function recordView(r: RequestRecord, withBody: boolean) {
  return {
    id: r.id,
    at: new Date(r.at).toISOString(),
    operation: r.operation,
    method: r.method,
    path: r.path,
    status: r.status,
    error_type: r.errorType,
    error: r.error,
    stream: r.stream,
    requested_model: r.requestedModel,
    provider: r.provider,
    model: r.model,
    attempts: r.attempts,
    fallback_index: r.fallbackIndex,
    latency_ms: r.latencyMs,
    ttft_ms: r.ttftMs,
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    cache_read_tokens: r.cacheReadTokens,
    cache_write_tokens: r.cacheWriteTokens,
    cost_usd: r.costUsd,
    key_id: r.keyId,
    key_name: r.keyName,
    team: r.team,
    ...(withBody ? { body: r.body, body_truncated: r.bodyTruncated } : {}),
  };
}

/** The query of one page of the log, newest first. */
export interface RequestQuery {
  limit: number;
  /** Opaque cursor: the previous page's `nextBefore`. */
  before?: string;
  status?: 'ok' | 'error' | number;
  provider?: string;
  model?: string;
  key?: string;
}

export interface RequestPage {
  records: RequestRecord[];
  hasMore: boolean;
  nextBefore: string | null;
}

/** Whether a record passes the query's filters (the Redis store filters in memory; SQLite in SQL, the same way). */
export function matches(r: RequestRecord, q: RequestQuery): boolean {
  if (q.status === 'ok' && r.errorType !== null) return false;
  if (q.status === 'error' && r.errorType === null) return false;
  if (typeof q.status === 'number' && r.status !== q.status) return false;
  if (q.provider !== undefined && r.provider !== q.provider) return false;
  if (q.model !== undefined && r.model !== q.model && r.requestedModel !== q.model) return false;
  if (q.key !== undefined && r.keyId !== q.key && r.keyName !== q.key) return false;
  return true;
}
