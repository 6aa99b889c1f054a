#!/usr/bin/env node
// Stress: Message Batches on one gateway process. Not part of CI (a 10,000-request batch, kill -9
// and restart take a minute or two, and RSS is measured here rather than in tests). Prints its
// figures and, with --write, puts them in bench/RESULTS.md under "Stress: message batches".
//
//   run       a batch of --requests requests (default 10,000) against the fake upstream: upload,
//             time to the end, throughput; gateway RSS before, during and after
//   results   its results downloaded as fast as the client reads: RSS while they stream out, each
//             request once and succeeded
//   live      chat latency on the same gateway while a batch runs, against idle (batch workers
//             hold back while live requests are above batches.yield_above_in_flight)
//   kill      a batch of the same size, the gateway killed with SIGKILL a third of the way in and
//             started again on the same store: every request succeeded, exactly once
//
// The fake upstream runs in this process (packages/testkit); the gateway runs as its own process
// (apps/server/dist/main.js, or --gateway), so its RSS is its own. Build first:
// `pnpm --filter @conduit/testkit --filter @conduit/server build`.
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort, rssMb, startNode, watchRss } from './lib/procs.mjs';
import { caseTable, resultsSection, runLine } from './lib/results.mjs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

const { values: opt } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'apps/server/dist/main.js' },
    requests: { type: 'string', default: '10000' },
    store: { type: 'string' },
    concurrency: { type: 'string', default: '32' },
    answer: { type: 'string', default: '4000' },
    only: { type: 'string' },
    label: { type: 'string', default: 'this build' },
    write: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(`usage: node bench/stress-batches.mjs [options]
  --gateway PATH      the gateway's main.js (default apps/server/dist/main.js; build it first)
  --requests N        requests per batch (default 10000; Anthropic's limit is 100000)
  --store URL         store: (default a SQLite file in a temporary directory; redis://... works too)
  --concurrency N     batches.concurrency (default 32)
  --answer CHARS      characters of text in each answer (default 4000)
  --only REGEX        sections to run: run, results, live, kill (results needs run)
  --label TEXT        name of this run in RESULTS.md (default "this build")
  --write             put the figures in bench/RESULTS.md`);
  process.exit(0);
}

const COUNT = Number(opt.requests);
const KEY = 'stress-key';
const BATCHES = '/anthropic/v1/messages/batches';
const run = (name) => !opt.only || new RegExp(opt.only).test(name);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const { anthropicMessage, startFakeAnthropic } = await import(join(ROOT, 'packages/testkit/dist/index.js'));

const TEXT = 'All work and no play. '.repeat(Math.ceil(Number(opt.answer) / 22)).slice(0, Number(opt.answer));

async function main() {
  const work = mkdtempSync(join(tmpdir(), 'conduit-stress-batches-'));
  const upstream = await startFakeAnthropic({ record: false });
  upstream.setResponder((req) => ({ kind: 'json', body: anthropicMessage({ model: req.body?.model, text: `${req.body?.messages?.[0]?.content} ${TEXT}` }) }));
  const store = opt.store ?? `sqlite:${join(work, 'conduit.db')}`;
  const figures = [];
  const ran = [];
  const note = (section, what, value) => {
    figures.push({ section, what, value });
    console.log(`  ${what}: ${value}`);
  };
  const prefix = `stress-batches-${process.pid}`;
  const start = async (name) => {
    const port = await freePort();
    const config = {
      listen: { host: '127.0.0.1', port },
      log_level: 'warn',
      store,
      async: { lease_ms: 5000, redis_prefix: prefix },
      batches: { concurrency: Number(opt.concurrency), yield_above_in_flight: 8 },
      default_provider: 'anthropic',
      providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-stress' }], max_retries: 0 } },
    };
    const configPath = join(work, `${name}.json`);
    writeFileSync(configPath, JSON.stringify(config));
    const url = `http://127.0.0.1:${port}`;
    const node = await startNode(name, [resolve(opt.gateway), '--config', configPath], { cwd: work, probe: `${url}/health` });
    return { ...node, url };
  };

  let gateway = await start('conduit');
  try {
    let batchId;
    if (run('run')) {
      ran.push('run');
      batchId = await measureRun(gateway, note);
    }
    if (run('results') && batchId) {
      ran.push('results');
      await measureResults(gateway, batchId, note);
    }
    if (run('live')) {
      ran.push('live');
      await measureLive(gateway, note);
    }
    if (run('kill')) {
      ran.push('kill');
      gateway = await measureKill(gateway, start, upstream, note);
    }
  } catch (err) {
    note('error', 'failed', err.cause?.message ?? err.message);
  } finally {
    await gateway.stop();
    await upstream.close();
    rmSync(work, { recursive: true, force: true });
  }
  if (opt.write) writeResults(figures, ran);
}

/** `{"requests":[...]}` for `n` requests, each a short question. */
function batchBody(n, tag) {
  const requests = [];
  for (let i = 0; i < n; i++) {
    requests.push({ custom_id: `${tag}-${i}`, params: { model: 'anthropic/claude-stress', max_tokens: 256, messages: [{ role: 'user', content: `${tag} question ${i}` }] } });
  }
  return JSON.stringify({ requests });
}

async function http(url, method, path, body) {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...(body ? { 'content-type': 'application/json' } : {}) },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

async function waitEnded(url, id, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await http(url, 'GET', `${BATCHES}/${id}`);
    if (batch.processing_status === 'ended') return batch;
    if (Date.now() > deadline) throw new Error(`batch still ${batch.processing_status} after ${timeoutMs} ms: ${JSON.stringify(batch.request_counts)}`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------- run
async function measureRun(gateway, note) {
  const body = batchBody(COUNT, 'run');
  console.log(`\nrun: a batch of ${COUNT} requests (${(Buffer.byteLength(body) / 1048576).toFixed(1)} MB), answers of ${TEXT.length} characters`);
  await sleep(500);
  const before = rssMb(gateway.pid);
  const rss = watchRss(gateway.pid);
  const t0 = Date.now();
  const created = await http(gateway.url, 'POST', BATCHES, body);
  const uploaded = Date.now() - t0;
  const ended = await waitEnded(gateway.url, created.id);
  const total = Date.now() - t0;
  const { max } = rss.stop();
  note('run', 'create (upload, check and store every request)', `${uploaded} ms, ${(COUNT / (uploaded / 1000)).toFixed(0)} requests/s`);
  note('run', 'created → ended', `${(total / 1000).toFixed(1)} s, ${(COUNT / (total / 1000)).toFixed(0)} requests/s at batches.concurrency ${opt.concurrency}; counts ${JSON.stringify(ended.request_counts)}`);
  note('run', 'gateway RSS before / peak / after', `${before.toFixed(0)} / ${max.toFixed(0)} / ${rssMb(gateway.pid).toFixed(0)} MB`);
  return created.id;
}

// ---------------------------------------------------------------- results
async function measureResults(gateway, id, note) {
  console.log('\nresults: downloaded three times, as fast as the client reads');
  await sleep(1000);
  const before = rssMb(gateway.pid);
  const peaks = [];
  let last;
  for (let round = 0; round < 3; round++) {
    const rss = watchRss(gateway.pid, 50);
    last = await download(gateway.url, id);
    peaks.push(rss.stop().max);
  }
  const { lines, distinct, succeeded, bytes, ms } = last;
  note('results', 'downloaded', `${lines} lines (${distinct} distinct custom_ids, ${succeeded} succeeded), ${(bytes / 1048576).toFixed(0)} MB in ${ms} ms`);
  note(
    'results',
    'gateway RSS before / peak during each of three downloads / after',
    `${before.toFixed(0)} / ${peaks.map((p) => p.toFixed(0)).join(', ')} / ${rssMb(gateway.pid).toFixed(0)} MB (${(bytes / 1048576).toFixed(0)} MB of results each time)`,
  );
}

/** Reads every result line, checking each request is there once. */
async function download(url, id) {
  const t0 = Date.now();
  const seen = new Set();
  let bytes = 0;
  let lines = 0;
  let succeeded = 0;
  await new Promise((resolveDone, reject) => {
    request(`${url}${BATCHES}/${id}/results`, { headers: { 'x-api-key': KEY } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`results answered ${res.statusCode}`));
      let tail = '';
      res.on('data', (chunk) => {
        bytes += chunk.length;
        const parts = (tail + chunk.toString()).split('\n');
        tail = parts.pop();
        for (const line of parts) {
          const parsed = JSON.parse(line);
          lines++;
          seen.add(parsed.custom_id);
          if (parsed.result.type === 'succeeded') succeeded++;
        }
      });
      res.on('end', resolveDone);
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
  return { lines, distinct: seen.size, succeeded, bytes, ms: Date.now() - t0 };
}

// ---------------------------------------------------------------- live
async function measureLive(gateway, note) {
  console.log('\nlive: chat latency idle, then while a batch runs');
  const chat = async () => {
    const t = performance.now();
    await http(gateway.url, 'POST', '/anthropic/v1/messages', JSON.stringify({ model: 'anthropic/claude-live', max_tokens: 64, messages: [{ role: 'user', content: 'live' }] }));
    return performance.now() - t;
  };
  const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  const series = async (n) => {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await chat());
    return out;
  };
  // Sixteen clients at a time: above the gateway's yield threshold (8), so batch workers hold back.
  const load = async () => (await Promise.all(Array.from({ length: 16 }, () => series(40)))).flat();
  const idle = await load();
  const created = await http(gateway.url, 'POST', BATCHES, batchBody(COUNT, 'live'));
  const busy = await load();
  const progress = (await http(gateway.url, 'GET', `${BATCHES}/${created.id}`)).request_counts;
  await waitEnded(gateway.url, created.id);
  const fmt = (xs) => `p50 ${percentile(xs, 50).toFixed(1)} ms, p99 ${percentile(xs, 99).toFixed(1)} ms`;
  note('live', 'chat latency, 16 clients, idle', fmt(idle));
  note('live', `chat latency, 16 clients, with a ${COUNT}-request batch submitted`, `${fmt(busy)} (the batch had ${COUNT - progress.processing} of ${COUNT} done when they finished)`);
}

// ---------------------------------------------------------------- kill
async function measureKill(gateway, start, upstream, note) {
  console.log(`\nkill: SIGKILL a third of the way through a batch of ${COUNT}, then start again on the same store`);
  let calls = 0;
  upstream.setResponder((req) => {
    calls++;
    return { kind: 'json', body: anthropicMessage({ model: req.body?.model, text: `${req.body?.messages?.[0]?.content} ${TEXT}` }) };
  });
  const created = await http(gateway.url, 'POST', BATCHES, batchBody(COUNT, 'kill'));
  for (;;) {
    const batch = await http(gateway.url, 'GET', `${BATCHES}/${created.id}`);
    if (batch.request_counts.succeeded >= COUNT / 3) break;
    await sleep(50);
  }
  process.kill(gateway.pid, 'SIGKILL');
  await sleep(500);
  const t0 = Date.now();
  const second = await start('conduit-restarted');
  const ended = await waitEnded(second.url, created.id);
  const ms = Date.now() - t0;
  // Each request once in the results, succeeded, with its own answer.
  const seen = new Map();
  let bad = 0;
  await new Promise((resolveDone, reject) => {
    request(`${second.url}${BATCHES}/${created.id}/results`, { headers: { 'x-api-key': KEY } }, (res) => {
      let tail = '';
      res.on('data', (chunk) => {
        const parts = (tail + chunk.toString()).split('\n');
        tail = parts.pop();
        for (const line of parts) {
          const parsed = JSON.parse(line);
          seen.set(parsed.custom_id, (seen.get(parsed.custom_id) ?? 0) + 1);
          const i = parsed.custom_id.slice('kill-'.length);
          if (parsed.result.type !== 'succeeded' || !parsed.result.message.content[0].text.startsWith(`kill question ${i} `)) bad++;
        }
      });
      res.on('end', resolveDone);
    })
      .on('error', reject)
      .end();
  });
  const once = [...seen.values()].every((n) => n === 1);
  note('kill', 'after SIGKILL and restart', `ended in ${(ms / 1000).toFixed(1)} s with ${JSON.stringify(ended.request_counts)}`);
  note('kill', 'results', `${[...seen.values()].reduce((a, b) => a + b, 0)} lines, ${seen.size} distinct custom_ids, each once: ${once ? 'yes' : 'NO'}; not succeeded or not its own answer: ${bad}`);
  note('kill', 'upstream calls', `${calls} for ${COUNT} requests (${calls - COUNT} run again after the kill: at least once)`);
  return second;
}

function writeResults(figures, ran) {
  const { tables: found, write } = resultsSection('stress-batches');
  const tables = new Map([...found].map(([label, text]) => [label, caseTable(text)]));
  const table = tables.get(opt.label) ?? { rows: [], runs: [] };
  table.runs.push(runLine('stress-batches.mjs'));
  table.rows = [...table.rows.filter((r) => !ran.some((section) => r.startsWith(`| ${section} |`))), ...figures.map((f) => `| ${f.section} | ${f.what} | ${f.value} |`)];
  tables.set(opt.label, table);
  const order = ['run', 'results', 'live', 'kill', 'error'];
  const rank = (row) => order.findIndex((s) => row.startsWith(`| ${s} |`));
  write(
    `## Stress: message batches\n\nWritten by \`bench/stress-batches.mjs\` (see bench/README.md), not by the benchmark's run: batches of \`--requests\` requests (10,000 unless the command says otherwise) ` +
      `against the fake upstream (answers of ${TEXT.length} characters), store ${opt.store ? `\`${opt.store}\`` : 'a SQLite file'}, \`batches.concurrency\` ${opt.concurrency}, \`batches.yield_above_in_flight\` 8.\n` +
      [...tables]
        .map(([label, t]) => `\n### ${label}\n\n${t.runs.slice(-6).join('\n')}\n\n| case | measured | figure |\n|---|---|---|\n${[...t.rows].sort((a, b) => rank(a) - rank(b)).join('\n')}\n`)
        .join(''),
  );
  console.log('\nwrote bench/RESULTS.md (Stress: message batches)');
}

await main();
