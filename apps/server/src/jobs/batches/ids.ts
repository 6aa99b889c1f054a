import { randomBytes } from 'node:crypto';

/** "msgbatch_" + 22 base64url characters: 128 random bits, so ids cannot be guessed. */
export function newBatchId(): string {
  return `msgbatch_${randomBytes(16).toString('base64url')}`;
}

const BATCH_ID = /^msgbatch_[A-Za-z0-9_-]{22}$/;

/** Whether a string can be a batch id at all (anything else is unknown without a store lookup). */
export function isBatchId(id: string): boolean {
  return BATCH_ID.test(id);
}
