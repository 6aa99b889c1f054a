import type { ErrorRequestHandler, Response } from 'express';
import { GatewayError, errorTypeForStatus } from '../errors.js';
import type { ErrorResponse } from '../generated/types.gen.js';
import { describeValidation, type ValidatorIssue } from './validation-message.js';
import { noteError } from '../observability/observation.js';

/** Renders any error as the Anthropic error envelope. The one place errors become HTTP. */
export function sendError(res: Response, err: GatewayError): void {
  noteError(res, err);
  const requestId = res.getHeader('request-id') as string | undefined;
  const body: ErrorResponse = {
    type: 'error',
    error: { type: err.type, message: err.message },
    request_id: requestId ?? null,
  };
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  res.status(err.status).json(body);
}

/** Turns body-parser, validator and unexpected errors into GatewayErrors. */
export function toGatewayError(err: unknown, describe: (issues: ValidatorIssue[]) => string = plainDescription): GatewayError {
  if (err instanceof GatewayError) return err;
  const e = err as { status?: number; statusCode?: number; type?: string; errors?: ValidatorIssue[]; message?: string; expose?: boolean };
  const status = e.status ?? e.statusCode;
  if (e.type === 'entity.parse.failed') {
    return new GatewayError(400, `request body is not valid JSON: ${e.message ?? 'parse error'}`);
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
    return new GatewayError(status, e.message ?? 'bad request');
  }
  return new GatewayError(500, 'internal gateway error', { type: 'api_error', cause: err });
}

function plainDescription(issues: ValidatorIssue[]): string {
  return issues.map((i) => `${i.path ?? ''}: ${i.message ?? 'is invalid'}`).join('; ');
}

export function errorHandler(onUnexpected: (err: unknown) => void): ErrorRequestHandler {
  return (err, _req, res, _next) => {
    const gatewayError = toGatewayError(err, describeValidation);
    if (gatewayError.status >= 500 && gatewayError.origin === 'gateway') onUnexpected(err);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, gatewayError);
  };
}
