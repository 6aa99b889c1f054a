import type { Request, RequestHandler, Response } from 'express';
import type { CreateMessageRequest } from '../generated/types.gen.js';
import type { Router, Served } from '../routing/router.js';
import { abortOnClientClose } from './abort-on-close.js';
import { clientHeaders } from './client-headers.js';
import { sendError, toGatewayError } from './error-envelope.js';
import { SseWriter } from './sse-writer.js';

export interface MessagesDeps {
  router: Router;
  pingIntervalMs: number;
}

function setServedHeaders(res: Response, served: Served, extra?: Record<string, string>): void {
  res.setHeader('x-bf-provider', served.target.provider.name);
  res.setHeader('x-bf-model', served.target.model);
  res.setHeader('x-bf-attempts', String(served.attempts));
  res.setHeader('x-bf-fallback-index', String(served.fallbackIndex));
  if (extra) for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
}

/** POST /anthropic/v1/messages (operationId createMessage). */
export function createMessageHandler(deps: MessagesDeps): RequestHandler {
  return async (req: Request, res: Response) => {
    const body = req.body as CreateMessageRequest;
    const ctx = {
      clientHeaders: clientHeaders(req),
      signal: abortOnClientClose(res),
      requestId: res.getHeader('request-id') as string,
    };
    try {
      if (body.stream === true) {
        await stream(deps, body, ctx, res);
        return;
      }
      const result = await deps.router.createMessage(body, ctx);
      setServedHeaders(res, result.served, result.headers);
      res.setHeader('content-type', 'application/json');
      res.status(200).end(result.raw ?? JSON.stringify(result.message));
    } catch (err) {
      if (ctx.signal.aborted) return;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, toGatewayError(err));
    }
  };
}

async function stream(
  deps: MessagesDeps,
  body: CreateMessageRequest,
  ctx: Parameters<Router['streamMessage']>[1],
  res: Response,
): Promise<void> {
  // Failures before the first event are ordinary HTTP errors (thrown to the caller).
  const result = await deps.router.streamMessage(body, ctx);
  setServedHeaders(res, result.served, result.headers);
  const writer = new SseWriter(res, deps.pingIntervalMs);
  try {
    for await (const frame of result.events) writer.write(frame);
  } catch (err) {
    if (!ctx.signal.aborted) writer.error(toGatewayError(err));
  } finally {
    writer.end();
  }
}
