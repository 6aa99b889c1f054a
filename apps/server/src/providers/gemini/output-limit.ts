import { readGoogleError } from '../google-error.js';
import { tryParseJson } from '../upstream-error.js';

/**
 * Gemini's refusal of a `maxOutputTokens` above what the model produces: "Unable to submit request
 * because it has a maxOutputTokens value of 32000 but the supported range is from 1 (inclusive) to
 * 8193 (exclusive). Update the value and try again."
 */
const RANGE = /maxOutputTokens value of (\d+) but the supported range is from (\d+) \(inclusive\) to (\d+) \(exclusive\)/i;

/** The most output tokens the model takes, from a 400 that refused the request's `requested`; undefined for any other answer. */
export function geminiOutputLimit(status: number, errorText: string, requested: number): number | undefined {
  if (status !== 400) return undefined;
  const message = readGoogleError(tryParseJson(errorText))?.message ?? errorText.slice(0, 4096);
  const m = RANGE.exec(message);
  if (!m) return undefined;
  const limit = Number(m[3]) - 1;
  return Number.isSafeInteger(limit) && limit >= Math.max(1, Number(m[2])) && limit < requested ? limit : undefined;
}
