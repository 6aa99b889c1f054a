import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random id in Anthropic's style, e.g. `msg_01AbC...` (24 characters after the prefix). */
export function generateId(prefix: 'msg' | 'toolu'): string {
  const bytes = randomBytes(24);
  let id = `${prefix}_01`;
  for (let i = 2; i < 24; i++) id += ALPHABET[bytes[i]! % ALPHABET.length];
  return id;
}

/** The Anthropic message id for an upstream completion: `msg_` + the upstream id, or a new one. */
export function messageId(upstreamId: string | undefined): string {
  return typeof upstreamId === 'string' && upstreamId ? `msg_${upstreamId}` : generateId('msg');
}
