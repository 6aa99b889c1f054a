import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Every Conduit key starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const KEY_PREFIX = 'sk-cdt-';

const HASHED = /^sha256:[0-9a-f]{64}$/;

/** A new client key: the prefix and 256 random bits in base64url. Shown once; only its hash is kept. */
export function newSecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

/** `sha256:<hex>` of a secret. Keys carry 256 random bits, so a fast hash is enough to keep them unrecoverable. */
export function hashSecret(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex')}`;
}

/**
 * hashSecret for the request path: a gateway sees the same few keys all day, so each is hashed
 * once. Bounded; starts over when full. (Only in this process's memory, like the request that
 * carried it; never stored or logged.)
 */
const recent = new Map<string, string>();
export function hashPresented(secret: string): string {
  let hash = recent.get(secret);
  if (hash === undefined) {
    hash = hashSecret(secret);
    if (recent.size >= 1024) recent.clear();
    recent.set(secret, hash);
  }
  return hash;
}

/** A configured value (the secret itself, or `sha256:<hex>` of it) → the hash to store. */
export function configuredHash(value: string): string {
  return HASHED.test(value) ? value : hashSecret(value);
}

export function isHashed(value: string): boolean {
  return HASHED.test(value);
}

/**
 * Whether two `sha256:<hex>` hashes are equal. A plain comparison: what it could leak through its
 * timing is how much of a hash matches, which brings no one closer to a secret of 256 random bits
 * (and this runs on every request).
 */
export function sameHash(a: string, b: string): boolean {
  return a === b;
}

/** Constant-time comparison, for the admin key (which may be a weaker secret than a generated key). */
export function sameHashConstantTime(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A random id: `<prefix>_` and 128 bits in base64url. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url')}`;
}

/**
 * The credential a client sent: `x-api-key`, else the token of `Authorization: Bearer`. `kind`
 * says which (logs show it; never the credential).
 */
export function presentedCredential(headers: { 'x-api-key'?: string | string[]; authorization?: string | string[] }):
  | { kind: 'x-api-key' | 'bearer'; secret: string }
  | undefined {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey !== '') return { kind: 'x-api-key', secret: apiKey };
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return { kind: 'bearer', secret: m[1]! };
  }
  return undefined;
}
