import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeAnthropic } from '../src/index.js';
import type { FakeUpstream } from '../src/index.js';

/** The fake's Message Batches API, driven by the official SDK as the gateway's pass-through would be. */
describe('fake Anthropic Message Batches API', () => {
  let fake: FakeUpstream;
  let client: Anthropic;
  beforeAll(async () => {
    fake = await startFakeAnthropic({ batchProcessingMs: 50 });
    client = new Anthropic({ apiKey: 'k', baseURL: fake.url, maxRetries: 0, defaultHeaders: { 'x-api-key': 'k' } });
  });
  afterAll(() => fake.close());

  const requests = [
    { custom_id: 'a', params: { model: 'claude-x', max_tokens: 8, messages: [{ role: 'user' as const, content: 'first' }] } },
    { custom_id: 'b', params: { model: 'claude-y', max_tokens: 8, messages: [{ role: 'user' as const, content: 'second' }] } },
  ];

  it('creates a batch in progress that ends after batchProcessingMs, with one succeeded line per request', async () => {
    const created = await client.messages.batches.create({ requests });
    expect(created).toMatchObject({ type: 'message_batch', processing_status: 'in_progress', results_url: null });
    expect(created.request_counts).toEqual({ processing: 2, succeeded: 0, errored: 0, canceled: 0, expired: 0 });
    await new Promise((r) => setTimeout(r, 80));
    const ended = await client.messages.batches.retrieve(created.id);
    expect(ended.processing_status).toBe('ended');
    expect(ended.request_counts.succeeded).toBe(2);
    expect(ended.results_url).toBe(`${fake.url}/v1/messages/batches/${created.id}/results`);
    const lines = [];
    for await (const line of await client.messages.batches.results(created.id)) lines.push(line);
    expect(lines.map((l) => [l.custom_id, l.result.type === 'succeeded' && l.result.message.model, l.result.type === 'succeeded' && l.result.message.content])).toEqual([
      ['a', 'claude-x', [{ type: 'text', text: 'batch echo first' }]],
      ['b', 'claude-y', [{ type: 'text', text: 'batch echo second' }]],
    ]);
    expect((await client.messages.batches.list()).data.map((b) => b.id)).toContain(created.id);
    expect(await client.messages.batches.delete(created.id)).toEqual({ id: created.id, type: 'message_batch_deleted' });
    await expect(client.messages.batches.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
  });

  it('a batch cancelled before it ends has every request canceled; an unfinished batch has no results and is not deleted', async () => {
    const slow = await startFakeAnthropic({ batchProcessingMs: 60_000 });
    try {
      const sdk = new Anthropic({ apiKey: 'k', baseURL: slow.url, maxRetries: 0, defaultHeaders: { 'x-api-key': 'k' } });
      const { id } = await sdk.messages.batches.create({ requests });
      await expect(sdk.messages.batches.delete(id)).rejects.toMatchObject({ status: 400 });
      const res = await fetch(`${slow.url}/v1/messages/batches/${id}/results`, { headers: { 'x-api-key': 'k' } });
      expect(res.status).toBe(400);
      const canceled = await sdk.messages.batches.cancel(id);
      expect(canceled.cancel_initiated_at).not.toBeNull();
      expect(canceled.request_counts.canceled).toBe(2);
      const lines = [];
      for await (const line of await sdk.messages.batches.results(id)) lines.push(line.result.type);
      expect(lines).toEqual(['canceled', 'canceled']);
    } finally {
      await slow.close();
    }
  });

  it('refuses a batch without requests, and a request without its params, as the API does', async () => {
    await expect(client.messages.batches.create({ requests: [] })).rejects.toMatchObject({ status: 400 });
    await expect(client.messages.batches.create({ requests: [{ custom_id: 'x' }] as never })).rejects.toMatchObject({ status: 400 });
    await expect(client.messages.batches.retrieve('msgbatch_unknown')).rejects.toMatchObject({ status: 404 });
  });
});
