import { describe, expect, it } from 'vitest';
import { openAIErrorInBody, openAIHttpError, readOpenAIError } from './map-error.js';

const target = { provider: 'openai', model: 'gpt-4o' };
const res = (status: number, headers: Record<string, string> = {}) => ({ status, headers });

describe('readOpenAIError', () => {
  it('reads the OpenAI shape', () => {
    expect(readOpenAIError({ error: { message: 'bad', type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' } })).toEqual({
      message: 'bad',
      code: 'context_length_exceeded',
      status: undefined,
    });
  });

  it('reads Ollama, vLLM, Mistral and FastAPI shapes', () => {
    expect(readOpenAIError({ error: "model 'x' not found" }).message).toBe("model 'x' not found");
    expect(readOpenAIError({ object: 'error', message: 'too long', type: 'BadRequestError', code: 400 })).toEqual({
      message: 'too long',
      code: 'BadRequestError',
      status: 400,
    });
    expect(readOpenAIError({ object: 'error', message: { detail: [{ type: 'extra_forbidden' }] }, type: 'invalid_request_error' }).message).toContain(
      'extra_forbidden',
    );
    expect(readOpenAIError({ detail: 'Not Found' }).message).toBe('Not Found');
  });

  it('is empty for a body that is not an object', () => {
    expect(readOpenAIError(undefined)).toEqual({});
    expect(readOpenAIError('text')).toEqual({});
  });
});

describe('openAIHttpError', () => {
  it.each([
    [400, 'invalid_request_error'],
    [401, 'authentication_error'],
    [403, 'permission_error'],
    [404, 'not_found_error'],
    [429, 'rate_limit_error'],
    [500, 'api_error'],
    [503, 'overloaded_error'],
    [529, 'overloaded_error'],
  ])('keeps status %i and uses the Anthropic type %s', (status, type) => {
    const err = openAIHttpError(res(status), target, JSON.stringify({ error: { message: 'nope', type: 'invalid_request_error', code: null } }));
    expect(err.status).toBe(status);
    expect(err.type).toBe(type);
    expect(err.message).toBe('nope');
    expect(err.origin).toBe('upstream');
  });

  it('classifies context_length_exceeded', () => {
    const err = openAIHttpError(
      res(400),
      target,
      JSON.stringify({ error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } }),
    );
    expect(err.upstream?.kind).toBe('context_length');
  });

  it('classifies a content policy refusal', () => {
    const err = openAIHttpError(res(400), target, JSON.stringify({ error: { message: 'rejected', code: 'content_policy_violation' } }));
    expect(err.upstream?.kind).toBe('content_policy');
  });

  it('relays retry-after with a 429', () => {
    const err = openAIHttpError(res(429, { 'retry-after': '7' }), target, JSON.stringify({ error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } }));
    expect(err.headers['retry-after']).toBe('7');
    expect(err.upstream?.retryAfterMs).toBe(7000);
  });

  it('quotes a body that is not JSON', () => {
    const err = openAIHttpError(res(502), target, '<html>Bad Gateway</html>');
    expect(err.message).toBe('upstream returned HTTP 502: <html>Bad Gateway</html>');
    expect(err.type).toBe('api_error');
  });
});

describe('openAIErrorInBody', () => {
  it('uses a numeric code as the status and keeps the upstream\'s message', () => {
    const err = openAIErrorInBody({ code: 429, message: 'Rate limit exceeded' }, target);
    expect(err.status).toBe(429);
    expect(err.type).toBe('rate_limit_error');
    expect(err.message).toBe('Rate limit exceeded');
    expect(err.upstream).toMatchObject({ provider: 'openai', model: 'gpt-4o', status: 429, kind: 'http' });
  });

  it('a context-length message is classified as such (the next fallback may take it)', () => {
    const err = openAIErrorInBody({ code: 400, message: "This model's maximum context length is 8192 tokens." }, target);
    expect(err.upstream?.kind).toBe('context_length');
  });

  it('defaults to 502 api_error', () => {
    const err = openAIErrorInBody({ message: 'The server had an error', type: 'server_error' }, target);
    expect(err.status).toBe(502);
    expect(err.type).toBe('api_error');
  });
});
