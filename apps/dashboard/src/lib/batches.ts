import type { BatchProgress } from '@conduit/sdk';

/** How far a batch got: finished requests over all of them (0 for an empty batch). */
export function batchProgress(b: BatchProgress): { done: number; total: number; fraction: number } {
  const c = b.request_counts;
  const done = c.succeeded + c.errored + c.canceled + c.expired;
  const total = done + c.processing;
  return { done, total, fraction: total === 0 ? 0 : done / total };
}
