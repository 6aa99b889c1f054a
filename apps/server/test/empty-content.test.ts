/**
 * A message with empty content ("" or []) gets the 400 Anthropic answers, naming the message, before
 * routing: for every provider type, Anthropic's included, and for streams and async submits alike.
 * Only the final assistant message may be empty (a prefill).
 */
import Anthropic from '@anthropic-ai/sdk';
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { MESSAGES, send } from './helpers/routing.js';

let openai: FakeUpstream;
let anthropic: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startFakeOpenAI(), startFakeAnthropic()]);
  gw = await startGateway({
    providers: {
      openai: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: 'sk-o' }] },
      anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk-a' }] },
    },
  });
});
afterEach(() => {
  openai.reset();
  anthropic.reset();
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

const MESSAGE = 'all messages must have non-empty content except for the optional final assistant message';

describe.each(['openai/gpt-4o', 'anthropic/claude-sonnet-4-5'])('empty content to %s', (model) => {
  it.each([
    ['an empty string', ''],
    ['an empty block list', []],
  ])('%s in a user message: 400 invalid_request_error naming it, no upstream call', async (_what, content) => {
    for (const stream of [false, true]) {
      const reply = await send(gw, {
        model,
        stream,
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Hello' },
          { role: 'user', content },
        ],
      });
      expect(reply.status).toBe(400);
      expect(reply.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: `messages.2: ${MESSAGE}` } });
      expectContractResponse(MESSAGES, 'post', 400, reply.json);
    }
    expect(openai.requests).toHaveLength(0);
    expect(anthropic.requests).toHaveLength(0);
  });

  it('an empty assistant turn in the middle is refused too; the final one is a prefill and goes through', async () => {
    const middle = await send(gw, { model, messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: [] }, { role: 'user', content: 'Again' }] });
    expect(middle.status).toBe(400);
    expect(middle.json.error.message).toBe(`messages.1: ${MESSAGE}`);
    const prefill = await send(gw, { model, messages: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: '' }] });
    expect(prefill.status).toBe(200);
  });
});

describe('empty content, other ways in', () => {
  it('the official SDK gets a BadRequestError', async () => {
    const client = new Anthropic({ apiKey: 'x', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    const err = await client.messages.create({ model: 'openai/gpt-4o', max_tokens: 10, messages: [{ role: 'user', content: [] }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as Error).message).toContain(`messages.0: ${MESSAGE}`);
  });

  it('an async submit is refused at once, nothing queued', async () => {
    const res = await fetch(gw.url + MESSAGES, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'x-bf-async': 'true' },
      body: JSON.stringify({ model: 'anthropic/claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: '' }] }),
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-bf-async-id')).toBeNull();
    expect((await res.json()).error.message).toBe(`messages.0: ${MESSAGE}`);
  });
});
