/**
 * A fake Bedrock Runtime: InvokeModel and InvokeModelWithResponseStream (Claude's body),
 * Converse and ConverseStream (other models), CountTokens. Like the real service it checks every
 * request's SigV4 signature (or Bedrock API key) first and refuses a bad one with a 403 in
 * Bedrock's error shape, then the body, then answers; streams are binary event streams encoded
 * with the AWS SDK's codec.
 */
import type { ServerResponse } from 'node:http';
import { anthropicMessage } from '../anthropic/builders.js';
import type { ReplyContext } from '../reply.js';
import { sendReply } from '../reply.js';
import type { FakeProvider } from '../server.js';
import { startFakeServer } from '../server.js';
import { countInputTokens, lastUserText } from '../text.js';
import type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest } from '../types.js';
import {
  bedrockClaudeMessage,
  bedrockError,
  bedrockInvokeFrames,
  bedrockStreamReply,
  converseResponse,
  converseStreamFrames,
} from './builders.js';
import { verifySigV4, type AwsCredentials } from './sigv4.js';
import { BEDROCK_KNOWN_BETAS, checkConverseBody, checkInvokeBody } from './strict.js';

export interface FakeBedrockOptions extends FakeOptions {
  /** The region requests must be signed for. Default us-east-1. */
  region?: string;
  /** Access keys whose SigV4 signatures are accepted. */
  credentials?: AwsCredentials[];
  /** Bedrock API keys accepted as `Authorization: Bearer`. */
  apiKeys?: string[];
  /** anthropic-beta values accepted in `anthropic_beta`. Default: the ones Bedrock knows (BEDROCK_KNOWN_BETAS). */
  knownBetas?: string[];
  /** Refuse bodies Bedrock refuses (400 ValidationException). Default true. */
  strict?: boolean;
  /** Models with CountTokens; others answer 400 (it exists only for some). Default: Claude models. */
  countTokensFor?: (modelId: string) => boolean;
  /** Clock for the signature's date check. */
  now?: () => number;
}

export const FAKE_BEDROCK_CREDENTIALS: AwsCredentials = { accessKeyId: 'AKIAFAKEBEDROCK00001', secretAccessKey: 'fake-secret-access-key/for+tests' };
export const FAKE_BEDROCK_API_KEY = 'ABSKfakeBedrockApiKey0001';

const ROUTE = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream|count-tokens)$/;
const TOOL_TRIGGER = 'CALL_TOOL';
/** Cross-region inference profiles put a geography in front of the model id. */
const PROFILE_PREFIX = /^(us|eu|apac|jp|au|ca|us-gov|global)\./;

export function startFakeBedrock(opts: FakeBedrockOptions = {}): Promise<FakeUpstream> {
  return startFakeServer(bedrockProvider(opts), opts);
}

function bedrockProvider(opts: FakeBedrockOptions): FakeProvider {
  const strict = opts.strict ?? true;
  const requireAuth = opts.requireAuth ?? true;
  const region = opts.region ?? 'us-east-1';
  const credentials = opts.credentials ?? [FAKE_BEDROCK_CREDENTIALS];
  const apiKeys = opts.apiKeys ?? [FAKE_BEDROCK_API_KEY];
  const knownBetas = opts.knownBetas ?? BEDROCK_KNOWN_BETAS;
  const countTokensFor = opts.countTokensFor ?? ((id: string) => id.startsWith('anthropic.'));

  return {
    requestIdHeader: 'x-amzn-requestid',
    requestIdPrefix: 'fake-bedrock-',
    preflight(req) {
      if (requireAuth) {
        const refused = checkAuth(req);
        if (refused) return refused;
      }
      const route = ROUTE.exec(req.path);
      if (!route || req.method !== 'POST') return bedrockError(404, 'UnknownOperationException', `Unknown operation: ${req.method} ${req.path}`);
      if (!strict) return null;
      const model = decodeURIComponent(route[1]!);
      if (/[/]/.test(model) && !model.startsWith('arn:')) return bedrockError(400, 'ValidationException', 'The provided model identifier is invalid.');
      const op = route[2]!;
      if (req.body === undefined) return bedrockError(400, 'ValidationException', 'Malformed request body: not JSON');
      let problem: string | null = null;
      if (op === 'invoke' || op === 'invoke-with-response-stream') problem = checkInvokeBody(req.body, knownBetas);
      else if (op === 'converse' || op === 'converse-stream') problem = checkConverseBody(req.body);
      else if (op === 'count-tokens') {
        if (PROFILE_PREFIX.test(model)) return bedrockError(400, 'ValidationException', 'The provided model identifier is invalid.');
        if (!countTokensFor(model)) return bedrockError(400, 'ValidationException', "The provided model doesn't support counting tokens.");
        problem = checkCountTokens(req.body, knownBetas);
      }
      return problem ? bedrockError(400, 'ValidationException', problem) : null;
    },
    respondDefault(req, res, ctx) {
      const route = ROUTE.exec(req.path)!;
      const model = decodeURIComponent(route[1]!);
      respond(route[2]!, model, req, res, ctx);
    },
  };

  function checkAuth(req: RecordedRequest): FakeReply | null {
    const auth = typeof req.headers.authorization === 'string' ? req.headers.authorization : '';
    if (/^bearer /i.test(auth)) {
      return apiKeys.includes(auth.slice(7).trim()) ? null : bedrockError(403, 'UnrecognizedClientException', 'Invalid API Key format: Must start with pre-defined prefix');
    }
    const url = req.query.size > 0 ? `${req.path}?${req.query.toString()}` : req.path;
    const failure = verifySigV4({ method: req.method, url, headers: req.headers, body: req.rawBody }, { credentials, region, service: 'bedrock', now: opts.now });
    return failure ? bedrockError(failure.status, failure.errorType, failure.message) : null;
  }
}

function respond(op: string, model: string, req: RecordedRequest, res: ServerResponse, ctx: ReplyContext): void {
  const body = req.body ?? {};
  const inputTokens = countInputTokens(body);
  // lastUserText reads `text` fields: Anthropic blocks and Converse blocks alike.
  const callTool = lastUserText(body).includes(TOOL_TRIGGER);
  switch (op) {
    case 'invoke':
    case 'invoke-with-response-stream': {
      const tool = Array.isArray(body.tools) && body.tools.length > 0 && callTool ? body.tools[0] : undefined;
      const message = tool
        ? anthropicMessage({ id: 'msg_bdrk_01FakeBedrockToolUse01', model: bedrockClaudeMessage(model).model, content: [{ type: 'tool_use', id: 'toolu_bdrk_01FakeToolUse', name: String(tool.name), input: {} }], usage: { input_tokens: inputTokens } })
        : bedrockClaudeMessage(model, { usage: { input_tokens: inputTokens } });
      return sendReply(res, op === 'invoke' ? { kind: 'json', body: message } : bedrockStreamReply(bedrockInvokeFrames(message)), ctx);
    }
    case 'converse':
    case 'converse-stream': {
      const tool = body.toolConfig?.tools?.[0]?.toolSpec;
      const spec = tool && callTool ? { toolUses: [{ toolUseId: 'tooluse_FakeBedrock01', name: String(tool.name), input: {} }], usage: { inputTokens } } : { usage: { inputTokens } };
      return sendReply(res, op === 'converse' ? { kind: 'json', body: converseResponse(spec) } : bedrockStreamReply(converseStreamFrames(spec)), ctx);
    }
    default: {
      const input = body.input ?? {};
      const counted = input.invokeModel ? JSON.parse(Buffer.from(String(input.invokeModel.body), 'base64').toString('utf8')) : input.converse;
      return sendReply(res, { kind: 'json', body: { inputTokens: countInputTokens(counted) } }, ctx);
    }
  }
}

/** CountTokens: exactly one of `invokeModel {body: base64 of the InvokeModel body}` or `converse {...}`. */
function checkCountTokens(body: any, knownBetas: readonly string[]): string | null {
  const input = body?.input;
  if (!input || typeof input !== 'object' || Object.keys(input).length !== 1) return 'input: expected exactly one of invokeModel, converse';
  if (input.invokeModel) {
    let inner: unknown;
    try {
      inner = JSON.parse(Buffer.from(String(input.invokeModel.body), 'base64').toString('utf8'));
    } catch {
      return 'input.invokeModel.body: expected the base64 of a JSON InvokeModel body';
    }
    return checkInvokeBody(inner, knownBetas);
  }
  if (input.converse) return checkConverseBody(input.converse);
  return 'input: expected exactly one of invokeModel, converse';
}
