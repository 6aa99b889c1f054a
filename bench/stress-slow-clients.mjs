#!/usr/bin/env node
// Stress: hostile clients against one gateway process. Not part of CI (it takes a minute or two and
// measures memory and latency, which belong here rather than in tests). Prints its figures and, with
// --write, puts them in bench/RESULTS.md under "Stress: slow clients" (one table per --label).
//
//   slow readers   N clients ask for a large stream and never read it
//   slow bodies    N clients send their headers, then trickle the body
//   count_tokens   a body_limit-sized (32 MB) count_tokens for an openai-type provider, while /health is probed
//   metrics        1,500 requests on made-up model names, then /metrics is scraped
//
// The fake upstream runs in this process (packages/testkit, honouring backpressure, so how much of
// each answer it wrote shows whether the gateway held it back); the gateway runs as its own process
// (apps/server/dist/main.js, or --gateway), so its RSS and event loop are its own.
import { connect } from 'node:net';
import { Agent } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, rssMb, startNode } from './lib/procs.mjs';
import { caseTable, probeHealth as probe, resultsSection, runLine } from './lib/results.mjs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

const { values: opt } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'apps/server/dist/main.js' },
    clients: { type: 'string', default: '50' },
    only: { type: 'string' },
    label: { type: 'string', default: 'this build' },
    'legacy-config': { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(`usage: node bench/stress-slow-clients.mjs [options]
  --gateway PATH      the gateway's main.js (default apps/server/dist/main.js; build it first)
  --clients N         slow readers and slow bodies (default 50)
  --only REGEX        sections to run: readers, bodies, count, metrics
  --label TEXT        name of this run in RESULTS.md (default "this build")
  --legacy-config     leave out the limits: block, for builds that predate it
  --write             put the figures in bench/RESULTS.md`);
  process.exit(0);
}

const CLIENTS = Number(opt.clients);
const STALL_MS = 15_000;
const REQUEST_TIMEOUT_MS = 5_000;
const run = (name) => !opt.only || new RegExp(opt.only).test(name);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { anthropicError, anthropicMessage, anthropicSseEvents, startFakeAnthropic } = await import(join(ROOT, 'packages/testkit/dist/index.js'));

/** The fake's answers: a large stream for claude-big, a 404 for junk-*, a short Message otherwise. */
function responder(req) {
  const model = req.body?.model ?? '';
  if (model === 'claude-big') return { kind: 'sse', events: BIG_STREAM, backpressure: true };
  if (model.startsWith('junk-')) return anthropicError(404, 'not_found_error', `model: ${model}`);
  return { kind: 'json', body: anthropicMessage({ model, text: 'ok' }) };
}

/** About 19 MB per streamed answer, in 512-byte text deltas: far more than the kernel holds in socket buffers (several MB per connection on loopback). */
const DELTAS = 32_000;
const BIG_STREAM = anthropicSseEvents(
  anthropicMessage({ model: 'claude-big', text: 'All work and no play makes a stream go on and on. '.repeat(11 * DELTAS).slice(0, 512 * DELTAS), usage: { input_tokens: 10, output_tokens: DELTAS } }),
  { textChunks: DELTAS },
);
const BIG_STREAM_MB = BIG_STREAM.reduce((n, f) => n + Buffer.byteLength(f), 0) / 1048576;

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'conduit-stress-'));
  const upstream = await startFakeAnthropic({ record: true });
  upstream.setResponder(responder);
  const port = await freePort();
  const config = {
    listen: { host: '127.0.0.1', port },
    log_level: 'warn',
    store: 'sqlite::memory:',
    default_provider: 'anthropic',
    providers: {
      anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-stress' }], max_retries: 0 },
      openai: { type: 'openai', base_url: 'http://127.0.0.1:9/v1', keys: [{ value: 'sk-stress' }] },
    },
    ...(opt['legacy-config'] ? {} : { limits: { stalled_reader_ms: STALL_MS, request_timeout_ms: REQUEST_TIMEOUT_MS, headers_timeout_ms: REQUEST_TIMEOUT_MS } }),
  };
  const configPath = join(work, 'conduit.json');
  writeFileSync(configPath, JSON.stringify(config));
  const url = `http://127.0.0.1:${port}`;
  const gateway = await startNode('conduit', [resolve(opt.gateway), '--config', configPath], { cwd: work, probe: `${url}/health` });
  const figures = [];
  const ran = [];
  const note = (section, what, value) => {
    figures.push({ section, what, value });
    console.log(`  ${what}: ${value}`);
  };
  try {
    // Warm up: the contract validator compiles on the first request, the tokenizer loads on the first count.
    for (let i = 0; i < 20; i++) await post(url, '/anthropic/v1/messages', { model: 'anthropic/claude-warm', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
    await post(url, '/anthropic/v1/messages/count_tokens', { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] });
    await sleep(1000);
    const sections = [
      ['readers', 'slow readers', () => slowReaders(url, gateway.pid, upstream, note)],
      ['bodies', 'slow bodies', () => slowBodies(url, gateway.pid, note)],
      ['count', 'count_tokens', () => countTokensLargest(url, note)],
      ['metrics', 'metrics', () => junkModels(url, note)],
    ];
    for (const [id, section, measure] of sections) {
      if (!run(id)) continue;
      ran.push(section);
      try {
        await measure();
      } catch (err) {
        note(section, 'failed', err.cause?.message ?? err.message);
      }
    }
  } finally {
    await gateway.stop();
    await upstream.close();
    rmSync(work, { recursive: true, force: true });
  }
  if (opt.write) writeResults(figures, ran);
}

// ---------------------------------------------------------------- slow readers
async function slowReaders(url, pid, upstream, note) {
  console.log(`\nslow readers: ${CLIENTS} clients ask for a ${BIG_STREAM_MB.toFixed(1)} MB stream each and read nothing`);
  upstream.reset();
  upstream.setResponder(responder);
  const before = rssMb(pid);
  const sockets = [];
  for (let i = 0; i < CLIENTS; i++) {
    sockets.push(rawRequest(url, { model: 'anthropic/claude-big', max_tokens: 100_000, stream: true, messages: [{ role: 'user', content: 'go on' }] }));
  }
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 250);
  await sleep(8_000);
  const big = () => upstream.requests.filter((r) => r.body?.model === 'claude-big');
  const sentMb = big().reduce((n, r) => n + r.progress.bytesSent, 0) / 1048576;
  const finished = big().filter((r) => r.progress.finished).length;
  note('slow readers', 'gateway RSS before', `${before.toFixed(0)} MB`);
  note('slow readers', 'upstream answers written by the fake in the first 8 s', `${sentMb.toFixed(0)} MB of ${(CLIENTS * BIG_STREAM_MB).toFixed(0)} MB; ${finished} of ${CLIENTS} answers complete`);
  // Then wait for the stall limit to disconnect them (30 s at most: a gateway without one never does).
  const deadline = Date.now() + STALL_MS + 15_000;
  while (Date.now() < deadline && big().some((r) => !r.progress.aborted && !r.progress.finished)) await sleep(250);
  clearInterval(sampler);
  const aborted = big().filter((r) => r.progress.aborted).length;
  note('slow readers', `gateway RSS, peak while ${CLIENTS} readers were stalled`, `${peak.toFixed(0)} MB (+${(peak - before).toFixed(0)} MB, ${((peak - before) / CLIENTS).toFixed(2)} MB per reader)`);
  note(
    'slow readers',
    `upstream requests aborted by the gateway within ${((STALL_MS + 15_000) / 1000).toFixed(0)} s`,
    `${aborted} of ${CLIENTS}; ${big().filter((r) => r.progress.finished).length} answers were read to the end from the upstream`,
  );
  for (const s of sockets) s.destroy();
  await sleep(2_000);
  note('slow readers', 'gateway RSS after the readers are gone', `${rssMb(pid).toFixed(0)} MB`);
}

/** Sends one request on a raw socket and never reads the answer. */
function rawRequest(url, body) {
  const { port } = new URL(url);
  const json = JSON.stringify(body);
  const socket = connect(Number(port), '127.0.0.1');
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(`POST /anthropic/v1/messages HTTP/1.1\r\nhost: g\r\ncontent-type: application/json\r\nx-api-key: k\r\ncontent-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  return socket;
}

// ---------------------------------------------------------------- slow bodies
async function slowBodies(url, pid, note) {
  console.log(`\nslow bodies: ${CLIENTS} clients send headers for a 1 MB body, then 100 bytes every 500 ms`);
  const before = rssMb(pid);
  const { port } = new URL(url);
  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: CLIENTS }, () =>
      new Promise((resolve) => {
        const socket = connect(Number(port), '127.0.0.1');
        let text = '';
        let timer;
        socket.on('data', (d) => (text += d));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(timer);
          resolve({ status: Number(text.split(' ')[1]) || null, ms: Date.now() - started, envelope: /"type":"error"/.test(text) });
        });
        socket.write(`POST /anthropic/v1/messages HTTP/1.1\r\nhost: g\r\ncontent-type: application/json\r\nx-api-key: k\r\ncontent-length: 1048576\r\n\r\n{"model":"anthropic/claude-x",`);
        timer = setInterval(() => socket.write(' '.repeat(100)), 500);
        // Give up after 20 s: a gateway without deadlines holds them forever.
        setTimeout(() => socket.destroy(), 20_000);
      }),
    ),
  );
  const peak = rssMb(pid);
  const answered = results.filter((r) => r.status === 408 && r.envelope);
  note('slow bodies', 'gateway RSS before / at the end', `${before.toFixed(0)} MB / ${peak.toFixed(0)} MB`);
  note(
    'slow bodies',
    `answered 408 in the envelope, connection closed`,
    answered.length
      ? `${answered.length} of ${CLIENTS}, after ${Math.min(...answered.map((r) => r.ms))}–${Math.max(...answered.map((r) => r.ms))} ms (request_timeout_ms ${REQUEST_TIMEOUT_MS})`
      : `0 of ${CLIENTS} (still held after 20 s)`,
  );
}

// ---------------------------------------------------------------- count_tokens
function bodyOf(kind, bytes) {
  const room = bytes - 200;
  let text;
  if (kind === 'a') text = 'a'.repeat(room);
  else if (kind === 'CJK') {
    const n = Math.floor(room / 3);
    const out = new Array(n);
    let seed = 11;
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      out[i] = String.fromCharCode(0x4e00 + (seed % 0x5000));
    }
    text = out.join('');
  } else {
    const words = 'the quick brown fox jumps over lazy dogs while rivers run to seas and mountains rise'.split(' ');
    const out = [];
    let len = 0;
    let seed = 3;
    while (len < room - 20) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const w = words[seed % words.length] + (seed % 13 === 0 ? '. ' : ' ');
      out.push(w);
      len += w.length;
    }
    text = out.join('');
  }
  return Buffer.from(JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: text }] }));
}

async function lagMaxMs(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = /^nodejs_eventloop_lag_max_seconds ([0-9.e+-]+)$/m.exec(text);
  return m ? Number(m[1]) * 1000 : NaN;
}

async function countTokensLargest(url, note) {
  const cases = [
    ['100 KB of "a"', bodyOf('a', 100 * 1024 + 200)],
    ['32 MB of "a"', bodyOf('a', 32 * 1048576)],
    ['32 MB of CJK without punctuation', bodyOf('CJK', 32 * 1048576)],
    ['32 MB of English prose', bodyOf('prose', 32 * 1048576)],
  ];
  console.log('\ncount_tokens (openai-type provider, counted in the gateway), /health probed every 10 ms meanwhile');
  for (const [name, body] of cases) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await probe(url, agent);
    await lagMaxMs(url); // resets the gateway's own event-loop lag maximum
    const abort = new AbortController();
    const started = performance.now();
    let outcome = null;
    const counting = fetch(`${url}/anthropic/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body, signal: abort.signal })
      .then(async (r) => (outcome = { status: r.status, json: await r.json(), ms: performance.now() - started }))
      .catch(() => (outcome = { status: null, ms: performance.now() - started }));
    const latencies = [];
    while (!outcome && performance.now() - started < 60_000) {
      latencies.push(await probe(url, agent));
      await sleep(10);
    }
    abort.abort();
    await counting;
    agent.destroy();
    const lag = outcome.status ? await lagMaxMs(url) : NaN;
    const sorted = latencies.sort((x, y) => x - y);
    const p = (q) => {
      const v = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
      return v === Infinity ? '> 2000' : v.toFixed(1);
    };
    note(
      'count_tokens',
      name,
      outcome.status === 200
        ? `${outcome.json.input_tokens} tokens in ${outcome.ms.toFixed(0)} ms; /health p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms over ${sorted.length} probes; gateway event-loop lag max ${lag.toFixed(0)} ms`
        : `no answer in 60 s; /health max ${p(1)} ms`,
    );
    if (outcome.status !== 200) return; // the gateway is stuck on it: later cases would only wait behind it
  }
}


// ---------------------------------------------------------------- metrics
async function junkModels(url, note) {
  const JUNK = 1_500;
  console.log(`\nmetrics: ${JUNK} requests on made-up model names (the upstream answers 404), then /metrics`);
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < JUNK) {
        const i = next++;
        await post(url, '/anthropic/v1/messages', { model: `anthropic/junk-${i}-${'x'.repeat(i % 40)}`, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
      }
    }),
  );
  const times = [];
  let text = '';
  for (let i = 0; i < 10; i++) {
    const started = performance.now();
    text = await (await fetch(`${url}/metrics`)).text();
    times.push(performance.now() - started);
  }
  const models = new Set([...text.matchAll(/gen_ai_request_model="([^"]*)"/g)].map((m) => m[1]));
  const series = text.split('\n').filter((l) => l && !l.startsWith('#')).length;
  times.sort((a, b) => a - b);
  note('metrics', '/metrics after 1,500 junk model names', `${(text.length / 1024).toFixed(0)} kB, ${series} series, ${models.size} model label values`);
  note('metrics', 'scrape time (client side, 10 scrapes)', `median ${times[5].toFixed(1)} ms, max ${times.at(-1).toFixed(1)} ms`);
}

async function post(url, path, body) {
  const res = await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

// ---------------------------------------------------------------- RESULTS.md

function writeResults(figures, ran) {
  const { tables: found, write } = resultsSection('stress-slow-clients');
  // One table per label. A run replaces the rows of the sections it ran and keeps the others, so a
  // build can be measured a section at a time (an old build that hangs on one section, say).
  const tables = new Map([...found].map(([label, text]) => [label, caseTable(text)]));
  const table = tables.get(opt.label) ?? { rows: [], runs: [] };
  table.runs.push(runLine('stress-slow-clients.mjs', /^[\w./=|-]+$/));
  table.rows = [
    ...table.rows.filter((r) => !ran.some((section) => r.startsWith(`| ${section} |`))),
    ...figures.map((f) => `| ${f.section} | ${f.what} | ${f.value} |`),
  ];
  tables.set(opt.label, table);
  const order = ['slow readers', 'slow bodies', 'count_tokens', 'metrics'];
  const rank = (row) => order.findIndex((s) => row.startsWith(`| ${s} |`));
  write(
    `## Stress: slow clients\n\nWritten by \`bench/stress-slow-clients.mjs\` (see bench/README.md), not by the benchmark's run: ${CLIENTS} clients; ` +
      `the gateway with \`limits.stalled_reader_ms\` ${STALL_MS} and \`limits.request_timeout_ms\` ${REQUEST_TIMEOUT_MS}, \`body_limit\` at its default (32 MB).\n` +
      [...tables]
        .map(([label, t]) => `\n### ${label}\n\n${t.runs.slice(-6).join('\n')}\n\n| case | measured | figure |\n|---|---|---|\n${[...t.rows].sort((a, b) => rank(a) - rank(b)).join('\n')}\n`)
        .join(''),
  );
  console.log('\nwrote bench/RESULTS.md (Stress: slow clients)');
}

await main();
