/** A reply the fake sends for one request. */
export type FakeReply =
  | { kind: 'json'; status?: number; headers?: Record<string, string>; body: unknown; delayMs?: number }
  | {
      kind: 'sse';
      status?: number;
      headers?: Record<string, string>;
      /** Fully formatted SSE frames, e.g. 'event: ping\ndata: {"type":"ping"}\n\n' or 'data: {...}\n\n'. */
      events: string[];
      /** Before the response headers. */
      delayMs?: number;
      /** Between frames. */
      chunkDelayMs?: number;
      /** After the headers, before the first frame (slow first token). */
      firstChunkDelayMs?: number;
      /** Destroy the socket after this many frames: the stream is broken off. */
      cutAfter?: number;
      /** Stop writing after this many frames and keep the socket open until the client leaves or the fake closes. */
      stallAfter?: number;
      /**
       * Write frame by frame as the client takes them, as a real server does: when the socket's
       * buffer is full, wait for it to drain before the next frame. How far it got shows in the
       * request's `progress`. Without it the frames are handed to the socket at once.
       */
      backpressure?: boolean;
    }
  /**
   * A stream in another framing than SSE (e.g. Bedrock's binary event stream): `chunks` are written
   * one by one, with the same timing and fault options as `sse`.
   */
  | {
      kind: 'stream';
      contentType: string;
      status?: number;
      headers?: Record<string, string>;
      chunks: Array<string | Uint8Array>;
      delayMs?: number;
      chunkDelayMs?: number;
      firstChunkDelayMs?: number;
      cutAfter?: number;
      stallAfter?: number;
      backpressure?: boolean;
    }
  /** Destroy the TCP socket before any response headers. */
  | { kind: 'reset' }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  | { kind: 'raw'; status: number; headers?: Record<string, string>; body: string };

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON, or undefined when the body was empty or not JSON. */
  body: any;
  rawBody: string;
  /** Date.now() when the request arrived. */
  at: number;
  /** How the answer went, updated while it is sent. */
  progress: ReplyProgress;
}

export interface ReplyProgress {
  /** SSE frames and bytes handed to the socket so far. */
  framesSent: number;
  bytesSent: number;
  /** Date.now() of the last frame handed to the socket, or 0. */
  lastFrameAt: number;
  /** The SSE writer waited for the client to drain at least once (`backpressure: true` only). */
  sawBackpressure: boolean;
  /** The answer was sent completely. */
  finished: boolean;
  /** The client closed the connection before the answer was complete. */
  aborted: boolean;
}

export type Responder = (req: RecordedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeUpstream {
  /** e.g. http://127.0.0.1:PORT (no trailing slash) */
  url: string;
  port: number;
  /** Every request received, in order (empty when started with `record: false`). */
  requests: RecordedRequest[];
  /** The next requests get these replies, FIFO; when empty, the responder or the default answers. */
  enqueue(...replies: FakeReply[]): void;
  /** Overrides the default reply while the queue is empty. */
  setResponder(fn: Responder | null): void;
  /** Clears requests, queue and responder. */
  reset(): void;
  /** Closes the server and destroys open sockets, including hanging and stalled ones. */
  close(): Promise<void>;
}

export interface FakeOptions {
  port?: number;
  host?: string;
  /** Number of text deltas (Anthropic) or content chunks (OpenAI) in the default streaming reply. Default 10. */
  streamChunks?: number;
  /** Keep every request in `requests`. Default true; turn off for long benchmark runs. */
  record?: boolean;
  /** Answer 401 when the provider's auth header is missing. Default true. */
  requireAuth?: boolean;
}
