import { describe, expect, it } from 'vitest';
import { modelMatcher } from './models.js';

describe('modelMatcher', () => {
  it('takes exact names, provider/model and * patterns, by name or by what the name resolves to', () => {
    const m = modelMatcher(['fast', 'anthropic/claude-haiku-*', 'openai/gpt-4o']);
    expect(m('fast', 'anthropic/claude-opus-4-1')).toBe(true);
    expect(m('claude-haiku-4-5', 'anthropic/claude-haiku-4-5')).toBe(true);
    expect(m('anthropic/claude-haiku-4-5', 'anthropic/claude-haiku-4-5')).toBe(true);
    expect(m('openai/gpt-4o', 'openai/gpt-4o')).toBe(true);
    expect(m('openai/gpt-4o-mini', 'openai/gpt-4o-mini')).toBe(false);
    expect(m('anthropic/claude-opus-4-1', 'anthropic/claude-opus-4-1')).toBe(false);
    expect(m('slow', 'anthropic/claude-opus-4-1')).toBe(false);
  });

  it('treats regex characters in patterns as text', () => {
    const m = modelMatcher(['local/llama3.1*']);
    expect(m('local/llama3.1-8b', undefined)).toBe(true);
    expect(m('local/llama3x1-8b', undefined)).toBe(false);
  });
});
