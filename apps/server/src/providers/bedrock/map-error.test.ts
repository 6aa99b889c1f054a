import { describe, expect, it } from 'vitest';
import { classifyFailure } from '../../routing/failure.js';
import { bedrockHttpError } from './map-error.js';
import { bedrockModelIdProblem, foundationModelId, isClaudeModel, modelPath } from './model-id.js';
import { BEDROCK_BETAS, splitBetas } from './betas.js';

const target = { provider: 'bedrock', model: 'anthropic.claude-sonnet-4-5-20250929-v1:0' };
const error = (status: number, type: string, message: string) =>
  bedrockHttpError({ status, headers: { 'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/` } }, JSON.stringify({ message }), target);

describe('Bedrock errors → Anthropic error types and routing', () => {
  it.each([
    [429, 'ThrottlingException', 429, 'rate_limit_error', 'rate_limited'],
    [429, 'ModelNotReadyException', 503, 'overloaded_error', 'transient'],
    [503, 'ServiceUnavailableException', 503, 'overloaded_error', 'transient'],
    [500, 'InternalServerException', 500, 'api_error', 'transient'],
    [408, 'ModelTimeoutException', 504, 'timeout_error', 'transient'],
    [400, 'ValidationException', 400, 'invalid_request_error', 'final'],
    [404, 'ResourceNotFoundException', 404, 'not_found_error', 'final'],
    [403, 'AccessDeniedException', 403, 'permission_error', 'key'],
  ])('%i %s → %i %s (%s)', (status, type, wantStatus, wantType, routing) => {
    const err = error(status, type, 'm');
    expect(err).toMatchObject({ status: wantStatus, type: wantType, origin: 'upstream' });
    expect(err.message).toBe(`${type}: m`);
    expect(classifyFailure(err, true)).toBe(routing);
  });

  it('a prompt over the context window is a context-length 400 (the next fallback may take it)', () => {
    const err = error(400, 'ValidationException', 'Input is too long for requested model.');
    expect(err.upstream?.kind).toBe('context_length');
    expect(classifyFailure(err, true)).toBe('next_target');
  });

  it('no x-amzn-ErrorType: the status decides; a body that is not JSON is quoted', () => {
    const err = bedrockHttpError({ status: 502, headers: {} }, '<html>Bad Gateway</html>', target);
    expect(err).toMatchObject({ status: 502, type: 'api_error' });
    expect(err.message).toContain('<html>Bad Gateway</html>');
  });
});

describe('Bedrock model ids', () => {
  it.each([
    'anthropic.claude-sonnet-4-5-20250929-v1:0',
    'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
    'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
    'meta.llama3-3-70b-instruct-v1:0',
    'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123xyz',
  ])('accepts %s', (id) => expect(bedrockModelIdProblem(id)).toBeUndefined());

  it.each(['../../admin', 'a/../b', 'anthropic.claude/../../x', 'a b', 'x?y=1', 'x#y', '%2e%2e', 'a..b', ''])('refuses %j', (id) => {
    expect(bedrockModelIdProblem(id)).toMatch(/is not a Bedrock model id/);
  });

  it('Claude models, inference profiles and the path segment', () => {
    expect(isClaudeModel('eu.anthropic.claude-3-7-sonnet-20250219-v1:0')).toBe(true);
    expect(isClaudeModel('arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0')).toBe(true);
    expect(isClaudeModel('amazon.nova-pro-v1:0')).toBe(false);
    expect(foundationModelId('global.anthropic.claude-sonnet-4-5-20250929-v1:0')).toBe('anthropic.claude-sonnet-4-5-20250929-v1:0');
    expect(modelPath('anthropic.claude-x-v1:0', 'invoke')).toBe('/model/anthropic.claude-x-v1%3A0/invoke');
    expect(modelPath('arn:aws:bedrock:us-east-1:1:application-inference-profile/p', 'converse')).toBe('/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aapplication-inference-profile%2Fp/converse');
  });
});

describe('betas', () => {
  it('keeps the ones Bedrock knows, drops the rest, each once', () => {
    expect(splitBetas('interleaved-thinking-2025-05-14, files-api-2025-04-14,context-1m-2025-08-07,files-api-2025-04-14', new Set(BEDROCK_BETAS))).toEqual({
      kept: ['interleaved-thinking-2025-05-14', 'context-1m-2025-08-07'],
      dropped: ['files-api-2025-04-14'],
    });
    expect(splitBetas(undefined, new Set(BEDROCK_BETAS))).toEqual({ kept: [], dropped: [] });
  });
});
