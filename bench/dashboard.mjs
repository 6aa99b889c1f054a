#!/usr/bin/env node
// What the dashboard costs the gateway. Not part of CI (a few minutes; CPU figures belong here, not
// in tests). Two measurements, on one gateway process each (apps/server/dist/main.js), against the
// testkit's fake Anthropic in this process, 127.0.0.1 only:
//
//   polling      the dashboard's polls at one refresh per second, against a request log holding a
//                full day of per-minute figures and 100,000 records: the gateway's CPU while polled,
//                less its CPU while idle over the same time, as a share of one core (target < 1%).
//                Two shapes: the overview as the app polls it (traffic, providers every second; keys
//                and usage every 5 s), and every view's routes every second (the worst case).
//   request log  the request log's cost per request under load: CPU ms per answer with
//                request_log on and off, rounds interleaved, medians.
//
// Prints its figures; with --write puts them in bench/RESULTS.md under "Dashboard".
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { cpuMs, freePort, startNode } from './lib/procs.mjs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    rounds: { type: 'string', default: '3' },
    'load-seconds': { type: 'string', default: '8' },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(`usage: node bench/dashboard.mjs [--seconds N] [--rounds N] [--load-seconds N] [--write]
  --seconds N        length of each polling measurement (default 60)
  --rounds N         rounds of the request-log load comparison (default 3)
  --load-seconds N   length of each load round (default 8)
  --write            put the figures in bench/RESULTS.md`);
  process.exit(0);
}
const SECONDS = Number(opt.seconds);
const ADMIN = 'sk-cdt-bench-admin-0123456789abcdefghijk';
const KEY = 'sk-cdt-bench-client-000000000000000000001';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { startFakeAnthropic } = await import(join(ROOT, 'packages/testkit/dist/index.js'));
const { SqliteRequestLogStore } = await import(join(ROOT, 'apps/server/dist/request-log/sqlite-store.js'));
const { cellsOf } = await import(join(ROOT, 'apps/server/dist/request-log/cell.js'));

const upstream = await startFakeAnthropic({ record: false });

function config(dir, port, requestLog) {
  return `
listen: { host: 127.0.0.1, port: ${port} }
store: sqlite:${dir}/conduit.db
log_level: warn
request_log: { enabled: ${requestLog} }
providers:
  anthropic: { type: anthropic, base_url: ${upstream.url}, keys: [{ value: sk-ant-bench }], models: [claude-haiku-4-5, claude-sonnet-4-5] }
  backup: { type: anthropic, base_url: ${upstream.url}, keys: [{ value: sk-ant-bench }], models: [claude-haiku-4-5] }
auth:
  admin_key: ${ADMIN}
  teams: [{ name: research, budget_usd: 500 }]
  keys:
    - { name: alice, value: ${KEY}, team: research, budget_usd: 50 }
    - { name: bob, value: sk-cdt-bench-client-000000000000000000002, rpm: 600 }
`;
}

async function gateway({ requestLog = true, seed = false } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-bench-dash-'));
  if (seed) seedDay(join(dir, 'conduit.db'));
  const port = await freePort();
  writeFileSync(join(dir, 'conduit.yaml'), config(dir, port, requestLog));
  const proc = await startNode('conduit', [join(ROOT, 'apps/server/dist/main.js'), '--config', join(dir, 'conduit.yaml')], {
    cwd: dir,
    probe: `http://127.0.0.1:${port}/health`,
  });
  return { url: `http://127.0.0.1:${port}`, proc, stop: async () => (await proc.stop(), rmSync(dir, { recursive: true, force: true })) };
}

/** A day of traffic in the request log: each minute's figures on three targets, and 100,000 records. */
function seedDay(path) {
  const store = new SqliteRequestLogStore(path);
  const now = Date.now();
  const record = (at, i) => ({
    id: `req_seed${i}`, at, operation: 'chat', method: 'POST', path: '/anthropic/v1/messages', status: i % 50 === 0 ? 529 : 200,
    errorType: i % 50 === 0 ? 'overloaded_error' : null, error: null, stream: i % 2 === 0, requestedModel: 'anthropic/claude-haiku-4-5',
    provider: ['anthropic', 'backup', 'anthropic'][i % 3], model: ['claude-haiku-4-5', 'claude-haiku-4-5', 'claude-sonnet-4-5'][i % 3],
    providerLabel: ['anthropic', 'backup', 'anthropic'][i % 3], modelLabel: ['claude-haiku-4-5', 'claude-haiku-4-5', 'claude-sonnet-4-5'][i % 3],
    attempts: 1, fallbackIndex: i % 3 === 1 ? 1 : 0, latencyMs: 50 + (i % 700), ttftMs: i % 2 === 0 ? 20 + (i % 300) : null,
    inputTokens: 100 + (i % 1000), outputTokens: 50 + (i % 400), cacheReadTokens: null, cacheWriteTokens: null, costUsd: 0.001,
    keyId: 'cfg_alice', keyName: 'alice', team: 'research', body: null, bodyTruncated: false,
  });
  const records = [];
  for (let i = 0; i < 100_000; i++) records.push(record(now - Math.floor((i / 100_000) * 86_400_000), i));
  for (let i = 0; i < records.length; i += 5000) {
    const batch = records.slice(i, i + 5000);
    store.write(batch, cellsOf(batch));
  }
  store.close();
}

/** GET with the admin key; the body is read (and dropped) as the app would. */
async function get(url, path) {
  const res = await fetch(url + path, { headers: { 'x-api-key': ADMIN } });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
}

const KEYS_AND_USAGE = ['/admin/v1/keys?limit=1000', '/admin/v1/usage'];
/** What each view polls (apps/dashboard/src/views/*.tsx), by second: one view is open at a time. */
const SHAPES = {
  'Overview, last hour': (tick) => ['/admin/v1/stats/traffic?window=hour', '/admin/v1/stats/providers', ...(tick % 5 === 0 ? KEYS_AND_USAGE : [])],
  'Overview, last day': (tick) => ['/admin/v1/stats/traffic?window=day', '/admin/v1/stats/providers', ...(tick % 5 === 0 ? KEYS_AND_USAGE : [])],
  Providers: () => ['/admin/v1/stats/providers'],
  'Keys and teams': (tick) => (tick % 2 === 0 ? ['/admin/v1/keys?limit=1000', '/admin/v1/teams?limit=1000', '/admin/v1/usage'] : []),
  Requests: () => ['/admin/v1/requests?limit=50'],
  'Async jobs and batches': () => ['/admin/v1/stats/jobs'],
  // Not something the app does: every route of every view, every second.
  'every view at once (worst case)': () => [
    '/admin/v1/stats/traffic?window=hour',
    '/admin/v1/stats/traffic?window=day',
    '/admin/v1/stats/providers',
    '/admin/v1/stats/jobs',
    '/admin/v1/requests?limit=50',
    '/admin/v1/keys?limit=1000',
    '/admin/v1/teams?limit=1000',
    '/admin/v1/usage',
  ],
};

async function measurePolling(shape) {
  const gw = await gateway({ seed: true });
  try {
    // Warm up: the first reads load the day's sealed minutes into memory.
    for (const path of SHAPES[shape](0)) await get(gw.url, path);
    for (const path of ['/admin/v1/stats/traffic?window=day']) await get(gw.url, path);
    await sleep(2000);
    const idleStart = cpuMs(gw.proc.pid);
    await sleep(SECONDS * 1000);
    const idle = cpuMs(gw.proc.pid) - idleStart;
    const pollStart = cpuMs(gw.proc.pid);
    const started = Date.now();
    let polls = 0;
    let requests = 0;
    for (let tick = 0; Date.now() - started < SECONDS * 1000; tick++) {
      const due = started + tick * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
      const paths = SHAPES[shape](tick);
      await Promise.all(paths.map((p) => get(gw.url, p)));
      requests += paths.length;
      polls++;
    }
    const polled = cpuMs(gw.proc.pid) - pollStart;
    const elapsed = Date.now() - started;
    return { shape, requests, polls, idleMs: idle, polledMs: polled, share: (polled - idle) / elapsed, perPollMs: (polled - idle) / polls };
  } finally {
    await gw.stop();
  }
}

async function measureLoad() {
  const body = JSON.stringify({ model: 'anthropic/claude-haiku-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'Hello' }] });
  const targets = [
    { name: 'request log on', gw: await gateway({ requestLog: true }), cpu: [] },
    { name: 'request log off', gw: await gateway({ requestLog: false }), cpu: [] },
  ];
  try {
    for (let round = 0; round < Number(opt.rounds); round++) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        const opts = { url: `${t.gw.url}/anthropic/v1/messages`, method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body, connections: 50 };
        if (round === 0) await autocannon({ ...opts, duration: 2 });
        const before = cpuMs(t.gw.proc.pid);
        const r = await autocannon({ ...opts, duration: Number(opt['load-seconds']) });
        t.cpu.push((cpuMs(t.gw.proc.pid) - before) / r['2xx']);
        t.rps = r['2xx'] / r.duration;
      }
    }
    const dropped = await (await fetch(`${targets[0].gw.url}/metrics`)).text();
    const m = /^conduit_request_log_dropped_total (\S+)/m.exec(dropped);
    return { targets: targets.map((t) => ({ name: t.name, cpu: t.cpu, median: median(t.cpu) })), dropped: m ? Number(m[1]) : null };
  } finally {
    for (const t of targets) await t.gw.stop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const polling = [];
for (const shape of Object.keys(SHAPES)) {
  process.stderr.write(`polling: ${shape}...\n`);
  polling.push(await measurePolling(shape));
}
process.stderr.write('request log under load...\n');
const load = await measureLoad();
await upstream.close();

const lines = [
  `${new Date().toISOString()} · Node ${process.version} · \`node bench/dashboard.mjs --seconds ${SECONDS}\``,
  '',
  `Polling at one refresh per second, against a request log holding a day of per-minute figures and 100,000 records (${SECONDS} s polled, ${SECONDS} s idle for the baseline; target: under 1% of a core):`,
  '',
  '| view open | requests | gateway CPU while polled − idle | share of one core | per second |',
  '|---|---:|---:|---:|---:|',
  ...polling.map((p) => `| ${p.shape} | ${p.requests} in ${p.polls} s | ${(p.polledMs - p.idleMs).toFixed(0)} ms | ${(p.share * 100).toFixed(2)}% ${p.share < 0.01 ? '✅' : '❌'} | ${p.perPollMs.toFixed(2)} ms |`),
  '',
  `The request log under load (50 connections, keyed Anthropic→Anthropic JSON, ${opt.rounds} interleaved rounds of ${opt['load-seconds']} s): CPU per answer ${load.targets.map((t) => `${t.name} ${t.median.toFixed(3)} ms (rounds ${t.cpu.map((c) => c.toFixed(3)).join(', ')})`).join('; ')}; difference ${(load.targets[0].median - load.targets[1].median).toFixed(3)} ms; records dropped: ${load.dropped}.`,
];
const text = lines.join('\n');
console.log(text);
if (opt.write) {
  const file = join(ROOT, 'bench/RESULTS.md');
  const old = readFileSync(file, 'utf8');
  const section = `## Dashboard\n\n${text}\n`;
  const at = old.indexOf('## Dashboard\n');
  const next = at < 0 ? -1 : old.indexOf('\n## ', at + 1);
  const updated = at < 0 ? `${old.trimEnd()}\n\n${section}` : old.slice(0, at) + section + (next < 0 ? '' : old.slice(next));
  writeFileSync(file, updated);
}
