import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { cachedMembersOf } from '../contract/parse-cache.js';

/**
 * What stands for a member already proven valid while the rest of a body is validated: the
 * smallest valid value of its schema (`SystemPrompt` takes a string; `tools` an empty array).
 */
const STAND_INS: Readonly<Record<string, unknown>> = { system: '', tools: [] };

/**
 * Validates a messages body with `validate` (the contract's validator), leaving out the members a
 * valid body already held: a session's `system` and `tools`, the same bytes on every turn
 * (contract/parse-cache.ts). Their schemas do not depend on the rest of the body, so the verdict is
 * the one the whole body would get; the rest is validated in full, with the same error messages.
 * When the body passes, every cached member it holds is proven valid for the next ones.
 *
 * Only for POST /anthropic/v1/messages (its schema is the one members are proven valid against).
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
    for (const m of cached) {
      if (!m.entry.valid || !(m.name in STAND_INS) || body[m.name] !== m.entry.value) continue;
      if (checked === body) checked = { ...body };
      checked[m.name] = STAND_INS[m.name];
    }
    req.body = checked;
    validate(req, res, (err?: unknown) => {
      req.body = body;
      if (err === undefined || err === null) for (const m of cached) if (body[m.name] === m.entry.value) m.entry.valid = true;
      next(err);
    });
  };
}
