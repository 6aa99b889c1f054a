import { describe, expect, it } from 'vitest';
import type { CreateMessageRequest } from '../../generated/types.gen.js';
import { toEnvelopeBody, toUpstreamBody } from './upstream-body.js';

const body = {
  model: 'bedrock/x',
  max_tokens: 10,
  stream: true,
  messages: [{ role: 'user', content: 'hi' }],
  fallbacks: ['anthropic/y', { model: 'claude-z' }],
  some_new_field: { kept: true },
} as unknown as CreateMessageRequest;

describe('bodies for Anthropic-speaking upstreams', () => {
  it('Anthropic’s API: the upstream model, stream as asked, the gateway’s string fallbacks removed', () => {
    expect(JSON.parse(toUpstreamBody(body, 'claude-x', false))).toEqual({ model: 'claude-x', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], fallbacks: [{ model: 'claude-z' }], some_new_field: { kept: true } });
    expect(JSON.parse(toUpstreamBody(body, 'claude-x', true)).stream).toBe(true);
  });

  it('a cloud envelope: no model, no stream, the platform’s fields; undefined fields left out', () => {
    expect(JSON.parse(toEnvelopeBody(body, { anthropic_version: 'bedrock-2023-05-31', anthropic_beta: undefined }))).toEqual({
      max_tokens: 10,
      messages: [{ role: 'user', content: 'hi' }],
      fallbacks: [{ model: 'claude-z' }],
      some_new_field: { kept: true },
      anthropic_version: 'bedrock-2023-05-31',
    });
    expect(JSON.parse(toEnvelopeBody(body, { anthropic_version: 'vertex-2023-10-16', stream: true }))).toMatchObject({ stream: true, anthropic_version: 'vertex-2023-10-16' });
  });
});
