import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { aliasConfigErrors } from './aliases.js';

const providers = { anthropic: { type: 'anthropic', keys: [] }, openai: { type: 'openai', keys: [{ value: 'k' }] } } as const;

describe('model aliases in config', () => {
  it('accepts targets and fallbacks that name configured providers, or other aliases', () => {
    const config = parseConfig({
      default_provider: 'anthropic',
      providers,
      models: {
        'claude-sonnet-4-5': { target: 'openai/gpt-5', fallbacks: ['anthropic/claude-sonnet-4-5', 'fast'] },
        fast: { target: 'claude-haiku-4-5' },
      },
    });
    expect(config.models['claude-sonnet-4-5']!.fallbacks).toHaveLength(2);
    expect(config.models.fast!.fallbacks).toEqual([]);
  });

  it('refuses unknown providers at start-up, naming the field', () => {
    expect(() => parseConfig({ providers, models: { x: { target: 'nowhere/m', fallbacks: ['openai/'] } } })).toThrow(
      /models\.x\.target: unknown provider "nowhere"[\s\S]*models\.x\.fallbacks\[0\]: "openai\/" names no model/,
    );
  });

  it('refuses a bare target without a provider to send it to', () => {
    expect(aliasConfigErrors({ providers: providers as never, models: { x: { target: 'gpt-5', fallbacks: [] } } })).toEqual([
      'models.x.target: "gpt-5" has no provider prefix and no default_provider is configured',
    ]);
  });

  it('refuses an alias whose plan is longer than limits.max_plan_targets', () => {
    const fallbacks = ['openai/a', 'openai/b', 'openai/c'];
    expect(() => parseConfig({ providers, limits: { max_plan_targets: 3 }, models: { x: { target: 'openai/gpt-5', fallbacks } } })).toThrow(
      /models\.x\.fallbacks: the target and 3 fallbacks make 4 targets; limits\.max_plan_targets is 3/,
    );
    expect(parseConfig({ providers, limits: { max_plan_targets: 4 }, models: { x: { target: 'openai/gpt-5', fallbacks } } }).models.x!.fallbacks).toEqual(fallbacks);
  });

  it('fills in the routing defaults for every provider', () => {
    const config = parseConfig({ providers });
    expect(config.providers.anthropic!.max_retries).toBe(2);
    expect(config.providers.anthropic!.timeouts).toEqual({ connect_ms: 10_000, headers_ms: 600_000, first_token_ms: 120_000, idle_ms: 120_000, total_ms: 1_800_000 });
    expect(config.providers.anthropic!.retry).toEqual({ base_ms: 500, max_ms: 8_000, max_retry_after_ms: 30_000, key_cooldown_ms: 60_000 });
    expect(config.providers.anthropic!.breaker).toEqual({ failure_threshold: 5, cooldown_ms: 30_000 });
    expect(() => parseConfig({ providers: { a: { type: 'anthropic', timeouts: { idle_ms: 0 } } } })).toThrow(/providers\.a\.timeouts\.idle_ms/);
  });
});
