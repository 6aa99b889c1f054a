/**
 * What AWS checks on a SigV4-signed request, written from the specification (independently of the
 * signer the gateway uses, so a shared mistake cannot pass): the credential scope, the clock, the
 * session token, and the signature recomputed over the canonical request as the server received it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigV4Request {
  method: string;
  /** The request target as received: path (still percent-encoded) and query. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface SigV4Failure {
  status: number;
  /** The AWS error code (`x-amzn-ErrorType`). */
  errorType: string;
  message: string;
}

export interface SigV4Options {
  credentials: readonly AwsCredentials[];
  region: string;
  service: string;
  /** Largest clock difference AWS accepts. Default 5 minutes. */
  maxSkewMs?: number;
  now?: () => number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/;

export const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Null when the request is signed correctly; otherwise the 403 AWS would answer. */
export function verifySigV4(req: SigV4Request, opts: SigV4Options): SigV4Failure | null {
  const auth = header(req.headers, 'authorization');
  if (!auth) return { status: 403, errorType: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const m = AUTH.exec(auth);
  if (!m) return { status: 403, errorType: 'IncompleteSignatureException', message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${auth.slice(0, 40)}` };
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = m as unknown as string[];
  const credentials = opts.credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!credentials) return { status: 403, errorType: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
  if (region !== opts.region || service !== opts.service) {
    return {
      status: 403,
      errorType: 'InvalidSignatureException',
      message: `Credential should be scoped to a valid region and service: expected ${opts.region}/${opts.service}, got ${region}/${service}.`,
    };
  }
  const amzDate = header(req.headers, 'x-amz-date');
  const signed = signedHeaderList!.split(';');
  if (!amzDate || !signed.includes('host') || !signed.includes('x-amz-date')) {
    return { status: 403, errorType: 'IncompleteSignatureException', message: 'The host and x-amz-date headers must be signed.' };
  }
  const at = parseAmzDate(amzDate);
  if (at === undefined || amzDate.slice(0, 8) !== scopeDate) {
    return { status: 403, errorType: 'IncompleteSignatureException', message: `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}'` };
  }
  const now = (opts.now ?? Date.now)();
  if (Math.abs(now - at) > (opts.maxSkewMs ?? 5 * 60_000)) {
    return { status: 403, errorType: 'InvalidSignatureException', message: `Signature expired: ${amzDate} is now earlier than the allowed window.` };
  }
  if (credentials.sessionToken !== undefined) {
    const token = header(req.headers, 'x-amz-security-token');
    if (token !== credentials.sessionToken || !signed.includes('x-amz-security-token')) {
      return { status: 403, errorType: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' };
    }
  }
  for (const name of signed) {
    if (header(req.headers, name) === undefined) return { status: 403, errorType: 'InvalidSignatureException', message: SIGNATURE_MISMATCH };
  }
  const scope = `${scopeDate}/${region}/${service}/aws4_request`;
  const stringToSign = [ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest(req, signed))].join('\n');
  const key = signingKey(credentials.secretAccessKey, scopeDate!, region!, service!);
  const expected = createHmac('sha256', key).update(stringToSign, 'utf8').digest();
  const given = Buffer.from(signature!, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { status: 403, errorType: 'InvalidSignatureException', message: SIGNATURE_MISMATCH };
  }
  return null;
}

/**
 * The canonical request: method, the path as received with each segment URI-encoded once more
 * (a `%3A` on the wire is `%253A` here: AWS double-encodes for every service but S3), the sorted
 * query, the signed headers (trimmed, inner spaces collapsed) and the SHA-256 of the body received.
 */
export function canonicalRequest(req: SigV4Request, signedHeaders: readonly string[]): string {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const canonicalPath = path.split('/').map(uriEncode).join('/') || '/';
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
      return [uriEncode(name), uriEncode(value)] as const;
    })
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([n, v]) => `${n}=${v}`)
    .join('&');
  const headers = signedHeaders.map((name) => `${name}:${(header(req.headers, name) ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  return [req.method, canonicalPath, canonicalQuery, headers, signedHeaders.join(';'), sha256Hex(req.body)].join('\n');
}

/** RFC 3986 encoding: everything but unreserved characters. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** 20261130T064147Z → epoch ms. */
function parseAmzDate(value: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function header(headers: SigV4Request['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
