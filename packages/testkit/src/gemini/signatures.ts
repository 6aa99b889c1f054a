/**
 * Thought signatures as the fake Gemini issues and checks them. Gemini's are opaque bytes the
 * service can verify; the fake's are base64 of a random nonce and an HMAC of it under a key of this
 * process, so a signature the fake (or a builder) issued verifies, and any altered one does not.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY = randomBytes(32);
const NONCE = 18;
const MAC = 18;

/** Google's documented stand-in for a function call Gemini did not make; Gemini accepts it unchecked. */
export const SKIP_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

/** A new valid signature. */
export function geminiThoughtSignature(): string {
  const nonce = randomBytes(NONCE);
  return Buffer.concat([nonce, mac(nonce)]).toString('base64');
}

/** Whether `signature` is one the fake issued, unaltered (or the documented stand-in). */
export function isValidThoughtSignature(signature: unknown): boolean {
  if (signature === SKIP_THOUGHT_SIGNATURE) return true;
  if (typeof signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signature)) return false;
  const bytes = Buffer.from(signature, 'base64');
  if (bytes.length !== NONCE + MAC || bytes.toString('base64') !== signature) return false;
  return timingSafeEqual(bytes.subarray(NONCE), mac(bytes.subarray(0, NONCE)));
}

function mac(nonce: Buffer): Buffer {
  return createHmac('sha256', KEY).update(nonce).digest().subarray(0, MAC);
}
