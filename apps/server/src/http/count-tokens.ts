import type { RequestHandler } from 'express';
import type { CountTokensRequest } from '../generated/types.gen.js';
import type { Router } from '../routing/router.js';
import { abortOnClientClose } from './abort-on-close.js';
import { clientHeaders } from './client-headers.js';
import { sendError, toGatewayError } from './error-envelope.js';

/** POST /anthropic/v1/messages/count_tokens (operationId countTokens). */
export function countTokensHandler(router: Router): RequestHandler {
  return async (req, res) => {
    const signal = abortOnClientClose(res);
    try {
      const result = await router.countTokens(req.body as CountTokensRequest, {
        clientHeaders: clientHeaders(req),
        signal,
        requestId: res.getHeader('request-id') as string,
      });
      res.status(200).json(result);
    } catch (err) {
      if (!signal.aborted) sendError(res, toGatewayError(err));
    }
  };
}
