import { geminiBadKey, geminiQuotaError } from '@conduit/testkit';
import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../routing/failure.js';
import { geminiHttpError, geminiStreamError } from './map-error.js';
import { geminiModelIdProblem } from './model-id.js';

const target = { provider: 'gemini', model: 'gemini-2.5-pro' };
const google = (code: number, status: string, message: string) => JSON.stringify({ error: { code, message, status } });
const body = (reply: ReturnType<typeof geminiBadKey>) => JSON.stringify((reply as { body: unknown }).body);

describe('Gemini errors', () => {
  it.each([
    [429, 'RESOURCE_EXHAUSTED', 'rate_limit_error', 'rate_limited'],
    [503, 'UNAVAILABLE', 'overloaded_error', 'transient'],
    [500, 'INTERNAL', 'api_error', 'transient'],
    [504, 'DEADLINE_EXCEEDED', 'timeout_error', 'transient'],
    [403, 'PERMISSION_DENIED', 'permission_error', 'key'],
    [404, 'NOT_FOUND', 'not_found_error', 'final'],
    [400, 'INVALID_ARGUMENT', 'invalid_request_error', 'final'],
    [400, 'FAILED_PRECONDITION', 'invalid_request_error', 'final'],
  ])('%i %s → %s (%s)', (code, status, type, routing) => {
    const err = geminiHttpError({ status: code, headers: {} }, google(code, status, 'details'), target);
    expect(err).toMatchObject({ status: code, type, message: `${status}: details` });
    expect(classifyFailure(err, true)).toBe(routing);
  });

  it('a key Gemini does not take (400 API_KEY_INVALID) is the key’s failure: 401, another key or the next fallback', () => {
    const err = geminiHttpError({ status: 400, headers: {} }, body(geminiBadKey()), target);
    expect(err).toMatchObject({ status: 401, type: 'authentication_error', message: 'INVALID_ARGUMENT: API key not valid. Please pass a valid API key.' });
    expect(classifyFailure(err, true)).toBe('key');
  });

  it('a quota error’s RetryInfo delay is its retry-after', () => {
    const err = geminiHttpError({ status: 429, headers: {} }, body(geminiQuotaError(37)), target);
    expect(err.headers['retry-after']).toBe('37');
    expect(err.upstream?.retryAfterMs).toBe(37_000);
    const header = geminiHttpError({ status: 429, headers: { 'retry-after': '2' } }, body(geminiQuotaError(37)), target);
    expect(header.upstream?.retryAfterMs).toBe(2_000);
  });

  it('a prompt over the context window moves on to the next fallback', () => {
    const err = geminiHttpError({ status: 400, headers: {} }, google(400, 'INVALID_ARGUMENT', 'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).'), target);
    expect(classifyFailure(err, true)).toBe('next_target');
  });

  it('a body that is not Google’s shape keeps the status and shows the text', () => {
    expect(geminiHttpError({ status: 502, headers: {} }, '<html>Bad Gateway</html>', target)).toMatchObject({ status: 502, type: 'api_error', message: 'upstream returned HTTP 502: <html>Bad Gateway</html>' });
  });

  it('an error inside a stream: its code, or 502', () => {
    expect(geminiStreamError({ code: 429, status: 'RESOURCE_EXHAUSTED', message: 'quota' }, target)).toMatchObject({ status: 429, type: 'rate_limit_error' });
    expect(geminiStreamError({ message: 'broken' }, target)).toMatchObject({ status: 502, type: 'api_error' });
  });
});

describe('Gemini model ids', () => {
  it.each(['gemini-2.5-pro', 'gemini-2.5-flash-preview-05-20', 'gemini-3-pro-preview', 'gemini-2.0-flash-001'])('accepts %s', (id) => expect(geminiModelIdProblem(id)).toBeUndefined());
  it.each(['../x', 'a/b', 'gemini:generateContent', 'a b', 'x?y', '..', 'gemini..x', '', 'models/gemini-2.5-pro'])('refuses %j', (id) => expect(geminiModelIdProblem(id)).toMatch(/is not a Gemini model id/));
});
