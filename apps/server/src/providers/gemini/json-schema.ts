import type { GeminiSchema } from './gemini-types.js';

/**
 * JSON Schema (a tool's `input_schema`, an `output_format` schema) → Gemini's Schema, the subset
 * of OpenAPI 3.0 that `functionDeclarations[].parameters` and `responseSchema` take on every
 * Gemini model, on the Gemini API and on Vertex AI alike. Gemini refuses the whole request for a
 * keyword it does not know ("Unknown name ... Cannot find field"), so:
 * - `$ref` (to `#/$defs/...`, `#/definitions/...`, or any other pointer into the same schema) is
 *   resolved by copying what it points to; a reference back into itself (a recursive type) stops
 *   there as a schema of any type, keeping the target's description;
 * - `allOf` is merged into one schema; `oneOf` becomes `anyOf`; `null` among the types (or an
 *   `anyOf` member `{type: null}`) becomes `nullable`; several types become an `anyOf`;
 * - `const` becomes a one-value `enum`; enum values become strings (Gemini's enum is a string list);
 * - counts (`minItems`, `maxLength`, ...) go as Gemini's int64 strings; `format` only where Gemini
 *   knows it (`enum`, `date-time` for strings; `float`, `double`; `int32`, `int64`);
 * - every other keyword (`$schema`, `additionalProperties`, `patternProperties`, `not`, `if`,
 *   `exclusiveMinimum`, `uniqueItems`, ...) is left out: it narrows what is valid, and the model
 *   still sees the types, names, descriptions and enums;
 * - an object without properties goes without `properties` (Gemini refuses an empty map), an
 *   array without `items` with `items: {}`, and `required` names only properties that exist.
 * Resolving references can multiply a schema's size: past `maxNodes` schemas the conversion stops
 * with SchemaTooLarge.
 */
export class SchemaTooLarge extends Error {
  constructor(readonly limit: number, what = `more than ${limit} schemas once its $ref are resolved`) {
    super(what);
    this.name = 'SchemaTooLarge';
  }
}

/** The most schemas one converted schema may hold (references resolved). */
export const MAX_SCHEMA_NODES = 10_000;
/** The most schemas all the converted schemas of one request may hold. */
export const MAX_REQUEST_SCHEMA_NODES = 100_000;
/**
 * Characters all the converted schemas of one request may hold: names, descriptions, enum values,
 * required lists, patterns and defaults, counted each time a reference copies them. A reference
 * copies by pointing to the same value, but every copy is written out again in the upstream's JSON.
 */
export const MAX_REQUEST_SCHEMA_CHARS = 16 * 1024 * 1024;

/**
 * What the schemas of one request (every tool's and the output format's) may grow to once their
 * references are resolved; one budget is shared by all of them, so a thousand small tools that each
 * point at the same large definition a thousand times cannot multiply it.
 */
export class SchemaBudget {
  private nodes = 0;
  private chars = 0;

  constructor(
    private readonly maxNodes = MAX_REQUEST_SCHEMA_NODES,
    private readonly maxChars = MAX_REQUEST_SCHEMA_CHARS,
  ) {}

  node(): void {
    if (++this.nodes > this.maxNodes) throw new SchemaTooLarge(this.maxNodes, `more than ${this.maxNodes} schemas in all once their $ref are resolved`);
  }

  spend(chars: number): void {
    this.chars += chars;
    if (this.chars > this.maxChars) throw new SchemaTooLarge(this.maxNodes, `more than ${this.maxChars} characters of names, descriptions and values in all once their $ref are resolved`);
  }
}
/** References followed inside one another before a chain is cut like a recursive one. */
const MAX_REF_DEPTH = 32;
/** Schemas nested inside one another, references resolved (the conversion recurses that deep). */
export const MAX_SCHEMA_DEPTH = 256;

type Json = Record<string, unknown>;

const TYPES: Record<string, NonNullable<GeminiSchema['type']>> = {
  string: 'STRING',
  number: 'NUMBER',
  integer: 'INTEGER',
  boolean: 'BOOLEAN',
  array: 'ARRAY',
  object: 'OBJECT',
  null: 'NULL',
};

const FORMATS: Partial<Record<NonNullable<GeminiSchema['type']>, ReadonlySet<string>>> = {
  STRING: new Set(['enum', 'date-time']),
  NUMBER: new Set(['float', 'double']),
  INTEGER: new Set(['int32', 'int64']),
};

export function toGeminiSchema(schema: unknown, budget = new SchemaBudget(), maxNodes = MAX_SCHEMA_NODES): GeminiSchema {
  const root = isObject(schema) ? schema : {};
  return new Converter(root, maxNodes, budget).convert(root, []);
}

/**
 * A tool's input_schema → `parameters`, or undefined for a function without parameters (an object
 * with no properties: Gemini refuses an empty `properties`, and a function may have none).
 */
export function toGeminiParameters(schema: unknown, budget = new SchemaBudget(), maxNodes = MAX_SCHEMA_NODES): GeminiSchema | undefined {
  const converted = toGeminiSchema(schema, budget, maxNodes);
  if (converted.type === 'OBJECT' && !converted.properties && !converted.anyOf) return undefined;
  return converted;
}

class Converter {
  private nodes = 0;

  constructor(
    private readonly root: Json,
    private readonly maxNodes: number,
    private readonly budget: SchemaBudget,
  ) {}

  /** `refs`: the references being resolved around this schema, to stop at recursion. */
  convert(raw: unknown, refs: readonly string[], depth = 0): GeminiSchema {
    if (++this.nodes > this.maxNodes) throw new SchemaTooLarge(this.maxNodes);
    this.budget.node();
    if (depth > MAX_SCHEMA_DEPTH) throw new SchemaTooLarge(this.maxNodes, `nested deeper than ${MAX_SCHEMA_DEPTH} levels once its $ref are resolved`);
    const inner = depth + 1;
    if (!isObject(raw)) return {};
    let node: Json = raw;
    if (typeof node.$ref === 'string') {
      const ref = node.$ref;
      const target = refs.includes(ref) || refs.length >= MAX_REF_DEPTH ? undefined : resolvePointer(this.root, ref);
      const { $ref: _ref, ...siblings } = node;
      if (!target) {
        const recursive = refs.includes(ref) ? resolvePointer(this.root, ref) : undefined;
        const description = str(siblings.description) ?? str(recursive?.description);
        if (description) this.budget.spend(description.length);
        return description ? { description } : {};
      }
      return this.convert({ ...target, ...siblings }, [...refs, ref], inner);
    }
    if (Array.isArray(node.allOf)) node = this.mergeAllOf(node, refs, 0);

    const out: GeminiSchema = {};
    if (typeof node.title === 'string') out.title = this.text(node.title);
    if (typeof node.description === 'string') out.description = this.text(node.description);

    let nullable = node.nullable === true;
    const typeNames = (Array.isArray(node.type) ? node.type : node.type === undefined ? [] : [node.type]).filter((t): t is string => typeof t === 'string');
    if (typeNames.includes('null') && typeNames.length > 1) nullable = true;
    const types = typeNames.filter((t) => t !== 'null' || typeNames.length === 1).map((t) => TYPES[t]).filter((t) => t !== undefined);
    if (types.length === 1) out.type = types[0];

    let values: unknown[] | undefined = Array.isArray(node.enum) ? node.enum : node.const !== undefined ? [node.const] : undefined;
    if (values) {
      if (values.includes(null)) nullable = true;
      values = values.filter((v) => v !== null);
      if (values.length > 0) {
        this.budget.spend(values.length);
        out.enum = values.map((v) => this.text(typeof v === 'string' ? v : JSON.stringify(v)));
        if (out.type === undefined) out.type = typeof values[0] === 'number' ? (values.every((v) => Number.isInteger(v)) ? 'INTEGER' : 'NUMBER') : 'STRING';
        if (out.type !== 'STRING') out.format = 'enum';
      }
    }
    if (out.format === undefined && typeof node.format === 'string' && out.type && FORMATS[out.type]?.has(node.format)) out.format = node.format;

    const alternatives = [...arr(node.anyOf), ...arr(node.oneOf)];
    if (alternatives.length > 0) {
      const nonNull = alternatives.filter((s) => !(isObject(s) && s.type === 'null'));
      if (nonNull.length < alternatives.length) nullable = true;
      const converted = nonNull.map((s) => this.convert(s, refs, inner));
      if (converted.length === 1) Object.assign(out, { ...converted[0], ...pick(out, ['title', 'description']) });
      else if (converted.length > 1) {
        // Gemini takes a type or an anyOf, not both.
        delete out.type;
        out.anyOf = converted;
      }
    } else if (types.length > 1) {
      // Several types and nothing else to go on: one alternative per type, each with the keywords that apply to it.
      out.anyOf = types.map((type) => this.convert({ ...withoutKeys(node, ['type', 'title', 'description', 'nullable']), type: geminiToJsonType(type) }, refs, inner));
      return nullable ? { ...out, nullable: true } : out;
    }

    if (isObject(node.properties)) {
      // fromEntries: a property may be called __proto__, and stays a property.
      const properties: Record<string, GeminiSchema> = Object.fromEntries(Object.entries(node.properties).map(([name, sub]) => [this.text(name), this.convert(sub, refs, inner)]));
      if (Object.keys(properties).length > 0) out.properties = properties;
      if (out.type === undefined && !out.anyOf) out.type = 'OBJECT';
    }
    if (Array.isArray(node.required) && out.properties) {
      this.budget.spend(node.required.length);
      const required = node.required.filter((n): n is string => typeof n === 'string' && Object.hasOwn(out.properties!, n));
      if (required.length > 0) out.required = [...new Set(required)].map((n) => this.text(n));
    }
    const items = Array.isArray(node.prefixItems) ? node.prefixItems : node.items;
    if (Array.isArray(items)) {
      const tuple = items.map((s) => this.convert(s, refs, inner));
      out.items = tuple.length === 1 ? tuple[0]! : tuple.length > 1 ? { anyOf: tuple } : {};
    } else if (items !== undefined && items !== true) {
      out.items = this.convert(items, refs, inner);
    }
    if (out.type === 'ARRAY' && !out.items) out.items = {};

    copyCount(node, out, 'minItems');
    copyCount(node, out, 'maxItems');
    copyCount(node, out, 'minLength');
    copyCount(node, out, 'maxLength');
    copyCount(node, out, 'minProperties');
    copyCount(node, out, 'maxProperties');
    if (typeof node.minimum === 'number') out.minimum = node.minimum;
    if (typeof node.maximum === 'number') out.maximum = node.maximum;
    if (typeof node.pattern === 'string') out.pattern = this.text(node.pattern);
    if (node.default !== undefined) {
      this.budget.spend(JSON.stringify(node.default)?.length ?? 0);
      out.default = node.default;
    }
    if (nullable) out.nullable = true;
    return out;
  }

  /** `text`, its length counted against the budget. */
  private text(text: string): string {
    this.budget.spend(text.length);
    return text;
  }

  /**
   * `allOf` merged into the schema holding it: properties and required united, the first value of
   * any other keyword kept. Each part merged counts against the size limit (references can make
   * the merging itself grow), and references already being resolved are not followed again.
   */
  private mergeAllOf(node: Json, refs: readonly string[], depth: number): Json {
    const { allOf, ...rest } = node;
    const merged: Json = { ...rest };
    // United in place, part after part: copying what was merged so far for each part was quadratic.
    const properties: Json = Object.create(null);
    if (isObject(rest.properties)) Object.assign(properties, rest.properties);
    let sawProperties = isObject(rest.properties);
    const required = new Set<unknown>(arr(rest.required));
    for (let part of arr(allOf)) {
      if (++this.nodes > this.maxNodes) throw new SchemaTooLarge(this.maxNodes);
      this.budget.node();
      let partRefs = refs;
      if (isObject(part) && typeof part.$ref === 'string') {
        if (refs.includes(part.$ref) || refs.length >= MAX_REF_DEPTH) continue;
        partRefs = [...refs, part.$ref];
        part = resolvePointer(this.root, part.$ref);
      }
      if (!isObject(part)) continue;
      if (Array.isArray(part.allOf) && depth >= MAX_SCHEMA_DEPTH) throw new SchemaTooLarge(this.maxNodes, `nested deeper than ${MAX_SCHEMA_DEPTH} levels once its $ref are resolved`);
      const inner = Array.isArray(part.allOf) ? this.mergeAllOf(part, partRefs, depth + 1) : part;
      for (const [key, value] of Object.entries(inner)) {
        if (key === 'properties' && isObject(value)) {
          sawProperties = true;
          const names = Object.keys(value);
          this.budget.spend(names.length);
          for (const name of names) properties[name] = value[name];
        } else if (key === 'required' && Array.isArray(value)) {
          this.budget.spend(value.length);
          for (const name of value) required.add(name);
        } else if (key !== 'properties' && key !== 'required' && key !== '__proto__' && !Object.hasOwn(merged, key)) merged[key] = value;
      }
    }
    if (sawProperties) merged.properties = { ...properties };
    if (Array.isArray(rest.required) || required.size > 0) merged.required = [...required];
    return merged;
  }
}

/** `#`, `#/$defs/Name`, `#/definitions/Name`, or any JSON pointer into the same document; undefined when it leads nowhere. */
function resolvePointer(root: Json, ref: string): Json | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodePointerToken(raw);
    if (key === undefined) return undefined;
    if (!isObject(node) && !Array.isArray(node)) return undefined;
    node = Object.hasOwn(node as object, key) ? (node as Record<string, unknown>)[key] : undefined;
  }
  return isObject(node) ? node : undefined;
}

/** One JSON pointer token (percent-decoded, `~1` → `/`, `~0` → `~`); undefined when its escapes are broken. */
function decodePointerToken(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
  } catch {
    return undefined;
  }
}

function copyCount(from: Json, to: GeminiSchema, key: 'minItems' | 'maxItems' | 'minLength' | 'maxLength' | 'minProperties' | 'maxProperties'): void {
  const v = from[key];
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) to[key] = String(v);
}

function geminiToJsonType(type: NonNullable<GeminiSchema['type']>): string {
  return type.toLowerCase();
}

function pick(schema: GeminiSchema, keys: Array<keyof GeminiSchema>): GeminiSchema {
  const out: GeminiSchema = {};
  for (const k of keys) if (schema[k] !== undefined) (out as Record<string, unknown>)[k] = schema[k];
  return out;
}

function withoutKeys(node: Json, keys: string[]): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) if (!keys.includes(k)) out[k] = v;
  return out;
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v ? v : undefined;
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
