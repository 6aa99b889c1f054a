import type { ErrorRequestHandler, Response } from 'express';
import { GatewayError, errorTypeForStatus } from '../errors.js';
import { clip } from '../quote.js';
import type { ErrorResponse } from '../generated/types.gen.js';
import { describeValidation, type ValidatorIssue } from './validation-message.js';
import { isObserved, noteError } from '../observability/observation.js';
import { redactionFor } from './response-redaction.js';

/**
 * Renders any error as the Anthropic error envelope. The one place errors become HTTP: message and
 * headers leave without any configured secret or the request's own credential (an upstream error
 * may echo the key it was sent).
 */
export function sendError(res: Response, err: GatewayError): void {
  noteError(res, err);
  const { redactor, own } = redactionFor(res);
  const requestId = res.getHeader('request-id') as string | undefined;
  const body: ErrorResponse = {
    type: 'error',
    error: { type: err.type, message: redactor.redact(err.message, own) },
    request_id: requestId ?? null,
  };
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, redactor.redact(v, own));
  res.status(err.status).json(body);
}

/** Turns body-parser, validator and unexpected errors into GatewayErrors. */
export function toGatewayError(err: unknown, describe: (issues: ValidatorIssue[]) => string = plainDescription): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = err as { status?: number; statusCode?: number; type?: string; errors?: ValidatorIssue[]; message?: string; expose?: boolean };
  const status = e.status ?? e.statusCode;
  if (e.type === 'entity.parse.failed') {
    return new GatewayError(400, `request body is not valid JSON: ${clip(e.message ?? 'parse error', 200)}`);
  }
  if (e.type === 'entity.too.large') {
    return new GatewayError(413, 'request body is too large', { type: 'request_too_large' });
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (Array.isArray(e.errors) && e.errors.length > 0) {
      return new GatewayError(status === 415 ? 400 : status, describe(e.errors), {
        type: errorTypeForStatus(status === 415 ? 400 : status),
      });
    }
    return new GatewayError(status, clip(e.message ?? 'bad request', 2000));
  }
  return new GatewayError(500, 'internal gateway error', { type: 'api_error', cause: err });
}

function plainDescription(issues: ValidatorIssue[]): string {
  return issues.map((i) => `${i.path ?? ''}: ${i.message ?? 'is invalid'}`).join('; ');
}

export function errorHandler(onUnexpected: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const gatewayError = toGatewayError(err, describeValidation);
    // An observed request's log line carries the failure and its cause (observer.ts); others log it here.
    if (gatewayError.status >= 500 && gatewayError.origin === 'gateway' && !isObserved(res)) onUnexpected(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, gatewayError);
  };
}
