#!/usr/bin/env node
// Stress: many open streams from a slow upstream. Not part of CI (it takes minutes and measures
// memory and CPU, which belong here rather than in tests). Prints its figures and, with --write, puts
// them in bench/RESULTS.md under "Stress: open streams" (one table per --label and provider).
//
// A slow fake upstream runs in this process: every streamed answer gets one text delta a second until
// the script tells it to finish. The clients run in a child process of their own (so their CPU is
// neither the gateway's nor the upstream's); the gateway runs as its own process
// (apps/server/dist/main.js, or --gateway), so its RSS, CPU and event loop are its own.
//
//   idle      after a warm-up: the gateway's RSS and CPU with nothing open
//   ramp      --streams streaming requests opened over --ramp seconds
//   soak      held open for --soak seconds: RSS, CPU, event-loop lag and /health latency every 5 s
//   end       the upstream finishes every answer; every client must have every delta, in order, and message_stop
import { fork } from 'node:child_process';
import { Agent, createServer, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuMs, freePort, rssMb, startNode } from './lib/procs.mjs';
import { probeHealth as probe, resultsSection, runLine } from './lib/results.mjs';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const SELF = new URL(import.meta.url).pathname;

const { values: opt } = parseArgs({
  options: {
    gateway: { type: 'string', default: 'apps/server/dist/main.js' },
    streams: { type: 'string', default: '2000' },
    soak: { type: 'string', default: '300' },
    ramp: { type: 'string', default: '20' },
    provider: { type: 'string', default: 'anthropic' },
    label: { type: 'string', default: 'this build' },
    'max-connections': { type: 'string' },
    'node-args': { type: 'string', default: '' },
    'alloc-profile': { type: 'boolean', default: false },
    write: { type: 'boolean', default: false },
    clients: { type: 'boolean', default: false }, // internal: run as the clients' child process
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.write && opt['alloc-profile']) {
  console.error('--alloc-profile slows the gateway while it samples: its figures are not for RESULTS.md (leave out --write)');
  process.exit(2);
}
if (opt.help) {
  console.log(`usage: node bench/stress-open-streams.mjs [options]
  --gateway PATH          the gateway's main.js (default apps/server/dist/main.js; build it first)
  --streams N             concurrent streams (default 2000)
  --soak S                seconds to hold them open once all are open (default 300)
  --ramp S                seconds over which they are opened (default 20)
  --provider NAME         anthropic (Anthropic→Anthropic, relayed) or openai (Anthropic→OpenAI, translated)
  --max-connections N     set the provider's max_connections in the gateway's config (default: leave it out)
  --node-args='ARGS'      extra node flags for the gateway, e.g. --node-args='--heapsnapshot-signal=SIGUSR2'
  --alloc-profile         after the soak, sample the gateway's allocations for 10 s (garbage included) and
                          print the bytes allocated per delta relayed by the top functions (not with --write)
  --label TEXT            name of this run in RESULTS.md (default "this build")
  --write                 put the figures in bench/RESULTS.md`);
  process.exit(0);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// ---------------------------------------------------------------- the slow upstream
/**
 * A node:http server that answers every streamed request with message_start, content_block_start
 * and a first delta at once, then one delta a second until `finish()`: then, at each stream's next
 * tick, the closing events. Delta k of a stream starts with "k " so the client can check the order.
 * Anthropic's framing on /v1/messages, OpenAI's on /v1/chat/completions.
 */
async function startSlowUpstream() {
  const streams = new Map(); // stream id → { sent, done }
  let ending = false;
  let deltas = 0;
  let connections = 0;
  let maxConnections = 0;
  let open = 0;
  const sockets = new Set();
  const server = createServer({ keepAlive: true, noDelay: true }, (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        body = {};
      }
      const openai = req.url.endsWith('/chat/completions');
      const id = /stream (\d+)/.exec(raw)?.[1];
      if (body.stream !== true || id === undefined) return quick(res, openai, body);
      relay(res, openai, body, Number(id));
    });
  });
  server.on('connection', (socket) => {
    connections++;
    sockets.add(socket);
    maxConnections = Math.max(maxConnections, sockets.size);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 65_000;

  function quick(res, openai, body) {
    // Warm-up requests: a short complete answer, streamed or not.
    if (openai) {
      const frames = [oaChunk({ role: 'assistant', content: '' }), oaChunk({ content: 'ok' }), oaChunk({}, 'stop')];
      if (body.stream_options?.include_usage) frames.push(oaUsage(1));
      frames.push('data: [DONE]\n\n');
      if (body.stream) return sse(res, frames.join(''));
      const json = JSON.stringify({
        id: 'chatcmpl-warm', object: 'chat.completion', created: 1, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 10, completion_tokens: 1, total_tokens: 11 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      return res.end(json);
    }
    if (body.stream) return sse(res, [...anStart(body.model), anDelta('ok'), ...anEnd(1)].join(''));
    const json = JSON.stringify({
      id: 'msg_warm', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
      stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 },
    });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  }

  function sse(res, text) {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(text);
  }

  function relay(res, openai, body, id) {
    const state = { sent: 0, done: false, aborted: false };
    streams.set(id, state);
    open++;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const delta = () => {
      const text = deltaText(state.sent);
      res.write(openai ? oaChunk({ content: text }) : anDelta(text));
      state.sent++;
      deltas++;
    };
    res.write(openai ? oaChunk({ role: 'assistant', content: '' }) : anStart(body.model).join(''));
    delta();
    const timer = setInterval(() => {
      if (res.destroyed) return;
      if (!ending) return delta();
      clearInterval(timer);
      if (openai) {
        const tail = [oaChunk({}, 'stop')];
        if (body.stream_options?.include_usage) tail.push(oaUsage(state.sent));
        tail.push('data: [DONE]\n\n');
        res.end(tail.join(''));
      } else res.end(anEnd(state.sent).join(''));
      state.done = true;
    }, 1000);
    res.on('close', () => {
      clearInterval(timer);
      open--;
      if (!state.done) state.aborted = true;
    });
  }

  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    streams,
    get deltas() {
      return deltas;
    },
    get open() {
      return open;
    },
    get connections() {
      return { total: connections, now: sockets.size, max: maxConnections };
    },
    finish() {
      ending = true;
    },
    close() {
      return new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    },
  };
}

/** Delta k's text: its number, then words to the length of a real delta (a few tokens, 20-30 characters). */
const deltaText = (k) => `${k} and so the answer goes on. `;
const ev = (event, data) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
function anStart(model) {
  return [
    ev('message_start', {
      type: 'message_start',
      message: { id: 'msg_slow', type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } },
    }),
    ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  ];
}
const anDelta = (text) => ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } });
function anEnd(outputTokens) {
  return [
    ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
    ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: outputTokens } }),
    ev('message_stop', { type: 'message_stop' }),
  ];
}
const oaChunk = (delta, finish = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1, model: 'gpt-slow', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const oaUsage = (n) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-slow', object: 'chat.completion.chunk', created: 1, model: 'gpt-slow', choices: [], usage: { prompt_tokens: 10, completion_tokens: n, total_tokens: 10 + n } })}\n\n`;

// ---------------------------------------------------------------- the clients (child process)
/**
 * Opens `streams` streaming requests over `rampMs`, reads each, and checks every text delta is the
 * next one ("0 ", "1 ", ...). Reports progress every second; on "report", the per-stream outcome.
 */
async function clientsChild() {
  const results = [];
  let opened = 0;
  let firstDelta = 0;
  let deltas = 0;
  let ended = 0;
  const firstDeltaMs = [];
  process.on('message', (msg) => {
    if (msg.cmd === 'start') start(msg);
    if (msg.cmd === 'report') {
      process.send({ type: 'results', results }, () => process.exit(0));
    }
  });
  const progress = setInterval(() => process.send({ type: 'progress', opened, firstDelta, deltas, ended }), 1000);
  progress.unref();

  function start({ url, streams, rampMs, model }) {
    const agent = new Agent({ keepAlive: false, maxSockets: streams + 16 });
    const { port } = new URL(url);
    for (let i = 0; i < streams; i++) {
      setTimeout(() => open(i), (i * rampMs) / streams);
    }
    function open(i) {
      const r = { id: i, status: null, deltas: 0, inOrder: true, stop: false, error: null, events: 0 };
      results.push(r);
      const started = performance.now();
      const body = JSON.stringify({ model, max_tokens: 4096, stream: true, messages: [{ role: 'user', content: `stream ${i}` }] });
      const req = request(
        { host: '127.0.0.1', port, path: '/anthropic/v1/messages', method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          r.status = res.statusCode;
          opened++;
          res.setEncoding('utf8');
          let buf = '';
          res.on('data', (text) => {
            buf += text;
            let cut;
            while ((cut = buf.indexOf('\n\n')) >= 0) {
              const frame = buf.slice(0, cut);
              buf = buf.slice(cut + 2);
              r.events++;
              const type = /^event: (.*)$/m.exec(frame)?.[1];
              if (type === 'content_block_delta') {
                const data = JSON.parse(frame.slice(frame.indexOf('data: ') + 6));
                if (data.delta?.type !== 'text_delta') continue;
                if (data.delta.text !== deltaText(r.deltas)) r.inOrder = false;
                if (r.deltas === 0) {
                  firstDelta++;
                  firstDeltaMs.push(performance.now() - started);
                }
                r.deltas++;
                deltas++;
              } else if (type === 'message_stop') r.stop = true;
              else if (type === 'error') r.error = frame.slice(frame.indexOf('data: ') + 6).slice(0, 400);
            }
          });
          res.on('end', () => ended++);
          res.on('error', (err) => (r.error ??= err.message));
        },
      );
      req.on('error', (err) => {
        r.error ??= err.message;
        ended++;
      });
      req.end(body);
    }
  }
  process.send({ type: 'ready' });
  await new Promise(() => undefined);
}

// ---------------------------------------------------------------- the run
async function main() {
  const STREAMS = Number(opt.streams);
  const SOAK_S = Number(opt.soak);
  const RAMP_S = Number(opt.ramp);
  const provider = opt.provider;
  if (!['anthropic', 'openai'].includes(provider)) throw new Error('--provider is anthropic or openai');
  const SAMPLE_MS = 5_000;

  const work = mkdtempSync(join(tmpdir(), 'conduit-open-streams-'));
  const upstream = await startSlowUpstream();
  const port = await freePort();
  const maxConn = opt['max-connections'] ? { max_connections: Number(opt['max-connections']) } : {};
  const config = {
    listen: { host: '127.0.0.1', port },
    log_level: 'info',
    store: 'sqlite::memory:',
    default_provider: 'anthropic',
    providers: {
      anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-stress' }], max_retries: 0, ...maxConn },
      openai: { type: 'openai', base_url: `${upstream.url}/v1`, keys: [{ value: 'sk-stress' }], max_retries: 0, ...maxConn },
    },
    pricing: {
      'anthropic/claude-slow': { input_per_mtok: 3, output_per_mtok: 15 },
      'openai/gpt-slow': { input_per_mtok: 2.5, output_per_mtok: 10 },
    },
  };
  const configPath = join(work, 'conduit.json');
  writeFileSync(configPath, JSON.stringify(config));
  const url = `http://127.0.0.1:${port}`;
  const allocOut = join(work, 'alloc-profile.json');
  const profiling = opt['alloc-profile'] ? ['-r', join(ROOT, 'bench/lib/alloc-profile.cjs')] : [];
  const gateway = await startNode('conduit', [...profiling, ...opt['node-args'].split(' ').filter(Boolean), resolve(opt.gateway), '--config', configPath], {
    cwd: work,
    probe: `${url}/health`,
    env: { CONDUIT_ALLOC_PROFILE_OUT: allocOut, CONDUIT_ALLOC_PROFILE_MS: String(ALLOC_PROFILE_MS) },
  });
  const pid = gateway.pid;
  console.log(`gateway: pid ${pid}, ${url}`);
  const model = provider === 'anthropic' ? 'anthropic/claude-slow' : 'openai/gpt-slow';
  const figures = [];
  const note = (what, value) => {
    figures.push({ what, value });
    console.log(`  ${what}: ${value}`);
  };
  const clients = fork(SELF, ['--clients'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let progress = { opened: 0, firstDelta: 0, deltas: 0, ended: 0 };
  let resultsFrom;
  const results = new Promise((r) => (resultsFrom = r));
  clients.on('message', (m) => {
    if (m.type === 'progress') progress = m;
    if (m.type === 'results') resultsFrom(m.results);
  });
  await new Promise((r) => clients.once('message', r));
  const health = new Agent({ keepAlive: true, maxSockets: 1 });
  const ok = { value: true };
  try {
    console.log(`open streams: ${STREAMS} × ${provider === 'anthropic' ? 'Anthropic→Anthropic' : 'Anthropic→OpenAI'}, one delta a second, opened over ${RAMP_S} s, held ${SOAK_S} s`);
    // Warm-up: the contract validator compiles on the first request; a few streams and answers of each kind.
    for (let i = 0; i < 40; i++) {
      await post(url, { model, max_tokens: 8, stream: i % 2 === 0, messages: [{ role: 'user', content: 'warm' }] });
    }
    await scrape(url); // resets the lag histogram
    await sleep(3_000);

    // ---- idle
    const idleCpu0 = cpuMs(pid);
    const idleAt0 = performance.now();
    const idleRss = [];
    for (let i = 0; i < 10; i++) {
      idleRss.push(rssMb(pid));
      await sleep(1000);
    }
    const idleCpuPerS = (cpuMs(pid) - idleCpu0) / ((performance.now() - idleAt0) / 1000); // ms per s
    const idleMetrics = await scrape(url);
    const idle = median(idleRss);
    note('gateway idle, after a warm-up', `RSS ${idle.toFixed(1)} MB (heap used ${mb(idleMetrics.heapUsed)}, external ${mb(idleMetrics.external)}); CPU ${(idleCpuPerS / 10).toFixed(2)}%`);

    // ---- ramp
    const rampStart = performance.now();
    clients.send({ cmd: 'start', url, streams: STREAMS, rampMs: RAMP_S * 1000, model });
    let peakRamp = 0;
    const rampDeadline = rampStart + RAMP_S * 1000 + 60_000;
    while (progress.firstDelta < STREAMS && performance.now() < rampDeadline) {
      await sleep(1000);
      peakRamp = Math.max(peakRamp, rssMb(pid));
    }
    const rampS = (performance.now() - rampStart) / 1000;
    const c = upstream.connections;
    note(
      'ramp',
      `${progress.firstDelta} of ${STREAMS} streams got their first delta within ${rampS.toFixed(0)} s; ${upstream.open} open at the upstream, over ${c.now} upstream connections (${c.total} opened in all)`,
    );
    if (progress.firstDelta < STREAMS) ok.value = false;
    await sleep(5_000); // settle

    // ---- soak
    console.log(`soak: ${SOAK_S} s, sampled every ${SAMPLE_MS / 1000} s`);
    await scrape(url);
    const samples = [];
    const healthMs = [];
    const soakStart = performance.now();
    let lastCpu = cpuMs(pid);
    let lastAt = performance.now();
    let lastDeltas = upstream.deltas;
    const soakCpu0 = lastCpu;
    const soakDeltas0 = lastDeltas;
    while (performance.now() - soakStart < SOAK_S * 1000) {
      const probes = [];
      for (let i = 0; i < SAMPLE_MS / 1000; i++) {
        const t = performance.now();
        probes.push(await probe(url, health));
        await sleep(Math.max(0, 1000 - (performance.now() - t)));
      }
      const now = performance.now();
      const cpu = cpuMs(pid);
      const d = upstream.deltas;
      const m = await scrape(url);
      const s = {
        t: (now - soakStart) / 1000,
        rss: rssMb(pid),
        cpuPct: ((cpu - lastCpu) / (now - lastAt)) * 100,
        cpuMs: cpu - lastCpu,
        ms: now - lastAt,
        deltas: d - lastDeltas,
        deltasPerS: ((d - lastDeltas) * 1000) / (now - lastAt),
        lagMax: m.lagMax,
        lagP99: m.lagP99,
        heapUsed: m.heapUsed,
        external: m.external,
        healthMax: Math.max(...probes),
        open: upstream.open,
      };
      healthMs.push(...probes);
      samples.push(s);
      lastCpu = cpu;
      lastAt = now;
      lastDeltas = d;
      console.log(
        `  t=${s.t.toFixed(0).padStart(4)} s  RSS ${s.rss.toFixed(1)} MB  heap ${mb(s.heapUsed)}  ext ${mb(s.external)}  CPU ${s.cpuPct.toFixed(1)}%  ${s.deltasPerS.toFixed(0)} deltas/s  lag max ${s.lagMax.toFixed(1)} ms  /health max ${fmtMs(s.healthMax)}  open ${s.open}`,
      );
    }
    const soakS = (lastAt - soakStart) / 1000;
    const soakCpuPerS = (lastCpu - soakCpu0) / soakS; // ms per s
    const soakDeltas = lastDeltas - soakDeltas0;

    const third = Math.max(1, Math.floor(samples.length / 3));
    const first = samples.slice(0, third);
    const last = samples.slice(-third);
    const med = (xs, k) => median(xs.map((x) => x[k]));
    const steady = med(first, 'rss');
    const perStreamKb = ((steady - idle) * 1024) / STREAMS;
    const heapPerKb = ((med(first, 'heapUsed') - idleMetrics.heapUsed) / 1024) / STREAMS;
    const extPerKb = ((med(first, 'external') - idleMetrics.external) / 1024) / STREAMS;
    note(
      `RSS per open stream (first third of the soak, less idle, ÷ ${STREAMS})`,
      `${perStreamKb.toFixed(1)} KB (${steady.toFixed(1)} − ${idle.toFixed(1)} MB; of which V8 heap used ${heapPerKb.toFixed(1)} KB, external ${extPerKb.toFixed(1)} KB); peak during the ramp ${peakRamp.toFixed(1)} MB; target ≤ 50 KB ${perStreamKb <= 50 ? '✅' : '❌'}`,
    );
    const busyCpuPerS = soakCpuPerS - idleCpuPerS;
    note(
      'CPU while they stream',
      `${(soakCpuPerS / 10).toFixed(1)}% of a core over the soak (idle ${(idleCpuPerS / 10).toFixed(2)}%): ${((busyCpuPerS * 1000) / STREAMS).toFixed(1)} µs of CPU per second per open stream; ${((lastCpu - soakCpu0) * 1000 / soakDeltas).toFixed(1)} µs per delta relayed (${(soakDeltas / soakS).toFixed(0)} deltas/s)`,
    );
    const rssFirst = med(first, 'rss');
    const rssLast = med(last, 'rss');
    const rssFlat = rssLast - rssFirst <= Math.max(0.1 * rssFirst, 5);
    note(
      `RSS over the soak (median of the first third → last third, ${third} samples each)`,
      `${rssFirst.toFixed(1)} → ${rssLast.toFixed(1)} MB (${sign(rssLast - rssFirst)} MB, ${sign(((rssLast - rssFirst) / rssFirst) * 100, 1)}%); min ${Math.min(...samples.map((s) => s.rss)).toFixed(1)}, max ${Math.max(...samples.map((s) => s.rss)).toFixed(1)} MB; heap used ${mb(med(first, 'heapUsed'))} → ${mb(med(last, 'heapUsed'))} ${rssFlat ? '✅ flat' : '❌ rising'}`,
    );
    // CPU is compared as totals over each third (CPU used ÷ time, and ÷ deltas relayed), not as a
    // median of 5 s samples: a major collection lands in one sample of several, so a median says more
    // about where the collections fell than about the work done.
    const total = (xs, k) => xs.reduce((sum, x) => sum + x[k], 0);
    const cpuShare = (xs) => (total(xs, 'cpuMs') / total(xs, 'ms')) * 100;
    const cpuPerDelta = (xs) => (total(xs, 'cpuMs') * 1000) / total(xs, 'deltas');
    const cpuFirst = cpuShare(first);
    const cpuLast = cpuShare(last);
    const perDeltaFirst = cpuPerDelta(first);
    const perDeltaLast = cpuPerDelta(last);
    const cpuFlat = perDeltaLast - perDeltaFirst <= 0.1 * perDeltaFirst;
    note(
      `CPU over the soak (all of the first third → all of the last third, ${third} samples each)`,
      `${cpuFirst.toFixed(1)}% → ${cpuLast.toFixed(1)}% of a core; ${perDeltaFirst.toFixed(1)} → ${perDeltaLast.toFixed(1)} µs per delta relayed (${sign(((perDeltaLast - perDeltaFirst) / perDeltaFirst) * 100, 1)}%; flat: ≤ +10%); per 5 s sample ${Math.min(...samples.map((s) => s.cpuPct)).toFixed(1)}–${Math.max(...samples.map((s) => s.cpuPct)).toFixed(1)}% ${cpuFlat ? '✅ flat' : '❌ rising'}`,
    );
    const sortedHealth = [...healthMs].sort((a, b) => a - b);
    const pct = (q) => fmtMs(sortedHealth[Math.min(sortedHealth.length - 1, Math.floor(sortedHealth.length * q))]);
    note(
      'event-loop lag and /health during the soak',
      `lag max per 5 s: median ${median(samples.map((s) => s.lagMax)).toFixed(1)} ms, worst ${Math.max(...samples.map((s) => s.lagMax)).toFixed(1)} ms; lag p99 median ${median(samples.map((s) => s.lagP99)).toFixed(1)} ms; /health p50 ${pct(0.5)}, p99 ${pct(0.99)}, max ${pct(1)} over ${sortedHealth.length} probes`,
    );

    if (opt['alloc-profile']) await allocationProfile(pid, allocOut, () => upstream.deltas);

    // ---- end
    const sentBeforeEnd = upstream.deltas;
    upstream.finish();
    const endDeadline = performance.now() + 30_000;
    while (progress.ended < STREAMS && performance.now() < endDeadline) await sleep(500);
    await sleep(1500);
    clients.send({ cmd: 'report' });
    const rs = await results;
    let complete = 0;
    const failures = { status: 0, missing: 0, order: 0, stop: 0, error: 0 };
    let example = '';
    for (const r of rs) {
      const up = upstream.streams.get(r.id);
      const bad =
        r.status !== 200 ? 'status' : !up || up.sent !== r.deltas ? 'missing' : !r.inOrder ? 'order' : !r.stop ? 'stop' : r.error ? 'error' : null;
      if (bad) {
        failures[bad]++;
        example ||= `stream ${r.id}: status ${r.status}, ${r.deltas} deltas of ${up?.sent ?? 0} sent, in order ${r.inOrder}, message_stop ${r.stop}${r.error ? `, error ${r.error}` : ''}`;
      } else complete++;
    }
    const failed = STREAMS - complete;
    if (failed) ok.value = false;
    note(
      'at the end',
      `${complete} of ${STREAMS} streams complete: every delta the upstream sent, in order, then message_stop (${sentBeforeEnd + (upstream.deltas - sentBeforeEnd)} deltas in all)` +
        (failed ? `; ${failed} failed (${Object.entries(failures).filter(([, n]) => n).map(([k, n]) => `${k} ${n}`).join(', ')}; e.g. ${example})` : ''),
    );
    await sleep(5_000);
    note('gateway RSS once they are closed', `${rssMb(pid).toFixed(1)} MB`);
  } finally {
    clients.kill();
    health.destroy();
    await gateway.stop();
    await upstream.close();
    rmSync(work, { recursive: true, force: true });
  }
  if (opt.write) writeResults(figures, STREAMS, provider);
  if (!ok.value) process.exitCode = 1;
}

const ALLOC_PROFILE_MS = 10_000;

/** Asks the gateway's preloaded sampler (lib/alloc-profile.cjs) for 10 s of allocations and prints them per delta relayed. */
async function allocationProfile(pid, file, deltas) {
  const d0 = deltas();
  process.kill(pid, 'SIGUSR2');
  let profile;
  for (let waited = 0; waited < ALLOC_PROFILE_MS + 30_000 && profile === undefined; waited += 500) {
    await sleep(500);
    try {
      profile = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      profile = undefined;
    }
  }
  if (profile === undefined || profile.error) throw new Error(`no allocation profile from the gateway: ${profile?.error ?? 'timed out'}`);
  const relayed = deltas() - d0;
  const perDelta = (bytes) => `${((bytes / relayed) | 0).toString().padStart(6)} B`;
  console.log(`allocations while streaming: ${(profile.total / 1048576).toFixed(1)} MB in ${profile.ms / 1000} s, ${perDelta(profile.total).trim()} per delta relayed (${relayed} deltas); top functions (self):`);
  for (const [site, bytes] of profile.sites.slice(0, 25)) console.log(`  ${perDelta(bytes)}  ${((100 * bytes) / profile.total).toFixed(1).padStart(5)}%  ${site}`);
}

const mb = (bytes) => `${(bytes / 1048576).toFixed(1)} MB`;
const fmtMs = (ms) => (ms === Infinity ? '> 2000 ms' : `${ms.toFixed(1)} ms`);
const sign = (x, digits = 1) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

async function post(url, body) {
  const res = await fetch(`${url}/anthropic/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'k' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`warm-up answered ${res.status}`);
}

/** The gateway's own figures from /metrics (process metrics are on in the CLI); the lag histogram resets on each scrape. */
async function scrape(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name) => {
    const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
  };
  return {
    lagMax: get('nodejs_eventloop_lag_max_seconds') * 1000,
    lagP99: get('nodejs_eventloop_lag_p99_seconds') * 1000,
    heapUsed: get('nodejs_heap_size_used_bytes'),
    external: get('nodejs_external_memory_bytes'),
  };
}


// ---------------------------------------------------------------- RESULTS.md

function writeResults(figures, streams, provider) {
  const { tables: found, write } = resultsSection('open-streams');
  // One table per label and provider; a run replaces its own table and keeps the others.
  const tables = new Map([...found].map(([heading, text]) => [heading, text.trim()]));
  const heading = `${opt.label} · ${provider === 'anthropic' ? 'Anthropic→Anthropic' : 'Anthropic→OpenAI'} · ${streams} streams`;
  tables.set(heading, `${runLine('stress-open-streams.mjs', /^[\w./=|-]+$/)}\n\n| measured | figure |\n|---|---|\n${figures.map((f) => `| ${f.what} | ${f.value} |`).join('\n')}`);
  write(
    `## Stress: open streams\n\nWritten by \`bench/stress-open-streams.mjs\` (see bench/README.md), not by the benchmark's run: ` +
      `streams from a slow upstream (one text delta a second each) held open through one gateway process, its limits at their defaults. ` +
      `Target: at most 50 KB of RSS per open stream, RSS and CPU flat over the soak.\n` +
      [...tables].map(([h, body]) => `\n### ${h}\n\n${body}\n`).join(''),
  );
  console.log('\nwrote bench/RESULTS.md (Stress: open streams)');
}

if (opt.clients) await clientsChild();
else await main();
