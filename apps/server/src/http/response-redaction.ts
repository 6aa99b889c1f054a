import type { Express, Response } from 'express';
import { clientCredential } from '../client-credential.js';
import { Redactor } from '../redaction.js';

const SLOT = 'conduitRedactor';
const NOTHING = new Redactor([]);

/** Makes `redactor` the one every error answer of `app` goes through (sendError, SSE error events). */
export function useRedactor(app: Express, redactor: Redactor): void {
  app.locals[SLOT] = redactor;
}

/** The app's redactor and the request's own credential: what must not appear in an answer about it. */
export function redactionFor(res: Response): { redactor: Redactor; own: string | undefined } {
  const redactor = (res.app?.locals?.[SLOT] as Redactor | undefined) ?? NOTHING;
  const own = res.req ? clientCredential(res.req.headers)?.secret : undefined;
  return { redactor, own };
}
