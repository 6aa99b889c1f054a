import { describe, expect, it } from 'vitest';
import { decodeSignature, encodeSignature } from './thought-signatures.js';

describe('Gemini thought signatures in thinking blocks', () => {
  it('round trip, with where the signature belongs', () => {
    for (const placement of ['call', 'text', 'thought'] as const) {
      expect(decodeSignature(encodeSignature(placement, 'Ci8B+/x=='))).toEqual({ placement, signature: 'Ci8B+/x==' });
    }
  });

  it('anything else is not a Gemini signature: Claude’s, "", unknown placements, an empty value', () => {
    for (const other of ['EqQBCkYIBxgCKkBClaude', '', 'gemini:', 'gemini:call:', 'gemini:other:abc', 'gemini:abc', undefined, 42]) expect(decodeSignature(other)).toBeUndefined();
  });
});
