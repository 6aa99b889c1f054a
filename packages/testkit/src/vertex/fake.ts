/**
 * A fake Vertex AI for Claude, with its own OAuth token endpoint: `POST /token` takes the
 * service-account JWT-bearer grant and checks the assertion as Google does (RS256 signature with
 * the key's public half, issuer, audience = the token URL, scope, lifetime) before issuing a
 * short-lived access token; the prediction routes (`rawPredict`, `streamRawPredict`,
 * `count-tokens:rawPredict`) refuse a request without a valid, unexpired token (401, Google's
 * error shape) or for another project (403).
 */
import { randomBytes, verify, type KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { anthropicMessage, anthropicSseEvents } from '../anthropic/builders.js';
import type { ReplyContext } from '../reply.js';
import { sendReply } from '../reply.js';
import type { FakeProvider } from '../server.js';
import { startFakeServer } from '../server.js';
import { countInputTokens, lastUserText } from '../text.js';
import type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest } from '../types.js';

export const DEFAULT_VERTEX_TEXT = 'Hello from the fake Vertex AI upstream.';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';
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

/** A Google API error: `{"error": {"code", "message", "status"}}`. */
export function vertexError(code: number, status: string, message: string): FakeReply {
  return { kind: 'json', status: code, body: { error: { code, message, status } } };
}

export interface FakeVertex extends FakeUpstream {
  /** Access tokens issued so far, in order. */
  readonly issuedTokens: string[];
}

export async function startFakeVertex(opts: FakeVertexOptions = {}): Promise<FakeVertex> {
  const issued = new Map<string, number>();
  const issuedTokens: string[] = [];
  const fake = await startFakeServer(vertexProvider(opts, issued, issuedTokens), opts);
  return Object.assign(fake, { issuedTokens });
}

function vertexProvider(opts: FakeVertexOptions, issued: Map<string, number>, issuedTokens: string[]): FakeProvider {
  const now = opts.now ?? Date.now;
  const project = opts.project ?? 'fake-project';
  const strict = opts.strict ?? true;
  const requireAuth = opts.requireAuth ?? true;
  const accounts = opts.serviceAccounts ?? [];

  return {
    requestIdHeader: 'x-vertex-request-id',
    requestIdPrefix: 'fake-vertex-',
    preflight(req) {
      if (req.method === 'POST' && req.path === '/token') return tokenGrant(req);
      const predict = PREDICT.exec(req.path);
      if (!predict || req.method !== 'POST') return vertexError(404, 'NOT_FOUND', `The requested URL ${req.path} was not found on this server.`);
      if (requireAuth) {
        const auth = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
        const expires = auth.startsWith('Bearer ') ? issued.get(auth.slice(7)) : undefined;
        if (expires === undefined || expires <= now()) {
          return vertexError(
            401,
            'UNAUTHENTICATED',
            'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
          );
        }
      }
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

  /** The JWT-bearer grant, checked as Google's token endpoint checks it. */
  function tokenGrant(req: RecordedRequest): FakeReply {
    const form = new URLSearchParams(req.rawBody);
    const refuse = (description: string): FakeReply => ({ kind: 'json', status: 400, body: { error: 'invalid_grant', error_description: description } });
    if (form.get('grant_type') !== JWT_BEARER) return { kind: 'json', status: 400, body: { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' } };
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    let header: any;
    let claims: any;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8'));
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    } catch {
      return refuse('Invalid JWT: malformed header or claims.');
    }
    if (header.alg !== 'RS256') return refuse(`Invalid JWT: alg ${header.alg} is not RS256.`);
    const account = accounts.find((a) => a.clientEmail === claims.iss);
    if (!account) return refuse('Invalid grant: account not found');
    const signatureOk = verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), account.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!signatureOk) return refuse('Invalid JWT Signature.');
    const tokenUrl = `http://${req.headers.host}/token`;
    if (claims.aud !== tokenUrl) return refuse(`Invalid JWT: audience must be ${tokenUrl}.`);
    if (typeof claims.scope !== 'string' || !claims.scope.split(' ').includes(CLOUD_PLATFORM)) return { kind: 'json', status: 400, body: { error: 'invalid_scope', error_description: 'Invalid OAuth scope or ID token audience provided.' } };
    const nowS = Math.floor(now() / 1000);
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.iat > nowS + 60 || claims.exp <= nowS || claims.exp - claims.iat > 3600) {
      return refuse('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    const ttl = opts.tokenTtlSeconds ?? 3600;
    const token = `ya29.fake-${randomBytes(12).toString('base64url')}`;
    issued.set(token, now() + ttl * 1000);
    issuedTokens.push(token);
    return { kind: 'json', body: { access_token: token, expires_in: ttl, token_type: 'Bearer' } };
  }
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
