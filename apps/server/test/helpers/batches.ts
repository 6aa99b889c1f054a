import type Anthropic from '@anthropic-ai/sdk';
import request from 'supertest';
import { sleep } from './async.js';

export const BATCHES = '/anthropic/v1/messages/batches';

/** One request of a batch: `text` is the user's message, so an echoing upstream can tell them apart. */
export function batchRequest(customId: string, text: string, params: Record<string, unknown> = {}) {
  return {
    custom_id: customId,
    params: { model: 'anthropic/claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user' as const, content: text }], ...params },
  };
}

/** Polls with the official SDK until the batch has ended; bounded. */
export async function waitForBatch(client: Anthropic, id: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await client.messages.batches.retrieve(id);
    if (batch.processing_status === 'ended') return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.processing_status} after ${timeoutMs} ms: ${JSON.stringify(batch.request_counts)}`);
    await sleep(50);
  }
}

/** Polls over plain HTTP until the batch has ended; bounded. */
export async function waitForBatchHttp(url: string, id: string, headers: Record<string, string>, timeoutMs = 15_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await request(url).get(`${BATCHES}/${id}`).set(headers);
    if (res.status !== 200) throw new Error(`retrieve answered ${res.status}: ${res.text}`);
    if (res.body.processing_status === 'ended') return res.body;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${res.body.processing_status} after ${timeoutMs} ms: ${JSON.stringify(res.body.request_counts)}`);
    await sleep(50);
  }
}

/** Every result line of an ended batch, read with the official SDK. */
export async function sdkResults(client: Anthropic, id: string): Promise<Anthropic.Messages.MessageBatchIndividualResponse[]> {
  const out = [];
  for await (const line of await client.messages.batches.results(id)) out.push(line);
  return out;
}

/** The text of a succeeded line's message. */
export function textOf(line: { result: { type: string; message?: { content: Array<{ type: string; text?: string }> } } }): string | undefined {
  if (line.result.type !== 'succeeded') return undefined;
  return line.result.message!.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
}
