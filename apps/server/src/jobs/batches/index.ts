export { batchesSchema, nativeBatchesConfigErrors, type BatchesConfig } from './config.js';
export { BATCHES_PATH, mountBatchRoutes, readsOwnBody } from './http.js';
export { BatchService, createBatchService, type BatchServiceOptions } from './service.js';
export type { BatchRecord, BatchStore } from './types.js';
