/**
 * Tool-argument completeness checks run in linear time. A vLLM-style stream interleaves two parallel
 * calls: a 200 KB argument in 8-byte fragments, while a second call waits for its block (so the first
 * call's completeness is checked on every fragment). The gateway must never block its event loop on
 * it: /health keeps answering within 50 ms throughout. (How much the check costs is measured by the
 * benchmark, bench/tool-args.mjs, not here.)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseSse, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { MESSAGES, warmUp } from '../helpers/routing.js';

let fake: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  fake = await startFakeOpenAI();
  gw = await startGateway({ providers: { vllm: { type: 'openai', base_url: `${fake.url}/v1`, keys: [{ value: 'k' }], max_retries: 0 } } });
  await warmUp(gw);
});
afterAll(async () => {
  await gw?.close();
  await fake?.close();
});

/** The chunks of a stream in which call 0's big arguments interleave with call 1's, grouped into writes of about 64 KB. */
function interleavedStream(bigArgs: string, smallArgs: string): string[] {
  const frame = (index: number, fn: Record<string, unknown>, id?: string) =>
    `data: ${JSON.stringify({
      id: 'chatcmpl-linear',
      object: 'chat.completion.chunk',
      created: 1750000000,
      model: 'Qwen/Qwen2.5-72B-Instruct',
      choices: [{ index: 0, delta: { tool_calls: [{ index, ...(id ? { id, type: 'function' } : {}), function: fn }] }, logprobs: null, finish_reason: null }],
    })}\n\n`;
  const frames = [frame(0, { name: 'write_file', arguments: '' }, 'chatcmpl-tool-big'), frame(1, { name: 'write_file', arguments: '' }, 'chatcmpl-tool-small')];
  const smallStep = Math.ceil(bigArgs.length / 8 / smallArgs.length);
  let small = 0;
  for (let i = 0, n = 0; i < bigArgs.length; i += 8, n++) {
    frames.push(frame(0, { arguments: bigArgs.slice(i, i + 8) }));
    if (n % smallStep === 0 && small < smallArgs.length) frames.push(frame(1, { arguments: smallArgs[small++] }));
  }
  while (small < smallArgs.length) frames.push(frame(1, { arguments: smallArgs[small++] }));
  frames.push(`data: ${JSON.stringify({ id: 'chatcmpl-linear', object: 'chat.completion.chunk', created: 1750000000, model: 'Qwen/Qwen2.5-72B-Instruct', choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] })}\n\n`);
  frames.push('data: [DONE]\n\n');
  const writes: string[] = [];
  let current = '';
  for (const f of frames) {
    current += f;
    if (current.length >= 64 * 1024) {
      writes.push(current);
      current = '';
    }
  }
  if (current) writes.push(current);
  return writes;
}

function streamRequest(): Promise<string> {
  return fetch(gw.url + MESSAGES, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
    body: JSON.stringify({
      model: 'vllm/Qwen/Qwen2.5-72B-Instruct',
      max_tokens: 100_000,
      stream: true,
      tools: [{ name: 'write_file', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'Write both files' }],
    }),
  }).then((res) => res.text());
}

describe('a 200 KB tool argument in 8-byte fragments, interleaved with a second call', () => {
  it('streams both calls whole while /health keeps answering within 50 ms', async () => {
    // Closing braces inside the text give a re-parse on every fragment every chance to run.
    const big = JSON.stringify({ path: 'big.txt', content: '{"k": [1, 2]} '.repeat(15_000) });
    expect(big.length).toBeGreaterThan(200_000);
    const small = JSON.stringify({ path: 'small.txt', content: 'tiny' });
    // A smaller run first, so what is measured is the steady state, not the first compilation of the stream path.
    const warm = JSON.stringify({ path: 'warm.txt', content: '{"k": [1, 2]} '.repeat(1_500) });
    fake.setResponder(() => ({ kind: 'sse', events: interleavedStream(warm, small) }));
    expect(parseSse(await streamRequest()).at(-1)!.event).toBe('message_stop');
    const writes = interleavedStream(big, small);
    fake.setResponder(() => ({ kind: 'sse', events: writes, chunkDelayMs: 2 }));

    const streamed = streamRequest();
    let done = false;
    void streamed.finally(() => {
      done = true;
    });
    while (fake.requests.length === 0) await sleep(1);

    const latencies: number[] = [];
    while (!done) {
      const started = performance.now();
      const res = await fetch(`${gw.url}/health`);
      await res.text();
      expect(res.status).toBe(200);
      latencies.push(performance.now() - started);
      await sleep(3);
    }
    expect(latencies.length).toBeGreaterThanOrEqual(10);
    // Nine probes in ten: a lone garbage-collection pause of the test process (which also runs the
    // fake upstream and the client) is not the gateway blocking. A check that re-parses the
    // arguments on every fragment keeps most probes waiting 100 ms and more as they grow.
    const sorted = [...latencies].sort((a, b) => a - b);
    expect(sorted[Math.floor(sorted.length * 0.9)]).toBeLessThan(50);

    const events = parseSse(await streamed);
    expect(events.at(-1)!.event).toBe('message_stop');
    const json = new Map<number, string>();
    for (const e of events) {
      if (e.event === 'content_block_delta' && e.data.delta.type === 'input_json_delta') json.set(e.data.index, (json.get(e.data.index) ?? '') + e.data.delta.partial_json);
    }
    expect([...json.keys()]).toEqual([0, 1]);
    expect(JSON.parse(json.get(0)!)).toEqual(JSON.parse(big));
    expect(JSON.parse(json.get(1)!)).toEqual(JSON.parse(small));
  }, 60_000);
});
