import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  anthropicError,
  anthropicErrorEvent,
  anthropicMessage,
  anthropicSseEvents,
  loadContract,
  parseSse,
  startFakeAnthropic,
} from '../src/index.js';
import type { Contract, FakeUpstream } from '../src/index.js';
import { ANTHROPIC_AUTH, REQUEST_TIMEOUT_MS, anthropicRequest, post, sseOf } from './helpers.js';

const SPEC_PATH = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

const RICH_MESSAGE = anthropicMessage({
  content: [
    { type: 'thinking', thinking: 'The user wants the weather.', signature: 'EqQBCgIYAhIM' },
    { type: 'text', text: 'Let me check the weather in Paris for you.' },
    { type: 'tool_use', id: 'toolu_01A', name: 'get_weather', input: { city: 'Paris', units: 'metric' } },
  ],
  usage: { input_tokens: 120, output_tokens: 48, cache_read_input_tokens: 100 },
});

// The gateway's openapi.yaml is written alongside this package; these checks run once it exists.
describe('builders and fakes against the gateway openapi.yaml', () => {
  let contract: Contract;
  let fake: FakeUpstream;
  beforeAll(async () => {
    contract = loadContract(SPEC_PATH);
    fake = await startFakeAnthropic();
  });
  afterAll(() => fake?.close());

  it('anthropicMessage() is a valid Message and a valid 200 for /v1/messages', () => {
    expect(contract.validateSchema('Message', RICH_MESSAGE)).toEqual([]);
    expect(contract.validateSchema('Message', anthropicMessage())).toEqual([]);
    expect(contract.validateResponse('/anthropic/v1/messages', 'post', 200, RICH_MESSAGE)).toEqual([]);
  });

  it('a full anthropicSseEvents() sequence is valid, with either message_delta usage form', () => {
    expect(contract.validateStreamEvents(parseSse(anthropicSseEvents(RICH_MESSAGE).join('')))).toEqual([]);
    expect(contract.validateStreamEvents(parseSse(anthropicSseEvents(RICH_MESSAGE, { fullDeltaUsage: true }).join('')))).toEqual([]);
  });

  it('a stream broken off with an error event is valid', () => {
    const frames = anthropicSseEvents(RICH_MESSAGE).slice(0, 6).concat(anthropicErrorEvent('overloaded_error', 'Overloaded'));
    expect(contract.validateStreamEvents(parseSse(frames.join('')))).toEqual([]);
  });

  it('anthropicError() bodies are valid ErrorResponses', () => {
    for (const status of [400, 401, 403, 404, 413, 429, 500, 529]) {
      const reply = anthropicError(status) as { body: unknown };
      expect(contract.validateSchema('ErrorResponse', reply.body), `status ${status}`).toEqual([]);
    }
  });

  it("the fake's default replies match the spec", async () => {
    const json = await (await post(`${fake.url}/v1/messages`, anthropicRequest(), ANTHROPIC_AUTH)).json();
    expect(contract.validateSchema('Message', json)).toEqual([]);
    const events = await sseOf(await post(`${fake.url}/v1/messages`, anthropicRequest({ stream: true }), ANTHROPIC_AUTH));
    expect(contract.validateStreamEvents(events)).toEqual([]);
    const { max_tokens: _omitted, ...countBody } = anthropicRequest();
    const count = await (await post(`${fake.url}/v1/messages/count_tokens`, countBody, ANTHROPIC_AUTH)).json();
    expect(contract.validateSchema('CountTokensResponse', count)).toEqual([]);
    const models = await (await fetch(`${fake.url}/v1/models`, { headers: ANTHROPIC_AUTH, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })).json();
    expect(contract.validateSchema('ModelList', models)).toEqual([]);
    const unauthorized = await (await post(`${fake.url}/v1/messages`, anthropicRequest(), {})).json();
    expect(contract.validateSchema('ErrorResponse', unauthorized)).toEqual([]);
  });

  it('catches a Message the spec forbids', () => {
    const { usage: _dropped, ...noUsage } = RICH_MESSAGE;
    expect(contract.validateSchema('Message', noUsage).length).toBeGreaterThan(0);
  });
});
