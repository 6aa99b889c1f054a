import type { ErrorType } from '../../generated/types.gen.js';
import type { JobOutcome } from '../types.js';
import type { RequestOutcome, RequestResult } from './types.js';

/**
 * A worker's outcome as a batch result: `succeeded` with the message the sync call would have
 * answered, or `errored` with the error envelope it would have answered (Anthropic's
 * MessageBatchSucceededResult / MessageBatchErroredResult), as one line of JSON.
 */
export function requestResult(outcome: JobOutcome, requestId: string): RequestResult {
  if (outcome.status === 'completed') {
    return { outcome: 'succeeded', result: `{"type":"succeeded","message":${oneLine(outcome.body)}}` };
  }
  return { outcome: 'errored', result: JSON.stringify({ type: 'errored', error: errorEnvelope(outcome.errorType, outcome.message, requestId) }) };
}

/** The `result` of a request that never ran. */
export function unrunResult(outcome: Extract<RequestOutcome, 'canceled' | 'expired'>): string {
  return outcome === 'canceled' ? '{"type":"canceled"}' : '{"type":"expired"}';
}

/** One results line. `customId` is `^[a-zA-Z0-9_-]{1,64}$` (validated at submit): it needs no escaping. */
export function resultLine(customId: string, result: string): string {
  return `{"custom_id":"${customId}","result":${result}}`;
}

function errorEnvelope(type: ErrorType, message: string, requestId: string) {
  return { type: 'error', error: { type, message }, request_id: requestId };
}

/**
 * JSON text on one line. An upstream's answer is relayed byte for byte, and may be pretty-printed;
 * inside JSON strings a line break is always escaped, so only whitespace between tokens can hold one.
 */
function oneLine(json: string): string {
  return json.includes('\n') || json.includes('\r') ? JSON.stringify(JSON.parse(json)) : json;
}
