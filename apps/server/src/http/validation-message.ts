import { clip } from '../quote.js';
import { FALLBACK_MODEL_PATTERN, FALLBACK_MODEL_RULE, MODEL_ID_PATTERN, MODEL_ID_RULE } from '../routing/model-id.js';

export interface ValidatorIssue {
  path?: string;
  message?: string;
}

/** ajv's verdict on a union as a whole, said again by the issues of its members. */
const SUMMARY = /^must match (exactly one schema in oneOf|a schema in anyOf)$/;

/** At most this many issues are named in one answer. */
const MAX_ISSUES = 5;
/** Longest field path and whole message a validation answer repeats. */
const MAX_PATH = 200;
const MAX_MESSAGE = 2000;

/**
 * Turns the validator's issues into one readable message naming each field. Unions are validated by
 * dispatching on `type` (validator-spec.ts), so the issues are those of the kind the client meant;
 * what is left to drop is bookkeeping: the `if`/`then` chain's own "must match" lines, and a summary
 * ("must match exactly one schema in oneOf", "must be string" for a `string | block[]` field) of a
 * value whose own issues are listed too. Paths name the client's own keys: cut short like any echo.
 */
export function describeValidation(issues: ValidatorIssue[]): string {
  const parsed = issues
    .map((i) => ({ path: clip(toFieldPath(i.path ?? ''), MAX_PATH), where: clip(i.path ?? '', MAX_PATH), message: plainRule(i.message ?? 'is invalid') }))
    .filter((i) => !/^must match "(then|else)" schema$/.test(i.message));
  const kept: string[] = [];
  for (const issue of parsed) {
    const prefix = issue.path === '' ? '' : `${issue.path}.`;
    if (parsed.some((o) => o.path.startsWith(prefix) && o.path !== issue.path)) continue;
    if (SUMMARY.test(issue.message) && parsed.some((o) => o !== issue && o.path === issue.path)) continue;
    const line = lineOf(issue);
    if (!kept.includes(line)) kept.push(line);
    if (kept.length >= MAX_ISSUES) break;
  }
  return clip(kept.join('; '), MAX_MESSAGE) || 'request is invalid';
}

function lineOf(issue: { path: string; where: string; message: string }): string {
  if (issue.path) return `${issue.path}: ${issue.message}`;
  if (issue.message === "must have required property 'body'") return 'request body: required (a JSON object)';
  return issue.where === '/body' ? `request body: ${issue.message}` : issue.message;
}

/** What the contract's patterns mean, in words, instead of the regular expression. */
const PATTERN_RULES = new Map([
  [MODEL_ID_PATTERN, MODEL_ID_RULE],
  [FALLBACK_MODEL_PATTERN, FALLBACK_MODEL_RULE],
]);

function plainRule(message: string): string {
  const m = /^must match pattern "(.*)"$/.exec(message);
  return (m && PATTERN_RULES.get(m[1]!)) ?? message;
}

/** "/body/messages/0/content" → "messages.0.content"; headers and query keep their prefix. */
function toFieldPath(path: string): string {
  return path
    .replace(/^\/?(body|headers|query|params)\/?/, (_m, where: string) => (where === 'body' ? '' : `${where}.`))
    .replace(/\//g, '.')
    .replace(/\.$/, '');
}
