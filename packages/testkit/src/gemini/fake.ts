/**
 * A fake Gemini: the Gemini API (`/v1beta/models/{model}:generateContent`,
 * `:streamGenerateContent`, `:countTokens`, key in `x-goog-api-key` or `?key=`) and Gemini on Vertex
 * AI (`/v1/projects/{p}/locations/{r}/publishers/google/models/{model}:...`, OAuth tokens from its
 * own `POST /token`, as the Vertex fake issues them). Like the real service it refuses a missing or
 * unknown key, then checks the body as Gemini does (strict.ts: unknown fields, schema keywords,
 * thought signatures), then answers: streams are SSE with `?alt=sse` (each `data:` a whole
 * GenerateContentResponse), a JSON array of the chunks without it.
 */
import type { KeyObject } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ReplyContext } from '../reply.js';
import { sendReply } from '../reply.js';
import type { FakeProvider } from '../server.js';
import { startFakeServer } from '../server.js';
import { lastUserText, tokensForChars } from '../text.js';
import type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest } from '../types.js';
import { createTokenEndpoint } from '../vertex/token-endpoint.js';
import { geminiBadKey, geminiError, geminiResponse, geminiSseFrames, geminiStreamChunks, resolveGeminiSignatures, type GeminiReplyOptions } from './builders.js';
import { checkGeminiRequest } from './strict.js';

export const FAKE_GEMINI_API_KEY = 'AIzaFakeGeminiKey000000000000000000001';

const API_ROUTE = /^\/v1beta\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/;
const VERTEX_ROUTE = /^\/v1(?:beta1)?\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/;
const TOOL_TRIGGER = 'CALL_TOOL';

export interface FakeGeminiOptions extends FakeOptions {
  /** Keys the Gemini API routes accept. Default [FAKE_GEMINI_API_KEY]. */
  apiKeys?: string[];
  /** Gemini on Vertex AI: the project requests must name, and the service accounts the token endpoint accepts. */
  vertex?: { project?: string; serviceAccounts?: Array<{ clientEmail: string; publicKey: KeyObject | string }>; tokenTtlSeconds?: number };
  /** Models that refuse a function-calling turn without its thought signatures. Default: Gemini 3 models. */
  requireSignatures?: (model: string) => boolean;
  /** Check bodies as Gemini does. Default true. */
  strict?: boolean;
  /** The most output tokens a model produces (a larger maxOutputTokens is refused). Default: 8192 for gemini-1.5 and gemini-2.0 models, 65536 for others. */
  outputLimit?: (model: string) => number;
  now?: () => number;
}

/** Output limits of Gemini's models: 8,192 tokens up to Gemini 2.0, 65,536 from Gemini 2.5 on. */
export function geminiOutputLimit(model: string): number {
  return /^gemini-(1\.|2\.0)/.test(model) ? 8192 : 65_536;
}

export interface FakeGemini extends FakeUpstream {
  /** Access tokens issued by `/token`, in order. */
  readonly issuedTokens: string[];
}

export async function startFakeGemini(opts: FakeGeminiOptions = {}): Promise<FakeGemini> {
  const tokens = createTokenEndpoint({ ...opts.vertex, now: opts.now });
  const fake = await startFakeServer(geminiProvider(opts, tokens), opts);
  return Object.assign(fake, { issuedTokens: tokens.issuedTokens });
}

interface Route {
  model: string;
  method: 'generateContent' | 'streamGenerateContent' | 'countTokens';
  vertex: boolean;
}

function route(req: RecordedRequest): Route | undefined {
  const api = API_ROUTE.exec(req.path);
  if (api) return { model: decodeURIComponent(api[1]!), method: api[2] as Route['method'], vertex: false };
  const vertex = VERTEX_ROUTE.exec(req.path);
  if (vertex) return { model: decodeURIComponent(vertex[3]!), method: vertex[4] as Route['method'], vertex: true };
  return undefined;
}

function geminiProvider(opts: FakeGeminiOptions, tokens: ReturnType<typeof createTokenEndpoint>): FakeProvider {
  const apiKeys = opts.apiKeys ?? [FAKE_GEMINI_API_KEY];
  const requireAuth = opts.requireAuth ?? true;
  const strict = opts.strict ?? true;
  const requireSignatures = opts.requireSignatures ?? ((model: string) => /^gemini-3/.test(model));
  const project = opts.vertex?.project ?? 'fake-project';
  const outputLimit = opts.outputLimit ?? geminiOutputLimit;

  return {
    requestIdHeader: 'x-goog-request-id',
    requestIdPrefix: 'fake-gemini-',
    preflight(req) {
      if (req.method === 'POST' && req.path === '/token') return tokens.grant(req);
      const r = route(req);
      if (!r || req.method !== 'POST') return geminiError(404, 'NOT_FOUND', `The requested URL ${req.path} was not found on this server.`);
      if (requireAuth) {
        if (r.vertex) {
          if (!tokens.accepts(req.headers.authorization)) {
            return geminiError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.');
          }
          const named = decodeURIComponent(VERTEX_ROUTE.exec(req.path)![1]!);
          if (named !== project) return geminiError(403, 'PERMISSION_DENIED', `Permission denied on resource project ${named}.`);
        } else {
          const key = typeof req.headers['x-goog-api-key'] === 'string' ? req.headers['x-goog-api-key'] : req.query.get('key');
          if (!key) return geminiError(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
          if (!apiKeys.includes(key)) return geminiBadKey();
        }
      }
      if (req.body === undefined) return geminiError(400, 'INVALID_ARGUMENT', 'Invalid JSON payload received.');
      if (!strict) return null;
      const problem = r.method === 'countTokens' ? checkCountTokens(req.body, r.vertex) : (checkGeminiRequest(req.body, { requireSignatures: requireSignatures(r.model) })?.message ?? null);
      if (problem) return geminiError(400, 'INVALID_ARGUMENT', problem);
      const requested = req.body?.generationConfig?.maxOutputTokens;
      const limit = outputLimit(r.model);
      if (r.method !== 'countTokens' && typeof requested === 'number' && requested > limit) {
        return geminiError(400, 'INVALID_ARGUMENT', `Unable to submit request because it has a maxOutputTokens value of ${requested} but the supported range is from 1 (inclusive) to ${limit + 1} (exclusive). Update the value and try again.`);
      }
      return null;
    },
    respondDefault(req, res, ctx) {
      respond(route(req)!, req, res, ctx, requireSignatures);
    },
  };
}

/** countTokens: `{contents}` or `{generateContentRequest: {model, contents, ...}}` on the Gemini API; `{contents, systemInstruction, tools}` on Vertex. */
function checkCountTokens(body: any, vertex: boolean): string | null {
  if (!body || typeof body !== 'object') return 'Invalid JSON payload received.';
  if (!vertex && body.generateContentRequest !== undefined) {
    for (const key of Object.keys(body)) if (key !== 'generateContentRequest') return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
    const inner = body.generateContentRequest;
    if (typeof inner?.model !== 'string' || !inner.model.startsWith('models/')) return '* CountTokensRequest.generate_content_request.model: model is required (models/{model})';
    return checkGeminiRequest(inner, { requireSignatures: false })?.message ?? null;
  }
  const allowed = vertex ? ['contents', 'systemInstruction', 'tools', 'generationConfig', 'instances', 'model'] : ['contents'];
  for (const key of Object.keys(body)) if (!allowed.includes(key)) return `Invalid JSON payload received. Unknown name "${key}": Cannot find field.`;
  return checkGeminiRequest(body, { requireSignatures: false })?.message ?? null;
}

/** Characters of text in contents and the system instruction, four to a token. */
export function countGeminiTokens(body: any): number {
  const request = body?.generateContentRequest ?? body;
  let chars = 0;
  const add = (parts: unknown) => {
    for (const p of Array.isArray(parts) ? parts : []) if (typeof p?.text === 'string') chars += p.text.length;
  };
  add(request?.systemInstruction?.parts);
  for (const c of Array.isArray(request?.contents) ? request.contents : []) add(c?.parts);
  return tokensForChars(chars);
}

/**
 * The default answer: DEFAULT_GEMINI_TEXT; a call of the first declared function (args `{}`) when
 * the last user text contains CALL_TOOL; a thought summary first when `includeThoughts`; the text
 * cut before the first stop sequence it holds. Models that require signatures sign their calls
 * and text, as Gemini 3 does.
 */
function respond(r: Route, req: RecordedRequest, res: ServerResponse, ctx: ReplyContext, requireSignatures: (m: string) => boolean): void {
  const body = req.body ?? {};
  const promptTokenCount = countGeminiTokens(body);
  if (r.method === 'countTokens') return sendReply(res, { kind: 'json', body: { totalTokens: promptTokenCount, promptTokensDetails: [{ modality: 'TEXT', tokenCount: promptTokenCount }] } }, ctx);
  const signs = requireSignatures(r.model) || body.generationConfig?.thinkingConfig !== undefined;
  const fn = body.tools?.[0]?.functionDeclarations?.[0];
  const lastUser = [...(body.contents ?? [])].reverse().find((c: any) => c?.role === 'user');
  const callTool = fn && lastUserText({ messages: [{ role: 'user', content: lastUser?.parts ?? [] }] }).includes(TOOL_TRIGGER);
  let text = callTool ? '' : 'Hello from the fake Gemini upstream.';
  for (const stop of body.generationConfig?.stopSequences ?? []) {
    const at = typeof stop === 'string' && stop ? text.indexOf(stop) : -1;
    if (at !== -1) text = text.slice(0, at);
  }
  const spec: GeminiReplyOptions = resolveGeminiSignatures({
    text,
    ...(body.generationConfig?.thinkingConfig?.includeThoughts ? { thoughts: 'Thinking about the request.' } : {}),
    ...(callTool ? { functionCalls: [{ name: String(fn.name), args: {}, signature: signs }] } : { textSignature: signs }),
    usage: { promptTokenCount },
    modelVersion: r.model,
    responseId: `fakeGemini${Date.now().toString(36)}`,
  });
  let reply: FakeReply;
  if (r.method === 'generateContent') reply = { kind: 'json', body: geminiResponse(spec) };
  else if (req.query.get('alt') === 'sse') reply = { kind: 'sse', events: geminiSseFrames(geminiStreamChunks(spec)) };
  else reply = { kind: 'json', body: geminiStreamChunks(spec) };
  sendReply(res, reply, ctx);
}
