import type { Refusal, Subject } from './types.js';

/** The answers a limit gives, worded once for both stores. */
export const refusals = {
  rpm: (s: Subject, retryAfterS: number): Refusal => ({
    status: 429,
    type: 'rate_limit_error',
    message: `${s.label} is over its limit of ${s.limits.rpm} requests per minute; retry in ${retryAfterS} s`,
    retryAfterS,
  }),
  tpm: (s: Subject, retryAfterS: number): Refusal => ({
    status: 429,
    type: 'rate_limit_error',
    message: `${s.label} has used its ${s.limits.tpm} tokens per minute; retry in ${retryAfterS} s`,
    retryAfterS,
  }),
  concurrency: (s: Subject): Refusal => ({
    status: 429,
    type: 'rate_limit_error',
    message: `${s.label} already has ${s.limits.maxConcurrent} requests in flight (max_concurrent); retry when one finishes`,
    retryAfterS: 1,
  }),
  budget: (s: Subject, endsAt: number): Refusal => ({
    status: 402,
    type: 'billing_error',
    message: `${s.label} has spent its budget of $${s.limits.budgetUsd} for this ${s.limits.budgetPeriod}; it renews at ${new Date(endsAt).toISOString()}`,
  }),
  reserved: (s: Subject): Refusal => ({
    status: 429,
    type: 'rate_limit_error',
    message: `the rest of ${s.label}'s budget of $${s.limits.budgetUsd} is held by requests in flight; retry when they finish`,
    retryAfterS: 1,
  }),
  revoked: (s: Subject): Refusal => ({
    status: 401,
    type: 'authentication_error',
    message: `${s.label} has been revoked`,
  }),
};
