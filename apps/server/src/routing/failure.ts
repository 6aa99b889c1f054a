import { GatewayError } from '../errors.js';

/**
 * What the router does after a failed attempt:
 * - final: surface it now, no retry, no fallback (content policy, other 4xx, gateway bugs);
 * - next_target: no retry on this model, try the next fallback (context length);
 * - key: this key is refused (401/403): cool it down, try another key, then fall back;
 * - rate_limited: 429: another key first, else wait (retry-after or backoff), then fall back;
 * - transient: 5xx/529, network, timeouts, malformed answers: retry with backoff, then fall back.
 */
export type FailureClass = 'final' | 'next_target' | 'key' | 'rate_limited' | 'transient';

export function classifyFailure(err: unknown, usedConfiguredKey: boolean): FailureClass {
  // A feature this provider cannot carry: no call was made, and a fallback of another type may take it.
  if (err instanceof GatewayError && err.upstream?.kind === 'unsupported') return 'next_target';
  if (!(err instanceof GatewayError) || err.origin !== 'upstream' || !err.upstream) return 'final';
  const { kind, status } = err.upstream;
  if (kind === 'content_policy') return 'final';
  if (kind === 'context_length') return 'next_target';
  if (status === undefined) return 'transient';
  if (status === 401 || status === 403) return usedConfiguredKey ? 'key' : 'final';
  if (status === 429) return 'rate_limited';
  if (status === 408 || status >= 500) return 'transient';
  return 'final';
}

/** An attempt that ended because the upstream was silent too long (connect, headers, first token, idle, deadline). */
export function isTimeout(err: unknown): boolean {
  return err instanceof GatewayError && err.upstream !== undefined && err.upstream.kind.startsWith('timeout_');
}

const KIND_LABELS: Record<string, string> = {
  connect: 'connect failed',
  reset: 'connection reset',
  timeout_connect: 'timeout (connect)',
  timeout_headers: 'timeout (headers)',
  timeout_first_token: 'timeout (first token)',
  timeout_idle: 'timeout (stream idle)',
  timeout_deadline: 'timeout (deadline)',
  bad_response: 'bad response',
  context_length: 'context length',
  content_policy: 'content policy',
  unsupported: 'unsupported feature',
  aborted: 'aborted by the upstream',
};

/** "503", "429", "timeout (headers)", "400 context length": how an attempt ended, for messages and logs. */
export function describeFailure(err: unknown): string {
  if (!(err instanceof GatewayError) || !err.upstream) return err instanceof GatewayError ? String(err.status) : 'gateway error';
  const { kind, status } = err.upstream;
  const label = KIND_LABELS[kind];
  if (status !== undefined) return label ? `${status} ${label}` : String(status);
  return label ?? kind;
}

/** One line of the attempt log: an upstream call, or a target passed over without one. */
export interface AttemptRecord {
  /** Position of the target in the plan (0 = primary). */
  targetIndex: number;
  label: string;
  outcome: string;
  /** The failure, for upstream calls; absent for targets skipped without a call. */
  error?: GatewayError;
  usedConfiguredKey?: boolean;
}

/**
 * The error for a request whose every target failed. The client learns most from the primary's
 * failure (a 503 says "later", a 429 carries its retry-after), so that one is chosen, unless it
 * was a context-length refusal that another target also hit: a request too long everywhere
 * answers with the last such 400. When there was more than one attempt, the message names them all.
 */
export function exhaustedError(records: AttemptRecord[], retryAfterMs?: number): GatewayError {
  const summary = summarize(records);
  const failed = records.filter((r) => r.error);
  if (failed.length === 0) {
    const headers: Record<string, string> = retryAfterMs === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) };
    return new GatewayError(503, `no upstream available: ${summary}`, { type: 'overloaded_error', headers });
  }
  const other = failed.filter((r) => r.error!.upstream?.kind !== 'context_length' && r.error!.upstream?.kind !== 'unsupported');
  let chosen = failed[failed.length - 1]!;
  if (other.length > 0) {
    const first = other[0]!.targetIndex;
    chosen = other.filter((r) => r.targetIndex === first).at(-1)!;
  }
  const err = chosen.error!;
  // A refused gateway-owned key is the gateway's problem: a 401 would tell the client its own key is wrong.
  const ourKeyRefused = chosen.usedConfiguredKey && (err.status === 401 || err.status === 403);
  const status = ourKeyRefused ? 502 : err.status;
  const message = ourKeyRefused ? `the upstream refused the gateway's credentials: ${err.message}` : err.message;
  // A lone attempt keeps the upstream's words untouched (an Anthropic relay stays verbatim).
  return new GatewayError(status, records.length > 1 ? `${message} (${summary})` : message, {
    type: ourKeyRefused ? 'api_error' : err.type,
    headers: err.headers,
    origin: err.origin,
    upstream: err.upstream,
    cause: err,
  });
}

/** "3 attempts: anthropic/x → 503, anthropic/x → 503, openai/y → timeout (headers)". */
export function summarize(records: AttemptRecord[]): string {
  const calls = records.filter((r) => r.error).length;
  const parts = records.map((r) => `${r.label} → ${r.outcome}`).join(', ');
  return `${calls} attempt${calls === 1 ? '' : 's'}: ${parts}`;
}
