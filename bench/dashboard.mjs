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
import { readdirSync } from 'node:fs';
import { cpuMs, freePort, startNode } from './lib/procs.mjs';

/**
 * CPU time of every thread of a process in ms, to the nanosecond (/proc/<pid>/task/<tid>/schedstat):
 * polling costs a few ms a second, below the 10 ms tick /proc/<pid>/stat counts in.
 */
function cpuPreciseMs(pid) {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended
    }
  }
  return ns / 1e6;
}

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

/** One refresh of a view: its routes for that second, together, as the app sends them. */
async function refresh(url, shape, tick) {
  const paths = SHAPES[shape](tick);
  await Promise.all(paths.map((p) => get(url, p)));
  return paths.length;
}

/**
 * Two measurements per view. At one refresh a second, in real time: 10 s slices, idle and polled
 * in turn (so slow drifts, timers and GC fall on both alike), the polled slices' CPU less the idle
 * ones'. And the cost of one refresh, from REFRESHES refreshes back to back, less the idle rate over
 * the same time: at one refresh a second that is the share of a core, with no 10 ms tick in the way.
 */
const SLICE_MS = 5_000;
const REFRESHES = 300;

async function measurePolling(shape) {
  const gw = await gateway({ seed: true });
  try {
    // Warm up: the first reads load the day's sealed minutes into memory; the start-up prune settles.
    for (let t = 0; t < 5; t++) await refresh(gw.url, shape, t);
    await get(gw.url, '/admin/v1/stats/traffic?window=day');
    await sleep(3000);
    const pid = gw.proc.pid;
    let idleMs = 0;
    let polledMs = 0;
    let idleTime = 0;
    let polledTime = 0;
    let requests = 0;
    let polls = 0;
    for (let pair = 0; pair < Math.max(1, Math.round(SECONDS / (SLICE_MS / 1000))); pair++) {
      let t0 = Date.now();
      let c0 = cpuPreciseMs(pid);
      await sleep(SLICE_MS);
      idleMs += cpuPreciseMs(pid) - c0;
      idleTime += Date.now() - t0;
      t0 = Date.now();
      c0 = cpuPreciseMs(pid);
      for (let tick = 0; Date.now() - t0 < SLICE_MS; tick++) {
        const due = t0 + tick * 1000;
        if (due > Date.now()) await sleep(due - Date.now());
        requests += await refresh(gw.url, shape, polls);
        polls++;
      }
      polledMs += cpuPreciseMs(pid) - c0;
      polledTime += Date.now() - t0;
    }
    const idleRate = idleMs / idleTime;
    const realTimeShare = (polledMs - idleRate * polledTime) / polledTime;
    // Back to back.
    const b0 = Date.now();
    const c0 = cpuPreciseMs(pid);
    for (let i = 0; i < REFRESHES; i++) await refresh(gw.url, shape, i);
    const burstTime = Date.now() - b0;
    const perRefresh = (cpuPreciseMs(pid) - c0 - idleRate * burstTime) / REFRESHES;
    return { shape, requests, polls, seconds: Math.round(polledTime / 1000), realTimeShare, perRefresh };
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
  `Polling at one refresh per second, against a request log holding a day of per-minute figures and 100,000 records. Target: under 1% of a core. "At 1/s": ${SECONDS} s of polling in 5 s slices alternating with as many idle ones, CPU (every thread, to the nanosecond) while polled less CPU while idle. "One refresh": the CPU of one refresh of the view, from ${REFRESHES} back to back (less the idle rate); at one refresh a second, that many ms per 1,000 ms is the share of a core.`,
  '',
  '| view open | requests polled | share of one core at 1/s | one refresh (back to back) | its share at 1/s |',
  '|---|---:|---:|---:|---:|',
  ...polling.map((p) => `| ${p.shape} | ${p.requests} in ${p.seconds} s | ${(p.realTimeShare * 100).toFixed(2)}% ${p.realTimeShare < 0.01 ? '✅' : '❌'} | ${p.perRefresh.toFixed(2)} ms | ${(p.perRefresh / 10).toFixed(2)}% |`),
  '',
  `The request log under load (50 connections, keyed Anthropic→Anthropic JSON, ${opt.rounds} interleaved rounds of ${opt['load-seconds']} s): CPU per answer ${load.targets.map((t) => `${t.name} ${t.median.toFixed(3)} ms (rounds ${t.cpu.map((c) => c.toFixed(3)).join(', ')})`).join('; ')}; difference ${(load.targets[0].median - load.targets[1].median).toFixed(3)} ms; records dropped: ${load.dropped}.`,
];
const text = lines.join('\n');
console.log(text);
if (opt.write) {
  const file = join(ROOT, 'bench/RESULTS.md');
  const old = readFileSync(file, 'utf8');
  // Between markers, so bench/run.mjs keeps the section when it rewrites the file.
  const section = `<!-- dashboard:begin -->\n## Dashboard\n\n${text}\n<!-- dashboard:end -->`;
  const at = old.indexOf('<!-- dashboard:begin -->');
  const end = at < 0 ? -1 : old.indexOf('<!-- dashboard:end -->', at);
  const updated = at < 0 || end < 0 ? `${old.trimEnd()}\n\n${section}\n` : old.slice(0, at) + section + old.slice(end + '<!-- dashboard:end -->'.length);
  writeFileSync(file, updated);
}
