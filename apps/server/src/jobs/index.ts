export { asyncSchema, storeSchema, type AsyncConfig } from './config.js';
export { handleAsync, isAsyncPoll, isAsyncRequest, skipsRequestValidation } from './http.js';
export { createJobService, JobService, type JobServiceOptions } from './service.js';
export type { JobOutcome, JobStatus, JobStore, JobView, NewJob } from './types.js';
