import { randomBytes } from 'node:crypto';
import type { RequestHandler } from 'express';

/** Every response carries a `request-id`; the same id goes in error bodies and logs. */
export function newRequestId(): string {
  return `req_${randomBytes(12).toString('base64url')}`;
}

export const requestId: RequestHandler = (_req, res, next) => {
  res.setHeader('request-id', newRequestId());
  next();
};
