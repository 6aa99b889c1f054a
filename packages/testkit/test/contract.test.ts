import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { anthropicError, anthropicErrorEvent, anthropicMessage, anthropicSseEvents, loadContract, parseSse } from '../src/index.js';
import type { SseEvent } from '../src/index.js';

const contract = loadContract(fileURLToPath(new URL('./fixtures/mini-openapi.yaml', import.meta.url)));
const message = anthropicMessage({
  content: [
    { type: 'text', text: 'Checking the weather.' },
    { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
  ],
});
const goodStream = () => parseSse(anthropicSseEvents(message).join(''));
const names = (events: SseEvent[]) => events.map((e) => e.event);

describe('parseSse', () => {
  it('splits frames on blank lines, accepts CRLF, joins multi-line data and keeps non-JSON data as text', () => {
    const text = 'event: ping\r\ndata: {"type":"ping"}\r\n\r\n: keep-alive comment\n\ndata: {"a":\ndata: 1}\n\ndata: [DONE]\n\n';
    expect(parseSse(text)).toEqual([
      { event: 'ping', data: { type: 'ping' } },
      { event: '', data: { a: 1 } },
      { event: '', data: '[DONE]' },
    ]);
  });

  it('keeps a last frame that has no trailing blank line', () => {
    expect(parseSse('event: message_stop\ndata: {"type":"message_stop"}')).toEqual([{ event: 'message_stop', data: { type: 'message_stop' } }]);
  });
});

describe('contract checker schemas and responses', () => {
  it('accepts a built Message and rejects a broken one', () => {
    expect(contract.validateSchema('Message', message)).toEqual([]);
    const errors = contract.validateSchema('Message', { ...message, stop_reason: 'finished', usage: { input_tokens: -1 } });
    expect(errors.join('\n')).toMatch(/\/stop_reason/);
    expect(errors.join('\n')).toMatch(/output_tokens/);
  });

  it('reports an unknown component', () => {
    expect(contract.validateSchema('Nope', {})).toEqual(['no component schema named Nope']);
  });

  it('validates a response by path, method and status, following $ref responses and 4XX ranges', () => {
    expect(contract.validateResponse('/anthropic/v1/messages', 'POST', 200, message)).toEqual([]);
    expect(contract.validateResponse('/anthropic/v1/messages', 'post', 429, anthropicErrorBody())).toEqual([]);
    expect(contract.validateResponse('/anthropic/v1/messages', 'post', 429, { error: 'rate limited' }).length).toBeGreaterThan(0);
    expect(contract.validateResponse('/anthropic/v1/messages', 'post', 500, {})).toEqual(['POST /anthropic/v1/messages documents no response for status 500']);
  });

  it('matches path templates and unprefixed paths', () => {
    expect(contract.validateResponse('/anthropic/v1/models/claude-x', 'get', 200, { id: 'claude-x', type: 'model', created_at: '2025-01-01T00:00:00Z' })).toEqual([]);
    expect(contract.validateResponse('/v1/models/claude-x', 'get', 200, { id: 'claude-x', type: 'model', created_at: 'yesterday' })).toEqual([
      '/created_at must match format "date-time"',
    ]);
    expect(contract.validateResponse('/v2/other', 'get', 200, {})).toEqual(['no path /v2/other in the spec']);
  });
});

function anthropicErrorBody() {
  return (anthropicError(429, 'rate_limit_error', 'slow down') as { body: unknown }).body;
}

describe('contract checker stream grammar', () => {
  it('accepts the sequence anthropicSseEvents builds', () => {
    expect(contract.validateStreamEvents(goodStream())).toEqual([]);
  });

  it('accepts a stream that ends with an error event instead of message_delta/message_stop', () => {
    const cut = goodStream().slice(0, 5).concat(parseSse(anthropicErrorEvent('overloaded_error', 'Overloaded')));
    expect(contract.validateStreamEvents(cut)).toEqual([]);
  });

  it('rejects a delta before its block starts', () => {
    const events = goodStream();
    const i = names(events).indexOf('content_block_start');
    [events[i], events[i + 1]] = [events[i + 1], events[i]];
    expect(contract.validateStreamEvents(events).join('\n')).toMatch(/delta for block 0 with no open block/);
  });

  it('rejects overlapping blocks', () => {
    const events = goodStream().filter((e) => !(e.event === 'content_block_stop' && e.data.index === 0));
    expect(contract.validateStreamEvents(events).join('\n')).toMatch(/block 1 opened while block 0 is still open/);
  });

  it('rejects a stream without message_stop (a truncated answer)', () => {
    const events = goodStream().slice(0, -1);
    expect(contract.validateStreamEvents(events)).toEqual(['the stream ended without message_stop or error']);
  });

  it('rejects a second message_start, events before message_start and message_stop before message_delta', () => {
    const events = goodStream();
    expect(contract.validateStreamEvents([...events.slice(0, 2), events[0], ...events.slice(2)]).join('\n')).toMatch(/a second message_start/);
    expect(contract.validateStreamEvents(events.slice(1)).join('\n')).toMatch(/must begin with message_start/);
    const noDelta = events.filter((e) => e.event !== 'message_delta');
    expect(contract.validateStreamEvents(noDelta).join('\n')).toMatch(/message_stop before message_delta/);
  });

  it('rejects a delta of the wrong kind for the open block', () => {
    const events = goodStream().map((e) =>
      e.event === 'content_block_delta' && e.data.index === 0 ? { ...e, data: { ...e.data, delta: { type: 'input_json_delta', partial_json: '{' } } } : e,
    );
    expect(contract.validateStreamEvents(events).join('\n')).toMatch(/input_json_delta is not a delta a text block takes/);
  });

  it('rejects an event whose name does not match its data type, and data that fails the schema', () => {
    const events = goodStream();
    events[1] = { event: 'message', data: { type: 'ping' } };
    const errors = contract.validateStreamEvents(events).join('\n');
    expect(errors).toMatch(/event 1 \(message\): data.type "ping" does not match the event name/);
    const bad = goodStream();
    bad[0] = { event: 'message_start', data: { type: 'message_start', message: { id: 1 } } };
    expect(contract.validateStreamEvents(bad).join('\n')).toMatch(/event 0 \(message_start\): \/message/);
  });

  it('rejects an empty stream', () => {
    expect(contract.validateStreamEvents([])).toEqual(['the stream has no events']);
  });
});
