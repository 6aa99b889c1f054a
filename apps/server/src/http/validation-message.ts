export interface ValidatorIssue {
  path?: string;
  message?: string;
}

/** ajv's verdict on a union as a whole, said again by the issues of its members. */
const SUMMARY = /^must match (exactly one schema in oneOf|a schema in anyOf)$/;

/** At most this many issues are named in one answer. */
const MAX_ISSUES = 5;

/**
 * Turns the validator's issues into one readable message naming each field. Unions are validated by
 * dispatching on `type` (validator-spec.ts), so the issues are those of the kind the client meant;
 * what is left to drop is bookkeeping: the `if`/`then` chain's own "must match" lines, and a summary
 * ("must match exactly one schema in oneOf", "must be string" for a `string | block[]` field) of a
 * value whose own issues are listed too.
 */
export function describeValidation(issues: ValidatorIssue[]): string {
  const parsed = issues
    .map((i) => ({ path: toFieldPath(i.path ?? ''), message: i.message ?? 'is invalid' }))
    .filter((i) => !/^must match "(then|else)" schema$/.test(i.message));
  const kept: string[] = [];
  for (const issue of parsed) {
    const prefix = issue.path === '' ? '' : `${issue.path}.`;
    if (parsed.some((o) => o.path.startsWith(prefix) && o.path !== issue.path)) continue;
    if (SUMMARY.test(issue.message) && parsed.some((o) => o !== issue && o.path === issue.path)) continue;
    const line = issue.path ? `${issue.path}: ${issue.message}` : issue.message;
    if (!kept.includes(line)) kept.push(line);
    if (kept.length >= MAX_ISSUES) break;
  }
  return kept.join('; ') || 'request is invalid';
}

/** "/body/messages/0/content" → "messages.0.content"; headers and query keep their prefix. */
function toFieldPath(path: string): string {
  return path
    .replace(/^\/?(body|headers|query|params)\/?/, (_m, where: string) => (where === 'body' ? '' : `${where}.`))
    .replace(/\//g, '.')
    .replace(/\.$/, '');
}
