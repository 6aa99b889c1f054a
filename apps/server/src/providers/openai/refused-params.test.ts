import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { OpenAIChatRequest } from './openai-types.js';
import { refusedParam } from './refused-params.js';

const body = (extra: Partial<OpenAIChatRequest>): OpenAIChatRequest => ({ model: 'o3', messages: [{ role: 'user', content: 'Hi' }], ...extra });
const error = (message: string, param: string | null = null) => JSON.stringify({ error: { message, type: 'invalid_request_error', param, code: null } });

describe('refusedParam', () => {
  it("o3 refusing stop (OpenAI's own answer)", () => {
    const text = readFileSync(new URL('./__fixtures__/openai-o3-stop-unsupported.json', import.meta.url), 'utf8');
    expect(refusedParam(400, text, body({ stop: ['END'] }))).toBe('stop');
  });

  it('stop is only recognised quoted or as the param: the word is too common', () => {
    expect(refusedParam(400, error("Unsupported parameter: 'stop'"), body({ stop: ['x'] }))).toBe('stop');
    expect(refusedParam(400, error('Please stop sending this many tokens'), body({ stop: ['x'] }))).toBeUndefined();
  });

  it('reasoning_effort and stream_options by param or in the message; only when the request carried them', () => {
    expect(refusedParam(400, error("Unsupported parameter: 'reasoning_effort' is not supported with this model.", 'reasoning_effort'), body({ reasoning_effort: 'low' }))).toBe('reasoning_effort');
    expect(refusedParam(422, JSON.stringify({ detail: 'extra fields not permitted: stream_options' }), body({ stream: true, stream_options: { include_usage: true } }))).toBe('stream_options');
    expect(refusedParam(400, error('Unrecognized request argument supplied: reasoning_effort'), body({}))).toBeUndefined();
    expect(refusedParam(500, error("Unsupported parameter: 'stop'", 'stop'), body({ stop: ['x'] }))).toBeUndefined();
  });
});
