import type { Express, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { DashboardInfo, JobStats, ProviderStats, RequestLogPage, TrafficStats } from '../generated/types.gen.js';
import { sendError } from '../http/error-envelope.js';
import type { JobService } from '../jobs/index.js';
import type { BatchService } from '../jobs/batches/index.js';
import type { Metrics } from '../observability/index.js';
import type { Provider } from '../providers/types.js';
import { recordView, type RequestLog, type RequestQuery } from '../request-log/index.js';
import type { Router } from '../routing/router.js';
import { providerStats } from './providers-view.js';

export interface DashboardDeps {
  config: Pick<Config, 'log_bodies' | 'store' | 'request_log'>;
  authOn: boolean;
  providers: ReadonlyMap<string, Provider>;
  router: Router;
  metrics: Metrics;
  jobs: JobService;
  /** Message Batches: the dashboard shows those not yet ended. */
  batches?: BatchService;
  requestLog: RequestLog | undefined;
  /** provider/model pairs the config names. */
  configured: ReadonlyArray<readonly [string, string]>;
}

/** Batches not yet ended the jobs view shows, newest first. */
const LIVE_BATCHES = 50;

/** A store that cannot answer is a 503 the dashboard retries at its next poll. */
function storeDown(err: unknown): GatewayError {
  return new GatewayError(503, `the request log store is unavailable (${(err as Error).message}); retry later`, {
    type: 'overloaded_error',
    headers: { 'retry-after': '1' },
    cause: err,
  });
}

/**
 * The routes the dashboard reads: /admin/v1/dashboard, /admin/v1/stats/{traffic,providers,jobs}
 * and /admin/v1/requests. Access is checked before they run (app.ts, dashboard/access.ts);
 * parameters are validated against openapi.yaml.
 */
export function mountDashboardApi(app: Express, deps: DashboardDeps): void {
  const route = (handler: (req: Request, res: Response) => Promise<void>): RequestHandler => {
    return (req, res) => {
      handler(req, res).catch((err: unknown) => sendError(res, err instanceof GatewayError ? err : storeDown(err)));
    };
  };
  const startedAt = new Date(deps.metrics.startedAt).toISOString();
  const rl = deps.config.request_log;

  app.get(
    '/admin/v1/dashboard',
    route(async (_req, res) => {
      const info: DashboardInfo = {
        auth: deps.authOn ? 'admin_key' : 'off',
        log_bodies: deps.config.log_bodies,
        keys_api: deps.authOn,
        providers: [...deps.providers.values()].map((p) => ({ name: p.name, type: p.type })),
        request_log: {
          enabled: deps.requestLog !== undefined,
          retention_hours: rl.retention_hours,
          max_records: rl.max_records,
          store: deps.config.store.startsWith('sqlite:') ? 'sqlite' : 'redis',
        },
        started_at: startedAt,
      };
      res.status(200).json(info);
    }),
  );

  app.get(
    '/admin/v1/stats/traffic',
    route(async (req, res) => {
      const window = (req.query.window as 'hour' | 'day' | undefined) ?? 'hour';
      const inFlight = deps.metrics.inFlight;
      let body: TrafficStats;
      if (deps.requestLog) body = { ...(await deps.requestLog.traffic.traffic(window)), in_flight: inFlight };
      else body = emptyTraffic(window, inFlight);
      res.status(200).json(body);
    }),
  );

  app.get(
    '/admin/v1/stats/providers',
    route(async (_req, res) => {
      const body: ProviderStats = await providerStats(deps);
      res.status(200).json(body);
    }),
  );

  app.get(
    '/admin/v1/stats/jobs',
    route(async (_req, res) => {
      const depth = await deps.jobs.depth();
      const live = deps.batches ? await deps.batches.live(LIVE_BATCHES) : [];
      const body: JobStats = {
        jobs: {
          queued: depth.queued,
          running: depth.running,
          completed: deps.metrics.jobsFinishedBy('completed'),
          failed: deps.metrics.jobsFinishedBy('failed'),
        },
        finished_since: startedAt,
        batches_supported: deps.batches !== undefined,
        batches: live.map((b) => ({
          id: b.id,
          processing_status: b.state === 'canceling' ? 'canceling' : b.state === 'ended' ? 'ended' : 'in_progress',
          created_at: new Date(b.createdAt).toISOString(),
          request_counts: { ...b.counts },
        })),
      };
      res.status(200).json(body);
    }),
  );

  app.get(
    '/admin/v1/requests',
    route(async (req, res) => {
      if (!deps.requestLog) {
        const empty: RequestLogPage = { data: [], has_more: false, next_before: null };
        res.status(200).json(empty);
        return;
      }
      const q = req.query as Record<string, string | undefined>;
      const query: RequestQuery = {
        limit: q.limit === undefined ? 50 : Number(q.limit),
        before: q.before,
        status: q.status === undefined || q.status === 'ok' || q.status === 'error' ? q.status : Number(q.status),
        provider: q.provider,
        model: q.model,
        key: q.key,
      };
      if (query.before !== undefined && deps.requestLog.store.kind === 'sqlite' && !/^[0-9]{1,15}$/.test(query.before)) {
        throw new GatewayError(400, 'before: not a cursor this log gave (pass next_before of the previous page)');
      }
      if (query.before !== undefined && deps.requestLog.store.kind === 'redis' && !/^[0-9]{1,15}-[0-9]{1,15}$/.test(query.before)) {
        throw new GatewayError(400, 'before: not a cursor this log gave (pass next_before of the previous page)');
      }
      const page = await deps.requestLog.store.list(query);
      const body: RequestLogPage = {
        data: page.records.map((r) => recordView(r, deps.config.log_bodies)),
        has_more: page.hasMore,
        next_before: page.nextBefore,
      };
      res.status(200).json(body);
    }),
  );
}

function emptyTraffic(window: 'hour' | 'day', inFlight: number): TrafficStats {
  const now = new Date().toISOString();
  const zero = {
    t: Math.floor(Date.now() / 1000),
    requests: 0,
    errors: 0,
    fallbacks: 0,
    rps: 0,
    error_rate: 0,
    p50_ms: null,
    p99_ms: null,
    ttft_p50_ms: null,
    ttft_p99_ms: null,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: 0,
  };
  return { window, interval_s: window === 'hour' ? 60 : 300, from: now, to: now, points: [], totals: zero, in_flight: inFlight };
}
