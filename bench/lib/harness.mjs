// What bench/run.mjs and bench/agent.mjs share: the build, the fake upstreams and Conduit started the
// same way, what a correct answer looks like, and rounds that interleave a group's targets.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { ID } from './agent-traffic.mjs';
import { cpuSplitMs, freePort, startNode, watchRss } from './procs.mjs';

export const ROOT = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');
export const BENCH = join(ROOT, 'bench');

export const ANTHROPIC_HEADERS = { 'content-type': 'application/json', 'x-api-key': 'sk-bench', 'anthropic-version': '2023-06-01' };
export const OPENAI_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench' };

/** Builds the testkit and the server; benchmarks what tsc emitted even when it reported type errors. */
export function build() {
  console.log('building @conduit/testkit and @conduit/server ...');
  const r = spawnSync('pnpm', ['--filter', '@conduit/testkit', '--filter', '@conduit/server', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status === 0) return;
  // tsc emits despite type errors (often in a file someone is still writing); bench what it emitted.
  if (!existsSync(join(ROOT, 'apps/server/dist/main.js')) || !existsSync(join(ROOT, 'packages/testkit/dist/cli.js'))) throw new Error('build failed');
  console.warn('\nWARNING: the build reported type errors (above); benchmarking the JavaScript tsc emitted anyway.\n');
}

/** What a correct answer looks like: a fast error must never pass for throughput. */
export const checks = {
  anthropicJson: (text) => {
    const m = JSON.parse(text);
    if (m.type !== 'message' || !m.content?.some((b) => b.type === 'text' && b.text)) throw new Error(`not a Message: ${text.slice(0, 200)}`);
  },
  anthropicSse: (text) => {
    const deltas = text.split('event: content_block_delta').length - 1;
    if (!text.includes('event: message_stop') || deltas < 1) throw new Error(`not a complete Anthropic stream: ${text.slice(0, 200)}`);
    return deltas;
  },
  openaiJson: (text) => {
    const c = JSON.parse(text);
    if (!c.choices?.[0]?.message?.content) throw new Error(`not a chat completion: ${text.slice(0, 200)}`);
  },
  openaiSse: (text) => {
    if (!text.includes('data: [DONE]') || !text.includes('"content":"')) throw new Error(`not a complete OpenAI stream: ${text.slice(0, 200)}`);
    return text.split('"content":"').length - 1;
  },
};

/**
 * The fake Anthropic and OpenAI upstreams (testkit CLI, streams of `chunks` deltas) and one Conduit
 * in front of both (log_level info, one line per request to /dev/null; pricing set so cost is
 * computed), each a process of its own on 127.0.0.1. `profileDir`: run Conduit under --cpu-prof;
 * `limits`: Conduit's `limits` section.
 */
export async function startStack({ work, chunks, profileDir, limits }) {
  const procs = [];
  const testkitCli = join(ROOT, 'packages/testkit/dist/cli.js');
  const [pa, po, pc] = await Promise.all([freePort(), freePort(), freePort()]);
  const fakeArgs = (kind, port) => [testkitCli, kind, '--port', String(port), '--stream-chunks', String(chunks)];
  const fakeA = await startNode('fake-anthropic', fakeArgs('anthropic', pa), { cwd: ROOT, probe: `http://127.0.0.1:${pa}/v1/models` });
  procs.push(fakeA);
  const fakeO = await startNode('fake-openai', fakeArgs('openai', po), { cwd: ROOT, probe: `http://127.0.0.1:${po}/v1/models` });
  procs.push(fakeO);
  const upA = `http://127.0.0.1:${pa}`;
  const upO = `http://127.0.0.1:${po}`;
  const config = {
    listen: { host: '127.0.0.1', port: pc },
    log_level: 'info',
    default_provider: 'anthropic',
    pricing: {
      'anthropic/claude-sonnet-4-5': { input_per_mtok: 3, output_per_mtok: 15 },
      'openai/gpt-4o-mini': { input_per_mtok: 0.15, output_per_mtok: 0.6 },
    },
    providers: {
      anthropic: { type: 'anthropic', base_url: upA, keys: [{ value: 'sk-bench' }] },
      openai: { type: 'openai', base_url: `${upO}/v1`, keys: [{ value: 'sk-bench' }] },
    },
    ...(limits ? { limits } : {}),
  };
  const configPath = join(work, 'conduit.json');
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const conduitArgs = [join(ROOT, 'apps/server/dist/main.js'), '--config', configPath];
  if (profileDir) {
    mkdirSync(profileDir, { recursive: true });
    conduitArgs.unshift('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  }
  const conduitSpawnedAt = Date.now();
  const conduit = await startNode('conduit', conduitArgs, { cwd: work, probe: `http://127.0.0.1:${pc}/health` });
  procs.push(conduit);
  return { procs, fakeA, fakeO, upA, upO, conduit, conduitUrl: `http://127.0.0.1:${pc}/anthropic/v1/messages`, config, configPath, conduitSpawnedAt };
}

/** The stack floor (bench/lib/floor.mjs) in front of `upstream`. */
export async function startFloor(upstream) {
  const port = await freePort();
  const proc = await startNode('stack floor', [join(BENCH, 'lib/floor.mjs'), '--port', String(port), '--upstream', upstream], {
    cwd: ROOT,
    probe: `http://127.0.0.1:${port}/health`,
  });
  return { proc, url: `http://127.0.0.1:${port}/anthropic/v1/messages` };
}

/**
 * Measures every target of `group` `rounds` times. Rounds interleave the targets, so a slow spell of
 * the shared machine hits them alike, and each round starts one target later: a row's place in the
 * round (right after the direct one, when the machine is busiest) moved its CPU figure by up to
 * 0.1 ms. A target that failed once is not measured again. Returns each target's rows.
 */
export async function runRounds(group, rounds, measure) {
  const runs = new Map(group.targets.map((t) => [t, []]));
  for (let round = 0; round < rounds; round++) {
    const order = group.targets.map((_, i) => group.targets[(i + round) % group.targets.length]);
    for (const target of order) {
      const mine = runs.get(target);
      if (mine.some((r) => r.error)) continue;
      try {
        mine.push(await measure(group, target, round));
      } catch (err) {
        console.log(`  ${target.name}: ${err.message}`);
        mine.push({ group: group.id, name: target.name, kind: target.kind, error: err.message.split('\n')[0] });
      }
    }
  }
  return group.targets.map((t) => runs.get(t));
}

/** One row from a target's rounds: medians of the rates and times, the largest RSS, every round's CPU. */
export function combineRounds(runs) {
  const failedRun = runs.find((r) => r.error);
  if (failedRun) return failedRun;
  const pick = (key) => median(runs.map((r) => r[key]).filter((v) => v !== null && v !== undefined));
  const first = runs[0];
  const optional = (key) => (first[key] === null || first[key] === undefined ? first[key] : pick(key));
  return {
    ...first,
    rps: pick('rps'),
    p50: pick('p50'),
    p99: pick('p99'),
    cpuPerReq: optional('cpuPerReq'),
    sysPerReq: optional('sysPerReq'),
    cpuRounds: first.cpuPerReq === null ? [] : runs.map((r) => r.cpuPerReq),
    redisPerReq: optional('redisPerReq'),
    redisCommandsPerReq: optional('redisCommandsPerReq'),
    redisCpuPerReq: optional('redisCpuPerReq'),
    rssMb: first.rssMb === null ? null : Math.max(...runs.map((r) => r.rssMb)),
    requests: runs.reduce((n, r) => n + r.requests, 0),
    failed: runs.reduce((n, r) => n + r.failed, 0),
    windows: runs.map((r) => r.window),
  };
}

export function median(values) {
  if (!values.length) return null;
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

/** A number of each request's own, for bodies that hold ID (bench/lib/agent-traffic.mjs): never the same twice in a run. */
let requestNumber = 0;

/**
 * For a body holding ID: autocannon options that send it with the next request number written into
 * every ID (same width, so the length stays; autocannon's own idReplacement miscounts the length).
 */
function numberedRequests(body) {
  const bytes = Buffer.from(body);
  const at = [];
  for (let i = bytes.indexOf(ID); i !== -1; i = bytes.indexOf(ID, i + 1)) at.push(i + ID.indexOf('0'));
  if (at.length === 0) return {};
  const digits = ID.split('0').length - 1;
  return {
    requests: [
      {
        setupRequest: (req) => {
          const n = String(requestNumber++).padStart(digits, '0');
          for (const i of at) bytes.write(n, i, 'latin1');
          return { ...req, body: bytes };
        },
      },
    ],
  };
}

/**
 * One measured row: the target's first answer checked (a fast error never counts as throughput), a
 * warm-up in the first round, then `duration` seconds of autocannon while the target's CPU time and
 * RSS are read from /proc. `before` / `after` read more around the measured window (after returns
 * fields for the row). Returns the row and autocannon's result.
 */
export async function measureTarget(group, target, round, { connections, warmup, duration, before, after }) {
  const { url, headers, body, check } = target;
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${group.id} ${target.name}: HTTP ${res.status}: ${text.slice(0, 400)}`);
  check(text);

  const opts = { url, method: 'POST', headers, body, connections, pipelining: 1, ...numberedRequests(body) };
  // Later rounds find the target warm already.
  if (warmup > 0 && round === 0) await autocannon({ ...opts, duration: warmup });
  await new Promise((r) => setTimeout(r, 300));

  const pid = target.proc?.pid;
  const rss = pid ? watchRss(pid) : null;
  const state = before ? await before(target) : undefined;
  const cpuBefore = pid ? cpuSplitMs(pid) : null;
  const startedAt = Date.now();
  const result = await autocannon({ ...opts, duration });
  const endedAt = Date.now();
  const cpuAfter = pid ? cpuSplitMs(pid) : null;
  const rssSeen = rss?.stop();
  const ok = result['2xx'];
  const row = {
    group: group.id,
    name: target.name,
    kind: target.kind,
    bodyKb: Buffer.byteLength(body) / 1024,
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerReq: pid && ok > 0 ? (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / ok : null,
    // The kernel's part of it: a change in how the bytes move (more, smaller reads and writes; page faults) shows here.
    sysPerReq: pid && ok > 0 ? (cpuAfter.system - cpuBefore.system) / ok : null,
    rssMb: rssSeen ? rssSeen.max : null,
    requests: ok,
    failed: result.non2xx + result.errors + result.timeouts,
    window: [startedAt, endedAt],
    ...(after ? await after(target, state, ok) : {}),
  };
  return { row, result };
}
