#!/usr/bin/env node
// What streaming a large tool argument costs the OpenAI stream translation, alone and interleaved
// with a second parallel call (which makes the converter check the first call's completeness on
// every fragment). The two should cost about the same: the check is linear in the argument's length.
// Runs the built converter in-process (apps/server/dist), no server. See bench/README.md.
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    kb: { type: 'string', default: '200' },
    fragment: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '5' },
    'max-ratio': { type: 'string', default: '1.5' },
  },
});

const dist = new URL('../apps/server/dist/providers/', import.meta.url);
const { OpenAIStreamConverter } = await import(new URL('openai/convert-stream.js', dist).href);
const { ToolNameMap } = await import(new URL('openai/tool-names.js', dist).href);
const { SseParser } = await import(new URL('sse-parser.js', dist).href);

const KB = Number(opt.kb);
const FRAGMENT = Number(opt.fragment);
const ROUNDS = Number(opt.rounds);
const MAX_RATIO = Number(opt['max-ratio']);

function frame(index, fn, id) {
  const call = { index, ...(id ? { id, type: 'function' } : {}), function: fn };
  return `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { tool_calls: [call] }, finish_reason: null }] })}\n\n`;
}

/** One stream: call 0's arguments of `KB` KB in FRAGMENT-byte pieces; with `second`, call 1 opens first and waits, its fragments interleaved. */
function stream(second) {
  const big = JSON.stringify({ path: 'big.txt', content: '{"k": [1, 2]} '.repeat(Math.ceil((KB * 1024) / 14)) });
  const small = JSON.stringify({ path: 'small.txt', content: 'tiny' });
  const frames = [frame(0, { name: 'write_file', arguments: '' }, 'call_big')];
  if (second) frames.push(frame(1, { name: 'write_file', arguments: '' }, 'call_small'));
  const step = Math.ceil(big.length / FRAGMENT / small.length);
  let s = 0;
  for (let i = 0, n = 0; i < big.length; i += FRAGMENT, n++) {
    frames.push(frame(0, { arguments: big.slice(i, i + FRAGMENT) }));
    if (second && n % step === 0 && s < small.length) frames.push(frame(1, { arguments: small[s++] }));
  }
  while (second && s < small.length) frames.push(frame(1, { arguments: small[s++] }));
  frames.push(`data: ${JSON.stringify({ id: 'chatcmpl-bench', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })}\n\ndata: [DONE]\n\n`);
  // 64 KB reads, as a socket delivers them
  const text = Buffer.from(frames.join(''));
  const reads = [];
  for (let i = 0; i < text.length; i += 64 * 1024) reads.push(text.subarray(i, i + 64 * 1024));
  return reads;
}

function run(reads) {
  const converter = new OpenAIStreamConverter({ target: { provider: 'bench', model: 'm' }, toolNames: new ToolNameMap() });
  const parser = new SseParser();
  let events = 0;
  const started = process.cpuUsage();
  for (const read of reads) for (const ev of parser.push(read)) events += converter.pushData(ev.data, ev.event).length;
  const used = process.cpuUsage(started);
  if (!converter.complete) throw new Error('the stream did not complete');
  return { ms: (used.user + used.system) / 1000, events };
}

const alone = stream(false);
const interleaved = stream(true);
run(alone);
run(interleaved); // warm-up
const rows = { alone: [], interleaved: [] };
for (let r = 0; r < ROUNDS; r++) {
  rows.alone.push(run(alone).ms);
  rows.interleaved.push(run(interleaved).ms);
}
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const a = median(rows.alone);
const b = median(rows.interleaved);
const ratio = b / a;
console.log(`tool arguments: ${KB} KB in ${FRAGMENT}-byte fragments, ${ROUNDS} rounds, median CPU`);
console.log(`  one call                              ${a.toFixed(1)} ms`);
console.log(`  interleaved with a waiting second call ${b.toFixed(1)} ms`);
console.log(`  ratio ${ratio.toFixed(2)} (target ≤ ${MAX_RATIO}) ${ratio <= MAX_RATIO ? '✅' : '❌'}`);
process.exitCode = ratio <= MAX_RATIO ? 0 : 1;
