/** A fake Anthropic upstream: /v1/messages (JSON and SSE), /v1/messages/count_tokens, /v1/models and the Message Batches API. */
import type { ServerResponse } from 'node:http';
import type { ReplyContext } from '../reply.js';
import { sendPrerendered, sendReply } from '../reply.js';
import { startFakeServer } from '../server.js';
import type { FakeProvider } from '../server.js';
import { compileTemplate } from '../template.js';
import { assistantPrefix, PREFILL_REFUSAL } from '../continuation.js';
import { FakeBatchesApi, type FakeBatchesOptions } from './batches.js';
import { countInputTokens, lastUserText, textForChunks, tokensForChars } from '../text.js';
import type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest } from '../types.js';
import {
  DEFAULT_ANTHROPIC_MODEL,
  DEFAULT_ANTHROPIC_TEXT,
  anthropicError,
  anthropicMessage,
  anthropicSseEvents,
} from './builders.js';

export interface FakeAnthropicOptions extends FakeOptions, FakeBatchesOptions {
  /** Reject /v1/messages and count_tokens bodies without `model`, `messages` (and `max_tokens`) like the API. Default true. */
  strict?: boolean;
  /** Models that refuse an assistant prefill with Anthropic's 400 (as Claude Opus 4.6 and later do), before any scripted reply. */
  noPrefillModels?: readonly string[];
}

export const FAKE_ANTHROPIC_MODELS = [
  { type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
  { type: 'model', id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-01T00:00:00Z' },
  { type: 'model', id: 'claude-opus-4-1-20250805', display_name: 'Claude Opus 4.1', created_at: '2025-08-05T00:00:00Z' },
];

const MODEL_MARK = '"@@MODEL@@"';
const INPUT_MARK = '777000111';
const TOOL_TRIGGER = 'CALL_TOOL';

export function startFakeAnthropic(opts: FakeAnthropicOptions = {}): Promise<FakeUpstream> {
  return startFakeServer(anthropicProvider(opts), opts);
}

function anthropicProvider(opts: FakeAnthropicOptions): FakeProvider {
  const strict = opts.strict ?? true;
  const requireAuth = opts.requireAuth ?? true;
  const streamText = textForChunks(DEFAULT_ANTHROPIC_TEXT, opts.streamChunks ?? 10);
  const batches = new FakeBatchesApi(opts);

  // The default replies are rendered once with markers for the per-request model and input count.
  const templateMessage = (text: string) =>
    anthropicMessage({ model: '@@MODEL@@', text, usage: { input_tokens: Number(INPUT_MARK), output_tokens: tokensForChars(text.length) } });
  const renderJson = compileTemplate(JSON.stringify(templateMessage(DEFAULT_ANTHROPIC_TEXT)), [MODEL_MARK, INPUT_MARK]);
  const renderStream = compileTemplate(
    anthropicSseEvents(templateMessage(streamText), { textChunks: opts.streamChunks ?? 10 }).join(''),
    [MODEL_MARK, INPUT_MARK],
  );

  return {
    requestIdHeader: 'request-id',
    requestIdPrefix: 'req_fake_',
    preflight(req) {
      if (requireAuth && !req.headers['x-api-key']) {
        return anthropicError(401, 'authentication_error', 'x-api-key header is required');
      }
      if (req.method === 'POST' && (req.path === '/v1/messages' || req.path === '/v1/messages/count_tokens')) {
        const bad = checkBody(req, strict);
        if (bad) return bad;
        if (req.path === '/v1/messages' && opts.noPrefillModels?.includes(req.body.model) && assistantPrefix(req.body) !== undefined) {
          return anthropicError(400, 'invalid_request_error', PREFILL_REFUSAL);
        }
      }
      return null;
    },
    respondDefault(req, res, ctx) {
      if (req.method === 'POST' && req.path === '/v1/messages') return respondMessages(req, res, ctx);
      if (req.method === 'POST' && req.path === '/v1/messages/count_tokens') {
        return sendReply(res, { kind: 'json', body: { input_tokens: countInputTokens(req.body) } }, ctx);
      }
      if (req.method === 'GET' && req.path === '/v1/models') {
        const body = {
          data: FAKE_ANTHROPIC_MODELS,
          has_more: false,
          first_id: FAKE_ANTHROPIC_MODELS[0].id,
          last_id: FAKE_ANTHROPIC_MODELS[FAKE_ANTHROPIC_MODELS.length - 1].id,
        };
        return sendReply(res, { kind: 'json', body }, ctx);
      }
      if (batches.handle(req, res, ctx)) return;
      const model = req.method === 'GET' && req.path.startsWith('/v1/models/') && FAKE_ANTHROPIC_MODELS.find((m) => req.path === `/v1/models/${m.id}`);
      if (model) return sendReply(res, { kind: 'json', body: model }, ctx);
      sendReply(res, anthropicError(404, 'not_found_error', `Not found: ${req.method} ${req.path}`), ctx);
    },
  };

  function respondMessages(req: RecordedRequest, res: ServerResponse, ctx: ReplyContext): void {
    const body = req.body ?? {};
    const model = typeof body.model === 'string' ? body.model : DEFAULT_ANTHROPIC_MODEL;
    const inputTokens = countInputTokens(body);
    const stream = body.stream === true;
    if (Array.isArray(body.tools) && body.tools.length > 0 && lastUserText(body).includes(TOOL_TRIGGER)) {
      const message = anthropicMessage({
        model,
        content: [{ type: 'tool_use', id: 'toolu_01FakeUpstreamToolUse01', name: String(body.tools[0]?.name), input: {} }],
        usage: { input_tokens: inputTokens },
      });
      const reply: FakeReply = stream ? { kind: 'sse', events: anthropicSseEvents(message) } : { kind: 'json', body: message };
      return sendReply(res, reply, ctx);
    }
    const text = (stream ? renderStream : renderJson)([JSON.stringify(model), String(inputTokens)]);
    sendPrerendered(res, ctx, stream, text);
  }
}

/** The request-shape errors the real API returns before generating anything. */
function checkBody(req: RecordedRequest, strict: boolean): FakeReply | null {
  const body = req.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return anthropicError(400, 'invalid_request_error', 'The request body is not valid JSON.');
  }
  if (!strict) return null;
  if (typeof body.model !== 'string' || body.model === '') return anthropicError(400, 'invalid_request_error', 'model: Field required');
  if (!Array.isArray(body.messages)) return anthropicError(400, 'invalid_request_error', 'messages: Field required');
  if (req.path === '/v1/messages' && typeof body.max_tokens !== 'number') {
    return anthropicError(400, 'invalid_request_error', 'max_tokens: Field required');
  }
  return null;
}
