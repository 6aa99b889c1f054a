// The sections of bench/RESULTS.md that each script writes on its own, between
// `<!-- name:begin -->` and `<!-- name:end -->`, and what the stress scripts share around them.
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';

const FILE = join(new URL('../..', import.meta.url).pathname, 'bench/RESULTS.md');

/**
 * The section `name` of RESULTS.md: the tables already in it (`### heading` → its text), and
 * `write(text)`, which replaces the section (or appends it) and keeps the rest of the file.
 */
export function resultsSection(name) {
  const BEGIN = `<!-- ${name}:begin -->`;
  const END = `<!-- ${name}:end -->`;
  const current = readFileSync(FILE, 'utf8');
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const before = start >= 0 ? current.slice(0, start) : `${current.trimEnd()}\n\n`;
  const after = end >= 0 ? current.slice(end + END.length) : '\n';
  const inside = start >= 0 ? current.slice(start + BEGIN.length, end) : '';
  const tables = new Map();
  for (const m of inside.matchAll(/\n### (.+)\n([\s\S]*?)(?=\n### |$)/g)) tables.set(m[1], m[2]);
  return {
    tables,
    write(text) {
      writeFileSync(FILE, `${before}${BEGIN}\n${text}${END}${after}`);
    },
  };
}

/** A case table's rows (`| case | ... |`) and the lines naming the runs that wrote them. */
export function caseTable(text = '') {
  return {
    rows: text.split('\n').filter((l) => /^\| (?!case |---)/.test(l)),
    runs: text.split('\n').filter((l) => l.startsWith('- `')),
  };
}

/** The line naming this run: its command (as typed), when, the Node version and the load. */
export function runLine(script, safeArg = /^[\w./=|:-]+$/) {
  const args = process.argv
    .slice(2)
    .map((a) => (safeArg.test(a) ? a : `'${a}'`))
    .join(' ');
  return `- \`node bench/${script}${args ? ` ${args}` : ''}\` · ${new Date().toISOString()} · Node ${process.version} · load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores`;
}

/** GET /health on a kept-alive socket: ms until the whole answer is in (Infinity past 2 s). */
export function probeHealth(url, agent) {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request(`${url}/health`, { agent, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(Infinity);
    });
    req.on('error', () => resolve(Infinity));
    req.end();
  });
}
