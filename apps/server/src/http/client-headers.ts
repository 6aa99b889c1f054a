import type { Request } from 'express';
import { clientCredential } from '../client-credential.js';
import type { ClientHeaders } from '../providers/types.js';

/** The client headers that travel upstream. anthropic-version and anthropic-beta are forwarded exactly as received. */
export function clientHeaders(req: Request): ClientHeaders {
  const h = req.headers;
  return {
    anthropicVersion: single(h['anthropic-version']),
    anthropicBeta: single(h['anthropic-beta']),
    credential: clientCredential(h),
  };
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
