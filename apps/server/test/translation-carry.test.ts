/**
 * What a translated (openai-type) provider does with the parts of a request it cannot carry, through
 * the real gateway: kinds the contract does not know (blocks, tool_result contents, tools,
 * tool_choice, thinking) and fields it has no equivalent for. Each is refused by name before any
 * upstream call (and the plan moves on to an Anthropic-type fallback, which gets the request
 * unchanged), or dropped and listed in x-bf-dropped. Nothing is left out silently.
 */
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { send } from './helpers/routing.js';

let openai: FakeUpstream;
let anthropic: FakeUpstream;
let gw: RunningGateway;

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startFakeOpenAI({ strict: true }), startFakeAnthropic()]);
  gw = await startGateway({
    providers: {
      openai: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: 'sk-o' }], max_retries: 0 },
      lenient: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: 'sk-o' }], max_retries: 0, drop_unsupported: true },
      anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk-a' }], max_retries: 0 },
    },
  });
}, 30_000);
afterEach(() => {
  openai.reset();
  anthropic.reset();
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([openai?.close(), anthropic?.close()]);
});

const weather = { name: 'get_weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };

/** One request per kind this contract does not know, each where Claude Code or the SDK would put it. */
const UNKNOWN_KINDS: Array<{ what: string; type: string; body: Record<string, unknown> }> = [
  {
    what: 'a content block',
    type: 'compaction',
    body: {
      messages: [
        { role: 'user', content: 'Summarise our work so far.' },
        { role: 'assistant', content: [{ type: 'compaction', content: 'Earlier: the user set up the project.' }, { type: 'text', text: 'Done.' }] },
        { role: 'user', content: 'Go on.' },
      ],
    },
  },
  {
    what: 'a tool_result content block (Claude Code with tool search)',
    type: 'tool_reference',
    body: {
      tools: [weather],
      messages: [
        { role: 'user', content: 'Find the weather tool.' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_search1', name: 'get_weather', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_search1', content: [{ type: 'tool_reference', tool_name: 'get_weather' }] }] },
      ],
    },
  },
  {
    what: 'a tool',
    type: 'tool_search_tool_bm25_20251119',
    body: { tools: [{ type: 'tool_search_tool_bm25_20251119', name: 'tool_search_tool_bm25' }, weather], messages: [{ role: 'user', content: 'Weather?' }] },
  },
  {
    what: 'a tool_choice',
    type: 'tool_choice auto_search',
    body: { tools: [weather], tool_choice: { type: 'auto_search', max_results: 3 }, messages: [{ role: 'user', content: 'Weather?' }] },
  },
  {
    what: 'a thinking setting',
    type: 'thinking interleaved',
    body: { thinking: { type: 'interleaved', budget_tokens: 2048 }, messages: [{ role: 'user', content: 'Think, then answer.' }] },
  },
];

describe.each(UNKNOWN_KINDS)('a kind the contract does not know: $what ($type)', ({ type, body }) => {
  it('is refused by name with the provider, before any upstream call', async () => {
    const reply = await send(gw, { model: 'openai/gpt-4o', max_tokens: 3000, ...body });
    expect(reply.status).toBe(400);
    expect(reply.json.error.type).toBe('invalid_request_error');
    expect(reply.json.error.message).toContain(`provider "openai"`);
    expect(reply.json.error.message).toContain(type);
    expect(openai.requests).toHaveLength(0);
  });

  it('moves on to the next fallback, an Anthropic-type one, which gets the request unchanged', async () => {
    const request: Record<string, unknown> = { model: 'openai/gpt-4o', max_tokens: 3000, fallbacks: ['anthropic/claude-sonnet-4-5'], ...body };
    const reply = await send(gw, request);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-bf-provider')).toBe('anthropic');
    expect(reply.headers.get('x-bf-fallback-index')).toBe('1');
    expect(openai.requests).toHaveLength(0);
    const { model: _model, fallbacks: _fallbacks, ...rest } = request;
    expect(anthropic.requests[0]!.body).toEqual({ ...rest, model: 'claude-sonnet-4-5' });
  });

  it('with drop_unsupported, is dropped, listed in x-bf-dropped, and no trace of it goes upstream', async () => {
    const reply = await send(gw, { model: 'lenient/gpt-4o', max_tokens: 3000, ...body });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-bf-dropped')!.split(', ')).toContain(type);
    expect(openai.requests).toHaveLength(1);
    expect(JSON.stringify(openai.requests[0]!.body)).not.toContain(type.split(' ').at(-1)!);
  });
});

describe('fields a translated provider cannot carry', () => {
  it('tuning fields, unknown fields and Anthropic\'s own fallbacks are dropped and listed; the answer is served', async () => {
    const reply = await send(gw, {
      model: 'openai/gpt-4o',
      max_tokens: 100,
      top_k: 40,
      service_tier: 'auto',
      speed: 'fast',
      context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
      fallbacks: 'default',
      metadata: { user_id: 'u-1', tenant: 'acme' },
      brand_new_option: { enabled: true },
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral', ttl: '1h' } }],
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }] }],
    });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-bf-dropped')!.split(', ').sort()).toEqual(
      ['brand_new_option', 'cache_control', 'context_management', 'fallbacks', 'metadata.tenant', 'service_tier', 'speed', 'top_k'].sort(),
    );
    const sent = openai.requests[0]!.body;
    expect(Object.keys(sent).sort()).toEqual(['max_completion_tokens', 'messages', 'model', 'user']);
    expect(JSON.stringify(sent)).not.toContain('cache_control');
  });

  it('mcp_servers, container and inference_geo are refused by name; an Anthropic fallback gets them as they were', async () => {
    const request = {
      model: 'openai/gpt-4o',
      max_tokens: 100,
      mcp_servers: [{ type: 'url', name: 'github', url: 'https://mcp.example.com/sse' }],
      container: 'container_011CUq',
      inference_geo: 'us',
      messages: [{ role: 'user', content: 'List my repositories' }],
    };
    const refused = await send(gw, request);
    expect(refused.status).toBe(400);
    for (const name of ['mcp_servers', 'container', 'inference_geo']) expect(refused.json.error.message).toContain(name);
    expect(openai.requests).toHaveLength(0);

    const served = await send(gw, { ...request, fallbacks: ['anthropic/claude-sonnet-4-5'] });
    expect(served.status).toBe(200);
    expect(anthropic.requests[0]!.body).toMatchObject({ mcp_servers: request.mcp_servers, container: 'container_011CUq', inference_geo: 'us' });

    const dropped = await send(gw, { ...request, model: 'lenient/gpt-4o' });
    expect(dropped.status).toBe(200);
    expect(dropped.headers.get('x-bf-dropped')).toBe('mcp_servers, container, inference_geo');
  });

  it('unknown fields named with line breaks, non-ASCII or in their thousands: served, listed quoted and escaped, the header bounded', async () => {
    const many: Record<string, number> = {};
    for (let i = 0; i < 20_000; i++) many[`opt_${i}`] = i;
    for (const stream of [false, true]) {
      const reply = await send(gw, { model: 'openai/gpt-4o', stream, 'a\r\nx-injected: 1': true, 'pr\u00e9f\u00e9rence': 'oui', ['k'.repeat(5000)]: 1, metadata: { 'user\nid': 'u', tenant: 't' }, ...many });
      expect(reply.status).toBe(200);
      expect(reply.headers.get('x-injected')).toBeNull();
      const header = reply.headers.get('x-bf-dropped')!;
      expect(header.startsWith('"a\\r\\nx-injected: 1", "pr\\u00e9f\\u00e9rence", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk...", opt_0, opt_1,')).toBe(true);
      // 20,000 opt_*, the three above and two metadata keys (one of them "user\\nid"): 32 listed.
      expect(header).toMatch(/, opt_28, and 19973 more$/);
      expect(header.length).toBeLessThan(1000);
      if (stream) expect(reply.events!.at(-1)!.event).toBe('message_stop');
      else expect(reply.json.type).toBe('message');
    }
    // The gateway is still serving.
    expect((await send(gw, { model: 'openai/gpt-4o' })).status).toBe(200);
  });

  it('a stream lists what was dropped the same way', async () => {
    const reply = await send(gw, { model: 'openai/gpt-4o', max_tokens: 50, stream: true, top_k: 5, messages: [{ role: 'user', content: 'Hi' }] });
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-bf-dropped')).toBe('top_k');
    expect(reply.events!.at(-1)!.event).toBe('message_stop');
  });
});
