import type { Request, RequestHandler, Response } from 'express';
import type { CreateMessageRequest } from '../generated/types.gen.js';
import { handleAsync, isAsyncRequest, type JobService } from '../jobs/index.js';
import { observationOf, type Observation } from '../observability/observation.js';
import type { Router, Served } from '../routing/router.js';
import { abortOnClientClose } from './abort-on-close.js';
import { clientHeaders } from './client-headers.js';
import { sendError, toGatewayError } from './error-envelope.js';
import { SseWriter } from './sse-writer.js';
import { closeIfUnread, stalledReaderError } from './stalled-reader.js';

export interface MessagesDeps {
  router: Router;
  pingIntervalMs: number;
  /** A client that reads nothing of its answer for this long is disconnected (config `limits.stalled_reader_ms`). */
  stalledReaderMs: number;
  /** x-bf-async jobs; without it the x-bf-async headers are ignored. */
  jobs?: JobService;
}

/** Also used by async jobs, which store these headers and replay them on the poll that returns the result. */
export function setServedHeaders(res: { setHeader(name: string, value: string): unknown }, served: Served, extra?: Record<string, string>): void {
  res.setHeader('x-bf-provider', served.target.provider.name);
  res.setHeader('x-bf-model', served.target.model);
  res.setHeader('x-bf-attempts', String(served.attempts));
  res.setHeader('x-bf-fallback-index', String(served.fallbackIndex));
  if (extra) for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
}

/** POST /anthropic/v1/messages (operationId createMessage). */
export function createMessageHandler(deps: MessagesDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    if (deps.jobs && isAsyncRequest(req)) return handleAsync(deps.jobs, req, res, deps.stalledReaderMs);
    const body = req.body as CreateMessageRequest;
    const obs = observationOf(res);
    obs.requestedModel = body.model;
    obs.stream = body.stream === true;
    const ctx = {
      clientHeaders: clientHeaders(req),
      signal: abortOnClientClose(res),
      requestId: res.getHeader('request-id') as string,
    };
    try {
      if (body.stream === true) {
        await stream(deps, body, ctx, res, obs);
        return;
      }
      obs.beginWait();
      const result = await deps.router.createMessage(body, ctx);
      obs.endWait();
      obs.served(result.served);
      obs.usage(result.message.usage);
      setServedHeaders(res, result.served, result.headers);
      // With gateway auth, the ledger entry is written before the answer is complete.
      if (obs.beforeComplete !== null) await obs.beforeComplete();
      res.setHeader('content-type', 'application/json');
      res.status(200).end(result.raw ?? JSON.stringify(result.message));
      closeIfUnread(res, deps.stalledReaderMs, () => obs.failed(stalledReaderError(deps.stalledReaderMs)));
    } catch (err) {
      if (ctx.signal.aborted) return;
      const error = toGatewayError(err);
      if (res.headersSent) {
        obs.failed(error);
        res.destroy();
        return;
      }
      sendError(res, error); // records the failure on the observation too
    }
  };
}

async function stream(
  deps: MessagesDeps,
  body: CreateMessageRequest,
  ctx: Parameters<Router['streamMessage']>[1],
  res: Response,
  obs: Observation,
): Promise<void> {
  // The router resolves at the first content event; failures before it are ordinary HTTP errors
  // (thrown to the caller). Should the router still be retrying after a ping interval, the stream
  // opens without x-bf-* headers so pings keep clients and proxies waiting; a final failure then
  // arrives as `event: error`.
  obs.beginWait();
  const onStall = () => obs.failed(stalledReaderError(deps.stalledReaderMs));
  let early: SseWriter | undefined;
  const opener = setTimeout(() => {
    early = new SseWriter(res, deps.pingIntervalMs, deps.stalledReaderMs, onStall);
    early.write({ event: 'ping', data: '{"type":"ping"}' });
  }, deps.pingIntervalMs);
  let result: Awaited<ReturnType<Router['streamMessage']>>;
  try {
    result = await deps.router.streamMessage(body, ctx);
  } catch (err) {
    if (!early) throw err;
    const error = toGatewayError(err);
    obs.failed(error);
    if (!ctx.signal.aborted) early.error(error);
    early.end();
    return;
  } finally {
    clearTimeout(opener);
  }
  obs.endWait();
  obs.served(result.served);
  let writer: SseWriter;
  try {
    if (!early) setServedHeaders(res, result.served, result.headers);
    writer = early ?? new SseWriter(res, deps.pingIntervalMs, deps.stalledReaderMs, onStall);
  } catch (err) {
    // Nothing will read the stream now: let its upstream connection go rather than hold it open.
    await result.events[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
    throw err;
  }
  try {
    obs.beginWait();
    for await (const batch of result.events) {
      obs.frames(batch);
      if (obs.beforeComplete !== null && endsMessage(batch)) await obs.beforeComplete();
      writer.writeAll(batch);
      // Backpressure: the next upstream read waits until the client has taken what it was sent.
      const drained = writer.drained();
      if (drained !== undefined) await drained;
      obs.beginWait();
    }
    obs.endWait();
  } catch (err) {
    if (!ctx.signal.aborted) {
      const error = toGatewayError(err);
      obs.failed(error);
      writer.error(error);
    }
  } finally {
    // The headers named the first attempt; a stream that broke says here what became of it.
    const trace = result.trace;
    if (trace.continuations.length > 0) {
      obs.continued(trace);
      if (!ctx.signal.aborted) writer.comment(trace.comment());
    }
    writer.end();
  }
}

/** The batch that completes the message (its usage is final by then). */
function endsMessage(batch: readonly { event: string }[]): boolean {
  return batch.some((frame) => frame.event === 'message_stop');
}
