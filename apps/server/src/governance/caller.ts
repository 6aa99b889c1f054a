import type { Response } from 'express';
import type { Caller } from './types.js';

/** Where the authenticated caller lives while its request runs. */
const SLOT = 'conduitCaller';

export function setCaller(res: Response, caller: Caller): void {
  res.locals[SLOT] = caller;
}

/** The authenticated caller, or undefined when gateway auth is off. */
export function callerOf(res: Response): Caller | undefined {
  return res.locals[SLOT] as Caller | undefined;
}
