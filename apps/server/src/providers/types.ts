import type { CountTokensRequest, CreateMessageRequest, Message } from '../generated/types.gen.js';
import type { ClientCredential } from '../client-credential.js';
import type { ContinuationMode, ProviderConfig } from '../config/schema.js';
import type { CancelSignal } from '../cancel.js';

/** One server-sent event, as written on the wire: `event: <event>\ndata: <data>\n\n`. */
export interface SseFrame {
  event: string;
  /** The JSON text of the event, exactly as it goes to the client. */
  data: string;
  /** `data` as an object, when whoever wrote or checked it had one: readers need not parse it again. */
  value?: unknown;
}

/** The credential an attempt uses upstream. */
export interface AttemptKey {
  /** Stable, non-secret id for logs and cooldowns (e.g. "anthropic#0"). */
  id: string;
  /** The secret; undefined when the client's own credential is forwarded. */
  value?: string;
}

/** What a provider needs to know about the request besides its body. */
export interface AttemptContext {
  /** Upstream model id (the part after "provider/"). */
  model: string;
  key: AttemptKey;
  /** Client headers that matter upstream (anthropic-version, anthropic-beta, client auth). */
  clientHeaders: ClientHeaders;
  signal: CancelSignal;
  requestId: string;
  /**
   * The request's final assistant message is an answer the client already has part of: the
   * provider asks the model to continue it, in the way its `continuationMode` says (a stream that
   * broke mid-answer, continued).
   */
  continuation?: boolean;
}

export interface ClientHeaders {
  anthropicVersion?: string;
  anthropicBeta?: string;
  /** Every other `anthropic-*` header the client sent (lower-case names), for Anthropic-type upstreams. */
  anthropicOther?: Record<string, string>;
  /** The client's own credential (client-credential.ts), forwarded only when a provider has no keys. */
  credential?: ClientCredential;
}

export interface MessageResult {
  message: Message;
  /** The upstream's JSON text when it can be relayed as it is. */
  raw?: string;
  /** Extra response headers for the client (e.g. x-bf-dropped). */
  headers?: Record<string, string>;
}

/**
 * The events that arrived together (the events of one upstream chunk), in order; never empty. A
 * stream passes batches rather than single events: every hop between the provider and the socket
 * (the guard, the commit, the HTTP writer) costs a promise per item, and a fast upstream delivers
 * dozens of events per chunk.
 */
export type SseBatch = SseFrame[];

export interface StreamResult {
  /** Anthropic stream events, in batches. The iterator throws a GatewayError if the upstream fails mid-stream. */
  events: AsyncIterable<SseBatch>;
  headers?: Record<string, string>;
  /**
   * Every frame is built by the gateway itself (`data` = JSON.stringify of an event whose `type` is
   * `event`), so the stream guard need not parse it again to check it. Leave unset for upstream bytes.
   */
  wellFormed?: boolean;
}

/** A configured upstream: one wire format, one base URL, one set of keys. */
export interface Provider {
  readonly name: string;
  readonly type: ProviderConfig['type'];
  readonly config: ProviderConfig;
  /**
   * The provider always authenticates with its own credentials (cloud signing, OAuth), never the
   * client's: an upstream 401/403 is the gateway's credential refused, whatever `keys` says.
   */
  readonly ownCredentials?: boolean;
  /**
   * Why this provider cannot take `model` at all (e.g. a name that would become a URL path segment
   * it cannot be), or undefined. Resolving a model asks before any call: the answer is a 400.
   */
  checkModel?(model: string): string | undefined;
  /**
   * How this provider continues an answer on `model` (see AttemptContext.continuation). Absent: the
   * config's `continuation`, with its default for the type (config/continuation.ts).
   */
  continuationMode?(model: string): ContinuationMode;
  createMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult>;
  /** Resolves once the upstream has answered 2xx; rejects with a GatewayError before that. */
  streamMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult>;
  countTokens(body: CountTokensRequest, ctx: AttemptContext): Promise<{ input_tokens: number }>;
  close(): Promise<void>;
}
