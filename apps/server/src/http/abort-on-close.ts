import type { Response } from 'express';

/** An AbortSignal that fires when the client goes away before the response is complete. */
export function abortOnClientClose(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('client disconnected'));
  });
  return controller.signal;
}
