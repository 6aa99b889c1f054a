import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, serveUi } from './static.js';

let dir: string;
let app: express.Express;
const script = `console.log(${JSON.stringify('x'.repeat(2000))});`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'conduit-ui-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Conduit</title><script type="module" src="/ui/assets/index-AbCd1234.js"></script>');
  writeFileSync(join(dir, 'assets', 'index-AbCd1234.js'), script);
  writeFileSync(join(dir, 'assets', 'index-AbCd1234.css'), 'body{margin:0}');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dir, 'notes.unknownext'), 'not served');
  writeFileSync(join(dir, '..', 'secret-beside-ui.txt'), 'TOP-SECRET-CONTENT');
  app = express();
  const ui = serveUi(dir);
  app.use((req, res, next) => (req.path === '/ui' || req.path.startsWith('/ui/') ? ui(req, res, next) : next()));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(join(dir, '..', 'secret-beside-ui.txt'), { force: true });
});

describe('the dashboard files at /ui', () => {
  it('serves the page at /ui and /ui/, revalidated, with the CSP and friends', async () => {
    for (const path of ['/ui', '/ui/', '/ui/index.html']) {
      const res = await request(app).get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.text).toContain('<title>Conduit</title>');
    }
  });

  it('serves hashed assets with their type, cached for a year', async () => {
    const js = await request(app).get('/ui/assets/index-AbCd1234.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const css = await request(app).get('/ui/assets/index-AbCd1234.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
    const svg = await request(app).get('/ui/favicon.svg');
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.headers['cache-control']).toBe('no-cache');
  });

  it('compresses text for clients that take it', async () => {
    const res = await request(app).get('/ui/assets/index-AbCd1234.js').set('accept-encoding', 'gzip').buffer(true).parse((r, cb) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => cb(null, Buffer.concat(chunks)));
    });
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(Number(res.headers['content-length'])).toBeLessThan(script.length);
    // superagent inflates what it receives: the body that arrived was the script, compressed.
    expect((res.body as Buffer).toString()).toBe(script);
  });

  it('answers HEAD without a body', async () => {
    const res = await request(app).head('/ui/');
    expect(res.status).toBe(200);
    expect(res.text ?? '').toBe('');
  });

  it('refuses anything but a file of the build: traversal, encoded slashes, unknown types', async () => {
    for (const path of [
      '/ui/../secret-beside-ui.txt',
      '/ui/%2e%2e/secret-beside-ui.txt',
      '/ui/assets/..%2f..%2fsecret-beside-ui.txt',
      '/ui/assets%2findex-AbCd1234.js',
      '/ui/notes.unknownext',
      '/ui/missing.js',
      '/ui//etc/passwd',
    ]) {
      const res = await request(app).get(path);
      expect(res.status, path).toBe(404);
      expect(res.body.type, path).toBe('error');
      expect(res.body.error.type).toBe('not_found_error');
      expect(res.text).not.toContain('TOP-SECRET-CONTENT');
    }
  });

  it('tells the app whether to ask for the admin key, never cached', async () => {
    const res = await request(app).get('/ui/auth.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ auth: 'admin_key' });
    expect(res.headers['cache-control']).toBe('no-store');
    const off = express();
    const ui = serveUi(dir, 'off');
    off.use((req, r, next) => ui(req, r, next));
    expect((await request(off).get('/ui/auth.json')).body).toEqual({ auth: 'off' });
  });

  it('says how to build the app when it is not built', async () => {
    const bare = express();
    const ui = serveUi(join(dir, 'no-such-build'));
    bare.use((req, res, next) => ui(req, res, next));
    const res = await request(bare).get('/ui');
    expect(res.status).toBe(404);
    expect(res.body.error.message).toMatch(/pnpm build/);
  });
});
