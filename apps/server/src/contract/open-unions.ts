import type { InputContentBlock, ThinkingConfig, ToolChoice, ToolResultContentBlock, ToolUnion } from '../generated/types.gen.js';

/**
 * The known members of an open union: those whose `type` is a literal. The contract's open members
 * (`UnknownInputContentBlock`, `UnknownTool`, ...) type `type` as any string and are left out.
 *
 * Narrowing by `type` cannot do this on its own: `block.type === 'text'` keeps the open member in
 * the union, since "text" is a string too. The contract guarantees more than the type system sees:
 * an object whose `type` is a known kind is valid only as that kind (the open member excludes every
 * known `type`), so a validated block that reached `case 'text'` is a TextBlockParam.
 */
export type Known<T> = T extends { type: infer K } ? (string extends K ? never : T) : T;

export type KnownInputContentBlock = Known<InputContentBlock>;
export type KnownToolResultContentBlock = Known<ToolResultContentBlock>;
export type KnownTool = Known<ToolUnion>;
export type KnownToolChoice = Known<ToolChoice>;
export type KnownThinkingConfig = Known<ThinkingConfig>;

/**
 * Views a validated member of an open union as a known member, for a `switch` on `type` whose
 * `default` handles every other kind (translated providers refuse those by name). Only a cast:
 * the request validator already checked that a known `type` carries that kind's fields.
 */
export function asKnown<T extends { type?: unknown }>(value: T): Known<T> {
  return value as Known<T>;
}
