/**
 * SSE framing on the native relay: an Anthropic-compatible upstream behind sse-starlette writes CR LF
 * line ends and spreads each event's JSON over several `data:` lines
 * (src/providers/anthropic/__fixtures__/sse-starlette-multiline-data.*). The gateway joins the lines
 * (SSE spec) and writes each event back with every line prefixed, so the official SDK reads the
 * same message a JSON answer gives.
 */
import { readFileSync } from 'node:fs';
import Anthropic from '@anthropic-ai/sdk';
import { parseSse, startFakeAnthropic, type FakeReply, type FakeUpstream } from '@conduit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectContractStream } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

const fixture = (name: string) => readFileSync(new URL(`../src/providers/anthropic/__fixtures__/${name}`, import.meta.url), 'utf8');

let upstream: FakeUpstream;
let gw: RunningGateway;
let client: Anthropic;

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway({ providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-a' }], max_retries: 0 } } });
  client = new Anthropic({ apiKey: 'x', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
  // Every CR LF of the stream cut across two writes, a few ms apart.
  const pieces = fixture('sse-starlette-multiline-data.events.txt').split(/(?<=\r)/);
  upstream.setResponder(
    (req): FakeReply =>
      req.body.stream === true
        ? { kind: 'sse', events: pieces, chunkDelayMs: 1 }
        : { kind: 'raw', status: 200, headers: { 'content-type': 'application/json' }, body: fixture('sse-starlette-multiline-data.json') },
  );
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});

const params: Anthropic.MessageCreateParamsNonStreaming = { model: 'anthropic/claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Two lines, please' }] };

describe('native relay of multi-line data', () => {
  it('the SDK reads the streamed message as the JSON one', async () => {
    const created = await client.messages.create(params);
    const final = await client.messages.stream(params).finalMessage();
    // parsed_output and stop_details are the SDK's own additions
    const { parsed_output: _p, stop_details: _d, ...streamed } = final as unknown as Anthropic.Message & Record<string, unknown>;
    expect(streamed).toEqual(created);
    expect(final.content).toEqual([{ type: 'text', text: 'Two lines:\nfirst, then second.' }]);
  });

  it('every line of every event goes out prefixed with data:', async () => {
    const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'x' },
      body: JSON.stringify({ ...params, stream: true }),
    });
    const text = await res.text();
    const events = expectContractStream(text);
    expect(events.map((e) => e.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    for (const block of text.split('\n\n').filter(Boolean)) {
      const [first, ...rest] = block.split('\n');
      expect(first).toMatch(/^event: /);
      expect(rest.length).toBeGreaterThan(1);
      for (const line of rest) expect(line.startsWith('data: ')).toBe(true);
    }
    // Joined back, each event's data is the upstream's JSON as it was.
    const upstreamEvents = parseSse(fixture('sse-starlette-multiline-data.events.txt'));
    expect(events.map((e) => e.data)).toEqual(upstreamEvents.map((e) => e.data));
  });
});
