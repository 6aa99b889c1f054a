import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { CounterSeries, FastCounter, FastHistogram, type HistogramSeries } from './fast-metrics.js';
import { ModelLabels, NO_TARGET, OTHER_MODEL } from './model-labels.js';

export { NO_TARGET, OTHER_MODEL };

/**
 * What a request asked the gateway to do: the `gen_ai_operation_name` label. `chat` is
 * POST /anthropic/v1/messages (JSON or stream); `count_tokens` its /count_tokens sibling;
 * `list_models` GET /anthropic/v1/models; `get_model` GET /anthropic/v1/models/{id}; `async_submit` / `async_poll` the messages route with
 * `x-bf-async: true` / `x-bf-async-id`; `batch_*` the Message Batches routes. A fixed set: the
 * label cannot grow the series count.
 */
export type Operation =
  | 'chat'
  | 'count_tokens'
  | 'list_models'
  | 'get_model'
  | 'async_submit'
  | 'async_poll'
  | 'batch_create'
  | 'batch_list'
  | 'batch_get'
  | 'batch_cancel'
  | 'batch_delete'
  | 'batch_results';

// OpenTelemetry GenAI semantic-convention attributes, in Prometheus form.
const PROVIDER = 'gen_ai_provider_name';
const MODEL = 'gen_ai_request_model';
const OPERATION = 'gen_ai_operation_name';
const TOKEN_TYPE = 'gen_ai_token_type';
const STATUS = 'http_response_status_code';
const ERROR_TYPE = 'error_type';

// OTel's advisory buckets, widened at the low end (a gateway answering from a local upstream is
// sub-10 ms) and the high end (long generations take minutes).
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 163.84, 327.68,
];
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];
const OVERHEAD_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

export type BreakerState = 'closed' | 'half_open' | 'open';

/** What routing did on one provider/model since the process started. */
export interface RoutingActivity {
  retries: number;
  fallbacks: number;
  lastRetryAt: number | null;
  lastFallbackAt: number | null;
}
const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

/** What the routing layer reports. Conduit's Router takes this interface, not the whole Metrics. */
export interface RoutingMetrics {
  /** One more attempt on the same provider/model after a failure. */
  retry(provider: string, model: string): void;
  /** The request moves on from this provider/model to its next fallback. */
  fallback(provider: string, model: string): void;
  /** The circuit breaker for provider/model changed state. */
  breakerState(provider: string, model: string, state: BreakerState): void;
  /** An upstream served a request on provider/model (its answer, or a stream's first content). */
  served(provider: string, model: string): void;
  /** A stream broke mid-answer: why (a fixed set) and what became of it (continued, failed, impossible). */
  continuation(reason: string, outcome: string): void;
}

/** What the async jobs layer reports. */
export interface JobMetrics {
  /** A job was accepted into the queue. */
  jobQueued(): void;
  /** A job left the worker: succeeded, failed, expired, cancelled, ... (a small fixed set). */
  jobOutcome(outcome: string): void;
  /** Jobs waiting or running right now. */
  jobQueueDepth(depth: number): void;
}

/** What Message Batches report. Labels are small fixed sets. */
export interface BatchMetrics {
  /** A batch was accepted: run by the gateway's workers, or passed through to a provider's own Batches API. */
  batchCreated(mode: 'gateway' | 'native'): void;
  /** Requests of gateway-run batches that got their result. */
  batchRequestsFinished(outcome: 'succeeded' | 'errored' | 'canceled' | 'expired', n?: number): void;
  /** Batch requests not yet finished (fleet-wide with Redis), sampled by the sweep. */
  batchRequestsPending(n: number): void;
  /** Whether this instance's batch workers are holding back for live traffic. */
  batchWorkersHeldBack(held: boolean): void;
}

/** Every series for one operation on one provider/model, looked up once and kept: the request path only adds numbers. */
export class TargetSeries {
  readonly duration: HistogramSeries;
  readonly upstream: HistogramSeries;
  readonly overhead: HistogramSeries;
  readonly ttft: HistogramSeries;
  readonly inputTokens: HistogramSeries;
  readonly outputTokens: HistogramSeries;
  readonly cost: CounterSeries;
  private readonly byStatus = new Map<number, CounterSeries>();

  constructor(
    private readonly metrics: Metrics,
    readonly operation: Operation,
    readonly provider: string,
    readonly model: string,
  ) {
    const labels = { [OPERATION]: operation, [PROVIDER]: provider, [MODEL]: model };
    this.duration = metrics.requestDuration.with(labels);
    this.ttft = metrics.timeToFirstToken.with(labels);
    this.inputTokens = metrics.tokenUsage.with({ ...labels, [TOKEN_TYPE]: 'input' });
    this.outputTokens = metrics.tokenUsage.with({ ...labels, [TOKEN_TYPE]: 'output' });
    this.upstream = metrics.upstreamDuration.with(labels);
    this.overhead = metrics.gatewayOverhead.with(labels);
    this.cost = metrics.cost.with(labels);
  }

  /** The request counter for a status (and the error type, when the request failed). */
  requests(status: number, errorType: string | null): CounterSeries {
    if (errorType === null) {
      let s = this.byStatus.get(status);
      if (!s) {
        s = this.metrics.requests.with(this.requestLabels(status, ''));
        this.byStatus.set(status, s);
      }
      return s;
    }
    return this.metrics.requests.with(this.requestLabels(status, errorType));
  }

  private requestLabels(status: number, errorType: string): Record<string, string> {
    return { [OPERATION]: this.operation, [PROVIDER]: this.provider, [MODEL]: this.model, [STATUS]: String(status), [ERROR_TYPE]: errorType };
  }
}

/** Label values of the keyed series: the key's and its team's names (never a secret or a hash). */
const KEY = 'conduit_key';
const TEAM = 'conduit_team';
/** Team label of a key without a team. */
export const NO_TEAM = '_none';

/** The series of one gateway key (with auth on), looked up once per key and kept. */
export class KeySeries {
  readonly inputTokens: CounterSeries;
  readonly outputTokens: CounterSeries;
  readonly cost: CounterSeries;
  private readonly byStatus = new Map<number, CounterSeries>();

  constructor(
    private readonly metrics: Metrics,
    readonly key: string,
    readonly team: string,
  ) {
    this.inputTokens = metrics.keyTokens.with({ [KEY]: key, [TEAM]: team, [TOKEN_TYPE]: 'input' });
    this.outputTokens = metrics.keyTokens.with({ [KEY]: key, [TEAM]: team, [TOKEN_TYPE]: 'output' });
    this.cost = metrics.keyCost.with({ [KEY]: key, [TEAM]: team });
  }

  requests(status: number): CounterSeries {
    let s = this.byStatus.get(status);
    if (!s) {
      s = this.metrics.keyRequests.with({ [KEY]: this.key, [TEAM]: this.team, [STATUS]: String(status) });
      this.byStatus.set(status, s);
    }
    return s;
  }
}

export interface MetricsOptions {
  /** Also export prom-client's process metrics (CPU, RSS, heap, event-loop lag) from this registry. */
  processMetrics?: boolean;
  /**
   * Models that served a request and get a label of their own, at most (configured ones always do;
   * every other model is counted as `_other`). Default 1000.
   */
  maxTargets?: number;
  /** Distinct key/team pairs kept before new keys are counted as `_other`. */
  maxKeys?: number;
}

/**
 * The gateway's metrics, on a Registry of its own (never prom-client's global one: several
 * gateways in one process, as in tests, must not share counters).
 */
export class Metrics implements RoutingMetrics, JobMetrics, BatchMetrics {
  readonly registry = new Registry();

  readonly requests: FastCounter;
  readonly requestDuration: FastHistogram;
  readonly timeToFirstToken: FastHistogram;
  readonly tokenUsage: FastHistogram;
  readonly upstreamDuration: FastHistogram;
  readonly gatewayOverhead: FastHistogram;
  readonly cost: FastCounter;
  readonly keyRequests: FastCounter;
  readonly keyTokens: FastCounter;
  readonly keyCost: FastCounter;
  private readonly retries: FastCounter;
  private readonly fallbacks: FastCounter;
  private readonly breaker: Gauge;
  private readonly continuations: Counter;
  private readonly jobsQueued: Counter;
  private readonly jobOutcomes: Counter;
  private readonly queueDepth: Gauge;
  private readonly batchesCreated: Counter;
  private readonly batchOutcomes: Counter;
  private readonly batchPending: Gauge;
  private readonly batchHeldBack: Gauge;
  private readonly requestLogDropped: Counter;
  /** provider\u0000model label → retries and fallbacks since start, and when the last one happened (the dashboard's). */
  private readonly routingActivity = new Map<string, RoutingActivity>();
  /** Async jobs finished by this instance since `startedAt`, by outcome. */
  private readonly jobsFinished = new Map<string, number>();
  readonly startedAt = Date.now();

  /** Requests being served right now; read when scraped. */
  inFlight = 0;

  /** provider → model label → the series of each operation seen on it. */
  private readonly targets = new Map<string, Map<string, Map<Operation, TargetSeries>>>();
  /** Which models are labelled by name (configured or served); the rest are `_other`. */
  private readonly models: ModelLabels;
  /** "team\u0000key" → the key's series. */
  private readonly keys = new Map<string, KeySeries>();
  private readonly maxKeys: number;
  private otherKey?: KeySeries;

  constructor(opts: MetricsOptions = {}) {
    const r = this.registry;
    this.models = new ModelLabels(opts.maxTargets ?? 1000);
    this.maxKeys = opts.maxKeys ?? 1000;
    this.requests = new FastCounter(
      'conduit_requests_total',
      'Requests answered, by operation, the provider/model that served (or last failed) and the HTTP status; error_type is set when the request failed, also mid-stream.',
      [OPERATION, PROVIDER, MODEL, STATUS, ERROR_TYPE],
      r,
    );
    this.requestDuration = new FastHistogram(
      'gen_ai_server_request_duration_seconds',
      'Time from request received to response complete.',
      [OPERATION, PROVIDER, MODEL],
      DURATION_BUCKETS,
      r,
    );
    this.timeToFirstToken = new FastHistogram(
      'gen_ai_server_time_to_first_token_seconds',
      'Streams: time from request received to the first content delta sent.',
      [OPERATION, PROVIDER, MODEL],
      TTFT_BUCKETS,
      r,
    );
    this.tokenUsage = new FastHistogram(
      'gen_ai_client_token_usage',
      'Tokens per request as the upstream reported them; input includes cache reads and writes.',
      [OPERATION, PROVIDER, MODEL, TOKEN_TYPE],
      TOKEN_BUCKETS,
      r,
    );
    this.upstreamDuration = new FastHistogram(
      'conduit_upstream_duration_seconds',
      'Time spent waiting on the provider (all attempts, and for streams every chunk).',
      [OPERATION, PROVIDER, MODEL],
      DURATION_BUCKETS,
      r,
    );
    this.gatewayOverhead = new FastHistogram(
      'conduit_gateway_overhead_seconds',
      'Request duration minus upstream time: what Conduit itself added (wall clock, includes queueing under load).',
      [OPERATION, PROVIDER, MODEL],
      OVERHEAD_BUCKETS,
      r,
    );
    this.cost = new FastCounter('conduit_cost_usd_total', 'Estimated spend in USD, from config pricing.', [OPERATION, PROVIDER, MODEL], r);
    this.keyRequests = new FastCounter(
      'conduit_key_requests_total',
      'With gateway auth: requests by the gateway key and team that made them, and the HTTP status (429, 402, 403 included).',
      [KEY, TEAM, STATUS],
      r,
    );
    this.keyTokens = new FastCounter('conduit_key_tokens_total', 'With gateway auth: tokens used by each gateway key and team.', [KEY, TEAM, TOKEN_TYPE], r);
    this.keyCost = new FastCounter('conduit_key_cost_usd_total', 'With gateway auth: estimated spend in USD of each gateway key and team.', [KEY, TEAM], r);
    this.retries = new FastCounter('conduit_retries_total', 'Attempts repeated on the same provider/model.', [PROVIDER, MODEL], r);
    this.fallbacks = new FastCounter('conduit_fallbacks_total', 'Requests that moved on from this provider/model to a fallback.', [PROVIDER, MODEL], r);
    this.breaker = new Gauge({
      name: 'conduit_circuit_breaker_state',
      help: 'Circuit breaker per provider/model: 0 closed, 1 half-open, 2 open.',
      labelNames: [PROVIDER, MODEL],
      registers: [r],
    });
    this.continuations = new Counter({
      name: 'conduit_stream_continuations_total',
      help: 'Streams that broke after content reached the client, by reason (cut, stall, malformed, upstream_error, aborted, deadline, other) and outcome (continued, failed, impossible).',
      labelNames: ['reason', 'outcome'],
      registers: [r],
    });
    this.jobsQueued = new Counter({ name: 'conduit_async_jobs_queued_total', help: 'Async jobs accepted.', registers: [r] });
    this.jobOutcomes = new Counter({
      name: 'conduit_async_jobs_finished_total',
      help: 'Async jobs finished, by outcome.',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.queueDepth = new Gauge({ name: 'conduit_async_queue_depth', help: 'Async jobs waiting or running.', registers: [r] });
    this.batchesCreated = new Counter({
      name: 'conduit_batches_created_total',
      help: 'Message Batches accepted, by mode: gateway (run by the gateway) or native (passed through to the provider).',
      labelNames: ['mode'],
      registers: [r],
    });
    this.batchOutcomes = new Counter({
      name: 'conduit_batch_requests_finished_total',
      help: 'Requests of gateway-run Message Batches that got their result, by outcome.',
      labelNames: ['outcome'],
      registers: [r],
    });
    this.batchPending = new Gauge({ name: 'conduit_batch_requests_pending', help: 'Batch requests not yet finished.', registers: [r] });
    this.batchHeldBack = new Gauge({
      name: 'conduit_batch_workers_held_back',
      help: '1 while this instance starts no batch request because live traffic is above batches.yield_above_in_flight.',
      registers: [r],
    });
    this.requestLogDropped = new Counter({
      name: 'conduit_request_log_dropped_total',
      help: 'Request log records dropped: too many waiting for a slow store, or the store refused the batch.',
      registers: [r],
    });
    const metrics = this;
    new Gauge({
      name: 'conduit_requests_in_flight',
      help: 'Requests being served.',
      registers: [r],
      collect() {
        this.set(metrics.inFlight);
      },
    });
    if (opts.processMetrics) collectDefaultMetrics({ register: r });
  }

  /** A model the config names: labelled by name from the start. */
  configureModel(provider: string, model: string): void {
    this.models.configure(provider, model);
  }

  served(provider: string, model: string): void {
    this.models.served(provider, model);
  }

  /**
   * The series for an operation on provider/model, created once. A model neither configured nor
   * served yet is counted as `_other`: a request on a made-up name creates no series of its own.
   */
  target(operation: Operation, provider: string, model: string): TargetSeries {
    const label = this.models.label(provider, model);
    let byModel = this.targets.get(provider);
    if (!byModel) {
      byModel = new Map();
      this.targets.set(provider, byModel);
    }
    let byOperation = byModel.get(label);
    if (!byOperation) {
      byOperation = new Map();
      byModel.set(label, byOperation);
    }
    let t = byOperation.get(operation);
    if (!t) {
      t = new TargetSeries(this, operation, provider, label);
      byOperation.set(operation, t);
    }
    return t;
  }

  /** The series of a gateway key by name and team name; past maxKeys, new keys share `_other`. */
  key(key: string, team: string | null): KeySeries {
    const teamLabel = team ?? NO_TEAM;
    const id = `${teamLabel}\u0000${key}`;
    let s = this.keys.get(id);
    if (!s) {
      if (this.keys.size >= this.maxKeys) return (this.otherKey ??= new KeySeries(this, OTHER_MODEL, OTHER_MODEL));
      s = new KeySeries(this, key, teamLabel);
      this.keys.set(id, s);
    }
    return s;
  }

  retry(provider: string, model: string): void {
    const label = this.models.label(provider, model);
    this.retries.with({ [PROVIDER]: provider, [MODEL]: label }).inc();
    const a = this.activity(provider, label);
    a.retries++;
    a.lastRetryAt = Date.now();
  }

  fallback(provider: string, model: string): void {
    const label = this.models.label(provider, model);
    this.fallbacks.with({ [PROVIDER]: provider, [MODEL]: label }).inc();
    const a = this.activity(provider, label);
    a.fallbacks++;
    a.lastFallbackAt = Date.now();
  }

  /** Retries and fallbacks on provider/model (by label) since start; bounded like the labels. */
  routing(provider: string, model: string): Readonly<RoutingActivity> | undefined {
    return this.routingActivity.get(`${provider}\u0000${this.models.label(provider, model)}`);
  }

  /** Every provider/model label with retries or fallbacks since start. */
  routedTargets(): Array<[provider: string, model: string]> {
    return [...this.routingActivity.keys()].map((k) => {
      const i = k.indexOf('\u0000');
      return [k.slice(0, i), k.slice(i + 1)];
    });
  }

  private activity(provider: string, label: string): RoutingActivity {
    const key = `${provider}\u0000${label}`;
    let a = this.routingActivity.get(key);
    if (!a) {
      a = { retries: 0, fallbacks: 0, lastRetryAt: null, lastFallbackAt: null };
      this.routingActivity.set(key, a);
    }
    return a;
  }

  /** Request log records dropped (a slow or failing store). */
  requestLogDrop(n: number): void {
    this.requestLogDropped.inc(n);
  }

  /** Exported for models labelled by name only: one gauge cannot hold the states of many `_other` circuits. */
  breakerState(provider: string, model: string, state: BreakerState): void {
    if (this.models.label(provider, model) !== model) return;
    this.breaker.set({ [PROVIDER]: provider, [MODEL]: model }, BREAKER_VALUE[state]);
  }

  /** Both labels come from fixed sets (routing/stream-continue.ts, continuing-stream.ts). */
  continuation(reason: string, outcome: string): void {
    this.continuations.inc({ reason, outcome });
  }

  jobQueued(): void {
    this.jobsQueued.inc();
  }

  jobOutcome(outcome: string): void {
    this.jobOutcomes.inc({ outcome });
    this.jobsFinished.set(outcome, (this.jobsFinished.get(outcome) ?? 0) + 1);
  }

  /** Async jobs this instance finished since it started, by outcome (`completed`, `failed`). */
  jobsFinishedBy(outcome: string): number {
    return this.jobsFinished.get(outcome) ?? 0;
  }

  jobQueueDepth(depth: number): void {
    this.queueDepth.set(depth);
  }

  batchCreated(mode: 'gateway' | 'native'): void {
    this.batchesCreated.inc({ mode });
  }

  batchRequestsFinished(outcome: 'succeeded' | 'errored' | 'canceled' | 'expired', n = 1): void {
    this.batchOutcomes.inc({ outcome }, n);
  }

  batchRequestsPending(n: number): void {
    this.batchPending.set(n);
  }

  batchWorkersHeldBack(held: boolean): void {
    this.batchHeldBack.set(held ? 1 : 0);
  }

  /** The exposition text for GET /metrics. */
  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
