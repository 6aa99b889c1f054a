import type { Express, Request, RequestHandler, Response } from 'express';
import { GatewayError, invalidRequest, notFound } from '../../errors.js';
import type { CreateMessageRequest, DeletedMessageBatch, MessageBatchList } from '../../generated/types.gen.js';
import { clientHeaders } from '../../http/client-headers.js';
import { sendError, toGatewayError } from '../../http/error-envelope.js';
import { dropRestOfBody, jsonBodyStream, parseByteSize } from '../../http/json-body.js';
import { stalledReaderError, whenDrained } from '../../http/stalled-reader.js';
import { observationOf } from '../../observability/observation.js';
import type { Operation } from '../../observability/metrics.js';
import { requestOwner } from '../owner.js';
import { batchObject } from './batch-object.js';
import { batchTooLarge } from './body-reader.js';
import { isBatchId } from './ids.js';
import type { BatchService } from './service.js';
import type { BatchRecord } from './types.js';

export const BATCHES_PATH = '/anthropic/v1/messages/batches';

/**
 * Result lines read from the store per write, at most: the client's reading sets the pace
 * (backpressure). A line is a whole answer, as long as its request's max_tokens made it, so a page
 * also stops at RESULTS_PAGE_CHARS (but for its first line, however long).
 */
export const RESULTS_PAGE = 500;
export const RESULTS_PAGE_CHARS = 8 * 1024 * 1024;
/** A Host header worth echoing in `results_url`; anything else falls back to the address the request came in on. */
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](:\d{1,5})?$/;

/**
 * Creating a batch reads its own body, a request at a time as it arrives (body-reader.ts): the
 * app's whole-body JSON reader and the contract's validator leave it alone, and each request is
 * checked against the contract as it comes (request-check.ts).
 */
export function readsOwnBody(req: Pick<Request, 'method' | 'path'>): boolean {
  return req.method === 'POST' && req.path === BATCHES_PATH;
}

export interface BatchRoutesOptions {
  /** A client that reads nothing of its results for this long is disconnected (`limits.stalled_reader_ms`). */
  stalledReaderMs: number;
  /**
   * With gateway auth: the authenticated key (by id) that creates a batch, and a check that it may
   * use each request's model. Absent: no gateway auth.
   */
  keyOf?: (res: Response) => { keyId: string; permit: (params: CreateMessageRequest) => GatewayError | undefined } | undefined;
}

/** The Message Batches routes (openapi.yaml, tag batches). */
export function mountBatchRoutes(app: Express, batches: BatchService, opts: BatchRoutesOptions): void {
  const byId = `${BATCHES_PATH}/:message_batch_id`;
  app.post(BATCHES_PATH, handler('batch_create', (req, res) => create(batches, req, res, opts.keyOf?.(res))));
  app.get(BATCHES_PATH, handler('batch_list', (req, res) => list(batches, req, res)));
  app.get(byId, handler('batch_get', async (req, res) => {
    const batch = await batches.current(await find(batches, req, res), callerOf(req));
    res.status(200).json(batchObject(batch, resultsUrl(batches, req, batch.id)));
  }));
  app.post(`${byId}/cancel`, handler('batch_cancel', async (req, res) => {
    const batch = await batches.cancel(await find(batches, req, res), callerOf(req));
    res.status(200).json(batchObject(batch, resultsUrl(batches, req, batch.id)));
  }));
  app.delete(byId, handler('batch_delete', async (req, res) => {
    const batch = await batches.current(await find(batches, req, res), callerOf(req));
    await batches.delete(batch, callerOf(req));
    const body: DeletedMessageBatch = { id: batch.id, type: 'message_batch_deleted' };
    res.status(200).json(body);
  }));
  app.get(`${byId}/results`, handler('batch_results', (req, res) => results(batches, req, res, opts.stalledReaderMs)));
}

function handler(operation: Operation, fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    observationOf(res).operation = operation;
    try {
      await fn(req, res);
    } catch (err) {
      const error = toGatewayError(err);
      if (res.headersSent) {
        observationOf(res).failed(error);
        res.destroy();
        return;
      }
      sendError(res, error);
    }
  };
}

function callerOf(req: Request) {
  return { clientHeaders: clientHeaders(req) };
}

/**
 * The caller's batch named in the path. Unknown, deleted and another credential's all look the
 * same: a batch's existence is not disclosed.
 */
async function find(batches: BatchService, req: Request, res: Response): Promise<BatchRecord> {
  const id = String(req.params.message_batch_id);
  const batch = isBatchId(id) ? await batches.find(id) : undefined;
  if (!batch || batch.owner !== requestOwner(req, res)) {
    throw notFound('message_batch_id: no such message batch (unknown, deleted, or created with another credential)');
  }
  return batch;
}

/** Where the results are, absolute as Anthropic's `results_url` is (the SDKs fetch it as given). */
function resultsUrl(batches: BatchService, req: Request, id: string): string {
  const configured = batches.config.public_url;
  let base: string;
  if (configured !== undefined) {
    base = configured.replace(/\/+$/, '');
  } else {
    const host = req.headers.host;
    const local = req.socket.localAddress ?? '127.0.0.1';
    base = `${req.protocol}://${host !== undefined && HOST.test(host) ? host : `${local.includes(':') ? `[${local}]` : local}:${req.socket.localPort}`}`;
  }
  return `${base}${BATCHES_PATH}/${id}/results`;
}

async function create(
  batches: BatchService,
  req: Request,
  res: Response,
  key: { keyId: string; permit: (params: CreateMessageRequest) => GatewayError | undefined } | undefined,
): Promise<void> {
  try {
    const limit = parseByteSize(batches.config.body_limit);
    const source = jsonBodyStream(req, limit, () => batchTooLarge(limit));
    if (source === undefined) throw invalidRequest('request body: required (a JSON object with `requests`, content-type application/json)');
    const { credential, ...headers } = clientHeaders(req);
    const batch = await batches.create(
      { owner: requestOwner(req, res), clientHeaders: headers, credential, requestId: String(res.getHeader('request-id')), ...key },
      // Not destroyed when reading stops early: the error still has to be answered on this connection.
      source.iterator({ destroyOnReturn: false }),
      limit,
    );
    res.status(200).json(batchObject(batch, resultsUrl(batches, req, batch.id)));
  } catch (err) {
    // What is left of a refused body is read and dropped, so the answer can be sent.
    if (!req.complete) dropRestOfBody(req);
    throw err;
  }
}

async function list(batches: BatchService, req: Request, res: Response): Promise<void> {
  const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
  const beforeId = typeof req.query.before_id === 'string' ? req.query.before_id : undefined;
  const afterId = typeof req.query.after_id === 'string' ? req.query.after_id : undefined;
  const page = await batches.list(requestOwner(req, res), { limit, beforeId, afterId });
  const data = page.batches.map((b) => batchObject(b, resultsUrl(batches, req, b.id)));
  const body: MessageBatchList = { data, has_more: page.hasMore, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
  res.status(200).json(body);
}

/**
 * The results as JSON Lines, a page of the store at a time: the next page is read only once the
 * client has taken the last one, so what a download holds is one page, whatever the batch's size.
 */
async function results(batches: BatchService, req: Request, res: Response, stalledReaderMs: number): Promise<void> {
  const batch = await batches.current(await find(batches, req, res), callerOf(req));
  if (Date.now() >= batch.resultsUntil) {
    throw notFound(`message batch ${batch.id} is archived: its results were deleted at ${new Date(batch.resultsUntil).toISOString()}`);
  }
  if (batch.state !== 'ended') {
    throw new GatewayError(409, `message batch ${batch.id} is still ${batch.state === 'canceling' ? 'canceling' : 'in progress'}; its results are ready once processing_status is ended`, {
      type: 'conflict_error',
    });
  }
  const obs = observationOf(res);
  const onStall = () => obs.failed(stalledReaderError(stalledReaderMs));
  if (batch.native) {
    const upstream = await batches.native.results(batch, clientHeaders(req));
    res.once('close', () => upstream.destroy());
    res.status(200).setHeader('content-type', 'application/x-jsonl');
    for await (const chunk of upstream) {
      if (res.destroyed) return;
      res.write(chunk);
      const drained = whenDrained(res, stalledReaderMs, onStall);
      if (drained) await drained;
    }
    res.end();
    return;
  }
  res.status(200).setHeader('content-type', 'application/x-jsonl');
  let after = -1;
  for (;;) {
    const page = await batches.results(batch.id, after, RESULTS_PAGE, RESULTS_PAGE_CHARS);
    if (page.length === 0 || res.destroyed) break;
    // Corked: the page's lines leave in one write, without being joined into one more string first.
    res.cork();
    for (const r of page) {
      res.write(r.line);
      res.write('\n');
    }
    res.uncork();
    after = page[page.length - 1]!.index;
    const drained = whenDrained(res, stalledReaderMs, onStall);
    if (drained) await drained;
  }
  if (!res.destroyed) res.end();
}
