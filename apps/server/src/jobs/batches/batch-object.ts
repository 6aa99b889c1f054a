import type { MessageBatch } from '../../generated/types.gen.js';
import type { BatchRecord } from './types.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/**
 * A stored batch as Anthropic's MessageBatch. `resultsUrl` is where this batch's results are
 * (absolute, as Anthropic's is: the SDKs fetch it as given); it is set once the batch has ended and
 * until it is archived, when its results are deleted.
 */
export function batchObject(batch: BatchRecord, resultsUrl: string, now = Date.now()): MessageBatch {
  const archived = now >= batch.resultsUntil;
  const ended = batch.state === 'ended';
  return {
    id: batch.id,
    type: 'message_batch',
    processing_status: batch.state === 'canceling' ? 'canceling' : ended ? 'ended' : 'in_progress',
    request_counts: { ...batch.counts },
    created_at: iso(batch.createdAt),
    ended_at: isoOrNull(batch.endedAt),
    expires_at: iso(batch.expiresAt),
    cancel_initiated_at: isoOrNull(batch.cancelInitiatedAt),
    archived_at: archived ? iso(batch.resultsUntil) : null,
    results_url: ended && !archived ? resultsUrl : null,
  };
}
