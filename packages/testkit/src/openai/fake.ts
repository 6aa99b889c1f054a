/** A fake OpenAI-compatible upstream: chat completions (OpenAI, bare and Azure paths) and /v1/models. */
import type { ServerResponse } from 'node:http';
import type { ReplyContext } from '../reply.js';
import { sendPrerendered, sendReply } from '../reply.js';
import { startFakeServer } from '../server.js';
import type { FakeProvider } from '../server.js';
import { compileTemplate } from '../template.js';
import { countInputTokens, lastUserText, textForChunks, tokensForChars } from '../text.js';
import type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest } from '../types.js';
import {
  DEFAULT_OPENAI_CREATED,
  DEFAULT_OPENAI_MODEL,
  DEFAULT_OPENAI_TEXT,
  openaiChunks,
  openaiCompletion,
  openaiError,
} from './builders.js';
import { checkOpenAIRequest, openaiStrictRules } from './strict.js';
import type { StrictRule } from './strict.js';

export interface FakeOpenAIOptions extends FakeOptions {
  /** Reject requests the real API rejects with a 400. Default true. */
  strict?: boolean;
  /** More checks to run after the built-in ones in strict mode. */
  extraRules?: StrictRule[];
}

export const FAKE_OPENAI_MODELS = ['gpt-4o-mini-2024-07-18', 'gpt-4o-2024-08-06', 'gpt-4.1-2025-04-14'];

const MODEL_MARK = '"@@MODEL@@"';
const PROMPT_MARK = '777000111';
const TOTAL_MARK = '777000222';
const TOOL_TRIGGER = 'CALL_TOOL';
const AZURE_CHAT = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/;

const MISSING_KEY =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth " +
  '(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you\'re accessing the API from your browser and are prompted for a username and password.';

export function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeUpstream> {
  return startFakeServer(openaiProvider(opts), opts);
}

/** The deployment name for an Azure path, '' for the OpenAI paths, null when the path is not a chat completions route. */
function chatRoute(path: string): string | null {
  if (path === '/v1/chat/completions' || path === '/chat/completions') return '';
  const azure = AZURE_CHAT.exec(path);
  return azure ? decodeURIComponent(azure[1]) : null;
}

function hasAuth(headers: RecordedRequest['headers']): boolean {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+\S/i.test(auth)) return true;
  return typeof headers['api-key'] === 'string' && headers['api-key'] !== '';
}

function openaiProvider(opts: FakeOpenAIOptions): FakeProvider {
  const strict = opts.strict ?? true;
  const requireAuth = opts.requireAuth ?? true;
  const rules = opts.extraRules ? [...openaiStrictRules, ...opts.extraRules] : openaiStrictRules;
  const streamChunks = opts.streamChunks ?? 10;
  const streamText = textForChunks(DEFAULT_OPENAI_TEXT, streamChunks);
  const marks = [MODEL_MARK, PROMPT_MARK, TOTAL_MARK];

  // Default replies rendered once; per request only the model and the prompt count are filled in.
  const templateUsage = (text: string) => {
    const completion = tokensForChars(text.length);
    return { prompt_tokens: Number(PROMPT_MARK), completion_tokens: completion, total: completion };
  };
  const jsonUsage = templateUsage(DEFAULT_OPENAI_TEXT);
  const streamUsage = templateUsage(streamText);
  const withTotal = (text: string, total: number) => text.replace(String(Number(PROMPT_MARK) + total), TOTAL_MARK);
  const renderJson = compileTemplate(
    withTotal(JSON.stringify(openaiCompletion({ model: '@@MODEL@@', content: DEFAULT_OPENAI_TEXT, usage: jsonUsage })), jsonUsage.total),
    marks,
  );
  const streamTemplate = (includeUsage: boolean) =>
    compileTemplate(
      withTotal(
        openaiChunks({ model: '@@MODEL@@', content: streamText, usage: streamUsage, chunks: streamChunks, includeUsage }).join(''),
        streamUsage.total,
      ),
      marks,
    );
  const renderStream = streamTemplate(false);
  const renderStreamWithUsage = streamTemplate(true);

  return {
    requestIdHeader: 'x-request-id',
    requestIdPrefix: 'req_fake_',
    preflight(req) {
      if (requireAuth && !hasAuth(req.headers)) return openaiError(401, MISSING_KEY, 'invalid_request_error');
      const deployment = req.method === 'POST' ? chatRoute(req.path) : null;
      if (deployment === null) return null;
      if (strict) {
        const violation = checkOpenAIRequest(req.body, { modelInPath: deployment !== '' }, rules);
        if (violation) return openaiError(400, violation.message, 'invalid_request_error', null, violation.param);
      } else if (req.body === null || typeof req.body !== 'object') {
        return openaiError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error');
      }
      return null;
    },
    respondDefault(req, res, ctx) {
      const deployment = req.method === 'POST' ? chatRoute(req.path) : null;
      if (deployment !== null) return respondChat(req, deployment, res, ctx);
      if (req.method === 'GET' && (req.path === '/v1/models' || req.path === '/models')) {
        const data = FAKE_OPENAI_MODELS.map((id) => ({ id, object: 'model', created: DEFAULT_OPENAI_CREATED, owned_by: 'system' }));
        return sendReply(res, { kind: 'json', body: { object: 'list', data } }, ctx);
      }
      sendReply(res, openaiError(404, `Invalid URL (${req.method} ${req.path})`, 'invalid_request_error'), ctx);
    },
  };

  function respondChat(req: RecordedRequest, deployment: string, res: ServerResponse, ctx: ReplyContext): void {
    const body = req.body ?? {};
    const model = typeof body.model === 'string' && body.model !== '' ? body.model : deployment || DEFAULT_OPENAI_MODEL;
    const promptTokens = countInputTokens(body);
    const stream = body.stream === true;
    const includeUsage = stream && body.stream_options?.include_usage === true;
    if (Array.isArray(body.tools) && body.tools.length > 0 && lastUserText(body).includes(TOOL_TRIGGER)) {
      const reply = {
        model,
        tool_calls: [{ id: 'call_fakeUpstreamToolCall01', name: String(body.tools[0]?.function?.name), arguments: '{}' }],
        usage: { prompt_tokens: promptTokens, completion_tokens: 5 },
      };
      const fake: FakeReply = stream
        ? { kind: 'sse', events: openaiChunks({ ...reply, includeUsage }) }
        : { kind: 'json', body: openaiCompletion(reply) };
      return sendReply(res, fake, ctx);
    }
    const render = stream ? (includeUsage ? renderStreamWithUsage : renderStream) : renderJson;
    const usage = stream ? streamUsage : jsonUsage;
    const text = render([JSON.stringify(model), String(promptTokens), String(promptTokens + usage.completion_tokens)]);
    sendPrerendered(res, ctx, stream, text);
  }
}
