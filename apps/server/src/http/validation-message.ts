import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { clip, quote } from '../quote.js';
import { FALLBACK_MODEL_PATTERN, FALLBACK_MODEL_RULE, MODEL_ID_PATTERN, MODEL_ID_RULE } from '../routing/model-id.js';

export interface ValidatorIssue {
  path?: string;
  message?: string;
}

/**
 * For each `type` value a schema in the contract pins (`type: {const: X}` or an enum of kinds), the
 * property names such schemas declare. Lets us tell which oneOf branch an issue came from.
 */
export type TypeIndex = ReadonlyMap<string, ReadonlySet<string>>;

export function buildTypeIndex(specPath: string): TypeIndex {
  const spec = parseYaml(readFileSync(specPath, 'utf8')) as { components?: { schemas?: Record<string, any> } };
  const index = new Map<string, Set<string>>();
  for (const schema of Object.values(spec.components?.schemas ?? {})) {
    const typeProp = schema?.properties?.type;
    const values: unknown[] = typeProp?.const !== undefined ? [typeProp.const] : Array.isArray(typeProp?.enum) ? typeProp.enum : [];
    for (const value of values) {
      if (typeof value !== 'string') continue;
      const props = index.get(value) ?? new Set<string>();
      for (const name of Object.keys(schema.properties ?? {})) props.add(name);
      index.set(value, props);
    }
  }
  return index;
}

/**
 * Turns the validator's issues into one readable message. A oneOf failure makes ajv report every
 * branch's complaint; we keep only those that fit the branch the client meant (picked by the
 * object's `type`), drop summaries of deeper issues, and name an unknown `type` plainly.
 */
export function describeValidation(issues: ValidatorIssue[], body: unknown, types: TypeIndex): string {
  // Paths name the client's own keys: cut short like any echo of client text.
  const parsed = issues.map((i) => ({ path: clip(toFieldPath(i.path ?? ''), MAX_PATH), where: clip(i.path ?? '', MAX_PATH), message: plainRule(i.message ?? 'is invalid') }));
  const kept: string[] = [];
  const seen = new Set<string>();
  const add = (line: string) => {
    if (!seen.has(line)) {
      seen.add(line);
      kept.push(line);
    }
  };
  for (const issue of parsed) {
    const inBody = issue.where.startsWith('/body');
    const segments = issue.path === '' ? [] : issue.path.split('.');
    // A summary ("must match exactly one schema") of an object whose own issues are listed too.
    if (parsed.some((o) => o !== issue && o.path.startsWith(issue.path === '' ? '' : `${issue.path}.`) && o.path !== issue.path)) continue;
    if (inBody) {
      const verdict = branchVerdict(body, segments, issue.message, types);
      if (verdict === 'drop') continue;
      if (verdict !== 'keep') {
        add(verdict);
        continue;
      }
    }
    add(lineOf(issue));
    if (kept.length >= 5) break;
  }
  // Every issue was another branch's: the first one still says where the body is wrong.
  if (kept.length === 0 && parsed.length > 0) add(lineOf(parsed[0]!));
  return clip(kept.join('; '), MAX_MESSAGE) || 'request is invalid';
}

function lineOf(issue: { path: string; where: string; message: string }): string {
  if (issue.path) return `${issue.path}: ${issue.message}`;
  if (issue.message === "must have required property 'body'") return 'request body: required (a JSON object)';
  return issue.where === '/body' ? `request body: ${issue.message}` : issue.message;
}

/** Longest field path and whole message a validation answer repeats. */
const MAX_PATH = 200;
const MAX_MESSAGE = 2000;

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

/** 'keep' the issue, 'drop' it, or replace it with the returned line. */
function branchVerdict(body: unknown, segments: string[], message: string, types: TypeIndex): string {
  // The nearest object on the issue's path that says which kind it is.
  for (let depth = segments.length; depth >= 0; depth--) {
    const owner = valueAt(body, segments.slice(0, depth));
    if (!owner || typeof owner !== 'object' || Array.isArray(owner) || typeof (owner as { type?: unknown }).type !== 'string') continue;
    const kind = (owner as { type: string }).type;
    const ownerPath = segments.slice(0, depth).join('.');
    const props = types.get(kind);
    const field = segments[depth];
    if (!props) {
      // No schema in the contract has this type: say so once, instead of every branch's complaint.
      return `${ownerPath ? `${ownerPath}.` : ''}type: unknown type ${quote(kind)}`;
    }
    if (field === undefined) return 'keep';
    if (field === 'type' && /constant|allowed values/.test(message)) return 'drop';
    if (!props.has(field) && /required property/.test(message)) return 'drop';
    return 'keep';
  }
  return 'keep';
}

function valueAt(root: unknown, segments: string[]): unknown {
  let v: unknown = root;
  for (const s of segments) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, s)) return undefined;
    v = (v as Record<string, unknown>)[s];
  }
  return v;
}
