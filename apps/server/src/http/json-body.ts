import type { IncomingMessage } from 'node:http';
import { isUtf8 } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import { clip, quote } from '../quote.js';
import { CACHED_MEMBERS, MIN_MEMBER_BYTES, rememberCachedMembers, type CachedMember, type CacheEntry, type Found, type ParseCache } from '../contract/parse-cache.js';
import { OPEN_BRACE, OPEN_BRACKET, skipJsonSpace } from '../contract/json-bytes.js';
import { applySplices, ELEMENTS_OF, rememberRaw, scanJson, type KnownValues, type MemberRange, type Splice } from '../contract/raw-body.js';

/** `32mb`, `100kb`, `512b` (config `body_limit`) → bytes. */
export function parseByteSize(text: string): number {
  const m = /^(\d+)(b|kb|mb)$/i.exec(text.trim());
  if (!m) throw new Error(`not a byte size: ${text}`);
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
}

/** application/json and any +json type, as express.json would take them. */
function isJson(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const type = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function charsetOf(contentType: string): string | undefined {
  const m = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return m ? m[1]!.toLowerCase() : undefined;
}

/**
 * Bodies larger than this are decoded chunk by chunk as they arrive rather than at the end. Below
 * it, one decode at the end (about 3 ms a MB here) costs less in all than many small ones, and
 * leaves a flat string that parses faster than the pieces joined: on a 1 MB conversation the
 * decode and parse together took a third less.
 */
const DECODE_AS_IT_ARRIVES = 4 * 1024 * 1024;

/**
 * Bytes of request bodies being read at once, across all requests (config
 * `limits.bodies_in_flight_mb`): a body takes its bytes as they arrive and gives them back once it
 * is read (or refused).
 */
export class BodyBudget {
  private used = 0;

  constructor(readonly maxBytes: number) {}

  take(bytes: number): boolean {
    if (this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }

  get bytes(): number {
    return this.used;
  }
}

function overloaded(budget: BodyBudget): GatewayError {
  return new GatewayError(503, `the gateway is reading ${Math.round(budget.maxBytes / 1024 / 1024)} MB of request bodies already (limits.bodies_in_flight_mb); try again shortly`, {
    type: 'overloaded_error',
    headers: { 'retry-after': '1' },
  });
}

export function tooLarge(): GatewayError {
  return new GatewayError(413, 'request body is too large', { type: 'request_too_large' });
}

/**
 * Reads and parses a JSON request body. Resolves with `undefined` when the request has no body or
 * is not JSON (the validator then says what is missing); rejects with a 4xx GatewayError for a body
 * over `limit` bytes, an unsupported charset or encoding, text that is not a JSON object or array, or
 * a value nested deeper than `maxDepth` levels (checked on the text, before parsing).
 *
 * What express.json does for this API, at a fraction of the cost per request (it showed in the
 * benchmark's profile): no charset decoder beyond UTF-8, one Buffer.concat and one JSON.parse.
 * gzip, deflate and br bodies are inflated, and the limit applies to the inflated size.
 */
export function readJsonBody(req: IncomingMessage, limit: number, maxDepth: number, cache?: ParseCache, budget?: BodyBudget): Promise<unknown> {
  let source: Readable | undefined;
  try {
    source = jsonBodyStream(req, limit);
  } catch (err) {
    return Promise.reject(err);
  }
  if (source === undefined) return Promise.resolve(undefined);
  const body = source;
  return collectJson(req, body, limit, maxDepth, cache, budget);
}

/**
 * The bytes of a JSON request body, inflated when it is compressed; undefined when the request has
 * no body or is not JSON. Throws a 4xx GatewayError for an unsupported charset or encoding, and for
 * a body whose content-length is over `limit` (a compressed one is held to `limit` as it inflates,
 * by whoever reads it).
 */
export function jsonBodyStream(req: IncomingMessage, limit: number, tooLargeError: () => GatewayError = tooLarge): Readable | undefined {
  const contentType = req.headers['content-type'];
  const length = req.headers['content-length'];
  const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
  if (!hasBody || contentType === undefined || !isJson(contentType)) return undefined;
  const charset = charsetOf(contentType);
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new GatewayError(415, `unsupported charset ${quote(charset.toUpperCase())}; send UTF-8`, { type: 'invalid_request_error' });
  }
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding !== 'identity') {
    const inflate = encoding === 'gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
    if (inflate === undefined) {
      throw new GatewayError(415, `unsupported content-encoding ${quote(encoding)}`, { type: 'invalid_request_error' });
    }
    req.pipe(inflate);
    return inflate;
  }
  if (length !== undefined && Number(length) > limit) throw tooLargeError();
  return req;
}

/** Stops reading a body that was refused: what is left is read and dropped, so the answer can still be sent. */
export function dropRestOfBody(req: IncomingMessage): void {
  req.unpipe();
  req.resume();
}

function collectJson(req: IncomingMessage, source: Readable, limit: number, maxDepth: number, cache: ParseCache | undefined, budget: BodyBudget | undefined): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // The bytes are kept (the body's own bytes go to native upstreams: contract/raw-body.ts).
    const chunks: Buffer[] = [];
    let size = 0;
    // A large body is also decoded as it arrives, a chunk at a time: decoding 32 MB in one go at
    // the end held the event loop for over 100 ms.
    let decoder: StringDecoder | undefined;
    let decoded = '';
    let settled = false;
    const settle = (err: unknown, value?: unknown): void => {
      if (settled) return;
      settled = true;
      budget?.give(size);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onError);
      req.off('aborted', onAborted);
      if (err !== undefined) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > limit || (budget !== undefined && !budget.take(chunk.length))) {
        // Stop buffering; what is left is read and dropped so the answer can still be sent.
        const err = size + chunk.length > limit ? tooLarge() : overloaded(budget!);
        chunks.length = 0;
        dropRestOfBody(req);
        settle(err);
        return;
      }
      size += chunk.length;
      chunks.push(chunk);
      if (decoder !== undefined) {
        decoded += decoder.write(chunk);
      } else if (size > DECODE_AS_IT_ARRIVES) {
        decoder = new StringDecoder('utf8');
        for (const c of chunks) decoded += decoder.write(c);
      }
    };
    const onEnd = (): void => {
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      chunks.length = 0;
      try {
        const text = decoder !== undefined ? decoded + decoder.end() : undefined;
        decoded = '';
        settle(undefined, parseJsonBytes(bytes, text, maxDepth, cache));
      } catch (err) {
        settle(err);
      }
    };
    const onError = (err: Error): void => {
      settle(new GatewayError(400, `request body could not be read: ${clip(err.message, 200)}`));
    };
    const onAborted = (): void => settle(new GatewayError(400, 'request body was cut off: the client went away', { type: 'invalid_request_error' }));
    source.on('data', onData);
    source.on('end', onEnd);
    source.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/**
 * Only an object or an array is a request body (express.json's `strict`); an empty body is `{}`.
 * `text` is the bytes decoded, when that was done as they arrived. An object keeps its bytes beside
 * it (contract/raw-body.ts); its `system`, `tools` and messages, when their bytes are in `cache`,
 * are not decoded or parsed again (contract/parse-cache.ts).
 */
function parseJsonBytes(bytes: Buffer, text: string | undefined, maxDepth: number, cache: ParseCache | undefined): unknown {
  const i = skipJsonSpace(bytes);
  if (i === bytes.length) return {};
  const first = bytes[i];
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    throw new GatewayError(400, `request body is not valid JSON: it must be an object, not ${JSON.stringify(bytes.toString('utf8', i, i + 20))}`);
  }
  // The cached parts the scan meets, by where they start (bodies decoded as they arrived are not looked up).
  const found = cache === undefined || text !== undefined || bytes.length < MIN_MEMBER_BYTES ? undefined : new Map<number, Found>();
  const known: KnownValues | undefined =
    found === undefined
      ? undefined
      : {
          members: CACHED_MEMBER_SET,
          find: (at, depthLeft) => {
            if (bytes.length - at < MIN_MEMBER_BYTES) return -1;
            const hit = cache!.find(bytes, at, depthLeft);
            if (hit === undefined) return -1;
            found.set(at, hit);
            return hit.end;
          },
        };
  const scan = scanJson(bytes, maxDepth, known);
  if (scan.tooDeep) {
    throw new GatewayError(400, `request body is nested deeper than ${maxDepth} levels (objects and arrays within each other)`);
  }
  // Bytes that are not UTF-8 were decoded with replacement characters: the parsed value, not the
  // bytes, is what the client's request says then.
  const members = scan.members !== undefined && isUtf8(bytes) ? scan.members : undefined;
  const cached = found !== undefined && members !== undefined ? lookUp(members, found) : undefined;
  let value: unknown;
  // The parts whose values are cache entries' (placed from the cache, or put into it).
  const fromCache: CachedMember[] = [];
  if (cached !== undefined && cached.hits.length > 0) {
    // The rest of the body, with a 0 where each cached part's value stands.
    const rest = applySplices(
      bytes,
      cached.hits.map((h): Splice => ({ start: h.start, end: h.end, text: '0' })),
    )!;
    let restValue: Record<string, unknown> | undefined;
    try {
      restValue = JSON.parse(rest.toString('utf8')) as Record<string, unknown>;
    } catch {
      // What is wrong is said about the client's own text, not the rest's: parsed whole, it throws.
      restValue = undefined;
    }
    if (restValue !== undefined) {
      const list = restValue[ELEMENTS_OF];
      for (const h of cached.hits) {
        if (h.index === undefined) restValue[h.name] = h.entry.value;
        else (list as unknown[])[h.index] = h.entry.value;
        fromCache.push(h);
      }
      value = restValue;
    } else {
      value = parseText(bytes.toString('utf8'));
    }
  } else {
    value = parseText(text ?? bytes.toString('utf8'));
  }
  if (members !== undefined && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    rememberRaw(value, { bytes, members });
    if (cached !== undefined) {
      const body = value as Record<string, unknown>;
      for (const m of cached.misses) {
        const entry = cache!.set(bytes.subarray(m.start, m.end), m.index === undefined ? body[m.name] : (body[m.name] as unknown[])[m.index]);
        if (entry !== undefined) fromCache.push(m.index === undefined ? { name: m.name, entry } : { name: m.name, index: m.index, entry });
      }
      rememberCachedMembers(value, fromCache);
    }
  }
  return value;
}

function parseText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new GatewayError(400, `request body is not valid JSON: ${clip((err as Error).message, 200)}`);
  }
}

interface CacheHit extends CachedMember {
  readonly entry: CacheEntry;
  readonly start: number;
  readonly end: number;
}

const CACHED_MEMBER_SET: ReadonlySet<string> = new Set(CACHED_MEMBERS);

interface CacheLookup {
  hits: CacheHit[];
  misses: { name: string; index?: number; start: number; end: number }[];
}

/**
 * The body's `system`, `tools` and messages of at least MIN_MEMBER_BYTES: the ones the scan found
 * in the cache (`found`, by where they start: a part is a hit when it is exactly a cached value's
 * bytes, not when it merely starts with them, as in `[{...} {...}]`), and the others; undefined when
 * the body has no part that large.
 */
function lookUp(members: ReadonlyMap<string, MemberRange>, found: ReadonlyMap<number, Found>): CacheLookup | undefined {
  let parts: CacheLookup | undefined;
  const look = (name: string, start: number, end: number, index?: number): void => {
    if (end - start < MIN_MEMBER_BYTES) return;
    parts ??= { hits: [], misses: [] };
    const hit = found.get(start);
    const entry = hit !== undefined && hit.end === end ? hit.entry : undefined;
    if (entry !== undefined) parts.hits.push(index === undefined ? { name, start, end, entry } : { name, index, start, end, entry });
    else parts.misses.push(index === undefined ? { name, start, end } : { name, index, start, end });
  };
  for (const name of CACHED_MEMBERS) {
    const range = members.get(name);
    if (range !== undefined) look(name, range.valueStart, range.valueEnd);
  }
  const elements = members.get(ELEMENTS_OF)?.elements;
  if (elements !== undefined) for (let i = 0; i < elements.length; i += 2) look(ELEMENTS_OF, elements[i]!, elements[i + 1]!, i / 2);
  return parts;
}
