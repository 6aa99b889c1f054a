import type { Response } from 'express';
import { Cancel, type CancelSignal } from '../cancel.js';

/** A signal that fires when the client goes away before the response is complete. */
export function abortOnClientClose(res: Response): CancelSignal {
  const cancel = new Cancel();
  res.once('close', () => {
    if (!res.writableFinished) cancel.abort(new Error('client disconnected'));
  });
  return cancel;
}
