import type { IncomingHttpHeaders } from 'node:http';
import type { Request } from 'express';
import { clientCredential } from '../client-credential.js';
import type { ClientHeaders } from '../providers/types.js';

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): they describe this connection, not the request, and are
 * never forwarded. None of them starts with `anthropic-`, but a client may name any header in
 * `Connection`, which makes that one hop-by-hop too.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

/** The client headers that travel upstream. anthropic-* headers are forwarded exactly as received. */
export function clientHeaders(req: Request): ClientHeaders {
  const h = req.headers;
  return {
    anthropicVersion: single(h['anthropic-version']),
    anthropicBeta: single(h['anthropic-beta']),
    anthropicOther: otherAnthropicHeaders(h),
    credential: clientCredential(h),
  };
}

/**
 * Every `anthropic-*` header besides -version and -beta (e.g. `anthropic-user-profile-id`, which
 * the official SDK sends): Anthropic adds them, and Anthropic-type upstreams get them unchanged.
 * Undefined when there are none (the common case costs one scan of the header names).
 */
export function otherAnthropicHeaders(h: IncomingHttpHeaders): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  let hopByHop: Set<string> | undefined;
  for (const name in h) {
    if (!name.startsWith('anthropic-') || name === 'anthropic-version' || name === 'anthropic-beta') continue;
    hopByHop ??= connectionNamed(h.connection);
    if (hopByHop.has(name)) continue;
    const value = single(h[name]);
    if (value === undefined) continue;
    out ??= Object.create(null) as Record<string, string>;
    out[name] = value;
  }
  return out;
}

function connectionNamed(connection: string | undefined): Set<string> {
  if (!connection) return HOP_BY_HOP;
  const named = new Set(HOP_BY_HOP);
  for (const token of connection.split(',')) named.add(token.trim().toLowerCase());
  return named;
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(',') : v;
}
