import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

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
afterAll(async () => {
  await gw?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

const withWebSearch = {
  max_tokens: 50,
  messages: [{ role: 'user', content: 'What happened today?' }],
  tools: [{ type: 'web_search_20250305', name: 'web_search', max_uses: 2 }],
};

describe('a feature the primary cannot carry', () => {
  it('a server-tool result from an earlier turn is refused by name for an openai-type model', async () => {
    const res = await request(gw.url)
      .post('/anthropic/v1/messages')
      .send({
        model: 'openai/gpt-4o',
        max_tokens: 20,
        messages: [
          { role: 'user', content: 'Run it' },
          { role: 'assistant', content: [{ type: 'code_execution_tool_result', tool_use_id: 'srvtoolu_2', content: { type: 'code_execution_result', stdout: '4' } }] },
          { role: 'user', content: 'And now?' },
        ],
      });
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/code_execution_tool_result/);
  });

  it('goes to a fallback that can, without calling the primary', async () => {
    openai.reset();
    anthropic.reset();
    const res = await request(gw.url)
      .post('/anthropic/v1/messages')
      .send({ ...withWebSearch, model: 'openai/gpt-4o', fallbacks: ['anthropic/claude-sonnet-4-5'] });
    expect(res.status).toBe(200);
    expect(res.headers['x-bf-provider']).toBe('anthropic');
    expect(res.headers['x-bf-fallback-index']).toBe('1');
    expect(openai.requests).toHaveLength(0);
    expect(anthropic.requests).toHaveLength(1);
    expect(anthropic.requests[0]!.body.tools[0].type).toBe('web_search_20250305');
  });

  it('without a fallback is a 400 naming the feature and the provider', async () => {
    openai.reset();
    const res = await request(gw.url).post('/anthropic/v1/messages').send({ ...withWebSearch, model: 'openai/gpt-4o' });
    expect(res.status).toBe(400);
    expect(res.body.error.type).toBe('invalid_request_error');
    expect(res.body.error.message).toMatch(/provider "openai".*web_search_20250305/);
    expect(openai.requests).toHaveLength(0);
  });
});
