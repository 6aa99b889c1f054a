import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { authEnabled } from '../governance/config.js';
import { Redactor } from '../redaction.js';
import { Metrics } from './metrics.js';
import { observeRequests } from './observer.js';
import { PriceBook } from './prices.js';
import { ReadinessChecks } from './readiness.js';
import type { RequestRecord } from '../request-log/record.js';

export { Metrics, type BatchMetrics, type BreakerState, type RoutingActivity, type JobMetrics, type Operation, type RoutingMetrics } from './metrics.js';
export { ReadinessChecks, type ReadinessCheck } from './readiness.js';
export { isObserved, noteError, observationOf, Observation } from './observation.js';
export { PriceBook, type TokenCounts } from './prices.js';

export interface Observability {
  metrics: Metrics;
  readiness: ReadinessChecks;
  /** Request prices: config `pricing`, else the catalogue. */
  prices: PriceBook;
  /** Per-request log line and metrics; mount after the probe routes. */
  observe: RequestHandler;
  /** GET /metrics */
  scrape: RequestHandler;
  /** GET /ready */
  ready: RequestHandler;
}

export function createObservability(
  config: Pick<Config, 'pricing' | 'log_bodies' | 'providers' | 'auth'>,
  logger: Logger,
  opts: {
    processMetrics?: boolean;
    redactor?: Redactor;
    /** Where each request's record goes (the request log), if anywhere. */
    requestLog?: { add(record: RequestRecord): void; maxBodyChars: number };
  } = {},
): Observability {
  const metrics = new Metrics({ processMetrics: opts.processMetrics });
  const readiness = new ReadinessChecks();
  const prices = new PriceBook(config.pricing, config.providers);
  return {
    metrics,
    readiness,
    prices,
    observe: observeRequests({
      metrics,
      logger,
      prices,
      logBodies: config.log_bodies,
      gatewayAuth: authEnabled(config.auth),
      redactor: opts.redactor ?? new Redactor([]),
      requestLog: opts.requestLog,
    }),
    async scrape(_req, res) {
      const text = await metrics.scrape();
      res.status(200).setHeader('content-type', metrics.contentType);
      res.end(text);
    },
    async ready(_req, res) {
      const report = await readiness.run();
      res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'not_ready', checks: report.checks });
    },
  };
}
