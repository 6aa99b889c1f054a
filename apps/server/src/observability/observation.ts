import type { Response } from 'express';
import type { GatewayError } from '../errors.js';
import type { Usage } from '../generated/types.gen.js';
import type { SseFrame } from '../providers/types.js';
import type { Operation } from './metrics.js';

/** Where an observation lives while its request runs. */
const SLOT = 'conduitObservation';

/**
 * What one request did, filled in as it runs (by the HTTP handler, from what the router and the
 * provider return) and turned into one log line and a few metric updates when the response closes.
 * Times are `performance.now()` milliseconds. Every field is set in the constructor so all
 * observations share one shape.
 */
export class Observation {
  readonly startedAt: number;
  /**
   * What the request asked for (the `gen_ai_operation_name` label). Handlers other than chat set it
   * when they start; a request answered before any handler ran gets it from its route when it closes.
   */
  operation: Operation = 'chat';
  stream = false;
  /** `model` as the client sent it. */
  requestedModel: string | null = null;
  /**
   * The provider/model that served, or that failed last; for the async operations, which call no
   * provider, the one the job goes (or went) to first.
   */
  provider: string | null = null;
  model: string | null = null;
  attempts = 0;
  fallbackIndex = 0;
  /** Time spent waiting on the provider: the router call, and for streams every chunk. */
  upstreamMs = 0;
  /** Streams: request start to the first content delta. */
  ttftMs: number | null = null;
  inputTokens: number | null = null;
  outputTokens: number | null = null;
  cacheReadTokens: number | null = null;
  cacheWriteTokens: number | null = null;
  error: GatewayError | null = null;
  /** The gateway key's id, once gateway auth identifies the caller; until then logs show a hash of the credential. */
  gatewayKeyId: string | null = null;
  /** With gateway auth: the caller's key name and team name, and how the key arrived. */
  keyName: string | null = null;
  teamName: string | null = null;
  keyKind: 'x-api-key' | 'bearer' | null = null;
  /**
   * With gateway auth: debits the request's usage to its key's ledger. The handlers call it once
   * the usage is known and before the answer's last bytes (a JSON body; a stream's message_stop),
   * so no completed request is missing from the ledger; it runs again harmlessly on close.
   */
  beforeComplete: (() => void | Promise<void>) | null = null;
  /** Streams that broke mid-answer: what became of each break (routing/continuing-stream.ts). */
  continuations: ReadonlyArray<{ reason: string; outcome: string; from: string; to?: string; attempts: number }> | null = null;

  constructor(now = performance.now()) {
    this.startedAt = now;
  }

  /** Which attempt served (the router's `Served`). */
  served(s: { target: { provider: { name: string }; model: string }; attempts: number; fallbackIndex: number }): void {
    this.provider = s.target.provider.name;
    this.model = s.target.model;
    this.attempts = s.attempts;
    this.fallbackIndex = s.fallbackIndex;
  }

  /** A stream broke mid-answer: the attempts in all, and each break's fate. */
  continued(trace: { attempts: number; continuations: NonNullable<Observation['continuations']> }): void {
    this.attempts = trace.attempts;
    this.continuations = trace.continuations;
  }

  /** The provider/model the request is about, before (or without) any attempt on it. */
  target(t: { provider: { name: string }; model: string }): void {
    this.provider = t.provider.name;
    this.model = t.model;
  }

  /** The request failed; an upstream failure names the provider/model that failed. */
  failed(err: GatewayError): void {
    this.error = err;
    if (err.upstream && this.provider === null) {
      this.provider = err.upstream.provider;
      this.model = err.upstream.model;
    }
  }

  /** When the current wait on the provider began, or null when not waiting. */
  private waitingSince: number | null = null;

  /** The gateway starts waiting on the provider (a router call, the next stream event). */
  beginWait(): void {
    this.waitingSince = performance.now();
  }

  /** The wait is over: its time goes to the upstream time. Returns now. Safe to call when not waiting. */
  endWait(): number {
    const now = performance.now();
    if (this.waitingSince !== null) {
      this.upstreamMs += now - this.waitingSince;
      this.waitingSince = null;
    }
    return now;
  }

  /** Token counts from a Message's (or a stream event's) usage. Later values win: stream usage is cumulative. */
  usage(u: Partial<Usage> | null | undefined): void {
    if (!u) return;
    if (typeof u.input_tokens === 'number') this.inputTokens = u.input_tokens;
    if (typeof u.output_tokens === 'number') this.outputTokens = u.output_tokens;
    if (typeof u.cache_read_input_tokens === 'number') this.cacheReadTokens = u.cache_read_input_tokens;
    if (typeof u.cache_creation_input_tokens === 'number') this.cacheWriteTokens = u.cache_creation_input_tokens;
  }

  /**
   * A batch of stream events arrived from the router: ends the wait for it, reads usage from
   * `message_start` and `message_delta` (the only events that carry it) and the first content
   * delta's time; every other event costs a string comparison or two.
   */
  frames(batch: readonly SseFrame[]): void {
    const now = this.endWait();
    for (const frame of batch) {
      const event = frame.event;
      if (event === 'content_block_delta') {
        if (this.ttftMs === null) this.ttftMs = now - this.startedAt;
      } else if (event === 'message_start') {
        this.usage(parseUsage(frame, true));
      } else if (event === 'message_delta') {
        this.usage(parseUsage(frame, false));
      }
    }
  }

  /** Total tokens in the prompt (uncached + cache reads + cache writes), or null when unknown. */
  get promptTokens(): number | null {
    if (this.inputTokens === null) return null;
    return this.inputTokens + (this.cacheReadTokens ?? 0) + (this.cacheWriteTokens ?? 0);
  }
}

function parseUsage(frame: SseFrame, inMessage: boolean): Partial<Usage> | undefined {
  let ev = frame.value as { usage?: Partial<Usage>; message?: { usage?: Partial<Usage> } } | null | undefined;
  if (ev === undefined) {
    try {
      ev = JSON.parse(frame.data) as typeof ev;
    } catch {
      return undefined;
    }
  }
  return inMessage ? ev?.message?.usage : ev?.usage;
}

export function attachObservation(res: Response, obs: Observation): void {
  res.locals[SLOT] = obs;
}

/** The request's observation; a detached one when the request was not observed (handler used alone). */
export function observationOf(res: Response): Observation {
  return (res.locals[SLOT] as Observation | undefined) ?? new Observation();
}

/** Whether the request is observed (it gets a log line and metrics when it closes). */
export function isObserved(res: Response): boolean {
  return res.locals[SLOT] !== undefined;
}

/** Records a failure on the request's observation, when there is one. Called where errors become HTTP. */
export function noteError(res: Response, err: GatewayError): void {
  const obs = res.locals[SLOT] as Observation | undefined;
  if (obs && obs.error === null) obs.failed(err);
}
