import type { RequestHandler } from 'express';
import type { CountTokensRequest } from '../generated/types.gen.js';
import { observationOf } from '../observability/observation.js';
import type { Router } from '../routing/router.js';
import { abortOnClientClose } from './abort-on-close.js';
import { clientHeaders } from './client-headers.js';
import { sendError, toGatewayError } from './error-envelope.js';

/** POST /anthropic/v1/messages/count_tokens (operationId countTokens). */
export function countTokensHandler(router: Router): RequestHandler {
  return async (req, res) => {
    const body = req.body as CountTokensRequest;
    const obs = observationOf(res);
    obs.operation = 'count_tokens';
    obs.requestedModel = body.model;
    const signal = abortOnClientClose(res);
    try {
      // Resolved here too (router.countTokens resolves the same way) so metrics and the log name the
      // provider/model asked, also when it fails. An unknown model throws: the request stays `_none`.
      obs.target(router.resolve(body.model));
      obs.attempts = 1;
      obs.beginWait();
      const result = await router.countTokens(body, {
        clientHeaders: clientHeaders(req),
        signal,
        requestId: res.getHeader('request-id') as string,
      });
      obs.endWait();
      res.status(200).json(result);
    } catch (err) {
      if (!signal.aborted) sendError(res, toGatewayError(err));
    }
  };
}
