import type { RequestHandler } from 'express';
import { invalidRequest, type GatewayError } from '../errors.js';
import type { InputMessage } from '../generated/types.gen.js';

/**
 * Anthropic refuses a message whose content is empty (`""` or `[]`), except the final assistant
 * message, which may be an empty prefill. The contract cannot say "except the last one", so this
 * runs right after validation, before routing: every provider gets the same 400 Anthropic gives, and
 * none is called (a translated provider would otherwise send an empty turn, or leave it out).
 */
export function emptyContentError(messages: readonly InputMessage[]): GatewayError | undefined {
  const last = messages.length - 1;
  for (let i = 0; i <= last; i++) {
    const content = messages[i]!.content;
    if (content !== '' && !(Array.isArray(content) && content.length === 0)) continue;
    if (i === last && messages[i]!.role === 'assistant') continue;
    return invalidRequest(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
  }
  return undefined;
}

/** The check for `POST /anthropic/v1/messages`, as a step of the validation chain (validated bodies only). */
export const rejectEmptyContent: RequestHandler = (req, _res, next) => {
  const messages = req.method === 'POST' && req.path === '/anthropic/v1/messages' ? (req.body as { messages?: unknown } | undefined)?.messages : undefined;
  next(Array.isArray(messages) ? emptyContentError(messages as InputMessage[]) : undefined);
};
