import { GatewayError } from '../../errors.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import type { AnthropicBatchesApi, BatchCallContext, UpstreamMessageBatch } from '../../providers/anthropic/anthropic-batches.js';
import { toUpstreamBody } from '../../providers/anthropic/upstream-body.js';
import type { ClientHeaders, Provider } from '../../providers/types.js';
import type { RouteTarget } from '../../routing/resolve.js';
import { forwardsCredential } from '../http.js';
import type { BatchRecord, BatchStore } from './types.js';

/** The one provider (`batches: native`) every request of a batch goes to alone, and the upstream models they name. */
export interface NativeChoice {
  provider: string;
  models: Set<string>;
}

/** Distinct models a passed-through batch may name (more: the gateway runs it). */
const MAX_NATIVE_MODELS = 100;
/** Requests read back from the store per page while the batch is forwarded. */
const FORWARD_PAGE = 500;
/** Longest a call to the provider's Batches API may take (creating one forwards up to 256 MB). */
const NATIVE_CALL_MS = 10 * 60_000;

/**
 * Whether a batch may go to a provider's own Batches API, given one more request's plan: every
 * request so far and this one have a single target (no fallbacks: the provider would not honour
 * them), on the same anthropic-type provider configured with `batches: native`.
 */
export function nativeTarget(current: NativeChoice | undefined, plan: RouteTarget[]): NativeChoice | null {
  if (plan.length !== 1) return null;
  const target = plan[0]!;
  if (target.provider.type !== 'anthropic' || target.provider.config.batches !== 'native') return null;
  if (current && current.provider !== target.provider.name) return null;
  const choice = current ?? { provider: target.provider.name, models: new Set<string>() };
  choice.models.add(target.model);
  return choice.models.size > MAX_NATIVE_MODELS ? null : choice;
}

/** A provider's key index that serves every model (its batch lives in that key's workspace); undefined: the client's credential. */
function keyForAll(keys: Provider['config']['keys'], models: Set<string>): number | null | undefined {
  if (keys.length === 0) return undefined;
  const index = keys.findIndex((k) => !k.models || [...models].every((m) => k.models!.includes(m)));
  return index === -1 ? null : index;
}

function time(iso: string | null): number | null {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Batches passed through to Anthropic's own Message Batches API: created there from the stored
 * requests (models rewritten to the upstream ids, the gateway's fallbacks field left out), then
 * tracked. Retrieving, cancelling, deleting and reading results ask the provider; the record keeps
 * the last state it reported, so the batch lists like any other.
 */
export class NativeBatches {
  constructor(
    private readonly providers: ReadonlyMap<string, Provider>,
    private readonly resolve: (model: string) => RouteTarget,
  ) {}

  forwardsCredential(plan: RouteTarget[]): boolean {
    return forwardsCredential(plan);
  }

  /** Whether the batch can go to the provider (a key serves all its models); the key to use. */
  usable(choice: NativeChoice): { keyIndex?: number } | undefined {
    const provider = this.providers.get(choice.provider);
    if (!provider) return undefined;
    const key = keyForAll(provider.config.keys, choice.models);
    if (key === null) return undefined;
    return key === undefined ? {} : { keyIndex: key };
  }

  private api(name: string): AnthropicBatchesApi {
    const provider = this.providers.get(name) as (Provider & { batches?: AnthropicBatchesApi }) | undefined;
    if (!provider?.batches) throw new GatewayError(502, `provider ${name} has no Message Batches API (is it still configured?)`);
    return provider.batches;
  }

  private context(batch: Pick<BatchRecord, 'native'> | { keyIndex?: number }, clientHeaders: ClientHeaders): BatchCallContext {
    const keyIndex = 'native' in batch ? batch.native?.keyIndex : (batch as { keyIndex?: number }).keyIndex;
    return { clientHeaders, keyIndex, signal: AbortSignal.timeout(NATIVE_CALL_MS) };
  }

  /** Forwards the stored requests to the provider and records the upstream batch. */
  async create(store: BatchStore, id: string, total: number, choice: NativeChoice & { keyIndex?: number }, clientHeaders: ClientHeaders): Promise<void> {
    const upstream = await this.api(choice.provider).create(this.body(store, id), this.context({ keyIndex: choice.keyIndex }, clientHeaders));
    await store.openNative(id, total, {
      provider: choice.provider,
      upstreamId: upstream.id,
      ...(choice.keyIndex === undefined ? {} : { keyIndex: choice.keyIndex }),
    });
  }

  /** `{"requests":[...]}` produced a page of stored requests at a time, as the upload takes it. */
  private async *body(store: BatchStore, id: string): AsyncGenerator<string> {
    yield '{"requests":[';
    let after = -1;
    let first = true;
    for (;;) {
      const page = await store.requests(id, after, FORWARD_PAGE);
      if (page.length === 0) break;
      let text = '';
      for (const r of page) {
        const params = JSON.parse(r.params) as CreateMessageRequest;
        const model = this.resolve(params.model).model;
        text += `${first ? '' : ','}{"custom_id":"${r.customId}","params":${toUpstreamBody(params, model, false)}}`;
        first = false;
      }
      yield text;
      after = page[page.length - 1]!.index;
    }
    yield ']}';
  }

  async refresh(store: BatchStore, batch: BatchRecord, clientHeaders: ClientHeaders): Promise<BatchRecord> {
    const upstream = await this.api(batch.native!.provider).retrieve(batch.native!.upstreamId, this.context(batch, clientHeaders));
    return this.record(store, batch, upstream);
  }

  async cancel(store: BatchStore, batch: BatchRecord, clientHeaders: ClientHeaders): Promise<BatchRecord> {
    const upstream = await this.api(batch.native!.provider).cancel(batch.native!.upstreamId, this.context(batch, clientHeaders));
    return this.record(store, batch, upstream);
  }

  async delete(batch: BatchRecord, clientHeaders: ClientHeaders): Promise<void> {
    await this.api(batch.native!.provider).delete(batch.native!.upstreamId, this.context(batch, clientHeaders));
  }

  /** The provider's results JSONL, as it streams. */
  results(batch: BatchRecord, clientHeaders: ClientHeaders): Promise<AsyncIterable<Buffer> & { destroy(): void }> {
    return this.api(batch.native!.provider).results(batch.native!.upstreamId, this.context(batch, clientHeaders));
  }

  private async record(store: BatchStore, batch: BatchRecord, upstream: UpstreamMessageBatch): Promise<BatchRecord> {
    const update = {
      state: upstream.processing_status,
      counts: { ...upstream.request_counts },
      endedAt: time(upstream.ended_at),
      cancelInitiatedAt: time(upstream.cancel_initiated_at),
    };
    await store.updateNative(batch.id, update);
    return { ...batch, ...update };
  }
}
