import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, loadConfig, parseConfig } from './load.js';

describe('parseConfig', () => {
  it('fills defaults and substitutes env.NAME', () => {
    const config = parseConfig(
      { providers: { anthropic: { type: 'anthropic', keys: [{ value: 'env.MY_KEY' }] } } },
      { MY_KEY: 'sk-ant-1' },
    );
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.providers.anthropic!.keys).toEqual([{ value: 'sk-ant-1', weight: 1 }]);
  });

  it('names the field whose env variable is missing', () => {
    expect(() =>
      parseConfig({ providers: { anthropic: { type: 'anthropic', keys: [{ value: 'env.NOPE_KEY' }] } } }, {}),
    ).toThrow('providers.anthropic.keys[0].value: environment variable NOPE_KEY is not set');
  });

  it('names every invalid field', () => {
    let message = '';
    try {
      parseConfig({ listen: { port: 'x' }, providers: { a: { type: 'carrier-pigeon' } }, surprise: 1 }, {});
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      message = (err as Error).message;
    }
    expect(message).toContain('listen.port');
    expect(message).toContain('providers.a.type');
    expect(message).toContain('surprise');
  });

  it('body_max_depth defaults to 128 and stays within 8..1000, so a raised limit cannot reach the stack', () => {
    const providers = { a: { type: 'anthropic' } };
    expect(parseConfig({ providers }, {}).body_max_depth).toBe(128);
    expect(parseConfig({ providers, body_max_depth: 1000 }, {}).body_max_depth).toBe(1000);
    expect(() => parseConfig({ providers, body_max_depth: 1001 }, {})).toThrow(/body_max_depth/);
    expect(() => parseConfig({ providers, body_max_depth: 4 }, {})).toThrow(/body_max_depth/);
  });

  it('async.credential_key, when set, is at least 32 characters', () => {
    const providers = { a: { type: 'anthropic' } };
    expect(parseConfig({ providers }, {}).async.credential_key).toBeUndefined();
    expect(() => parseConfig({ providers, async: { credential_key: 'too-short' } }, {})).toThrow(/async\.credential_key: credential_key must be at least 32 characters/);
  });

  it('batches: Anthropic\'s defaults and limits; batches: native only on an anthropic provider', () => {
    const config = parseConfig({ providers: { a: { type: 'anthropic' } } }, {});
    expect(config.batches).toEqual({
      concurrency: 4,
      yield_above_in_flight: 32,
      max_requests: 100_000,
      body_limit: '256mb',
      max_pending_requests: 1_000_000,
      expiry_s: 86_400,
      results_ttl_s: 29 * 86_400,
      archived_ttl_s: 30 * 86_400,
    });
    expect(config.providers.a!.batches).toBe('gateway');
    expect(() => parseConfig({ batches: { max_requests: 100_001 }, providers: { a: { type: 'anthropic' } } }, {})).toThrow(/batches\.max_requests/);
    expect(() => parseConfig({ batches: { expiry_s: 10, results_ttl_s: 5 }, providers: { a: { type: 'anthropic' } } }, {})).toThrow(
      /batches\.expiry_s: expiry_s must not exceed results_ttl_s/,
    );
    expect(() => parseConfig({ batches: { public_url: 'ftp://x' }, providers: { a: { type: 'anthropic' } } }, {})).toThrow(/batches\.public_url/);
    expect(parseConfig({ providers: { a: { type: 'anthropic', batches: 'native' } } }, {}).providers.a!.batches).toBe('native');
    expect(() => parseConfig({ providers: { o: { type: 'openai', base_url: 'http://x/v1', batches: 'native' } } }, {})).toThrow(
      /providers\.o\.batches: native needs Anthropic's Message Batches API; a provider of type openai has none/,
    );
  });

  it('a provider or alias named like an Object.prototype member is an ordinary name', () => {
    const config = parseConfig(
      { default_provider: 'constructor', providers: { constructor: { type: 'anthropic' } }, models: { toString: { target: 'constructor/claude', fallbacks: ['valueOf'] } } },
      {},
    );
    expect(Object.keys(config.providers)).toEqual(['constructor']);
    expect(() => parseConfig({ default_provider: 'toString', providers: { a: { type: 'anthropic' } } }, {})).toThrow(/default_provider: "toString" is not a configured provider/);
    expect(() => parseConfig({ providers: { a: { type: 'anthropic' } }, models: { x: { target: 'hasOwnProperty/claude' } } }, {})).toThrow(
      /models\.x\.target: unknown provider "hasOwnProperty"/,
    );
  });

  it('rejects a default_provider that is not configured, listing the configured ones', () => {
    expect(() => parseConfig({ default_provider: 'x', providers: { a: { type: 'anthropic' } } }, {})).toThrow(
      /default_provider: "x" is not a configured provider \(configured: a\)/,
    );
  });

  it('requires at least one provider', () => {
    expect(() => parseConfig({ providers: {} }, {})).toThrow(/at least one provider/);
  });
});

describe('configFromEnv', () => {
  it('builds an anthropic provider from ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL', () => {
    const config = configFromEnv({ ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9' });
    expect(config.default_provider).toBe('anthropic');
    expect(config.providers.anthropic).toMatchObject({ type: 'anthropic', base_url: 'http://127.0.0.1:9', keys: [{ value: 'k' }] });
  });

  it('without a key forwards the client credential (no keys)', () => {
    expect(configFromEnv({}).providers.anthropic!.keys).toEqual([]);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'conduit-config-'));

  it('reads YAML from CONDUIT_CONFIG', () => {
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'listen: { port: 9999 }\nproviders:\n  anthropic:\n    type: anthropic\n    keys: [{ value: env.K }]\n');
    const config = loadConfig({ env: { CONDUIT_CONFIG: file, K: 'secret' } });
    expect(config.listen.port).toBe(9999);
    expect(config.providers.anthropic!.keys[0]!.value).toBe('secret');
  });

  it('reads JSON from an explicit path', () => {
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ providers: { a: { type: 'anthropic' } } }));
    expect(loadConfig({ path: file, env: {} }).providers.a!.type).toBe('anthropic');
  });

  it('reports an unreadable or unparsable file', () => {
    expect(() => loadConfig({ path: join(dir, 'missing.yaml'), env: {} })).toThrow(/cannot read config file/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ nope');
    expect(() => loadConfig({ path: bad, env: {} })).toThrow(/cannot parse config file/);
  });
});

describe('stream continuation settings', () => {
  const providers = { a: { type: 'anthropic' } };

  it('limits: two continuations of at most 500 000 characters by default, within bounds', () => {
    const limits = parseConfig({ providers }, {}).limits;
    expect([limits.max_stream_continuations, limits.max_continuation_chars]).toEqual([2, 500_000]);
    expect(parseConfig({ providers, limits: { max_stream_continuations: 0 } }, {}).limits.max_stream_continuations).toBe(0);
    expect(() => parseConfig({ providers, limits: { max_stream_continuations: 11 } }, {})).toThrow(/limits\.max_stream_continuations/);
    expect(() => parseConfig({ providers, limits: { max_continuation_chars: 0 } }, {})).toThrow(/limits\.max_continuation_chars/);
  });

  it('stream_fallback_prefill is still accepted (deprecated; the gateway warns)', () => {
    expect(parseConfig({ providers, stream_fallback_prefill: true }, {}).stream_fallback_prefill).toBe(true);
    expect(() => parseConfig({ providers, stream_fallback_prefill: 'yes' }, {})).toThrow(/stream_fallback_prefill/);
  });
});

describe('the parse cache setting', () => {
  const providers = { a: { type: 'anthropic' } };

  it('limits.parse_cache_mb: 64 by default, 0 turns it off, bounded', () => {
    expect(parseConfig({ providers }, {}).limits.parse_cache_mb).toBe(64);
    expect(parseConfig({ providers, limits: { parse_cache_mb: 0 } }, {}).limits.parse_cache_mb).toBe(0);
    expect(() => parseConfig({ providers, limits: { parse_cache_mb: -1 } }, {})).toThrow(/limits\.parse_cache_mb/);
    expect(() => parseConfig({ providers, limits: { parse_cache_mb: 5000 } }, {})).toThrow(/limits\.parse_cache_mb/);
  });
});

describe('the bodies in flight setting', () => {
  const providers = { a: { type: 'anthropic' } };

  it('limits.bodies_in_flight_mb: 512 by default, at least 1', () => {
    expect(parseConfig({ providers }, {}).limits.bodies_in_flight_mb).toBe(512);
    expect(parseConfig({ providers, limits: { bodies_in_flight_mb: 64 } }, {}).limits.bodies_in_flight_mb).toBe(64);
    expect(() => parseConfig({ providers, limits: { bodies_in_flight_mb: 0 } }, {})).toThrow(/limits\.bodies_in_flight_mb/);
  });
});
