/**
 * A fake Vertex AI for Claude, with its own OAuth token endpoint: `POST /token` takes the
 * service-account JWT-bearer grant and checks the assertion as Google does (RS256 signature with
 * the key's public half, issuer, audience = the token URL, scope, lifetime) before issuing a
 * short-lived access token; the prediction routes (`rawPredict`, `streamRawPredict`,
 * `count-tokens:rawPredict`) refuse a request without a valid, unexpired token (401, Google's
 * error shape) or for another project (403).
 */
import type { KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { anthropicMessage, anthropicSseEvents } from '../anthropic/builders.js';
import type { ReplyContext } from '../reply.js';
import { sendReply } from '../reply.js';
import type { FakeProvider } from '../server.js';
import { startFakeServer } from '../server.js';
import { countInputTokens, lastUserText } from '../text.js';
import type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest } from '../types.js';
import { createTokenEndpoint, type TokenEndpoint } from './token-endpoint.js';

export const DEFAULT_VERTEX_TEXT = 'Hello from the fake Vertex AI upstream.';
const PREDICT = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/anthropic\/models\/([^/:]+):(rawPredict|streamRawPredict)$/;
const TOOL_TRIGGER = 'CALL_TOOL';

export interface FakeVertexOptions extends FakeOptions {
  /** The project requests must name. Default fake-project. */
  project?: string;
  /** Service accounts whose assertions the token endpoint accepts. */
  serviceAccounts?: Array<{ clientEmail: string; publicKey: KeyObject | string }>;
  /** Lifetime of issued access tokens. Default 3600 s. */
  tokenTtlSeconds?: number;
  /** Check bodies as Vertex does. Default true. */
  strict?: boolean;
  now?: () => number;
}

/** Vertex's answer to a request without a valid token. */
export function unauthenticated(): FakeReply {
  return vertexError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
}

/** A Google API error: `{"error": {"code", "message", "status"}}`. */
export function vertexError(code: number, status: string, message: string): FakeReply {
  return { kind: 'json', status: code, body: { error: { code, message, status } } };
}

export interface FakeVertex extends FakeUpstream {
  /** Access tokens issued so far, in order. */
  readonly issuedTokens: string[];
}

export async function startFakeVertex(opts: FakeVertexOptions = {}): Promise<FakeVertex> {
  const tokens = createTokenEndpoint(opts);
  const fake = await startFakeServer(vertexProvider(opts, tokens), opts);
  return Object.assign(fake, { issuedTokens: tokens.issuedTokens });
}

function vertexProvider(opts: FakeVertexOptions, tokens: TokenEndpoint): FakeProvider {
  const project = opts.project ?? 'fake-project';
  const strict = opts.strict ?? true;
  const requireAuth = opts.requireAuth ?? true;

  return {
    requestIdHeader: 'x-vertex-request-id',
    requestIdPrefix: 'fake-vertex-',
    preflight(req) {
      if (req.method === 'POST' && req.path === '/token') return tokens.grant(req);
      const predict = PREDICT.exec(req.path);
      if (!predict || req.method !== 'POST') return vertexError(404, 'NOT_FOUND', `The requested URL ${req.path} was not found on this server.`);
      if (requireAuth && !tokens.accepts(req.headers.authorization)) return unauthenticated();
      if (decodeURIComponent(predict[1]!) !== project) return vertexError(403, 'PERMISSION_DENIED', `Permission denied on resource project ${predict[1]}.`);
      if (!strict) return null;
      const problem = checkBody(req.body, predict[3] === 'count-tokens', predict[4] === 'streamRawPredict');
      return problem ? vertexError(400, 'INVALID_ARGUMENT', problem) : null;
    },
    respondDefault(req, res, ctx) {
      const predict = PREDICT.exec(req.path)!;
      respond(predict[3]!, predict[4] === 'streamRawPredict', req, res, ctx);
    },
  };
}

/** What Vertex refuses: Claude's body with Vertex's version, `model` only for count-tokens, `stream` only on streamRawPredict. */
function checkBody(body: any, countTokens: boolean, stream: boolean): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return 'Invalid JSON payload received.';
  // Vertex's own version; Anthropic's Vertex SDK (1.x) sends the date of its API version instead.
  if (body.anthropic_version !== 'vertex-2023-10-16' && !/^\d{4}-\d{2}-\d{2}$/.test(String(body.anthropic_version))) return 'anthropic_version: Input should be vertex-2023-10-16';
  if (!Array.isArray(body.messages)) return 'messages: Field required';
  if (countTokens) return typeof body.model === 'string' && body.model ? null : 'model: Field required';
  if ('model' in body) return 'model: Extra inputs are not permitted';
  if (typeof body.max_tokens !== 'number') return 'max_tokens: Field required';
  if (stream !== (body.stream === true)) return stream ? 'streamRawPredict requires "stream": true' : 'rawPredict does not stream: "stream" must be false or absent';
  return null;
}

function respond(model: string, stream: boolean, req: RecordedRequest, res: ServerResponse, ctx: ReplyContext): void {
  const body = req.body ?? {};
  const inputTokens = countInputTokens(body);
  if (model === 'count-tokens') return sendReply(res, { kind: 'json', body: { input_tokens: inputTokens } }, ctx);
  const tool = Array.isArray(body.tools) && body.tools.length > 0 && lastUserText(body).includes(TOOL_TRIGGER) ? body.tools[0] : undefined;
  const message = anthropicMessage({
    id: 'msg_vrtx_01FakeVertexMessage0001',
    model: model.replace(/@.*$/, ''),
    ...(tool ? { content: [{ type: 'tool_use', id: 'toolu_vrtx_01FakeToolUse', name: String(tool.name), input: {} }] } : { text: DEFAULT_VERTEX_TEXT }),
    usage: { input_tokens: inputTokens },
  });
  sendReply(res, stream ? { kind: 'sse', events: anthropicSseEvents(message) } : { kind: 'json', body: message }, ctx);
}
