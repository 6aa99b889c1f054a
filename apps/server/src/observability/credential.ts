import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { clientCredential } from '../client-credential.js';

export type CredentialKind = 'x-api-key' | 'bearer' | 'none';

export interface CredentialId {
  kind: CredentialKind;
  /** `sha256:` + the first 12 hex digits of the credential's SHA-256: enough to tell keys apart in logs, useless to recover one. */
  id: string | null;
}

const NONE: CredentialId = { kind: 'none', id: null };
const cache = new Map<string, string>();
const CACHE_LIMIT = 1024;

/** Identifies the caller's credential (client-credential.ts decides which) for logs without ever holding the secret in a log line. */
export function credentialId(headers: IncomingHttpHeaders): CredentialId {
  const credential = clientCredential(headers);
  return credential ? { kind: credential.kind, id: fingerprint(credential.secret) } : NONE;
}

/** A few clients send the same keys all day: hash each once. The map is bounded and simply starts over when full. */
export function fingerprint(secret: string): string {
  let id = cache.get(secret);
  if (id === undefined) {
    id = `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(secret, id);
  }
  return id;
}
