import { GatewayError } from '../../errors.js';

/** The response header that lists what a `drop_unsupported` provider left out of the request. */
export const DROPPED_HEADER = 'x-bf-dropped';

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
