import { IncomingMessage, ServerResponse, createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { GatewayError } from './errors.js';
import { quote } from './quote.js';
import { Redactor } from './redaction.js';
import { redactingLogger } from './observability/redacting-logger.js';
import { useRedactor } from './http/response-redaction.js';
import { answerClientErrors } from './http/client-error.js';
import { callerOf, createGovernance, mountAdminApi, type Governance } from './governance/index.js';
import { countTokensHandler } from './http/count-tokens.js';
import { rejectEmptyContent } from './http/empty-content.js';
import { validateWithProvenMembers } from './http/validate-members.js';
import { errorHandler, sendError } from './http/error-envelope.js';
import { loadValidatorSpec } from './http/validator-spec.js';
import { createMessageHandler } from './http/messages.js';
import { getModelHandler, listModelsHandler, modelCatalogue } from './http/models.js';
import { newRequestId } from './http/request-id.js';
import { deadlineServerOptions, type RequestDeadlines } from './http/request-deadlines.js';
import { BodyBudget, parseByteSize, readJsonBody } from './http/json-body.js';
import { ParseCache } from './contract/parse-cache.js';
import { createJobService, skipsRequestValidation, type JobService } from './jobs/index.js';
import { BATCHES_PATH, createBatchService, mountBatchRoutes, readsOwnBody, type BatchService } from './jobs/batches/index.js';
import { createObservability, type Metrics, type ReadinessChecks } from './observability/index.js';
import { configuredModels } from './observability/model-labels.js';
import { createProviders } from './providers/registry.js';
import type { Provider } from './providers/types.js';
import { Router } from './routing/router.js';
import { createRoutingState } from './state/index.js';
import { dashboardAccess, isDashboardApi } from './dashboard/access.js';
import { mountDashboardApi } from './dashboard/routes.js';
import { serveUi, UI_PREFIX } from './dashboard/static.js';
import { createRequestLog, type RequestLog } from './request-log/index.js';

/** The contract, at the repo root; the same relative path holds from src/ and from dist/. */
export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

export interface AppOptions {
  logger: Logger;
  specPath?: string;
  /** Interval of silence after which a stream gets a `ping` event. */
  pingIntervalMs?: number;
  /** Export process metrics (CPU, RSS, heap, event loop) on /metrics. The CLI turns this on. */
  processMetrics?: boolean;
  /** The built dashboard served at /ui (default: apps/dashboard/dist). */
  uiDir?: string;
}

export interface Gateway {
  app: Express;
  providers: ReadonlyMap<string, Provider>;
  router: Router;
  /** Prometheus metrics; also the hooks routing and jobs report to (retry, fallback, breakerState, jobQueued, ...). */
  metrics: Metrics;
  /** /ready checks: register one per dependency (e.g. the job store). */
  readiness: ReadinessChecks;
  /** Async jobs (x-bf-async): store, workers, sweep. */
  jobs: JobService;
  /** Message Batches: store, workers, sweep (on the async jobs' engine). */
  batches: BatchService;
  /** The request log the dashboard reads (config `request_log`); undefined when off. */
  requestLog: RequestLog | undefined;
  /**
   * An HTTP server for the app (not listening yet), with the config's request deadlines. Serve the
   * gateway with this rather than `app.listen`: see `serverFor`.
   */
  createServer(): Server;
  /** Releases upstream connection pools. */
  close(): Promise<void>;
}

export function createGateway(config: Config, opts: AppOptions): Gateway {
  // Every configured secret, kept out of answers, logs and stored job outcomes.
  const redactor = Redactor.fromConfig(config);
  const logger = redactingLogger(opts.logger, redactor);
  // The request log: a record per request, written in batches off the request path.
  let observability: ReturnType<typeof createObservability> | undefined;
  const requestLog = createRequestLog({
    store: config.store,
    config: config.request_log,
    redisPrefix: config.async.redis_prefix,
    storeTimeoutMs: config.async.store_timeout_ms,
    onDrop: (n) => observability?.metrics.requestLogDrop(n),
    onError: (err) => logger.warn({ err }, 'request log store error'),
  });
  observability = createObservability(config, logger, {
    processMetrics: opts.processMetrics,
    redactor,
    requestLog: requestLog && { add: (r) => requestLog.add(r), maxBodyChars: config.request_log.max_body_chars },
  });
  if (config.stream_fallback_prefill !== undefined) {
    logger.warn(
      'stream_fallback_prefill is deprecated and has no effect: a stream that breaks mid-answer is continued on any target that can ' +
        'continue it (providers.<name>.continuation); limits.max_stream_continuations: 0 turns continuation off',
    );
  }
  const { metrics } = observability;
  // Breakers, key cooldowns and learnt facts: this process's, or shared with the fleet through Redis.
  const state = createRoutingState(config, logger, (circuit, breaker) => {
    const slash = circuit.indexOf('/');
    metrics.breakerState(circuit.slice(0, slash), circuit.slice(slash + 1), breaker);
  });
  const providers = createProviders(config, state.facts);
  const specPath = opts.specPath ?? DEFAULT_SPEC_PATH;
  const router = new Router(providers, config, { metrics, breakers: state.breakers, cooldowns: state.cooldowns, facts: state.facts });
  const configured = configuredModels(config, (m) => router.resolve(m));
  for (const [provider, model] of configured) metrics.configureModel(provider, model);
  // Who may spend what: undefined without an `auth` section (no gateway auth, as before).
  const governance = createGovernance(config, { router, prices: observability.prices, logger });
  const jobs = createJobService({
    store: config.store,
    config: config.async,
    router,
    logger,
    metrics,
    redactor,
    gate: governance && { admit: (keyId) => governance.admitJob(keyId), settle: (keyId, served) => governance.settleJob(keyId, served) },
  });
  jobs.start();
  observability.readiness.register('store', () => jobs.ping());
  if (governance) observability.readiness.register('governance', () => governance.ping());
  const batches = createBatchService({
    store: config.store,
    config: config.batches,
    asyncConfig: config.async,
    router,
    providers,
    sealer: jobs.sealer,
    gate: governance && { admit: (keyId) => governance.admitJob(keyId), settle: (keyId, served) => governance.settleJob(keyId, served) },
    redactor,
    logger,
    metrics,
    specPath,
    inFlight: () => metrics.inFlight,
    limits: { requestBytes: parseByteSize(config.body_limit), maxDepth: config.body_max_depth, requestTimeoutMs: config.limits.request_timeout_ms },
  });
  batches.start();
  const app = express();
  useRedactor(app, redactor);
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  // Probes answer before anything else and are neither logged nor counted. Every other request is
  // observed (one log line, metrics) and has its JSON body read, in one middleware: each layer of
  // express's router costs a dispatch per request, and the benchmark's profile showed them.
  const preconnect: RequestHandler = (_req, res) => {
    res.status(200).end();
  };
  // A Map: the path is the client's, and must find only these.
  const probes = new Map<string, RequestHandler>([
    [
      '/health',
      (_req, res) => {
        res.status(200).json({ status: 'ok' });
      },
    ],
    ['/ready', observability.ready],
    ['/metrics', governance?.auth.metrics === 'admin' ? adminOnly(governance, observability.scrape) : observability.scrape],
    // Clients open a connection to their base URL before the first request (Claude Code: HEAD).
    ['/anthropic', preconnect],
    ['/anthropic/', preconnect],
    ['/anthropic/v1', preconnect],
    ['/anthropic/v1/', preconnect],
  ]);
  const bodyLimit = parseByteSize(config.body_limit);
  const bodyMaxDepth = config.body_max_depth;
  const parseCache = config.limits.parse_cache_mb > 0 ? new ParseCache(config.limits.parse_cache_mb * 1024 * 1024) : undefined;
  const bodies = new BodyBudget(config.limits.bodies_in_flight_mb * 1024 * 1024);
  // The dashboard: its files, and the routes it polls (neither logged nor counted, so a dashboard
  // left open does not fill the request log with itself).
  const ui = config.ui ? serveUi(opts.uiDir, governance ? 'admin_key' : 'off') : undefined;
  const mayReadDashboard = dashboardAccess(governance);
  app.use((req, res, next) => {
    res.setHeader('request-id', newRequestId());
    const read = req.method === 'GET' || req.method === 'HEAD';
    const probe = read ? probes.get(req.path) : undefined;
    if (probe !== undefined) {
      void probe(req, res, next);
      return;
    }
    if (read && ui && (req.path === UI_PREFIX || req.path.startsWith(`${UI_PREFIX}/`))) {
      void ui(req, res, next);
      return;
    }
    if (read && isDashboardApi(req.path)) {
      const refused = mayReadDashboard(req);
      if (refused) sendError(res, refused);
      else next();
      return;
    }
    const readBody = () => {
      // Creating a batch reads its own body as it arrives (up to batches.body_limit).
      if (readsOwnBody(req)) {
        next();
        return;
      }
      readJsonBody(req, bodyLimit, bodyMaxDepth, parseCache, bodies).then((body) => {
        req.body = body;
        next();
      }, next);
    };
    if (governance === undefined) {
      observability.observe(req, res, readBody);
      return;
    }
    // With auth, the caller is known before the body is read: nobody without a key makes the
    // gateway read and validate a body.
    observability.observe(req, res, () => {
      const refused = req.path.startsWith('/admin/') ? governance.authenticateAdmin(req) : req.path.startsWith('/anthropic/') ? governance.authenticate(req, res) : undefined;
      if (refused === undefined) readBody();
      else if (refused instanceof GatewayError) sendError(res, refused);
      else refused.then((err) => (err ? sendError(res, err) : readBody()), next);
    });
  });
  // The validator's middlewares run as one chain (runInOrder), not as an express.Router of their own:
  // a mounted router costs a dispatch (layer matching, path trimming) per middleware per request.
  // Then the one rule about the body the contract cannot express (http/empty-content.ts). A messages
  // body's system and tools that a valid body already held are not validated again (http/validate-members.ts).
  const validator = validateWithProvenMembers(runInOrder([
    ...(OpenApiValidator.middleware({
      // The contract with its unions dispatched on `type` (same verdicts, one member tried per value).
      apiSpec: loadValidatorSpec(specPath) as never,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: false,
      validateSecurity: false,
      ignoreUndocumented: true,
      // No route takes multipart: without the uploader the validator runs one middleware (and one promise hop) less per request.
      fileUploader: false,
      // The contract itself is checked by test/contract-loads.test.ts; re-checking it at start-up costs ~1 s.
      validateApiSpec: false,
    }) as RequestHandler[]),
    rejectEmptyContent,
  ]));
  // An async poll's body is optional and ignored (openapi.yaml, x-bf-async-id): it skips body validation.
  // A batch's requests are each validated against the same contract as they arrive (jobs/batches).
  app.use(
    governance
      ? (req, res, next) => (skipsRequestValidation(req) || readsOwnBody(req) ? next() : validator(req, res, next))
      : // No admin API without auth: its paths stay unknown routes (404), as they always were.
        (req, res, next) =>
          skipsRequestValidation(req) || readsOwnBody(req) || (req.path.startsWith('/admin/') && !isDashboardApi(req.path)) ? next() : validator(req, res, next),
  );

  const startedAt = new Date().toISOString();
  const messages = createMessageHandler({ router, pingIntervalMs: opts.pingIntervalMs ?? 15_000, stalledReaderMs: config.limits.stalled_reader_ms, jobs });
  const countTokens = countTokensHandler(router);
  const catalogue = modelCatalogue(providers, config.models, startedAt);
  const listModels = listModelsHandler(catalogue);
  const getModel = getModelHandler(catalogue);
  app.post('/anthropic/v1/messages', governance ? governance.guard('messages', messages) : messages);
  app.post('/anthropic/v1/messages/count_tokens', governance ? governance.guard('count_tokens', countTokens) : countTokens);
  app.get('/anthropic/v1/models', governance ? governance.guard('models', listModels) : listModels);
  // The official SDKs send a provider/model id URL-encoded (one path segment); the raw form has slashes.
  app.get(['/anthropic/v1/models/:model_id', '/anthropic/v1/models/*model_id'], governance ? governance.guard('models', getModel) : getModel);
  if (governance) app.use(BATCHES_PATH, governance.guard('batches', (_req, _res, next) => next()));
  mountBatchRoutes(app, batches, {
    stalledReaderMs: config.limits.stalled_reader_ms,
    keyOf: governance
      ? (res) => {
          const caller = callerOf(res);
          return caller && { keyId: caller.key.id, permit: (params) => governance.permitModels(caller, params) };
        }
      : undefined,
  });
  if (governance) mountAdminApi(app, governance);
  mountDashboardApi(app, { config, authOn: governance !== undefined, providers, router, metrics, jobs, batches, requestLog, configured });

  app.use((req, res) => {
    sendError(res, new GatewayError(404, `no route for ${req.method} ${quote(req.path)}`));
  });
  app.use(errorHandler((err) => logger.error({ err }, 'unexpected error')));

  return {
    app,
    providers,
    router,
    metrics,
    readiness: observability.readiness,
    jobs,
    batches,
    requestLog,
    createServer: () => serverFor(app, { headersTimeoutMs: config.limits.headers_timeout_ms, requestTimeoutMs: config.limits.request_timeout_ms }, logger),
    async close() {
      await batches.close();
      await jobs.close();
      await requestLog?.close();
      await governance?.close();
      await Promise.all([...providers.values()].map((p) => p.close()));
      await state.close();
    },
  };
}

/** /metrics behind the admin key (`auth.metrics: admin`). */
function adminOnly(governance: Governance, handler: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const refused = governance.authenticateAdmin(req);
    if (refused) sendError(res, refused);
    else void handler(req, res, next);
  };
}

/**
 * Runs middlewares one after the other as a mounted express.Router would (same req, res; an error
 * passed to next, thrown or rejected skips the rest and goes to the app's error handling; next('router')
 * leaves the chain), without the router's per-layer dispatch.
 */
function runInOrder(handlers: readonly RequestHandler[]): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    let i = 0;
    const step = (err?: unknown): void => {
      if (err !== undefined && err !== null && err !== 'route' && err !== 'router') {
        next(err);
        return;
      }
      const handler = i < handlers.length && err !== 'router' ? handlers[i++] : undefined;
      if (handler === undefined) {
        next();
        return;
      }
      try {
        const ret: unknown = handler(req, res, step);
        if (ret instanceof Promise) ret.then(undefined, (e: unknown) => next(e ?? new Error('Rejected promise')));
      } catch (e) {
        next(e);
      }
    };
    step();
  };
}

/**
 * An HTTP server for an express app whose requests and responses are created as express's own, with
 * the gateway's connection limits.
 *
 * express hands every request to `app.handle`, which moves `req` and `res` onto its prototypes with
 * `Object.setPrototypeOf`. On objects node:http just built that turns V8's fast property access off
 * for the rest of the request; measured here it is about half of express's cost per request
 * (bench/README.md, "Where the time goes"). When node:http builds them with express's prototypes in
 * the first place, that call finds the prototype already set and changes nothing. The app and every
 * middleware are the same; only the constructor node:http calls differs.
 *
 * Requests node:http cannot parse never reach the app: they are answered in Anthropic's error
 * envelope here (http/client-error.ts), and so is a request whose headers or body do not arrive in
 * time (a 408, http/request-deadlines.ts). Idle keep-alive connections are kept 65 s, longer than
 * the 60 s load balancers commonly keep theirs, so the balancer is the side that closes them.
 */
export function serverFor(app: Express, deadlines: RequestDeadlines, logger?: Logger): Server {
  // Classes, whose prototypes then become the app's own request and response prototypes. A plain
  // function whose prototype is app.response, calling `ServerResponse.call(this, ...)`, made
  // responses that started in V8's dictionary mode (slow properties, and several KB more per open
  // stream); Reflect.construct made fast objects but slow constructors. A class constructs as
  // node:http's own do, and express's `Object.setPrototypeOf` then finds the prototype it sets.
  class ExpressRequest extends IncomingMessage {}
  class ExpressResponse extends ServerResponse {}
  adoptPrototype(ExpressRequest.prototype, app.request);
  adoptPrototype(ExpressResponse.prototype, app.response);
  app.request = ExpressRequest.prototype as unknown as typeof app.request;
  app.response = ExpressResponse.prototype as unknown as typeof app.response;
  const server = createServer(
    {
      IncomingMessage: ExpressRequest,
      ServerResponse: ExpressResponse as unknown as typeof ServerResponse,
      ...deadlineServerOptions(deadlines),
    },
    app,
  );
  server.keepAliveTimeout = 65_000;
  answerClientErrors(server, deadlines, logger);
  return server;
}

/**
 * Makes `proto` (a class's prototype) stand where `model` (express's app.request or app.response)
 * stood: the same prototype above it (express's request or response methods) and the same own
 * properties (`app`).
 */
function adoptPrototype(proto: object, model: object): void {
  Object.setPrototypeOf(proto, Object.getPrototypeOf(model));
  const own = Object.entries(Object.getOwnPropertyDescriptors(model)).filter(([name]) => name !== 'constructor');
  Object.defineProperties(proto, Object.fromEntries(own));
}
