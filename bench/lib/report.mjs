// The benchmark table (terminal and markdown) and the verdicts on the performance targets.

export const TARGETS = {
  jsonCpuMs: 0.25, // Anthropic→OpenAI non-stream, gateway CPU per request
  streamCpuMs: 0.3, // 50-chunk streams, gateway CPU per request
  peerRatio: 3, // Conduit req/s over each peer's, Anthropic→OpenAI non-stream
  rssMb: 120, // under load
  soakGrowthMb: 10, // "flat": the last third's median RSS at most this above the first third's
  keyedCpuMs: 0.03, // gateway auth + limits + ledger (embedded store), CPU per request over the unkeyed row
};

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
}

const fmt = (v, digits = 0) => (v === null || v === undefined || Number.isNaN(v) ? '—' : v.toFixed(digits));
const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}×` : '—');

/** Rows of cells, the same for the terminal and for markdown. */
function cells(groups, rows) {
  const header = ['scenario', 'target', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'RSS MB', 'req/s ÷ direct', 'Conduit req/s ×', 'Conduit CPU ÷'];
  const body = [];
  for (const g of groups) {
    const mine = rows.filter((r) => r.group === g.id);
    const direct = mine.find((r) => r.kind === 'direct' && !r.error);
    const conduit = mine.find((r) => r.kind === 'conduit' && !r.error);
    for (const r of mine) {
      if (r.error) {
        body.push([g.title, r.name, `error: ${r.error.slice(0, 80)}`, '', '', '', '', '', '', '']);
        continue;
      }
      const other = r.kind === 'peer' || r.kind === 'reference';
      body.push([
        g.title,
        r.name + (r.failed ? ` (${r.failed} failed)` : ''),
        fmt(r.rps),
        fmt(r.p50),
        fmt(r.p99),
        fmt(r.cpuPerReq, 3),
        fmt(r.rssMb),
        r.kind === 'direct' ? '1.00×' : ratio(r.rps, direct?.rps),
        other ? ratio(conduit?.rps, r.rps) : '',
        other && conduit?.cpuPerReq && r.cpuPerReq ? `${(conduit.cpuPerReq / r.cpuPerReq).toFixed(2)}` : '',
      ]);
    }
  }
  return { header, body };
}

export function printTable(groups, rows) {
  const { header, body } = cells(groups, rows);
  const all = [header, ...body];
  const widths = header.map((_, i) => Math.max(...all.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i < 2 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
}

export function targetChecks(rows, soak, chunks = 0) {
  const find = (group, kind) => rows.filter((r) => r.group === group && r.kind === kind && !r.error);
  const out = [];
  for (const g of ['a2a-json', 'a2a-stream', 'a2o-json', 'a2o-stream']) {
    const [c] = find(g, 'conduit');
    const [d] = find(g, 'direct');
    if (c && d && d.cpuPerReq) {
      out.push({
        pass: null,
        text: `(calibration) ${g}: Conduit spends ${(c.cpuPerReq / d.cpuPerReq).toFixed(1)}× the CPU per request of the fake upstream itself (${d.cpuPerReq.toFixed(3)} ms, a plain node:http server) on this machine`,
      });
    }
  }
  for (const g of ['a2a-json', 'a2a-stream']) {
    const [c] = find(g, 'conduit');
    const [f] = find(g, 'floor');
    if (c && f && f.cpuPerReq) {
      out.push({
        pass: null,
        text: `(stack floor) ${g}: Express 5 + express-openapi-validator + undici passing bytes through cost ${f.cpuPerReq.toFixed(3)} ms CPU/request and ${f.rssMb.toFixed(0)} MB RSS; Conduit spends ${(c.cpuPerReq - f.cpuPerReq).toFixed(3)} ms more (${(c.cpuPerReq / f.cpuPerReq).toFixed(2)}× the floor)`,
      });
    }
  }
  const [a2oJson] = find('a2o-json', 'conduit');
  if (a2oJson) {
    out.push({
      pass: a2oJson.cpuPerReq <= TARGETS.jsonCpuMs,
      text: `Anthropic→OpenAI non-stream: ${a2oJson.cpuPerReq.toFixed(3)} ms CPU/request (target ≤ ${TARGETS.jsonCpuMs}; ${(a2oJson.cpuPerReq / TARGETS.jsonCpuMs).toFixed(2)}× the budget)`,
    });
    for (const peer of find('a2o-json', 'peer')) {
      const x = a2oJson.rps / peer.rps;
      out.push({ pass: x >= TARGETS.peerRatio, text: `Anthropic→OpenAI non-stream: ${x.toFixed(2)}× the req/s of ${peer.name} (target ≥ ${TARGETS.peerRatio}×)` });
    }
    for (const ref of find('a2o-json', 'reference')) {
      out.push({ pass: null, text: `(reference) ${(a2oJson.rps / ref.rps).toFixed(2)}× the req/s of ${ref.name}, which does no translation` });
    }
  } else {
    out.push({ pass: null, text: 'Anthropic→OpenAI non-stream: not measured' });
  }
  for (const g of ['a2a-stream', 'a2o-stream']) {
    const [c] = find(g, 'conduit');
    if (c) {
      out.push({
        pass: c.cpuPerReq <= TARGETS.streamCpuMs,
        text: `${g}: ${c.cpuPerReq.toFixed(3)} ms CPU/request (target ≤ ${TARGETS.streamCpuMs}; ${(c.cpuPerReq / TARGETS.streamCpuMs).toFixed(2)}× the budget)`,
      });
      // Where a stream's cost goes: the same request without streaming, plus a cost per chunk.
      const [json] = find(g.replace('stream', 'json'), 'conduit');
      if (json && chunks > 0) {
        const perChunkUs = ((c.cpuPerReq - json.cpuPerReq) / chunks) * 1000;
        out.push({
          pass: null,
          text: `(why) ${g}: the same request without streaming costs ${json.cpuPerReq.toFixed(3)} ms; each of the ${chunks} chunks adds ${perChunkUs.toFixed(1)} µs`,
        });
      }
    }
  }
  // Keyed rows: what gateway auth, limits and the ledger add, against the unkeyed Conduit of the
  // same group. The rounds interleave, so each round's difference is taken and the median shown.
  for (const g of ['a2a-json', 'a2a-stream', 'a2o-json', 'a2o-stream']) {
    const [c] = find(g, 'conduit');
    if (!c) continue;
    for (const k of find(g, 'keyed')) {
      const paired = k.cpuRounds.map((v, i) => v - c.cpuRounds[i]).filter((v) => Number.isFinite(v));
      const delta = paired.length ? median(paired) : k.cpuPerReq - c.cpuPerReq;
      const redis = k.redisPerReq !== null && k.redisPerReq !== undefined;
      out.push({
        pass: redis ? null : delta <= TARGETS.keyedCpuMs,
        text:
          `(keyed) ${g}, ${k.name}: ${k.cpuPerReq.toFixed(3)} ms CPU/request, ${delta >= 0 ? '+' : ''}${delta.toFixed(3)} ms over unkeyed Conduit ` +
          `(${(k.cpuPerReq / c.cpuPerReq).toFixed(2)}× its CPU, ${(k.rps / c.rps).toFixed(2)}× its req/s; rounds ${paired.map((v) => v.toFixed(3)).join(', ')})` +
          (redis
            ? `; ${k.redisPerReq.toFixed(2)} Redis script calls (round trips) per request, ${k.redisCommandsPerReq.toFixed(1)} Redis commands in all` +
              (k.redisCpuPerReq !== null && k.redisCpuPerReq !== undefined ? `, Redis CPU ${k.redisCpuPerReq.toFixed(3)} ms per request` : '')
            : `; target ≤ +${TARGETS.keyedCpuMs}`),
      });
    }
  }
  const conduitRows = rows.filter((r) => r.kind === 'conduit' && !r.error);
  if (conduitRows.length) {
    const max = Math.max(...conduitRows.map((r) => r.rssMb));
    out.push({ pass: max <= TARGETS.rssMb, text: `Conduit RSS under load: max ${max.toFixed(0)} MB (target ≤ ${TARGETS.rssMb})` });
    const floors = rows.filter((r) => r.kind === 'floor' && !r.error && r.rssMb);
    const directs = rows.filter((r) => r.kind === 'direct' && !r.error && r.rssMb);
    if (floors.length && directs.length) {
      out.push({
        pass: null,
        text: `(why) RSS under the same load: a plain node:http server (the fake upstream) ${Math.max(...directs.map((r) => r.rssMb)).toFixed(0)} MB, the stack floor ${Math.max(...floors.map((r) => r.rssMb)).toFixed(0)} MB`,
      });
    }
  }
  if (soak) {
    const growth = soak.lastThirdMb - soak.firstThirdMb;
    out.push({
      pass: growth <= TARGETS.soakGrowthMb,
      text: `soak ${soak.seconds} s (${soak.requests} requests): RSS median ${soak.firstThirdMb.toFixed(0)} MB in the first third, ${soak.lastThirdMb.toFixed(0)} MB in the last (${growth >= 0 ? '+' : ''}${growth.toFixed(0)} MB; flat: ≤ +${TARGETS.soakGrowthMb}), max ${soak.maxMb.toFixed(0)} MB`,
    });
  } else {
    out.push({ pass: null, text: 'soak: not run (--soak S)' });
  }
  return out;
}

export function markdownReport({ env, groups, rows, verdicts, soak }) {
  const { header, body } = cells(groups, rows);
  const md = [];
  md.push('# Benchmark results', '');
  md.push('Written by the benchmark itself (`bench/run.mjs`); see `bench/README.md` for what each column means.', '');
  md.push('```', env.command, '```', '');
  md.push(
    `${env.date} · Node ${env.node} · ${env.connections} connections · ${env.warmup} s warm-up, then ${env.rounds} round(s) of ${env.duration} s per row (the targets of a group take turns; medians shown) · streams of ${env.chunks} text chunks · request validation on · one log line per request (to /dev/null)`,
    '',
  );
  md.push(`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`);
  for (const r of body) md.push(`| ${r.join(' | ')} |`);
  const spread = rows.filter((r) => r.cpuRounds?.length > 1 && r.kind !== 'direct');
  if (spread.length) {
    md.push('', 'CPU ms/req of each round (the table shows the median):', '');
    for (const r of spread) md.push(`- ${r.group} · ${r.name}: ${r.cpuRounds.map((v) => v.toFixed(3)).join(', ')}`);
  }
  md.push('', '## Targets', '');
  for (const v of verdicts) md.push(`- ${v.pass === null ? '—' : v.pass ? '✅' : '❌'} ${v.text}`);
  if (soak) md.push('', `Soak: ${soak.seconds} s, ${soak.requests} requests, ${soak.failed} failed. RSS every second (MB): ${soak.samplesMb.join(' ')}`);
  md.push('');
  return md.join('\n');
}
