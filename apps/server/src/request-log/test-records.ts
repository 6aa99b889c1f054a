import type { RequestRecord } from './record.js';

let n = 0;

/** A record as the observer makes one, with what a test wants changed. */
export function testRecord(over: Partial<RequestRecord> = {}): RequestRecord {
  n++;
  return {
    id: `req_test${n}`,
    at: Date.now(),
    operation: 'chat',
    method: 'POST',
    path: '/anthropic/v1/messages',
    status: 200,
    errorType: null,
    error: null,
    stream: false,
    requestedModel: 'anthropic/claude-haiku-4-5',
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    providerLabel: 'anthropic',
    modelLabel: 'claude-haiku-4-5',
    attempts: 1,
    fallbackIndex: 0,
    latencyMs: 12,
    ttftMs: null,
    inputTokens: 10,
    outputTokens: 5,
    cacheReadTokens: null,
    cacheWriteTokens: null,
    costUsd: 0.001,
    keyId: 'key_a',
    keyName: 'alice',
    team: null,
    body: null,
    bodyTruncated: false,
    ...over,
  };
}
