import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { clientCredential } from '../client-credential.js';
import { callerOf } from '../governance/caller.js';

/**
 * Whose job it is: sha256 of the client's credential (client-credential.ts: the one a keyless
 * provider forwards, so the same key sent as x-api-key or as a bearer token is the same owner), or
 * "anonymous" without one. Only the hash is stored. With gateway auth, see requestOwner.
 */
export function jobOwner(req: Request): string {
  const credential = clientCredential(req.headers);
  if (!credential) return 'anonymous';
  return createHash('sha256').update(credential.secret).digest('hex');
}

/**
 * Whose job or batch it is. With gateway auth, the authenticated key's (by id: the key itself is not
 * kept, and governance takes it off the request); without, the credential's hash (jobOwner).
 */
export function requestOwner(req: Request, res: Response): string {
  const caller = callerOf(res);
  return caller ? `key:${caller.key.id}` : jobOwner(req);
}
