// Message Batches with gateway auth: a batch belongs to the key that created it, each request is
// held to the key's models, and what the batch spends is debited to that key.
import Anthropic from '@anthropic-ai/sdk';
import { getUsage } from '@conduit/sdk';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { ADMIN_KEY, client } from './helpers/governance.js';

const ALICE = 'sk-cdt-batch-alice-00000000000000000001';
const BOB = 'sk-cdt-batch-bob-0000000000000000000002';

let upstream: FakeUpstream;
let gw: RunningGateway;
const sdk = (key: string) => new Anthropic({ apiKey: key, baseURL: gw.anthropicBaseUrl, maxRetries: 0 });

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'done', usage: { input_tokens: 10, output_tokens: 5 } }) }));
  gw = await startGateway({
    default_provider: 'anthropic',
    pricing: { 'anthropic/claude-haiku-4-5': { input_per_mtok: 1000, output_per_mtok: 1000 } },
    providers: {
      anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-ant-held' }], models: ['claude-haiku-4-5', 'claude-opus-4-1'], max_retries: 0 },
    },
    batches: { concurrency: 2 },
    auth: {
      admin_key: ADMIN_KEY,
      keys: [
        { name: 'alice', value: ALICE },
        { name: 'bob', value: BOB, models: ['anthropic/claude-haiku-*'] },
      ],
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

const ask = (customId: string, model = 'anthropic/claude-haiku-4-5') => ({
  custom_id: customId,
  params: { model, max_tokens: 16, messages: [{ role: 'user' as const, content: 'hi' }] },
});

async function ended(client: Anthropic, id: string): Promise<Anthropic.Messages.MessageBatch> {
  for (let i = 0; i < 200; i++) {
    const batch = await client.messages.batches.retrieve(id);
    if (batch.processing_status === 'ended') return batch;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`batch ${id} did not end`);
}

describe('Message Batches with gateway keys', () => {
  it('a batch needs a key', async () => {
    const res = await fetch(`${gw.url}/anthropic/v1/messages/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [ask('a')] }),
    });
    expect(res.status).toBe(401);
    expect((await res.json()).error.type).toBe('authentication_error');
    const list = await fetch(`${gw.url}/anthropic/v1/messages/batches`);
    expect(list.status).toBe(401);
  });

  it("belongs to the key that created it: another key neither finds nor lists it, and its spend is the creator's", async () => {
    const created = await sdk(ALICE).messages.batches.create({ requests: [ask('one'), ask('two'), ask('three')] });
    const batch = await ended(sdk(ALICE), created.id);
    expect(batch.request_counts).toMatchObject({ succeeded: 3, errored: 0 });

    const other = await sdk(BOB).messages.batches.retrieve(created.id).catch((e: unknown) => e);
    expect(other).toBeInstanceOf(Anthropic.NotFoundError);
    expect((await sdk(BOB).messages.batches.list()).data.map((b) => b.id)).not.toContain(created.id);
    expect((await sdk(ALICE).messages.batches.list()).data.map((b) => b.id)).toContain(created.id);

    const { data: usage } = await getUsage({ client: client(gw.url, ADMIN_KEY), query: { key_id: 'cfg_alice' } });
    expect(usage!.data).toEqual([expect.objectContaining({ key_name: 'alice', model: 'anthropic/claude-haiku-4-5', requests: 3, input_tokens: 30, output_tokens: 15 })]);
    expect(usage!.total_cost_usd).toBeCloseTo(0.045, 9);
  });

  it("refuses, before anything is stored, a request whose model the key may not use", async () => {
    const err = await sdk(BOB)
      .messages.batches.create({ requests: [ask('fine'), ask('not-allowed', 'anthropic/claude-opus-4-1')] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((err as InstanceType<typeof Anthropic.PermissionDeniedError>).message).toMatch(/requests\.1\.params\./);
    expect((await sdk(BOB).messages.batches.list()).data).toHaveLength(0);
  });
});
