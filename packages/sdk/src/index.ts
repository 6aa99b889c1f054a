/**
 * @conduit/sdk: the typed client for Conduit, generated from openapi.yaml, plus a few
 * hand-written helpers (client setup, typed errors, SSE streaming, async jobs, message batches).
 */
export * from './generated/index.js';
export { createClient, createConfig, type Client } from './generated/client/index.js';
export { createConduitClient, type ConduitClientOptions } from './client.js';
export { ConduitError } from './errors.js';
export { streamMessage, type StreamMessageOptions } from './stream.js';
export {
  AsyncTimeoutError,
  getAsync,
  submitAsync,
  waitForAsync,
  type AsyncJob,
  type AsyncJobStatus,
  type AsyncRequestOptions,
  type CompletedAsyncJob,
  type FailedAsyncJob,
  type FinishedAsyncJob,
  type PendingAsyncJob,
  type SubmitAsyncOptions,
  type WaitForAsyncOptions,
} from './async.js';
export {
  BatchTimeoutError,
  messageBatchResults,
  waitForMessageBatch,
  type BatchRequestOptions,
  type WaitForMessageBatchOptions,
} from './batches.js';
