import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Request, RequestHandler, Response } from 'express';
import { GatewayError } from '../errors.js';
import { sendError } from '../http/error-envelope.js';
import { quote } from '../quote.js';

/** The built dashboard; the same relative path holds from src/ and from dist/. */
export const DEFAULT_UI_DIR = fileURLToPath(new URL('../../../dashboard/dist/', import.meta.url));

/** Where the app is served. */
export const UI_PREFIX = '/ui';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

/**
 * The page may load its own scripts, styles and images and talk to its own origin, nothing else: no
 * inline script, no other host, no framing. (Charts and components set element styles through the
 * DOM, which CSP does not govern.)
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Vite names built assets `<name>-<hash>.<ext>` under assets/: their content never changes under a name. */
const HASHED = /^assets\/.+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/;

interface StaticFile {
  type: string;
  body: Buffer;
  gzip?: Buffer;
  br?: Buffer;
  cacheControl: string;
}

/** Files past this size are not served (the build's are a few hundred kB at most). */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_FILES = 1000;

/**
 * Reads the built app once, at start-up, into memory (with gzip and brotli copies of text files).
 * Only files found there are ever served: a request names one by its exact path or gets a 404, so
 * `..`, encoded slashes and the like find nothing. An extension without a known type is left out.
 */
export function loadUiFiles(dir: string): Map<string, StaticFile> | undefined {
  const index = join(dir, 'index.html');
  if (!existsSync(index)) return undefined;
  // Gateways in one process (tests, embedders) share one load of the same build.
  const built = statSync(index).mtimeMs;
  const cached = loaded.get(dir);
  if (cached && cached.built === built) return cached.files;
  const files = new Map<string, StaticFile>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(at, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile() && files.size < MAX_FILES) {
        const type = TYPES[extname(entry.name).toLowerCase()];
        if (type === undefined || statSync(full).size > MAX_FILE_BYTES) continue;
        const rel = relative(dir, full).split(sep).join('/');
        const body = readFileSync(full);
        const text = type.startsWith('text/') || type === 'image/svg+xml' || type === 'application/json';
        files.set(rel, {
          type,
          body,
          ...(text && body.length > 512 ? { gzip: gzipSync(body, { level: 9 }), br: brotliCompressSync(body) } : {}),
          cacheControl: HASHED.test(rel) ? 'public, max-age=31536000, immutable' : 'no-cache',
        });
      }
    }
  };
  walk(dir);
  loaded.set(dir, { built, files });
  return files;
}

const loaded = new Map<string, { built: number; files: Map<string, StaticFile> }>();

/**
 * GET/HEAD /ui and /ui/<file>: the dashboard's files, with their type, caching and the CSP; and
 * /ui/auth.json, which tells the app whether to ask for the admin key.
 */
export function serveUi(dir = DEFAULT_UI_DIR, auth: 'admin_key' | 'off' = 'admin_key'): RequestHandler {
  const files = loadUiFiles(dir);
  const authJson = JSON.stringify({ auth });
  return (req: Request, res: Response) => {
    if (req.path === `${UI_PREFIX}/auth.json`) {
      res.setHeader('cache-control', 'no-store');
      res.status(200).type('application/json').send(authJson);
      return;
    }
    if (!files) {
      sendError(res, new GatewayError(404, 'the dashboard is not built: run `pnpm build` (it builds apps/dashboard)'));
      return;
    }
    const rest = req.path.slice(UI_PREFIX.length);
    const name = rest === '' || rest === '/' ? 'index.html' : rest.slice(1);
    const file = files.get(name);
    if (!file) {
      sendError(res, new GatewayError(404, `no dashboard file ${quote(req.path)}`));
      return;
    }
    res.setHeader('content-type', file.type);
    res.setHeader('cache-control', file.cacheControl);
    res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('vary', 'accept-encoding');
    const accept = String(req.headers['accept-encoding'] ?? '');
    let body = file.body;
    if (file.br && /\bbr\b/.test(accept)) {
      body = file.br;
      res.setHeader('content-encoding', 'br');
    } else if (file.gzip && /\bgzip\b/.test(accept)) {
      body = file.gzip;
      res.setHeader('content-encoding', 'gzip');
    }
    res.setHeader('content-length', body.length);
    res.status(200);
    if (req.method === 'HEAD') res.end();
    else res.end(body);
  };
}
