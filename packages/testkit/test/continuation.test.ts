import { describe, expect, it } from 'vitest';
import { anthropicAnswer, assistantPrefix, openaiAnswer, parseSse, PREFILL_REFUSAL, restOfAnswer, startFakeAnthropic } from '../src/index.js';

const TEXT = 'one two three four five';

describe('answers that continue a prefix', () => {
  it('the prefix is the final assistant message, in either wire format', () => {
    expect(assistantPrefix({ messages: [{ role: 'user', content: 'x' }] })).toBeUndefined();
    expect(assistantPrefix({ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: [{ type: 'text', text: 'one ' }, { type: 'text', text: 'two' }] }] })).toBe('one two');
    expect(assistantPrefix({ messages: [{ role: 'assistant', content: 'one', prefix: true }] })).toBe('one');
  });

  it('the rest of the answer after the prefix, or all of it; a prefix the answer never said is an error', () => {
    expect(restOfAnswer({ messages: [{ role: 'assistant', content: 'one two' }] }, TEXT)).toBe(' three four five');
    expect(restOfAnswer({ messages: [{ role: 'user', content: 'q' }] }, TEXT)).toBe(TEXT);
    expect(() => restOfAnswer({ messages: [{ role: 'assistant', content: 'two' }] }, TEXT)).toThrow(/not the start/);
  });

  it('Anthropic and OpenAI streams of the rest', () => {
    const body = { model: 'm', stream: true, messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'one two' }] };
    const a = anthropicAnswer(body, TEXT, { cutAfter: 5 });
    expect(a.kind === 'sse' && a.cutAfter).toBe(5);
    const text = a.kind === 'sse' ? parseSse(a.events.join('')).filter((e) => e.event === 'content_block_delta').map((e) => e.data.delta.text).join('') : '';
    expect(text).toBe(' three four five');
    const o = openaiAnswer({ ...body, stream_options: { include_usage: true } }, TEXT);
    const pieces = o.kind === 'sse' ? parseSse(o.events.join('')).flatMap((e) => (typeof e.data === 'object' ? [e.data.choices[0]?.delta?.content ?? ''] : [])) : [];
    expect(pieces.join('')).toBe(' three four five');
  });

  it('a model that refuses prefill answers 400 with Anthropic\'s message', async () => {
    const fake = await startFakeAnthropic({ noPrefillModels: ['claude-opus-4-6'] });
    try {
      const post = (model: string, messages: unknown[]) =>
        fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'k', 'content-type': 'application/json' }, body: JSON.stringify({ model, max_tokens: 5, messages }) });
      const refused = await post('claude-opus-4-6', [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]);
      expect(refused.status).toBe(400);
      expect((await refused.json()).error.message).toBe(PREFILL_REFUSAL);
      expect((await post('claude-opus-4-6', [{ role: 'user', content: 'q' }])).status).toBe(200);
      expect((await post('claude-sonnet-4-5', [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }])).status).toBe(200);
    } finally {
      await fake.close();
    }
  });
});
