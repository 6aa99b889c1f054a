#!/usr/bin/env node
// Conduit's benchmark: fake upstreams, Conduit and (when installed) the peer gateways, each driven
// by autocannon in one run; prints one table and writes bench/RESULTS.md. See bench/README.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { installPeers, peerInstalled, PEERS, startCcr, startPortkey } from './lib/peers.mjs';
import { ANTHROPIC_HEADERS, BENCH, build, checks, combineRounds, measureTarget, median, OPENAI_HEADERS, ROOT, runRounds, startFloor, startStack } from './lib/harness.mjs';
import { cpuMs, freePort, startNode, watchRss } from './lib/procs.mjs';
import { summarizeProfile } from './lib/profile.mjs';
import { markdownReport, printTable, targetChecks } from './lib/report.mjs';

/** The other scripts' sections (stress-slow-clients.mjs, stress-batches.mjs, dashboard.mjs, ...): each keeps its own. */
const STRESS_SECTIONS = /<!-- ([a-z-]+):begin -->[\s\S]*?<!-- \1:end -->/g;

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    'stream-chunks': { type: 'string', default: '50' },
    'with-peers': { type: 'boolean', default: false },
    'no-peers': { type: 'boolean', default: false },
    soak: { type: 'string', default: '0' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'no-keyed': { type: 'boolean', default: false },
    redis: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  console.log(`usage: node bench/run.mjs [options]
  --duration S        measured seconds per row and round (default 5)
  --rounds N          measure every row N times, the targets of a group taking turns; the table
                      shows medians (default 3)
  --warmup S          unmeasured seconds before each row (default 3)
  --connections N     autocannon connections (default 50)
  --stream-chunks N   text deltas in each streamed answer (default 50)
  --with-peers        install the peer gateways into bench/.peers first (npm), then bench them
  --no-peers          leave installed peers out
  --soak S            afterwards, drive Conduit S seconds more and report its RSS over time (default 0: no soak)
  --only REGEX        only the groups whose id matches (a2a-json, a2a-stream, a2o-json, a2o-stream)
  --profile           run Conduit under node --cpu-prof and print the hottest functions
  --no-build          use the existing dist/ builds
  --no-write          do not rewrite bench/RESULTS.md
  --no-keyed          leave out the keyed rows (Conduit with gateway auth, limits and the ledger)
  --redis URL         Redis for the keyed Redis row. Default: a redis-server of its own on a free
                      port (so its command count is the gateway's alone); without redis-server on
                      the PATH the row is left out`);
  process.exit(0);
}

const DURATION = Number(opt.duration);
const ROUNDS = Math.max(1, Number(opt.rounds));
const WARMUP = Number(opt.warmup);
const CONNECTIONS = Number(opt.connections);
const CHUNKS = Number(opt['stream-chunks']);
const SOAK = Number(opt.soak);
const command = `node bench/run.mjs ${process.argv.slice(2).join(' ')}`.trim();

// ---------------------------------------------------------------- request shapes
const PROMPT = 'Write one short sentence about rivers.';
const anthropicBody = (model, stream) => JSON.stringify({ model, max_tokens: 256, stream, messages: [{ role: 'user', content: PROMPT }] });
const openaiBody = (stream) =>
  JSON.stringify({
    model: 'gpt-4o-mini',
    max_completion_tokens: 256,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    messages: [{ role: 'user', content: PROMPT }],
  });
// The keyed rows: a Conduit key in a team, both with every kind of limit (set too high to refuse),
// so each request is authenticated, checked against rpm, tpm, concurrency and budget twice, and
// settled into the ledger.
const BENCH_KEY = 'sk-cdt-bench-key-00000000000000000000000000000';
const KEYED_HEADERS = { ...ANTHROPIC_HEADERS, 'x-api-key': BENCH_KEY };
const HIGH_LIMITS = { rpm: 100_000_000, tpm: 1_000_000_000_000, max_concurrent: 100_000, budget_usd: 1_000_000_000, budget_period: 'month' };
const BENCH_AUTH = {
  admin_key: 'sk-cdt-bench-admin-0000000000000000000000000000',
  teams: [{ name: 'bench-team', ...HIGH_LIMITS }],
  keys: [{ name: 'bench', value: BENCH_KEY, team: 'bench-team', ...HIGH_LIMITS }],
};

// ---------------------------------------------------------------- one row
async function measure(group, target, round) {
  const { row, result } = await measureTarget(group, target, round, {
    connections: CONNECTIONS,
    warmup: WARMUP,
    duration: DURATION,
    before: async (t) => ({ commands: t.redis ? await redisCommands(t.redis) : null, redisCpu: t.redisProc ? cpuMs(t.redisProc.pid) : 0 }),
    after: async (t, before, ok) => {
      const commands = t.redis ? await redisCommands(t.redis) : null;
      const redisCpu = t.redisProc ? cpuMs(t.redisProc.pid) : 0;
      return {
        // Script calls (round trips for admission and settlement) and commands in all, per answer; the INFO call itself is one command.
        redisPerReq: t.redis && ok > 0 ? (commands.scripts - before.commands.scripts) / ok : null,
        redisCommandsPerReq: t.redis && ok > 0 ? (commands.total - before.commands.total - 1) / ok : null,
        // The benchmark's own redis-server: its CPU per answer.
        redisCpuPerReq: t.redisProc && ok > 0 ? (redisCpu - before.redisCpu) / ok : null,
      };
    },
  });
  const { failed } = row;
  console.log(
    `  ${`${target.name}${ROUNDS > 1 ? ` #${round + 1}` : ''}`.padEnd(34)} ${row.rps.toFixed(0).padStart(7)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms` +
      (row.cpuPerReq !== null ? `  cpu ${row.cpuPerReq.toFixed(3)} ms/req  rss ${row.rssMb.toFixed(0)} MB` : '') +
      (row.redisPerReq !== null ? `  redis ${row.redisPerReq.toFixed(2)} scripts/req, ${row.redisCommandsPerReq.toFixed(1)} commands/req` : '') +
      (row.redisCpuPerReq !== null ? `, redis cpu ${row.redisCpuPerReq.toFixed(3)} ms/req` : '') +
      (failed ? `  FAILED ${failed}` : ''),
  );
  return row;
}

// ---------------------------------------------------------------- soak
async function soak(seconds, target) {
  console.log(`\nsoak: ${target.name}, ${seconds} s at ${CONNECTIONS} connections`);
  const rss = watchRss(target.proc.pid, 1000);
  const result = await autocannon({
    url: target.url,
    method: 'POST',
    headers: target.headers,
    body: target.body,
    connections: CONNECTIONS,
    duration: seconds,
  });
  const { samples } = rss.stop();
  const mb = samples.map((s) => s.mb);
  // RSS saw-tooths with V8's major GCs; a leak shows as the typical level rising. Compare the
  // median of the first third with the median of the last third.
  const third = Math.max(1, Math.floor(mb.length / 3));
  const out = {
    seconds,
    requests: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    firstThirdMb: median(mb.slice(0, third)),
    lastThirdMb: median(mb.slice(-third)),
    maxMb: Math.max(...mb),
    samplesMb: mb.map((v) => Math.round(v)),
  };
  console.log(
    `  ${out.requests} requests, RSS median first third ${out.firstThirdMb.toFixed(0)} MB, last third ${out.lastThirdMb.toFixed(0)} MB, max ${out.maxMb.toFixed(0)} MB`,
  );
  return out;
}

// ---------------------------------------------------------------- main
async function main() {
  if (!opt['no-build']) build();
  if (opt['with-peers']) installPeers();
  const usePeer = (name) => !opt['no-peers'] && peerInstalled(name);

  const work = mkdtempSync(join(tmpdir(), 'conduit-bench-'));
  const procs = [];
  let benchPrefix = null;
  let redisForCleanup = null;
  const stopAll = () => Promise.all(procs.map((p) => p.stop().catch(() => {})));
  process.on('SIGINT', () => {
    void stopAll().then(() => process.exit(130));
  });
  try {
    const profileDir = join(BENCH, 'profiles');
    const stack = await startStack({ work, chunks: CHUNKS, profileDir: opt.profile ? profileDir : undefined });
    procs.push(...stack.procs);
    const { fakeA, fakeO, upA, upO, conduit, conduitUrl, conduitSpawnedAt } = stack;
    const [ppk, pccr] = await Promise.all([freePort(), freePort()]);

    // Keyed Conduit: the same config with gateway auth, once with the embedded store and once with Redis.
    const keyed = [];
    if (!opt['no-keyed']) {
      const conduitConfig = stack.config;
      const startKeyed = async (name, store, extra = {}) => {
        const port = await freePort();
        const path = join(work, `${name}.json`);
        writeFileSync(path, JSON.stringify({ ...conduitConfig, listen: { host: '127.0.0.1', port }, store, auth: BENCH_AUTH, ...extra }, null, 2));
        const proc = await startNode(name, [join(ROOT, 'apps/server/dist/main.js'), '--config', path], { cwd: work, probe: `http://127.0.0.1:${port}/health` });
        procs.push(proc);
        return { proc, url: `http://127.0.0.1:${port}/anthropic/v1/messages` };
      };
      keyed.push({ name: 'Conduit keyed (embedded)', ...(await startKeyed('conduit-keyed', `sqlite:${join(work, 'keyed.db')}`)) });
      let redisUrl = opt.redis;
      let redisProc = null;
      if (!redisUrl) {
        redisProc = await startRedis(work);
        if (redisProc) {
          procs.push(redisProc);
          redisUrl = redisProc.url;
        }
      }
      if (redisUrl && (await redisAnswers(redisUrl))) {
        benchPrefix = `conduit-bench-${process.pid}-${Date.now()}`;
        redisForCleanup = redisUrl;
        keyed.push({
          name: 'Conduit keyed (Redis)',
          redis: redisUrl,
          redisProc,
          ...(await startKeyed('conduit-keyed-redis', redisUrl, { async: { redis_prefix: benchPrefix } })),
        });
      } else {
        console.log('no Redis (no redis-server on the PATH, or --redis does not answer): no keyed Redis row');
      }
    }
    const keyedTargets = (model, stream, check) =>
      keyed.map((k) => ({ name: k.name, kind: 'keyed', proc: k.proc, url: k.url, redis: k.redis, redisProc: k.redisProc, headers: KEYED_HEADERS, body: anthropicBody(model, stream), check }));

    const floorGateway = await startFloor(upA);
    const floor = floorGateway.proc;
    procs.push(floor);

    const portkey = usePeer('portkey') ? await startPortkey(ppk) : null;
    if (portkey) procs.push(portkey);
    const ccr = usePeer('ccr') ? await startCcr(pccr, upO, join(work, 'ccr-home')) : null;
    if (ccr) procs.push(ccr);

    const portkeyHeaders = (provider, host, auth) => ({ ...auth, 'x-portkey-provider': provider, 'x-portkey-custom-host': `${host}/v1` });
    const groups = [];
    for (const stream of [false, true]) {
      const suffix = stream ? 'stream' : 'json';
      const aCheck = stream ? checks.anthropicSse : checks.anthropicJson;
      const oCheck = stream ? checks.openaiSse : checks.openaiJson;
      groups.push({
        id: `a2a-${suffix}`,
        title: `Anthropic→Anthropic, ${stream ? `stream (${CHUNKS} chunks)` : 'non-stream'}`,
        targets: [
          { name: 'direct (fake Anthropic)', kind: 'direct', proc: fakeA, url: `${upA}/v1/messages`, headers: ANTHROPIC_HEADERS, body: anthropicBody('claude-sonnet-4-5', stream), check: aCheck },
          { name: 'Conduit', kind: 'conduit', proc: conduit, url: conduitUrl, headers: ANTHROPIC_HEADERS, body: anthropicBody('anthropic/claude-sonnet-4-5', stream), check: aCheck },
          ...keyedTargets('anthropic/claude-sonnet-4-5', stream, aCheck),
          // Express 5 + express-openapi-validator + undici, passing bytes through: what the stack costs before Conduit does anything.
          {
            name: 'stack floor (pass-through)',
            kind: 'floor',
            proc: floor,
            url: floorGateway.url,
            headers: ANTHROPIC_HEADERS,
            body: anthropicBody('anthropic/claude-sonnet-4-5', stream),
            check: aCheck,
          },
          portkey && {
            name: PEERS.portkey.label,
            kind: 'peer',
            proc: portkey,
            url: `http://127.0.0.1:${ppk}/v1/messages`,
            headers: portkeyHeaders('anthropic', upA, ANTHROPIC_HEADERS),
            body: anthropicBody('claude-sonnet-4-5', stream),
            check: aCheck,
          },
        ].filter(Boolean),
      });
      groups.push({
        id: `a2o-${suffix}`,
        title: `Anthropic→OpenAI, ${stream ? `stream (${CHUNKS} chunks)` : 'non-stream'}`,
        targets: [
          { name: 'direct (fake OpenAI)', kind: 'direct', proc: fakeO, url: `${upO}/v1/chat/completions`, headers: OPENAI_HEADERS, body: openaiBody(stream), check: oCheck },
          { name: 'Conduit', kind: 'conduit', proc: conduit, url: conduitUrl, headers: ANTHROPIC_HEADERS, body: anthropicBody('openai/gpt-4o-mini', stream), check: aCheck },
          ...keyedTargets('openai/gpt-4o-mini', stream, aCheck),
          ccr && {
            name: PEERS.ccr.label,
            kind: 'peer',
            proc: ccr,
            url: `http://127.0.0.1:${pccr}/v1/messages`,
            headers: ANTHROPIC_HEADERS,
            body: anthropicBody('claude-sonnet-4-5', stream),
            check: aCheck,
          },
          // Portkey cannot translate Anthropic→OpenAI; its OpenAI→OpenAI pass-through is the closest it gets.
          portkey && {
            name: `${PEERS.portkey.label} (OpenAI→OpenAI)`,
            kind: 'reference',
            proc: portkey,
            url: `http://127.0.0.1:${ppk}/v1/chat/completions`,
            headers: portkeyHeaders('openai', upO, OPENAI_HEADERS),
            body: openaiBody(stream),
            check: oCheck,
          },
        ].filter(Boolean),
      });
    }
    const only = opt.only ? new RegExp(opt.only) : null;
    const selected = groups.filter((g) => !only || only.test(g.id)).sort((a, b) => order(a.id) - order(b.id));

    const rows = [];
    for (const group of selected) {
      console.log(`\n${group.title}`);
      for (const runs of await runRounds(group, ROUNDS, measure)) rows.push(combineRounds(runs));
    }
    const soakResult =
      SOAK > 0
        ? await soak(SOAK, {
            name: 'Conduit Anthropic→OpenAI non-stream',
            proc: conduit,
            url: conduitUrl,
            headers: ANTHROPIC_HEADERS,
            body: anthropicBody('openai/gpt-4o-mini', false),
          })
        : null;

    const env = { command, duration: DURATION, rounds: ROUNDS, warmup: WARMUP, connections: CONNECTIONS, chunks: CHUNKS, date: new Date().toISOString(), node: process.version };
    console.log('');
    printTable(selected, rows);
    const verdicts = targetChecks(rows, soakResult, CHUNKS);
    for (const v of verdicts) console.log(`${v.pass === null ? '  ?  ' : v.pass ? ' PASS' : ' MISS'}  ${v.text}`);
    if (!opt['no-write']) {
      // The stress scripts' sections are their own: keep them.
      const resultsPath = join(BENCH, 'RESULTS.md');
      const stress = existsSync(resultsPath) ? [...readFileSync(resultsPath, 'utf8').matchAll(STRESS_SECTIONS)].map((m) => `\n${m[0]}\n`).join('') : '';
      writeFileSync(resultsPath, markdownReport({ env, groups: selected, rows, verdicts, soak: soakResult }) + stress);
      console.log('\nwrote bench/RESULTS.md');
    }
    await stopAll();
    if (opt.profile) {
      const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort();
      if (files.length) {
        const file = join(profileDir, files.at(-1));
        console.log(`\nprofile ${file}`);
        // Only the measured Conduit rows: not start-up, not the validator's compile on first use.
        const windows = rows.filter((r) => r.kind === 'conduit' && r.windows).flatMap((r) => r.windows.map((w) => w.map((at) => at - conduitSpawnedAt)));
        writeFileSync(`${file}.windows.json`, JSON.stringify(windows));
        console.log(summarizeProfile(file, 30, windows));
      }
    }
  } finally {
    for (const c of infoClients.values()) c.disconnect();
    await stopAll();
    rmSync(work, { recursive: true, force: true });
    if (benchPrefix && opt.redis) await deleteRedisPrefix(redisForCleanup, benchPrefix);
  }
}

/** A redis-server of the benchmark's own (no persistence), or null when there is none to run. */
async function startRedis(dir) {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) return null;
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await redisAnswers(url)); i++) await new Promise((r) => setTimeout(r, 100));
  return {
    name: 'redis',
    pid: child.pid,
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await done;
    },
  };
}

async function redisAnswers(url) {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/**
 * What Redis has done since it started, read on one connection kept for it: script calls (each one
 * round trip from the gateway) and commands in all (those inside scripts included).
 */
const infoClients = new Map();
async function redisCommands(url) {
  let redis = infoClients.get(url);
  if (!redis) {
    redis = new Redis(url, { maxRetriesPerRequest: 1, enableReadyCheck: false });
    redis.on('error', () => {});
    infoClients.set(url, redis);
  }
  const info = await redis.info('commandstats');
  const calls = (name) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
  let total = 0;
  for (const m of info.matchAll(/cmdstat_[a-z|]+:calls=(\d+)/g)) total += Number(m[1]);
  return { scripts: calls('evalsha') + calls('eval'), total };
}

async function deleteRedisPrefix(url, prefix) {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

function order(id) {
  return ['a2a-json', 'a2a-stream', 'a2o-json', 'a2o-stream'].indexOf(id);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
