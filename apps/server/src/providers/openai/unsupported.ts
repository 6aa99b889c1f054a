import { GatewayError } from '../../errors.js';

/** The response header that lists what a `drop_unsupported` provider left out of the request. */
export const DROPPED_HEADER = 'x-bf-dropped';

/** Names listed in x-bf-dropped at most; the rest are counted (`..., and 12 more`). */
export const MAX_DROPPED_LISTED = 32;
/** Characters of one listed name at most: an unknown field's name is the client's, of any length. */
export const MAX_DROPPED_NAME = 64;

/** A name as it can stand in the list: a plain field path as it is. */
const PLAIN_NAME = /^[A-Za-z0-9_.[\] -]+$/;

/**
 * The x-bf-dropped header for what a translation left out, or undefined when nothing was. The names
 * of unknown fields are the client's own, so each is listed as it is only when it is a plain field
 * path (letters, digits, spaces, `_ . - [ ]`); any other is quoted as a JSON string with every character
 * outside printable ASCII escaped (a header cannot hold a line break, and a throw while setting it
 * would come after the upstream was paid), and cut at MAX_DROPPED_NAME characters. At most
 * MAX_DROPPED_LISTED names, then how many more: the header stays a few KB whatever the body held.
 */
export function droppedHeaders(names: readonly string[]): Record<string, string> | undefined {
  if (names.length === 0) return undefined;
  const unique = [...new Set(names)];
  const listed = unique.slice(0, MAX_DROPPED_LISTED).map(listedName);
  const more = unique.length - listed.length;
  return { [DROPPED_HEADER]: more > 0 ? `${listed.join(', ')}, and ${more} more` : listed.join(', ') };
}

function listedName(name: string): string {
  if (name.length <= MAX_DROPPED_NAME && PLAIN_NAME.test(name)) return name;
  const cut = name.length > MAX_DROPPED_NAME;
  const quoted = JSON.stringify(cut ? name.slice(0, MAX_DROPPED_NAME) : name).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return cut ? `${quoted.slice(0, -1)}..."` : quoted;
}

/**
 * Collects the request features an OpenAI-compatible upstream has no equivalent for (server tools,
 * MCP servers, PDF documents, ...). Each is named by the Anthropic `type` the client used, so the
 * client can tell which part of its request it was.
 */
export class UnsupportedFeatures {
  private readonly names = new Set<string>();

  add(feature: string): void {
    this.names.add(feature);
  }

  get list(): string[] {
    return [...this.names];
  }

  /**
   * By default a request with unsupported features fails before any upstream call: 400
   * invalid_request_error naming the features and the provider. With `drop_unsupported: true` they
   * were left out and the answer says so in x-bf-dropped.
   */
  settle(provider: string, model: string, dropUnsupported: boolean, wireFormat = 'OpenAI Chat Completions'): string[] {
    const list = this.list;
    if (list.length > 0 && !dropUnsupported) {
      throw new GatewayError(
        400,
        `provider "${provider}" (${wireFormat}) does not support ${list.join(', ')}; ` +
          `remove ${list.length === 1 ? 'it' : 'them'} from the request, or set drop_unsupported: true on the provider to drop ${list.length === 1 ? 'it' : 'them'}`,
        // Another target (e.g. an Anthropic-type fallback) may take the request as it is.
        { type: 'invalid_request_error', upstream: { provider, model, kind: 'unsupported' } },
      );
    }
    return list;
  }
}
