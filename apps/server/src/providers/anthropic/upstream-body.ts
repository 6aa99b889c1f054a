import { anthropicFallbacks } from '../../contract/fallbacks.js';
import { memberRemoval, rawOf, splicedParts, type Splice } from '../../contract/raw-body.js';
import type { CreateMessageRequest } from '../../generated/types.gen.js';

/**
 * The client's body as it may leave the gateway: unchanged, except that the gateway's own string
 * `fallbacks` are removed (Anthropic's own form of the field stays: object items, or a string such
 * as "default"). Unknown fields pass through untouched. A shallow copy the caller may edit.
 */
export function clientBody(body: CreateMessageRequest): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body };
  if (body.fallbacks !== undefined) {
    const own = anthropicFallbacks(body.fallbacks);
    if (own === undefined) delete out.fallbacks;
    else out.fallbacks = own;
  }
  return out;
}

/** The body sent to Anthropic's own API: the client's, with the upstream model id. */
export function toUpstreamBody(body: CreateMessageRequest, model: string, stream: boolean): string {
  const out = clientBody(body);
  out.model = model;
  if (stream) out.stream = true;
  else delete out.stream;
  return JSON.stringify(out);
}

/**
 * The same body as `toUpstreamBody`, made from the client's own bytes where it can be: the `model`
 * value replaced, the gateway's own `fallbacks` (and a `stream: false` the upstream call leaves out)
 * taken out, every other byte as the client sent it. A body that was not parsed by the gateway's
 * reader, or was rebuilt since (a continuation's), or whose edits the splice cannot express, is
 * serialised as before. The two give the same JSON value (contract/raw-body.test.ts). A large body's
 * bytes come in pieces (contract/raw-body.ts, splicedParts), its rest not copied.
 */
export function nativeUpstreamBody(body: CreateMessageRequest, model: string, stream: boolean): string | Buffer | Buffer[] {
  return splicedBody(body, model, stream) ?? toUpstreamBody(body, model, stream);
}

/** Runs of the client's bytes this long or longer are sent as views of them, not copied. */
const SEND_AS_VIEW = 16 * 1024;

function splicedBody(body: CreateMessageRequest, model: string, stream: boolean): Buffer | Buffer[] | undefined {
  const raw = rawOf(body);
  if (raw === undefined) return undefined;
  const { bytes, members } = raw;
  const at = members.get('model');
  // The bytes must still say what the value says (nothing edited the value in place since).
  if (at === undefined || bytes.toString('utf8', at.valueStart, at.valueEnd) !== JSON.stringify(body.model)) return undefined;
  const splices: Splice[] = [{ start: at.valueStart, end: at.valueEnd, text: JSON.stringify(model) }];
  if (stream) {
    if (body.stream !== true) return undefined;
  } else if (body.stream === true) {
    return undefined;
  } else if (body.stream !== undefined) {
    const s = members.get('stream');
    if (s === undefined) return undefined;
    splices.push(memberRemoval(bytes, s));
  }
  if (body.fallbacks !== undefined) {
    const own = anthropicFallbacks(body.fallbacks);
    if (own !== undefined && own !== body.fallbacks && !(Array.isArray(own) && own.length === (body.fallbacks as unknown[]).length)) return undefined;
    if (own === undefined) {
      const f = members.get('fallbacks');
      if (f === undefined) return undefined;
      splices.push(memberRemoval(bytes, f));
    }
  }
  const parts = splicedParts(bytes, splices, SEND_AS_VIEW);
  // One piece (a body under SEND_AS_VIEW, joined) goes as a buffer: undici sends those without the
  // asynchronous loop it runs over pieces.
  return parts?.length === 1 ? parts[0] : parts;
}

/**
 * The body Claude takes on a cloud platform (Bedrock, Vertex): no `model` (the URL names it), the
 * platform's `anthropic_version` in the body rather than a header, and the other `fields` the
 * platform wants (`stream`, `anthropic_beta`). Fields set to undefined are left out.
 */
export function toEnvelopeBody(body: CreateMessageRequest | Record<string, unknown>, fields: Record<string, unknown>): string {
  const out = clientBody(body as CreateMessageRequest);
  delete out.model;
  delete out.stream;
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) out[name] = value;
  return JSON.stringify(out);
}
