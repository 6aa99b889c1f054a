import type { Request } from 'express';
import type { ClientHeaders } from '../providers/types.js';

/** The client headers that travel upstream. Values are forwarded exactly as received. */
export function clientHeaders(req: Request): ClientHeaders {
  const h = req.headers;
  return {
    anthropicVersion: single(h['anthropic-version']),
    anthropicBeta: single(h['anthropic-beta']),
    apiKey: single(h['x-api-key']),
    authorization: single(h.authorization),
  };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
