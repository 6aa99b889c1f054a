import { beforeAll, describe, expect, it } from 'vitest';
import { countTokens, encodingFor } from './count-tokens.js';
import { pngHeader } from './__fixtures__/image-headers.js';

// Token counts of the strings used below, in o200k_base: "user" 1, "system" 1, "assistant" 1, "tool" 1,
// "Hello, world!" 4, "Be brief." 3, "get_weather" 2, '{"city":"Paris"}' 5, "18C" 2, "Weather in Paris?" 4,
// "Weather for a city" 4, the weather schema's JSON 19. Framing: 3 per message, 3 reply priming,
// 3 per tool call, 8 per tool, 12 for the tools preamble.

// Loading an encoding takes a second or more on a busy machine: once, outside the timed tests.
beforeAll(async () => {
  await Promise.all([countTokens({ model: 'x', messages: [] }, 'gpt-4o'), countTokens({ model: 'x', messages: [] }, 'gpt-4')]);
}, 30_000);

describe('encodingFor', () => {
  it('picks cl100k_base for GPT-4 and GPT-3.5, o200k_base for the rest', () => {
    expect(encodingFor('gpt-4')).toBe('cl100k_base');
    expect(encodingFor('gpt-4-turbo-2024-04-09')).toBe('cl100k_base');
    expect(encodingFor('gpt-3.5-turbo')).toBe('cl100k_base');
    expect(encodingFor('openai/gpt-4')).toBe('cl100k_base');
    for (const m of ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.5-preview', 'gpt-5', 'o1', 'o3-mini', 'o4-mini', 'llama-3.3-70b-versatile', 'deepseek-chat']) {
      expect(encodingFor(m)).toBe('o200k_base');
    }
  });
});

describe('countTokens', () => {
  it('counts a message with the chat framing', async () => {
    expect(await countTokens({ model: 'x', messages: [{ role: 'user', content: 'Hello, world!' }] }, 'gpt-4o')).toBe(3 + 3 + 1 + 4);
  });

  it('counts the system prompt', async () => {
    expect(await countTokens({ model: 'x', system: 'Be brief.', messages: [{ role: 'user', content: 'Hello, world!' }] }, 'gpt-4o')).toBe(3 + (3 + 1 + 3) + (3 + 1 + 4));
  });

  it('uses the model’s encoding (cl100k_base and o200k_base differ on non-English text)', async () => {
    const req = { model: 'x', messages: [{ role: 'user' as const, content: 'Привет, как дела? Это тест токенизатора.' }] };
    expect(await countTokens(req, 'gpt-4o')).toBe(3 + 3 + 1 + 13);
    expect(await countTokens(req, 'gpt-4')).toBe(3 + 3 + 1 + 19);
  });

  it('counts tool definitions, tool calls and tool results', async () => {
    const n = await countTokens(
      {
        model: 'x',
        tools: [{ name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } }],
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '18C' }] },
        ],
      },
      'gpt-4o',
    );
    const messages = 3 + 1 + 4 + (3 + 1 + (3 + 2 + 5)) + (3 + 1 + 2);
    const tools = 12 + 8 + 2 + 4 + 19;
    expect(n).toBe(3 + messages + tools);
  });

  it('counts images: measured from base64, a fixed estimate for URLs', async () => {
    const png = pngHeader(512, 512).toString('base64');
    const n = await countTokens(
      {
        model: 'x',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
              { type: 'text', text: 'Hello, world!' },
            ],
          },
        ],
      },
      'gpt-4o',
    );
    expect(n).toBe(3 + 3 + 1 + 255 + 765 + 4);
  });

  it('counts what it can of a request with features the upstream lacks instead of failing', async () => {
    const n = await countTokens(
      { model: 'x', tools: [{ type: 'web_search_20250305', name: 'web_search' }], messages: [{ role: 'user', content: 'Hello, world!' }] },
      'gpt-4o',
    );
    expect(n).toBe(3 + 3 + 1 + 4);
  });

  it('special-token text is ordinary text', async () => {
    expect(await countTokens({ model: 'x', messages: [{ role: 'user', content: 'a <|endoftext|> b' }] }, 'gpt-4o')).toBeGreaterThan(7);
  });
});
