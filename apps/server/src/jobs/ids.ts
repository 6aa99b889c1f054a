import { randomBytes } from 'node:crypto';

/** "job_" + 22 base64url characters: 128 random bits, so ids cannot be guessed. */
export function newJobId(): string {
  return `job_${randomBytes(16).toString('base64url')}`;
}

const JOB_ID = /^job_[A-Za-z0-9_-]{22}$/;

/** Whether a string can be a job id at all (anything else is unknown without a store lookup). */
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}
