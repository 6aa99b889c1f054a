/** Anthropic's Message Batches API, faked: create, retrieve, list, cancel, delete and results (JSONL). */
import type { ServerResponse } from 'node:http';
import type { ReplyContext } from '../reply.js';
import { sendReply } from '../reply.js';
import { lastUserText } from '../text.js';
import type { FakeReply, RecordedRequest } from '../types.js';
import { anthropicError, anthropicMessage } from './builders.js';

export interface FakeBatchesOptions {
  /** A batch ends (every request succeeded) this long after it was created. Default 100 ms. */
  batchProcessingMs?: number;
}

interface FakeBatch {
  id: string;
  createdAt: number;
  requests: Array<{ custom_id: string; params: any }>;
  cancelInitiatedAt: number | null;
}

const BATCHES = '/v1/messages/batches';
const ONE = /^\/v1\/messages\/batches\/([^/]+)$/;
const CANCEL = /^\/v1\/messages\/batches\/([^/]+)\/cancel$/;
const RESULTS = /^\/v1\/messages\/batches\/([^/]+)\/results$/;

/**
 * The Batches half of the fake Anthropic upstream. A batch's requests all succeed once
 * `batchProcessingMs` has passed (each answer says `batch echo <its user text>` and names its
 * model); a batch cancelled before that ends with every request canceled.
 */
export class FakeBatchesApi {
  private readonly batches = new Map<string, FakeBatch>();
  private next = 0;

  constructor(private readonly opts: FakeBatchesOptions = {}) {}

  /** Answers a Batches API request; false when the path is not one of its routes. */
  handle(req: RecordedRequest, res: ServerResponse, ctx: ReplyContext): boolean {
    const reply = this.answer(req, res, ctx);
    if (reply === undefined) return false;
    if (reply !== null) sendReply(res, reply, ctx);
    return true;
  }

  private answer(req: RecordedRequest, res: ServerResponse, ctx: ReplyContext): FakeReply | null | undefined {
    const base = `http://${String(req.headers.host)}`;
    if (req.path === BATCHES && req.method === 'POST') return this.create(req, base);
    if (req.path === BATCHES && req.method === 'GET') {
      const data = [...this.batches.values()].reverse().map((b) => this.object(b, base));
      return { kind: 'json', body: { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null } };
    }
    let m = ONE.exec(req.path);
    if (m && req.method === 'GET') return this.withBatch(m[1]!, (b) => ({ kind: 'json', body: this.object(b, base) }));
    if (m && req.method === 'DELETE') {
      return this.withBatch(m[1]!, (b) => {
        if (!this.ended(b)) return anthropicError(400, 'invalid_request_error', `Batch ${b.id} cannot be deleted while it is processing.`);
        this.batches.delete(b.id);
        return { kind: 'json', body: { id: b.id, type: 'message_batch_deleted' } };
      });
    }
    m = CANCEL.exec(req.path);
    if (m && req.method === 'POST') {
      return this.withBatch(m[1]!, (b) => {
        if (!this.ended(b)) b.cancelInitiatedAt = Date.now();
        return { kind: 'json', body: this.object(b, base) };
      });
    }
    m = RESULTS.exec(req.path);
    if (m && req.method === 'GET') {
      return this.withBatch(m[1]!, (b) => {
        if (!this.ended(b)) return anthropicError(400, 'invalid_request_error', `Batch ${b.id} has not ended yet.`);
        const canceled = b.cancelInitiatedAt !== null;
        const lines = b.requests.map((r) =>
          JSON.stringify({
            custom_id: r.custom_id,
            result: canceled
              ? { type: 'canceled' }
              : { type: 'succeeded', message: anthropicMessage({ model: String(r.params?.model), text: `batch echo ${lastUserText(r.params)}` }) },
          }),
        );
        res.writeHead(200, { 'content-type': 'application/binary', ...ctx.baseHeaders() });
        res.end(`${lines.join('\n')}\n`);
        return null;
      });
    }
    return undefined;
  }

  private create(req: RecordedRequest, base: string): FakeReply {
    const requests = req.body?.requests;
    if (!Array.isArray(requests) || requests.length === 0) return anthropicError(400, 'invalid_request_error', 'requests: Field required');
    for (const [i, r] of requests.entries()) {
      const p = r?.params;
      if (typeof r?.custom_id !== 'string' || typeof p?.model !== 'string' || typeof p?.max_tokens !== 'number' || !Array.isArray(p?.messages)) {
        return anthropicError(400, 'invalid_request_error', `requests.${i}: custom_id and params (model, max_tokens, messages) are required`);
      }
    }
    const batch: FakeBatch = { id: `msgbatch_fake${String(++this.next).padStart(6, '0')}`, createdAt: Date.now(), requests, cancelInitiatedAt: null };
    this.batches.set(batch.id, batch);
    return { kind: 'json', body: this.object(batch, base) };
  }

  private withBatch(id: string, fn: (b: FakeBatch) => FakeReply | null): FakeReply | null {
    const batch = this.batches.get(id);
    return batch ? fn(batch) : anthropicError(404, 'not_found_error', `No batch with id ${id}`);
  }

  private ended(b: FakeBatch): boolean {
    return b.cancelInitiatedAt !== null || Date.now() - b.createdAt >= (this.opts.batchProcessingMs ?? 100);
  }

  private object(b: FakeBatch, base: string) {
    const ended = this.ended(b);
    const n = b.requests.length;
    const canceled = b.cancelInitiatedAt !== null;
    const endedAt = canceled ? b.cancelInitiatedAt! : b.createdAt + (this.opts.batchProcessingMs ?? 100);
    return {
      id: b.id,
      type: 'message_batch',
      processing_status: ended ? 'ended' : 'in_progress',
      request_counts: {
        processing: ended ? 0 : n,
        succeeded: ended && !canceled ? n : 0,
        errored: 0,
        canceled: canceled ? n : 0,
        expired: 0,
      },
      created_at: new Date(b.createdAt).toISOString(),
      ended_at: ended ? new Date(endedAt).toISOString() : null,
      expires_at: new Date(b.createdAt + 24 * 3600_000).toISOString(),
      cancel_initiated_at: b.cancelInitiatedAt === null ? null : new Date(b.cancelInitiatedAt).toISOString(),
      archived_at: null,
      results_url: ended ? `${base}${BATCHES}/${b.id}/results` : null,
    };
  }
}
