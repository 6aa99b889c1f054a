import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { cachedMembersOf, type CachedMember } from '../contract/parse-cache.js';
import { ELEMENTS_OF } from '../contract/raw-body.js';

/**
 * What stands for a part already proven valid while the rest of a body is validated: the smallest
 * valid value of its schema (`SystemPrompt` takes a string; `tools` an empty array).
 */
const STAND_INS: Readonly<Record<string, unknown>> = { system: '', tools: [] };

/**
 * A proven message stands in as a message of the same role with content that is not empty: the one
 * rule after the contract (http/empty-content.ts) looks at each message's role, position and whether
 * its content is empty, and those are kept. A message with empty content is validated as it is.
 */
const MESSAGE_STAND_INS: Readonly<Record<string, unknown>> = {
  user: Object.freeze({ role: 'user', content: '.' }),
  assistant: Object.freeze({ role: 'assistant', content: '.' }),
};

function messageStandIn(message: unknown): unknown {
  const { role, content } = message as { role?: unknown; content?: unknown };
  if (content === '' || (Array.isArray(content) && content.length === 0)) return undefined;
  return typeof role === 'string' && Object.hasOwn(MESSAGE_STAND_INS, role) ? MESSAGE_STAND_INS[role] : undefined;
}

/** The value `m` is a cache entry for, if `body` still holds it where it was found. */
function holds(body: Record<string, unknown>, m: CachedMember): boolean {
  if (m.index === undefined) return body[m.name] === m.entry.value;
  const list = body[m.name];
  return Array.isArray(list) && list[m.index] === m.entry.value;
}

/**
 * Validates a messages body with `validate` (the contract's validator), leaving out the parts a
 * valid body already held: a session's `system`, `tools` and the messages of its history, the same
 * bytes on every turn (contract/parse-cache.ts). Their schemas do not depend on the rest of the body
 * (an element of `messages` is an `InputMessage` wherever it stands, and a stand-in keeps its index
 * and the array's length), so the verdict is the one the whole body would get; the rest is
 * validated in full, with the same error messages and paths. When the body passes, every cached part
 * it holds is proven valid for the next ones.
 *
 * Only for POST /anthropic/v1/messages (its schema is the one parts are proven valid against).
 */
export function validateWithProvenMembers(validate: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const cached = cachedMembersOf(req.body);
    if (cached === undefined || req.method !== 'POST' || req.path !== '/anthropic/v1/messages') {
      validate(req, res, next);
      return;
    }
    const body = req.body as Record<string, unknown>;
    let checked = body;
    let messages: unknown[] | undefined;
    for (const m of cached) {
      if (!m.entry.valid || !holds(body, m)) continue;
      if (checked === body) checked = { ...body };
      if (m.index === undefined) {
        if (m.name in STAND_INS) checked[m.name] = STAND_INS[m.name];
      } else if (m.name === ELEMENTS_OF) {
        const standIn = messageStandIn(m.entry.value);
        if (standIn === undefined) continue;
        messages ??= [...(body[ELEMENTS_OF] as unknown[])];
        messages[m.index] = standIn;
      }
    }
    if (messages !== undefined) checked[ELEMENTS_OF] = messages;
    req.body = checked;
    validate(req, res, (err?: unknown) => {
      req.body = body;
      if (err === undefined || err === null) for (const m of cached) if (holds(body, m)) m.entry.valid = true;
      next(err);
    });
  };
}
