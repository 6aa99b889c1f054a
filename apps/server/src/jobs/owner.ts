import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { clientCredential } from '../client-credential.js';

/**
 * Whose job it is: sha256 of the client's credential (client-credential.ts: the one a keyless
 * provider forwards, so the same key sent as x-api-key or as a bearer token is the same owner), or
 * "anonymous" without one. Only the hash is stored. Once gateway auth exists, this becomes the
 * authenticated gateway key's id.
 */
export function jobOwner(req: Request): string {
  const credential = clientCredential(req.headers);
  if (!credential) return 'anonymous';
  return createHash('sha256').update(credential.secret).digest('hex');
}
