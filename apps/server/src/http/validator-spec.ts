import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

type Schema = Record<string, any>;

/**
 * The contract as the request validator runs it: openapi.yaml, with every union whose members each
 * pin their `type` validated by dispatching on `type` instead of by trying every member.
 *
 * A `oneOf` of N block kinds makes ajv validate the value against all N, and a failure reports every
 * member's complaint. Each member here pins its `type` (a `const`, an `enum`, a dated `pattern`, or,
 * for a custom tool, `custom` or none) and an open member excludes exactly those, so at most one
 * member can match a value: testing the `type` first and validating against that one member accepts
 * and rejects exactly what the `oneOf` does, at a fraction of the cost, and the errors are the chosen
 * member's own. A union is rewritten into a chain of `if` (the member's pin) / `then` (the member) /
 * `else` (the next member), ending in the open member, or, for a closed union, in a check that names
 * the allowed kinds.
 *
 * `discriminator` keywords are dropped from this copy: ajv ignores them, and express-openapi-validator's
 * own discriminator handling mis-tags request bodies (see the note above CreateMessageRequest).
 */
export function loadValidatorSpec(specPath: string): Schema {
  return dispatchUnions(parseYaml(readFileSync(specPath, 'utf8')) as Schema);
}

/** The `if` condition that selects a member, or undefined when the member pins no `type`. */
interface Pin {
  /** When the value is this member (for the `if`). */
  when: Schema;
  /** The `type` values (or patterns) it takes, for the closed-union check. */
  accepts: Schema;
  open: boolean;
}

export function dispatchUnions(doc: Schema): Schema {
  const schemas: Record<string, Schema> = doc.components?.schemas ?? {};
  const resolve = (ref: unknown): Schema | undefined =>
    typeof ref === 'string' && ref.startsWith('#/components/schemas/') ? schemas[ref.slice('#/components/schemas/'.length)] : undefined;

  const pinOf = (member: Schema): Pin | undefined => {
    const target = resolve(member.$ref);
    const type = target?.properties?.type;
    if (!target || !type || typeof type !== 'object') return undefined;
    const required = Array.isArray(target.required) && target.required.includes('type');
    if (type.not !== undefined && required) return { when: {}, accepts: {}, open: true };
    let accepts: Schema | undefined;
    if (typeof type.const === 'string') accepts = { const: type.const };
    else if (Array.isArray(type.enum) && type.enum.every((v: unknown) => typeof v === 'string')) accepts = { enum: type.enum };
    else if (typeof type.pattern === 'string') accepts = { type: 'string', pattern: type.pattern };
    if (accepts && required) return { when: { type: 'object', required: ['type'], properties: { type: accepts } }, accepts, open: false };
    // An optional `type` that is one constant or null (CustomTool: `custom`, null, or absent).
    const options: Schema[] | undefined = !required && Array.isArray(type.oneOf) ? type.oneOf : undefined;
    const constant = options?.find((o) => typeof o.const === 'string');
    if (constant && options!.every((o) => o === constant || o.type === 'null')) {
      const value = { const: constant.const };
      return { when: { type: 'object', properties: { type: { anyOf: [value, { type: 'null' }] } } }, accepts: value, open: false };
    }
    return undefined;
  };

  const rewrite = (node: Schema): void => {
    const key = Array.isArray(node.oneOf) ? 'oneOf' : Array.isArray(node.anyOf) ? 'anyOf' : undefined;
    if (!key) return;
    const members: Schema[] = node[key];
    const pins = members.map(pinOf);
    if (pins.some((p) => p === undefined)) return;
    const open = members.filter((_, i) => pins[i]!.open);
    if (open.length > 1) return;
    let chain: Schema =
      open.length === 1
        ? { $ref: open[0]!.$ref }
        : { type: 'object', required: ['type'], properties: { type: closedKinds(pins.map((p) => p!.accepts)) } };
    for (let i = members.length - 1; i >= 0; i--) {
      const pin = pins[i]!;
      if (pin.open) continue;
      chain = { if: pin.when, then: { $ref: members[i]!.$ref }, else: chain };
    }
    delete node[key];
    delete node.discriminator;
    Object.assign(node, chain);
  };

  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const obj = node as Schema;
    delete obj.discriminator;
    for (const value of Object.values(obj)) walk(value);
    rewrite(obj);
  };
  walk(doc);
  return doc;
}

/** The `type` values a closed union takes: one `enum` when they are all constants, so the error lists them. */
function closedKinds(accepts: Schema[]): Schema {
  const values: string[] = [];
  for (const a of accepts) {
    if (typeof a.const === 'string') values.push(a.const);
    else if (Array.isArray(a.enum)) values.push(...a.enum);
    else return { anyOf: accepts };
  }
  return { enum: [...new Set(values)] };
}
