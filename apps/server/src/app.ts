import { fileURLToPath } from 'node:url';
import express, { type Express } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { GatewayError } from './errors.js';
import { countTokensHandler } from './http/count-tokens.js';
import { errorHandler, sendError } from './http/error-envelope.js';
import { createMessageHandler } from './http/messages.js';
import { listModelsHandler, modelCatalogue } from './http/models.js';
import { requestId } from './http/request-id.js';
import { createProviders } from './providers/registry.js';
import type { Provider } from './providers/types.js';
import { Router } from './routing/router.js';

/** The contract, at the repo root; the same relative path holds from src/ and from dist/. */
export const DEFAULT_SPEC_PATH = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

export interface AppOptions {
  logger: Logger;
  specPath?: string;
  /** Interval of silence after which a stream gets a `ping` event. */
  pingIntervalMs?: number;
}

export interface Gateway {
  app: Express;
  providers: ReadonlyMap<string, Provider>;
  router: Router;
  /** Releases upstream connection pools. */
  close(): Promise<void>;
}

export function createGateway(config: Config, opts: AppOptions): Gateway {
  const providers = createProviders(config);
  const router = new Router(providers, config);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use(requestId);
  app.get('/health', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });
  app.use(express.json({ limit: config.body_limit }));
  app.use(
    OpenApiValidator.middleware({
      apiSpec: opts.specPath ?? DEFAULT_SPEC_PATH,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: false,
      validateSecurity: false,
      ignoreUndocumented: true,
    }),
  );

  const startedAt = new Date().toISOString();
  app.post('/anthropic/v1/messages', createMessageHandler({ router, pingIntervalMs: opts.pingIntervalMs ?? 15_000 }));
  app.post('/anthropic/v1/messages/count_tokens', countTokensHandler(router));
  app.get('/anthropic/v1/models', listModelsHandler(modelCatalogue(providers, startedAt)));

  app.use((req, res) => {
    sendError(res, new GatewayError(404, `no route for ${req.method} ${req.path}`));
  });
  app.use(errorHandler((err) => opts.logger.error({ err }, 'unexpected error')));

  return {
    app,
    providers,
    router,
    async close() {
      await Promise.all([...providers.values()].map((p) => p.close()));
    },
  };
}
