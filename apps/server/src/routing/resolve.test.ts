import { describe, expect, it } from 'vitest';
import type { Provider } from '../providers/types.js';
import { chooseKey } from './keys.js';
import { resolveModel } from './resolve.js';

const fake = (name: string) => ({ name }) as Provider;
const providers = new Map([
  ['anthropic', fake('anthropic')],
  ['openrouter', fake('openrouter')],
]);

describe('resolveModel', () => {
  it('splits provider/model at the first slash', () => {
    const t = resolveModel({ providers }, 'openrouter/meta-llama/llama-3-70b');
    expect(t.provider.name).toBe('openrouter');
    expect(t.model).toBe('meta-llama/llama-3-70b');
    expect(t.label).toBe('openrouter/meta-llama/llama-3-70b');
  });

  it('sends a bare name to the default provider', () => {
    const t = resolveModel({ providers, defaultProvider: 'anthropic' }, 'claude-sonnet-4-5');
    expect([t.provider.name, t.model, t.label]).toEqual(['anthropic', 'claude-sonnet-4-5', 'anthropic/claude-sonnet-4-5']);
  });

  it('rejects an unknown provider with a 400 that lists the configured ones', () => {
    expect(() => resolveModel({ providers }, 'nope/x')).toThrow(/unknown provider "nope".*configured providers: anthropic, openrouter/);
    try {
      resolveModel({ providers }, 'nope/x');
    } catch (err) {
      expect((err as { status: number }).status).toBe(400);
    }
  });

  it('rejects a bare name when there is no default provider', () => {
    expect(() => resolveModel({ providers }, 'gpt-5')).toThrow(/no provider prefix/);
  });
});

describe('chooseKey', () => {
  const config = {
    type: 'anthropic' as const,
    keys: [
      { value: 'a', weight: 3 },
      { value: 'b', weight: 1 },
      { value: 'c', weight: 5, models: ['only-this'] },
    ],
    models: [],
    headers: {},
  };

  it('chooses by weight among keys that serve the model', () => {
    expect(chooseKey('p', config, 'm', () => 0).value).toBe('a');
    expect(chooseKey('p', config, 'm', () => 0.74).value).toBe('a');
    expect(chooseKey('p', config, 'm', () => 0.76).value).toBe('b');
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 4000; i++) counts[chooseKey('p', config, 'm').value!]!++;
    expect(counts.a! / 4000).toBeGreaterThan(0.68);
    expect(counts.a! / 4000).toBeLessThan(0.82);
  });

  it('uses a model-scoped key for its model', () => {
    expect(chooseKey('p', config, 'only-this', () => 0.99).value).toBe('c');
  });

  it('forwards the client credential when the provider has no keys', () => {
    expect(chooseKey('p', { ...config, keys: [] }, 'm')).toEqual({ id: 'p#client' });
  });
});
