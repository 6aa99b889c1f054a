import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../routing/failure.js';
import { vertexHttpError } from './map-error.js';
import { vertexBaseUrl, vertexModelIdProblem } from './model-id.js';

const target = { provider: 'vertex', model: 'claude-sonnet-4-5@20250929' };
const google = (code: number, status: string, message: string) => JSON.stringify({ error: { code, message, status } });

describe('Vertex errors', () => {
  it.each([
    [429, 'RESOURCE_EXHAUSTED', 'rate_limit_error', 'rate_limited'],
    [503, 'UNAVAILABLE', 'overloaded_error', 'transient'],
    [401, 'UNAUTHENTICATED', 'authentication_error', 'key'],
    [403, 'PERMISSION_DENIED', 'permission_error', 'key'],
    [404, 'NOT_FOUND', 'not_found_error', 'final'],
    [400, 'INVALID_ARGUMENT', 'invalid_request_error', 'final'],
  ])('%i %s → %s (%s)', (code, status, type, routing) => {
    const err = vertexHttpError({ status: code, headers: {} }, google(code, status, 'details'), target);
    expect(err).toMatchObject({ status: code, type, message: `${status}: details` });
    expect(classifyFailure(err, true)).toBe(routing);
  });

  it('Google errors inside an array, and the model’s own errors in Anthropic’s envelope', () => {
    expect(vertexHttpError({ status: 429, headers: {} }, `[${google(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded')}]`, target)).toMatchObject({ status: 429, type: 'rate_limit_error', message: 'RESOURCE_EXHAUSTED: Quota exceeded' });
    const overloaded = vertexHttpError({ status: 529, headers: {} }, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), target);
    expect(overloaded).toMatchObject({ status: 529, type: 'overloaded_error', message: 'Overloaded' });
    const tooLong = vertexHttpError({ status: 400, headers: {} }, JSON.stringify({ type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } }), target);
    expect(classifyFailure(tooLong, true)).toBe('next_target');
  });
});

describe('Vertex model ids and endpoints', () => {
  it.each(['claude-sonnet-4-5@20250929', 'claude-3-5-sonnet-v2@20241022', 'claude-opus-4-1'])('accepts %s', (id) => expect(vertexModelIdProblem(id)).toBeUndefined());
  it.each(['../x', 'a/b', 'claude:rawPredict', 'claude@a@b', 'a b', 'x?y', '..', 'claude..x', ''])('refuses %j', (id) => expect(vertexModelIdProblem(id)).toMatch(/is not a Vertex AI model id/));
  it('regional, global and multi-regional hosts', () => {
    expect(vertexBaseUrl('us-east5')).toBe('https://us-east5-aiplatform.googleapis.com');
    expect(vertexBaseUrl('global')).toBe('https://aiplatform.googleapis.com');
    expect(vertexBaseUrl('eu')).toBe('https://aiplatform.eu.rep.googleapis.com');
  });
});
