#!/usr/bin/env node
// Agent-shaped traffic: what Conduit costs per request when the requests are as large as a coding
// agent's (a Claude Code turn of about 100 KB; sessions of 100 KB, 300 KB and 1 MB), next to the
// fake upstream receiving the same body directly (a server that parses the JSON and answers: the
// calibration, measured in the same run) and the stack floor. Prints one table, the per-KB slopes
// and the target checks, and writes its own section of bench/RESULTS.md. See bench/README.md.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { claudeCodeRequest, conversationRequest } from './lib/agent-traffic.mjs';
import { peerInstalled, PEERS, startCcr, startPortkey } from './lib/peers.mjs';
import { ANTHROPIC_HEADERS, BENCH, build, checks, combineRounds, measureTarget, OPENAI_HEADERS, runRounds, startFloor, startStack } from './lib/harness.mjs';
import { freePort } from './lib/procs.mjs';
import { summarizeProfile } from './lib/profile.mjs';

const BEGIN = '<!-- agent-traffic:begin -->';
const END = '<!-- agent-traffic:end -->';

const { values: opt } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    'stream-chunks': { type: 'string', default: '50' },
    only: { type: 'string' },
    profile: { type: 'boolean', default: false },
    'parse-cache-mb': { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'no-peers': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  console.log(`usage: node bench/agent.mjs [options]
  --duration S        measured seconds per row and round (default 5)
  --rounds N          measure every row N times, the targets of a group taking turns; the table
                      shows medians (default 3)
  --warmup S          unmeasured seconds before each row's first round (default 10: Conduit and the
                      fakes take about that long to reach their steady cost on these bodies)
  --connections N     autocannon connections (default 16: the bodies are up to 1 MB each)
  --stream-chunks N   text deltas in each streamed answer (default 50)
  --only REGEX        only the groups whose id matches: cc-a2a-json, cc-a2a-stream, cc-a2o-json,
                      cc-a2o-stream, conv100-a2a-json, ..., conv1000-a2o-stream
  --profile           run Conduit under node --cpu-prof and print where each group's measured
                      time went
  --parse-cache-mb N  Conduit's limits.parse_cache_mb (0: every body parsed, validated and
                      translated whole, as the first turn of every session would be)
  --no-build          use the existing dist/ builds
  --no-write          do not rewrite the agent-traffic section of bench/RESULTS.md
  --no-peers          leave installed peers out (they are a bonus row on the Claude Code shape)`);
  process.exit(0);
}

const DURATION = Number(opt.duration);
const ROUNDS = Math.max(1, Number(opt.rounds));
const WARMUP = Number(opt.warmup);
const CONNECTIONS = Number(opt.connections);
const CHUNKS = Number(opt['stream-chunks']);
const command = `node bench/agent.mjs ${process.argv.slice(2).join(' ')}`.trim();

/** The issue's targets. */
const TARGETS = {
  nativeCpu: 1.5, // Claude Code shape, Anthropic→Anthropic: Conduit CPU/req ÷ the direct fake's
  translatedCpu: 2, // Claude Code shape, Anthropic→OpenAI
  slope: 1.5, // long conversations: Conduit's CPU per KB ÷ the direct fake's
  rss: 1.3, // Claude Code shape: Conduit's peak RSS ÷ the stack floor's
};
const CONV_KB = [100, 300, 1000];

// ---------------------------------------------------------------- request shapes

/**
 * The same request as an OpenAI chat body, for the direct Anthropic→OpenAI rows: the fake OpenAI
 * then parses a body of the same content and about the same size as the one Conduit sends it.
 * System blocks → one system message; tool_use → tool_calls; each tool_result → a tool message
 * (images in it move to the user message after); text and images → a user message; tools →
 * functions; metadata.user_id → `user` (hashed, as OpenAI takes 64 characters at most).
 */
function toOpenAIChat(body, model) {
  const textOf = (blocks) => blocks.filter((b) => b.type === 'text').map((b) => b.text).join('\n');
  const imagePart = (b) => ({ type: 'image_url', image_url: { url: `data:${b.source.media_type};base64,${b.source.data}` } });
  const messages = [];
  const system = typeof body.system === 'string' ? body.system : textOf(body.system ?? []);
  if (system) messages.push({ role: 'system', content: system });
  for (const m of body.messages) {
    if (typeof m.content === 'string') {
      messages.push({ role: m.role, content: m.content });
    } else if (m.role === 'assistant') {
      const calls = m.content
        .filter((b) => b.type === 'tool_use')
        .map((b) => ({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input) } }));
      messages.push({ role: 'assistant', content: textOf(m.content) || null, ...(calls.length ? { tool_calls: calls } : {}) });
    } else {
      const rest = [];
      for (const b of m.content) {
        if (b.type === 'tool_result') {
          const content = typeof b.content === 'string' ? b.content : textOf(b.content);
          messages.push({ role: 'tool', tool_call_id: b.tool_use_id, content });
          if (Array.isArray(b.content)) rest.push(...b.content.filter((c) => c.type === 'image').map(imagePart));
        } else if (b.type === 'text') rest.push({ type: 'text', text: b.text });
        else if (b.type === 'image') rest.push(imagePart(b));
      }
      if (rest.length) messages.push({ role: 'user', content: rest.every((p) => p.type === 'text') ? textOf(rest) : rest });
    }
  }
  return {
    model,
    messages,
    max_completion_tokens: body.max_tokens,
    stream: body.stream === true,
    ...(body.stream ? { stream_options: { include_usage: true } } : {}),
    ...(body.tools ? { tools: body.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } })) } : {}),
    ...(body.metadata?.user_id ? { user: createHash('sha256').update(body.metadata.user_id).digest('hex') } : {}),
  };
}

// ---------------------------------------------------------------- one row
async function measure(group, target, round) {
  const { row, result } = await measureTarget(group, target, round, { connections: CONNECTIONS, warmup: WARMUP, duration: DURATION });
  const { failed } = row;
  console.log(
    `  ${`${target.name}${ROUNDS > 1 ? ` #${round + 1}` : ''}`.padEnd(30)} ${row.rps.toFixed(0).padStart(6)} req/s  p50 ${row.p50} ms  p99 ${row.p99} ms` +
      `  cpu ${row.cpuPerReq === null ? '—' : `${row.cpuPerReq.toFixed(3)} ms/req (kernel ${row.sysPerReq.toFixed(3)})`}  rss ${row.rssMb.toFixed(0)} MB` +
      (failed ? `  FAILED ${failed} (non-2xx ${result.non2xx}, errors ${result.errors}, timeouts ${result.timeouts})` : ''),
  );
  return row;
}

/** Least squares y = a + b·x, and R². */
function fit(points) {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const b = sxy / sxx;
  const a = my - b * mx;
  const ssTot = points.reduce((s, p) => s + (p.y - my) ** 2, 0);
  const ssRes = points.reduce((s, p) => s + (p.y - (a + b * p.x)) ** 2, 0);
  return { a, b, r2: ssTot > 0 ? 1 - ssRes / ssTot : 1 };
}

// ---------------------------------------------------------------- analysis
const find = (rows, group, kind) => rows.find((r) => r.group === group && r.kind === kind && !r.error && r.cpuPerReq !== null);

/** Per direction and mode: CPU ms/req = a + b·KB over the three conversation sizes, for each kind of target measured at all three. */
function slopes(rows) {
  const out = [];
  for (const dir of ['a2a', 'a2o']) {
    for (const mode of ['json', 'stream']) {
      const series = {};
      for (const kind of ['direct', 'conduit', 'floor']) {
        const points = CONV_KB.map((kb) => {
          const conduit = find(rows, `conv${kb}-${dir}-${mode}`, 'conduit');
          const r = find(rows, `conv${kb}-${dir}-${mode}`, kind);
          // x: the size of the conversation as the client sends it (the Anthropic body), the same for every target.
          return r && conduit ? { x: conduit.bodyKb, y: r.cpuPerReq } : null;
        });
        if (points.every(Boolean)) series[kind] = { points, ...fit(points) };
      }
      if (series.direct || series.conduit) out.push({ id: `${dir}-${mode}`, dir, mode, ...series });
    }
  }
  return out;
}

function targetChecks(rows, fits) {
  const verdicts = [];
  const ratioCheck = (group, limit, what) => {
    const direct = find(rows, group, 'direct');
    const conduit = find(rows, group, 'conduit');
    if (!direct && !conduit && !rows.some((r) => r.group === group)) return;
    const ratio = direct && conduit ? conduit.cpuPerReq / direct.cpuPerReq : null;
    verdicts.push({
      pass: ratio === null ? null : ratio <= limit,
      text: `${what}: Conduit CPU/req ÷ direct ${ratio === null ? '—' : ratio.toFixed(2)} (target ≤ ${limit})`,
    });
  };
  ratioCheck('cc-a2a-json', TARGETS.nativeCpu, 'Claude Code shape, native (Anthropic→Anthropic), non-stream');
  ratioCheck('cc-a2a-stream', TARGETS.nativeCpu, 'Claude Code shape, native (Anthropic→Anthropic), stream');
  ratioCheck('cc-a2o-json', TARGETS.translatedCpu, 'Claude Code shape, translated (Anthropic→OpenAI), non-stream');
  ratioCheck('cc-a2o-stream', TARGETS.translatedCpu, 'Claude Code shape, translated (Anthropic→OpenAI), stream');
  for (const f of fits) {
    const ratio = f.direct && f.conduit ? f.conduit.b / f.direct.b : null;
    verdicts.push({
      pass: ratio === null ? null : ratio <= TARGETS.slope,
      text:
        `long conversations ${f.dir === 'a2a' ? 'Anthropic→Anthropic' : 'Anthropic→OpenAI'} ${f.mode === 'json' ? 'non-stream' : 'stream'}: ` +
        `Conduit slope ÷ direct slope ${ratio === null ? '—' : ratio.toFixed(2)} (target ≤ ${TARGETS.slope}; Conduit R² ${f.conduit ? f.conduit.r2.toFixed(3) : '—'})`,
    });
  }
  for (const group of ['cc-a2a-json', 'cc-a2a-stream']) {
    if (!rows.some((r) => r.group === group)) continue;
    const conduit = find(rows, group, 'conduit');
    const floor = find(rows, group, 'floor');
    const ratio = conduit && floor ? conduit.rssMb / floor.rssMb : null;
    verdicts.push({
      pass: ratio === null ? null : ratio <= TARGETS.rss,
      text:
        `Claude Code shape, ${group.endsWith('json') ? 'non-stream' : 'stream'}: Conduit peak RSS ÷ stack floor's ` +
        `${ratio === null ? '—' : `${ratio.toFixed(2)} (${conduit.rssMb.toFixed(0)} MB ÷ ${floor.rssMb.toFixed(0)} MB)`} (target ≤ ${TARGETS.rss})`,
    });
  }
  return verdicts;
}

// ---------------------------------------------------------------- output
const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));

function tableCells(groups, rows) {
  const header = ['scenario', 'target', 'body KB', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'of it kernel', 'RSS MB', 'CPU ÷ direct'];
  const body = [];
  for (const g of groups) {
    const direct = find(rows, g.id, 'direct');
    for (const r of rows.filter((x) => x.group === g.id)) {
      if (r.error) {
        body.push([g.id, r.name, '', `error: ${r.error.slice(0, 120)}`, '', '', '', '', '', '']);
        continue;
      }
      body.push([
        g.id,
        r.name + (r.failed ? ` (${r.failed} failed)` : ''),
        fmt(r.bodyKb, 1),
        fmt(r.rps),
        fmt(r.p50),
        fmt(r.p99),
        fmt(r.cpuPerReq, 3),
        fmt(r.sysPerReq, 3),
        fmt(r.rssMb),
        r.kind === 'direct' ? '1.00' : direct && r.cpuPerReq !== null ? (r.cpuPerReq / direct.cpuPerReq).toFixed(2) : '—',
      ]);
    }
  }
  return { header, body };
}

function slopeCells(fits) {
  const header = ['series', 'direct µs/KB', 'Conduit µs/KB', 'slope ÷ direct', 'Conduit R²', 'direct R²', 'direct a ms', 'Conduit a ms', 'floor µs/KB'];
  const body = fits.map((f) => [
    `conv-${f.id}`,
    fmt(f.direct && f.direct.b * 1000, 2),
    fmt(f.conduit && f.conduit.b * 1000, 2),
    f.direct && f.conduit ? (f.conduit.b / f.direct.b).toFixed(2) : '—',
    fmt(f.conduit?.r2, 3),
    fmt(f.direct?.r2, 3),
    fmt(f.direct?.a, 3),
    fmt(f.conduit?.a, 3),
    fmt(f.floor && f.floor.b * 1000, 2),
  ]);
  return { header, body };
}

function printCells({ header, body }) {
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const left = header[0] === 'scenario' ? 2 : 1;
  const line = (r) => r.map((c, i) => (i < left ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
}

function markdownCells({ header, body }, leftColumns) {
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < leftColumns ? '---' : '---:')).join('|')}|`];
  for (const r of body) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

function markdownSection({ env, groups, rows, fits, verdicts }) {
  const out = [
    BEGIN,
    '## Agent traffic (`agent.mjs`)',
    '',
    'Written by `bench/agent.mjs`; see "Agent traffic" in `bench/README.md`. *direct* is the fake upstream receiving the same',
    'request itself (its own CPU per request: parsing the body and answering), the calibration for this run.',
    '',
    '```',
    env.command,
    '```',
    '',
    `${env.date} · Node ${env.node} · ${env.connections} connections · ${env.warmup} s warm-up, then ${env.rounds} round(s) of ${env.duration} s per row ` +
      `(the targets of a group take turns; medians shown, RSS is the largest seen) · streams of ${env.chunks} text chunks · one log line per request (to /dev/null) · ` +
      `load average at the start ${env.loadavg}`,
    '',
    markdownCells(tableCells(groups, rows), 2),
    '',
    'Long conversations: CPU ms/req = a + b·KB, least squares over 100, 300 and 1000 KB (KB of the Anthropic body the client sends):',
    '',
    markdownCells(slopeCells(fits), 1),
    '',
    'Targets:',
    '',
    ...verdicts.map((v) => `- ${v.pass === null ? '?' : v.pass ? 'PASS' : 'MISS'}: ${v.text}`),
    '',
    'CPU ms/req of each round (the table shows the median):',
    '',
    ...rows.filter((r) => r.cpuRounds).map((r) => `- ${r.group} · ${r.name}: ${r.cpuRounds.map((v) => fmt(v, 3)).join(', ')}`),
    END,
  ];
  return out.join('\n');
}

function writeResults(section) {
  const file = join(BENCH, 'RESULTS.md');
  const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const at = old.indexOf(BEGIN);
  const end = at < 0 ? -1 : old.indexOf(END, at);
  const updated = at < 0 || end < 0 ? `${old.trimEnd()}\n\n${section}\n` : old.slice(0, at) + section + old.slice(end + END.length);
  writeFileSync(file, updated);
  console.log('\nwrote bench/RESULTS.md (Agent traffic)');
}

// ---------------------------------------------------------------- main
async function main() {
  if (!opt['no-build']) build();
  const usePeer = (name) => !opt['no-peers'] && peerInstalled(name);

  const work = mkdtempSync(join(tmpdir(), 'conduit-agent-bench-'));
  const procs = [];
  const stopAll = () => Promise.all(procs.map((p) => p.stop().catch(() => {})));
  process.on('SIGINT', () => {
    void stopAll().then(() => process.exit(130));
  });
  try {
    const profileDir = join(BENCH, 'profiles');
    const limits = opt['parse-cache-mb'] === undefined ? undefined : { parse_cache_mb: Number(opt['parse-cache-mb']) };
    const stack = await startStack({ work, chunks: CHUNKS, profileDir: opt.profile ? profileDir : undefined, limits });
    procs.push(...stack.procs);
    const { fakeA, fakeO, upA, upO, conduit, conduitUrl, conduitSpawnedAt } = stack;
    const floorGateway = await startFloor(upA);
    const floor = floorGateway.proc;
    procs.push(floor);
    const [ppk, pccr] = await Promise.all([freePort(), freePort()]);

    const portkey = usePeer('portkey') ? await startPortkey(ppk) : null;
    if (portkey) procs.push(portkey);
    const ccr = usePeer('ccr') ? await startCcr(pccr, upO, join(work, 'ccr-home')) : null;
    if (ccr) procs.push(ccr);

    // ------------------------------------------------------------ groups
    const shapes = [
      { id: 'cc', title: 'Claude Code turn', make: (model, stream) => claudeCodeRequest(model, { stream }) },
      ...CONV_KB.map((kb) => ({ id: `conv${kb}`, title: `conversation ${kb} KB`, make: (model, stream) => conversationRequest(model, kb, { stream }) })),
    ];
    const only = opt.only ? new RegExp(opt.only) : null;
    const groups = [];
    for (const shape of shapes) {
      for (const dir of ['a2a', 'a2o']) {
        for (const stream of [false, true]) {
          const id = `${shape.id}-${dir}-${stream ? 'stream' : 'json'}`;
          if (only && !only.test(id)) continue;
          const aCheck = stream ? checks.anthropicSse : checks.anthropicJson;
          const targets = [];
          if (dir === 'a2a') {
            const direct = JSON.stringify(shape.make('claude-sonnet-4-5', stream));
            const gateway = JSON.stringify(shape.make('anthropic/claude-sonnet-4-5', stream));
            targets.push(
              { name: 'direct (fake Anthropic)', kind: 'direct', proc: fakeA, url: `${upA}/v1/messages`, headers: ANTHROPIC_HEADERS, body: direct, check: aCheck },
              { name: 'Conduit', kind: 'conduit', proc: conduit, url: conduitUrl, headers: ANTHROPIC_HEADERS, body: gateway, check: aCheck },
              { name: 'stack floor (pass-through)', kind: 'floor', proc: floor, url: floorGateway.url, headers: ANTHROPIC_HEADERS, body: gateway, check: aCheck },
            );
            if (portkey && shape.id === 'cc') {
              targets.push({
                name: PEERS.portkey.label,
                kind: 'peer',
                proc: portkey,
                url: `http://127.0.0.1:${ppk}/v1/messages`,
                headers: { ...ANTHROPIC_HEADERS, 'x-portkey-provider': 'anthropic', 'x-portkey-custom-host': `${upA}/v1` },
                body: direct,
                check: aCheck,
              });
            }
          } else {
            const direct = JSON.stringify(toOpenAIChat(shape.make('gpt-4o-mini', stream), 'gpt-4o-mini'));
            targets.push(
              { name: 'direct (fake OpenAI)', kind: 'direct', proc: fakeO, url: `${upO}/v1/chat/completions`, headers: OPENAI_HEADERS, body: direct, check: stream ? checks.openaiSse : checks.openaiJson },
              { name: 'Conduit', kind: 'conduit', proc: conduit, url: conduitUrl, headers: ANTHROPIC_HEADERS, body: JSON.stringify(shape.make('openai/gpt-4o-mini', stream)), check: aCheck },
            );
            if (ccr && shape.id === 'cc') {
              targets.push({ name: PEERS.ccr.label, kind: 'peer', proc: ccr, url: `http://127.0.0.1:${pccr}/v1/messages`, headers: ANTHROPIC_HEADERS, body: JSON.stringify(shape.make('claude-sonnet-4-5', stream)), check: aCheck });
            }
          }
          groups.push({ id, title: `${shape.title}, ${dir === 'a2a' ? 'Anthropic→Anthropic' : 'Anthropic→OpenAI'}, ${stream ? `stream (${CHUNKS} chunks)` : 'non-stream'}`, targets });
        }
      }
    }
    if (!groups.length) throw new Error(`--only ${opt.only} matches no group`);

    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const rows = [];
    for (const group of groups) {
      console.log(`\n${group.id}: ${group.title}`);
      for (const runs of await runRounds(group, ROUNDS, measure)) rows.push(combineRounds(runs));
    }

    const fits = slopes(rows);
    const verdicts = targetChecks(rows, fits);
    const env = { command, duration: DURATION, rounds: ROUNDS, warmup: WARMUP, connections: CONNECTIONS, chunks: CHUNKS, date: new Date().toISOString(), node: process.version, loadavg };
    console.log('');
    printCells(tableCells(groups, rows));
    if (fits.length) {
      console.log('\nlong conversations: CPU ms/req = a + b·KB (least squares over 100, 300, 1000 KB)');
      printCells(slopeCells(fits));
    }
    console.log('');
    for (const v of verdicts) console.log(`${v.pass === null ? '  ?  ' : v.pass ? ' PASS' : ' MISS'}  ${v.text}`);
    if (!opt['no-write']) writeResults(markdownSection({ env, groups, rows, fits, verdicts }));

    await stopAll();
    if (opt.profile) {
      const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')).sort();
      if (files.length) {
        const file = join(profileDir, files.at(-1));
        console.log(`\nprofile ${file}`);
        // Each group's measured Conduit windows on their own: not start-up, not the warm-ups.
        const offsets = (r) => r.windows.map((w) => w.map((at) => at - conduitSpawnedAt));
        const measured = rows.filter((r) => r.kind === 'conduit' && r.windows);
        writeFileSync(`${file}.windows.json`, JSON.stringify(measured.flatMap(offsets)));
        for (const r of measured) {
          console.log(`\n=== ${r.group}: Conduit ${fmt(r.cpuPerReq, 3)} ms CPU per request (median); the shares below are of that ===`);
          console.log(summarizeProfile(file, 20, offsets(r)));
        }
      }
    }
  } finally {
    await stopAll();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
