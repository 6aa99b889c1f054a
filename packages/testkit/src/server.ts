import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import { sendReply, sendResponderFailure } from './reply.js';
import type { ReplyContext } from './reply.js';
import type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest, Responder } from './types.js';

/** The provider-specific half of a fake: its checks and its built-in answers. */
export interface FakeProvider {
  /** Name of the request id header every response carries. */
  requestIdHeader: string;
  requestIdPrefix: string;
  /** Answers the real API would give before looking at scripted replies: auth and validation failures. */
  preflight(req: RecordedRequest): FakeReply | null;
  /** The built-in answer when nothing is queued and no responder is set; may write to `res` directly. */
  respondDefault(req: RecordedRequest, res: ServerResponse, ctx: ReplyContext): void;
}

/** Starts a node:http server that records requests and answers through the queue, the responder or the provider. */
export async function startFakeServer(provider: FakeProvider, opts: FakeOptions = {}): Promise<FakeUpstream> {
  const record = opts.record ?? true;
  const requests: RecordedRequest[] = [];
  const queue: FakeReply[] = [];
  let responder: Responder | null = null;
  const timers = new Set<NodeJS.Timeout>();
  let nextRequestId = 0;

  const ctx: ReplyContext = {
    later(ms, fn) {
      if (!ms || ms <= 0) return fn();
      const timer = setTimeout(() => {
        timers.delete(timer);
        fn();
      }, ms);
      timers.add(timer);
    },
    baseHeaders() {
      return { [provider.requestIdHeader]: provider.requestIdPrefix + ++nextRequestId };
    },
  };

  const answer = (rec: RecordedRequest, res: ServerResponse) => {
    const early = provider.preflight(rec);
    if (early) return sendReply(res, early, ctx, rec.progress);
    const queued = queue.shift();
    if (queued) return sendReply(res, queued, ctx, rec.progress);
    if (responder) {
      let reply: FakeReply | Promise<FakeReply>;
      try {
        reply = responder(rec);
      } catch (err) {
        return sendResponderFailure(res, err);
      }
      if (reply instanceof Promise) {
        reply.then(
          (r) => sendReply(res, r, ctx, rec.progress),
          (err) => sendResponderFailure(res, err),
        );
      } else sendReply(res, reply, ctx, rec.progress);
      return;
    }
    provider.respondDefault(rec, res, ctx);
  };

  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody =
        chunks.length === 0 ? '' : chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: q < 0 ? url : url.slice(0, q),
        query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)),
        headers: req.headers,
        body: parseJson(rawBody),
        rawBody,
        at,
        progress: { framesSent: 0, bytesSent: 0, lastFrameAt: 0, sawBackpressure: false, finished: false, aborted: false },
      };
      if (record) {
        requests.push(rec);
        res.once('finish', () => (rec.progress.finished = true));
        res.once('close', () => {
          if (!res.writableFinished) rec.progress.aborted = true;
        });
      }
      answer(rec, res);
    });
  });
  // Longer than client pools keep idle sockets, so the fake is never the side that races a reused socket.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('clientError', (_err, socket) => socket.destroy());

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 0);

  return {
    url: `http://${urlHost(host)}:${port}`,
    port,
    requests,
    enqueue(...replies) {
      queue.push(...replies);
    },
    setResponder(fn) {
      responder = fn;
    },
    reset() {
      requests.length = 0;
      queue.length = 0;
      responder = null;
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function parseJson(raw: string): any {
  if (raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
