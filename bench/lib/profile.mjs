// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: self time per
// function, and the share of all samples under each top-level area (node internals, express,
// the validator, undici, pino, Conduit's own code).
import { existsSync, readFileSync } from 'node:fs';

const AREAS = [
  ['(idle/gc/program)', (url, fn) => url === '' && /^\((idle|garbage collector|program)\)$/.test(fn)],
  ['conduit', (url) => url.includes('/apps/server/dist/')],
  ['express-openapi-validator', (url) => url.includes('express-openapi-validator')],
  ['ajv', (url) => url.includes('/ajv')],
  ['express/router/body-parser', (url) => /\/(express|router|body-parser|raw-body|type-is|content-type|iconv-lite|qs|finalhandler|send|on-finished|statuses|media-typer|negotiator|accepts|parseurl|path-to-regexp)@/.test(url)],
  ['undici', (url) => url.includes('/undici@')],
  ['pino', (url) => /\/(pino|sonic-boom|thread-stream|fast-redact|quick-format-unescaped|atomic-sleep|on-exit-leak-free|safe-stable-stringify|pino-std-serializers)@/.test(url)],
  ['prom-client', (url) => url.includes('prom-client')],
  ['node:http/net/stream', (url) => /^node:(_http|http|net|stream|internal\/streams|internal\/http|_stream)/.test(url) || /^node:internal\/(streams|http)/.test(url)],
  ['node (other)', (url) => url.startsWith('node:')],
  ['other deps', (url) => url.includes('node_modules')],
];

/**
 * `windows`: [fromMs, toMs] offsets from the first sample; only samples inside one count (the
 * benchmark passes the measured intervals, leaving out start-up and the validator's first compile).
 */
const INCLUSIVE = [
  ['GC', (url, fn) => fn === '(garbage collector)'],
  ['validator (express-openapi-validator + ajv)', (url) => url.includes('express-openapi-validator') || url.includes('/ajv')],
  ['body-parser (express.json)', (url) => /\/(body-parser|raw-body)@/.test(url)],
  ['pino', (url) => /\/(pino|sonic-boom)@/.test(url)],
  ['undici', (url) => url.includes('/undici@')],
  ['conduit observability', (url) => url.includes('/dist/observability/')],
  ['conduit routing', (url) => url.includes('/dist/routing/')],
  ['conduit providers', (url) => url.includes('/dist/providers/')],
  ['conduit http', (url) => url.includes('/dist/http/')],
  ['express router', (url) => /\/(router|express)@/.test(url)],
  ['node http server', (url) => url === 'node:_http_server' || url === 'node:_http_common'],
  ['node http outgoing', (url) => url === 'node:_http_outgoing'],
  ['node net/stream', (url) => url === 'node:net' || url.startsWith('node:internal/streams')],
];

export function summarizeProfile(file, top = 25, windows = null) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  let t = 0;
  let total = 0;
  profile.samples.forEach((id, i) => {
    t += profile.timeDeltas[i] / 1000;
    if (windows && !windows.some(([from, to]) => t >= from && t <= to)) return;
    counts.set(id, (counts.get(id) ?? 0) + 1);
    total++;
  });

  const selfByFn = new Map();
  const byArea = new Map();
  for (const [id, n] of counts) {
    const node = byId.get(id);
    const { functionName, url, lineNumber } = node.callFrame;
    const fn = functionName || '(anonymous)';
    const key = `${fn}  ${shortUrl(url)}:${lineNumber + 1}`;
    selfByFn.set(key, (selfByFn.get(key) ?? 0) + n);
    const area = AREAS.find(([, test]) => test(url, fn))?.[0] ?? (url ? 'other' : fn);
    byArea.set(area, (byArea.get(area) ?? 0) + n);
  }
  // Inclusive: a sample counts for every area on its stack (once each), so nested areas overlap.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map();
  for (const [id, n] of counts) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const { url, functionName } = byId.get(cur).callFrame;
      const area = INCLUSIVE.find(([, test]) => test(url, functionName))?.[0];
      if (area) seen.add(area);
    }
    for (const area of seen) inclusive.set(area, (inclusive.get(area) ?? 0) + n);
  }
  const pct = (n) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
  const lines = [`${total} samples`, '', 'self time by area:'];
  for (const [area, n] of [...byArea].sort((a, b) => b[1] - a[1])) lines.push(`  ${pct(n)}  ${area}`);
  lines.push('', 'inclusive time (a sample counts for each area on its stack):');
  for (const [area, n] of [...inclusive].sort((a, b) => b[1] - a[1])) lines.push(`  ${pct(n)}  ${area}`);
  // Inclusive per function (recursion counted once per sample).
  const inclFn = new Map();
  for (const [id, n] of counts) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const { functionName, url, lineNumber } = byId.get(cur).callFrame;
      if (!url) continue;
      seen.add(`${functionName || '(anonymous)'}  ${shortUrl(url)}:${lineNumber + 1}`);
    }
    for (const key of seen) inclFn.set(key, (inclFn.get(key) ?? 0) + n);
  }
  lines.push('', `top ${top} functions by inclusive time:`);
  for (const [key, n] of [...inclFn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(n)}  ${key}`);
  lines.push('', `top ${top} functions by self time:`);
  for (const [key, n] of [...selfByFn].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(n)}  ${key}`);
  return lines.join('\n');
}

function shortUrl(url) {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length).replace(/^\.pnpm\/[^/]+\/node_modules\//, '');
  const src = url.indexOf('/apps/server/');
  if (src >= 0) return url.slice(src + 1);
  return url;
}

// node bench/lib/profile.mjs FILE [TOP]: uses FILE.windows.json (written by run.mjs --profile) when present.
if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  const windows = existsSync(`${file}.windows.json`) ? JSON.parse(readFileSync(`${file}.windows.json`, 'utf8')) : null;
  console.log(summarizeProfile(file, Number(process.argv[3] ?? 30), windows));
}
