import { createHash } from 'node:crypto';
import type { Request } from 'express';

/**
 * Whose job it is: sha256 of the credential the client sent (x-api-key, else the bearer token),
 * or "anonymous". The same key sent either way is the same owner. Only the hash is stored.
 * Once gateway auth exists, this becomes the authenticated gateway key's id.
 */
export function jobOwner(req: Request): string {
  const apiKey = single(req.headers['x-api-key']);
  const authorization = single(req.headers.authorization);
  const credential = apiKey ?? (authorization ? authorization.replace(/^bearer\s+/i, '') : undefined);
  if (!credential) return 'anonymous';
  return createHash('sha256').update(credential).digest('hex');
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
