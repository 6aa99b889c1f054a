import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { globMatch, modelMatcher } from './models.js';

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

describe('globMatch', () => {
  it('agrees with the pattern read as a regular expression (each * as .*) on any pattern and name', () => {
    const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    fc.assert(
      fc.property(fc.stringMatching(/^[ab*-]{0,8}$/), fc.stringMatching(/^[ab-]{0,12}$/), (pattern, name) => {
        const regex = new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`);
        expect(globMatch(pattern, name)).toBe(regex.test(name));
      }),
      { numRuns: 2000 },
    );
  });

  it('a pattern of many stars against a long name that does not match ends at once (a regular expression backtracks for hours)', () => {
    const pattern = `a${'*-'.repeat(50)}*b`;
    const name = `a${'-'.repeat(254)}c`;
    expect(globMatch(pattern, name)).toBe(false);
    expect(globMatch(pattern, `a${'-'.repeat(254)}b`)).toBe(true);
    expect(modelMatcher([pattern])(name, undefined)).toBe(false);
  });
});
