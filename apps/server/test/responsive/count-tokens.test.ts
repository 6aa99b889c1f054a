import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../helpers/async.js';
import { ensureBuilt, spawnGateway, type ChildGateway } from '../helpers/child-gateway.js';

/**
 * count_tokens for an openai-type provider is counted in the gateway. A body the size of the
 * body limit, made of what the tokenizer handles worst (runs without word breaks: a long "aaaa…",
 * CJK text without punctuation), once stalled every client for seconds to minutes. The gateway
 * runs as its own process here, so a stalled event loop shows as slow /health answers over real
 * sockets (and cannot stall the test's own timers).
 */

const BODY_LIMIT = 2 * 1024 * 1024;
const COUNT_TOKENS = '/anthropic/v1/messages/count_tokens';

let dir: string;
let gateway: ChildGateway;

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conduit-count-'));
  gateway = await spawnGateway(join(dir, 'conduit.yaml'), {
    store: 'sqlite::memory:',
    body_limit: '2mb',
    // Nothing listens there: count_tokens never calls the upstream.
    providers: { openai: { type: 'openai', base_url: 'http://127.0.0.1:9/v1', keys: [{ value: 'sk-unused' }] } },
  });
  // The encoding's ranks load on first use, and the contract validator compiles on the first request:
  // pay both before measuring.
  const warm = await countTokens({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'warm up' }] });
  expect(warm.status).toBe(200);
}, 120_000);
afterAll(async () => {
  await gateway?.kill();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function countTokens(body: object | Uint8Array<ArrayBuffer>, signal?: AbortSignal): Promise<{ status: number; json: any }> {
  const res = await fetch(gateway.url + COUNT_TOKENS, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
    body: body instanceof Uint8Array ? body : JSON.stringify(body),
    signal,
  });
  return { status: res.status, json: await res.json() };
}

/** One GET /health on a kept-alive socket: milliseconds until the whole answer is in, or Infinity past 2 s. */
function probe(agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request(`${gateway.url}/health`, { agent, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : Infinity));
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(Infinity);
    });
    req.on('error', () => resolve(Infinity));
    req.end();
  });
}

/** Random CJK ideographs without punctuation: one long run, and text the tokenizer's cache cannot shortcut. */
function cjkRun(length: number): string {
  let seed = 11;
  let out = '';
  for (let i = 0; i < length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out += String.fromCharCode(0x4e00 + (seed % 0x5000));
  }
  return out;
}

describe('count_tokens on the largest legal body', () => {
  it('/health keeps answering within 50 ms while it is counted', async () => {
    // 100 KB of "a", then CJK without a break up to the body limit (3 bytes a character in UTF-8).
    const a = 'a'.repeat(100_000);
    const envelope = JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: a }, { type: 'text', text: '' }] }] });
    const cjk = cjkRun(Math.floor((BODY_LIMIT - Buffer.byteLength(envelope) - 64) / 3));
    // Encoded up front, so the test's own work does not delay its probes.
    const body = new TextEncoder().encode(JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: [{ type: 'text', text: a }, { type: 'text', text: cjk }] }] }));
    expect(body.length).toBeGreaterThan(BODY_LIMIT - 1024);
    expect(body.length).toBeLessThanOrEqual(BODY_LIMIT);

    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    await probe(agent); // open the probe's connection first
    const abort = new AbortController();
    const started = performance.now();
    let countedMs = 0;
    const counted = countTokens(body, abort.signal).then((r) => {
      countedMs = performance.now() - started;
      return r;
    });
    let done = false;
    void counted.finally(() => (done = true));
    const latencies: number[] = [];
    // Probe until the count is in; give up after 30 s (the unbounded tokenizer took minutes on this).
    while (!done && performance.now() - started < 30_000) {
      const ms = await probe(agent);
      latencies.push(ms);
      if (ms === Infinity) break;
      await sleep(10);
    }
    abort.abort();
    agent.destroy();

    // The figure is 50 ms; the test machine is shared, so this asserts that nearly every
    // probe meets it and that none waited for a stalled loop (the old tokenizer held it for seconds,
    // past the probe's 2 s timeout). bench/stress-slow-clients.mjs measures the strict figure.
    const all = `/health latencies while counting (ms): ${latencies.map((l) => l.toFixed(1)).join(', ')}`;
    const sorted = [...latencies].sort((x, y) => x - y);
    expect(sorted[Math.floor(sorted.length * 0.9)], all).toBeLessThan(50);
    expect(sorted.at(-1), all).toBeLessThan(1_000);
    const result = await counted;
    expect(result.status).toBe(200);
    // The count was long enough for the probes to mean something.
    expect(latencies.length, `count took ${countedMs.toFixed(0)} ms`).toBeGreaterThanOrEqual(5);
    // 100 000 "a" are 12 500 tokens; a random ideograph is one to two tokens.
    expect(result.json.input_tokens).toBeGreaterThan(12_500 + cjk.length);
    expect(result.json.input_tokens).toBeLessThan(12_500 + 2 * cjk.length + 100);
  }, 60_000);
});
