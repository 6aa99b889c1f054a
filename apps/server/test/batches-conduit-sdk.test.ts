import {
  BatchTimeoutError,
  ConduitError,
  cancelMessageBatch,
  createConduitClient,
  createMessageBatch,
  deleteMessageBatch,
  getMessageBatch,
  listMessageBatches,
  messageBatchResults,
  waitForMessageBatch,
} from '@conduit/sdk';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchRequest } from './helpers/batches.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

/** Conduit's generated SDK on the batch routes, with its hand-written helpers for waiting and for the JSONL results. */

let upstream: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({
    default_provider: 'anthropic',
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-up' }], max_retries: 0 } },
  });
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

describe('@conduit/sdk message batches', () => {
  it('createMessageBatch → waitForMessageBatch → messageBatchResults, list, delete', async () => {
    upstream.setResponder((req) => ({ kind: 'json', body: anthropicMessage({ text: `sdk ${String(req.body.messages[0].content)}` }) }));
    const client = createConduitClient({ baseUrl: gw.url, apiKey: 'sdk-key' });
    const { data: created, error } = await createMessageBatch({ client, body: { requests: [batchRequest('a', 'one'), batchRequest('b', 'two')] } });
    expect(error).toBeUndefined();
    const ended = await waitForMessageBatch(created!.id, { client, intervalMs: 50, timeoutMs: 10_000 });
    expect(ended.request_counts.succeeded).toBe(2);
    const lines = [];
    for await (const line of messageBatchResults(created!.id, { client })) lines.push(line);
    expect(lines.map((l) => [l.custom_id, l.result.type === 'succeeded' ? l.result.message.content : l.result.type])).toEqual([
      ['a', [{ type: 'text', text: 'sdk one' }]],
      ['b', [{ type: 'text', text: 'sdk two' }]],
    ]);
    const { data: page } = await listMessageBatches({ client, query: { limit: 1 } });
    expect(page!.data.map((b) => b.id)).toEqual([created!.id]);
    const { data: got } = await getMessageBatch({ client, path: { message_batch_id: created!.id } });
    expect(got!.processing_status).toBe('ended');
    const { data: deleted } = await deleteMessageBatch({ client, path: { message_batch_id: created!.id } });
    expect(deleted).toEqual({ id: created!.id, type: 'message_batch_deleted' });
  });

  it('errors are ConduitErrors: results of a batch still running (409), of another credential (404); a wait gives up with BatchTimeoutError', async () => {
    upstream.setResponder(() => ({ kind: 'hang' }));
    const client = createConduitClient({ baseUrl: gw.url, apiKey: 'sdk-key-2' });
    const { data: created } = await createMessageBatch({ client, body: { requests: [batchRequest('slow', 'x')] } });
    const early = messageBatchResults(created!.id, { client });
    await expect(early.next()).rejects.toMatchObject({ name: 'ConduitError', status: 409, type: 'conflict_error' });
    const stranger = createConduitClient({ baseUrl: gw.url, apiKey: 'stranger' });
    await expect(messageBatchResults(created!.id, { client: stranger }).next()).rejects.toBeInstanceOf(ConduitError);
    await expect(waitForMessageBatch(created!.id, { client, intervalMs: 20, timeoutMs: 100 })).rejects.toBeInstanceOf(BatchTimeoutError);
    const { data: canceling } = await cancelMessageBatch({ client, path: { message_batch_id: created!.id } });
    expect(canceling!.processing_status).toBe('canceling');
  });
});
