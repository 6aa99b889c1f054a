import { describe, expect, it } from 'vitest';
import { ConfigError, configFromEnv, parseConfig } from '../config/load.js';
import { hashSecret } from './secrets.js';

const withKey = { anthropic: { type: 'anthropic', keys: [{ value: 'sk-ant-upstream' }] } };
const parse = (raw: Record<string, unknown>, env: Record<string, string> = {}) => parseConfig({ providers: withKey, ...raw }, env);
const failure = (raw: Record<string, unknown>, env: Record<string, string> = {}): string => {
  try {
    parse(raw, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('the config was accepted');
};

describe('auth config', () => {
  it('is absent by default: no gateway auth', () => {
    expect(parse({}).auth).toBeUndefined();
  });

  it('takes keys as the secret, env.NAME or sha256:<hex>, with limits and a team', () => {
    const config = parse(
      {
        auth: {
          admin_key: 'env.ADMIN',
          teams: [{ name: 'research', rpm: 100, budget_usd: 50 }],
          keys: [
            { name: 'ci', value: 'sk-cdt-plain-secret-value', models: ['anthropic/*'], rpm: 60, tpm: 10000, max_concurrent: 2, budget_usd: 5, budget_period: 'day', team: 'research' },
            { name: 'bot', value: 'env.BOT_KEY' },
            { name: 'hashed', value: hashSecret('sk-cdt-hashed') },
          ],
        },
      },
      { ADMIN: 'admin-secret', BOT_KEY: 'sk-cdt-from-env' },
    );
    expect(config.auth).toMatchObject({ mode: 'keys', admin_key: 'admin-secret', metrics: 'open' });
    expect(config.auth!.keys[0]).toMatchObject({ name: 'ci', rpm: 60, budget_period: 'day', team: 'research' });
    expect(config.auth!.keys[1]!.value).toBe('sk-cdt-from-env');
    expect(config.auth!.keys[2]!.budget_period).toBe('month');
  });

  it('names bad fields: names, periods, teams, duplicate and malformed secrets', () => {
    const message = failure({
      auth: {
        admin_key: 'same-secret',
        keys: [
          { name: 'has space', value: 'a-secret-1' },
          { name: 'k2', value: 'a-secret-1', budget_period: 'week' },
          { name: 'k3', value: 'same-secret', team: 'nobody' },
          { name: 'k4', value: 'sha256:abc' },
          { name: 'k4', value: 'another' },
        ],
      },
    });
    expect(message).toContain('auth.keys[0].name');
    expect(message).toContain('auth.keys[1].budget_period');
    // The checks after the schema run only once the schema passed: try them on their own.
    const second = failure({
      auth: {
        admin_key: 'same-secret',
        keys: [
          { name: 'k1', value: 'a-secret-1' },
          { name: 'k2', value: hashSecret('a-secret-1') },
          { name: 'k3', value: 'same-secret', team: 'nobody' },
          { name: 'k4', value: 'sha256:abc' },
          { name: 'k4', value: 'another' },
        ],
      },
    });
    expect(second).toContain('auth.keys[1].value: the same secret as auth.keys[0]');
    expect(second).toContain('auth.keys[2].value: the same secret as auth.admin_key');
    expect(second).toContain('auth.keys[2].team: "nobody" is not in auth.teams');
    expect(second).toContain('auth.keys[3].value: a hash is "sha256:" and 64 lowercase hex digits');
    expect(second).toContain('auth.keys[4].name: "k4" is used twice');
  });

  it('with auth on, an anthropic provider must hold a key for every model: client keys never travel upstream', () => {
    const message = failure({
      providers: { anthropic: { type: 'anthropic' }, partial: { type: 'anthropic', keys: [{ value: 'k', models: ['claude-haiku-4-5'] }] } },
      auth: { keys: [{ name: 'k', value: 'sk-cdt-x' }] },
    });
    expect(message).toContain('providers.anthropic.keys: with auth on');
    expect(message).toContain('providers.partial.keys: with auth on');
  });

  it('mode open takes nothing else', () => {
    expect(failure({ auth: { mode: 'open', admin_key: 'x' } })).toContain('auth.mode: "open" turns authentication off');
  });
});

describe('the safe default', () => {
  it('refuses a gateway reachable from other machines, holding provider keys, without auth, and says what to set', () => {
    const message = failure({ listen: { host: '0.0.0.0' } });
    expect(message).toContain('listen.host 0.0.0.0 is reachable from other machines');
    expect(message).toContain('providers anthropic hold API keys');
    expect(message).toContain('auth.admin_key and auth.keys');
    expect(message).toContain('auth: { mode: open }');
  });

  it('starts when it listens on loopback, holds no keys, has auth, or is open on purpose', () => {
    for (const host of ['127.0.0.1', 'localhost', '::1', '127.0.0.2']) expect(() => parse({ listen: { host } })).not.toThrow();
    expect(() => parseConfig({ listen: { host: '0.0.0.0' }, providers: { anthropic: { type: 'anthropic' } } }, {})).not.toThrow();
    expect(() => parse({ listen: { host: '0.0.0.0' }, auth: { admin_key: 'admin' } })).not.toThrow();
    expect(() => parse({ listen: { host: '0.0.0.0' }, auth: { mode: 'open' } })).not.toThrow();
  });

  it('without a config file: CONDUIT_ADMIN_KEY turns auth on, CONDUIT_OPEN=true opens it on purpose', () => {
    const env = { CONDUIT_HOST: '0.0.0.0', ANTHROPIC_API_KEY: 'sk-ant' };
    expect(() => configFromEnv(env)).toThrow(/CONDUIT_ADMIN_KEY/);
    expect(configFromEnv({ ...env, CONDUIT_ADMIN_KEY: 'admin-secret' }).auth).toMatchObject({ mode: 'keys', admin_key: 'admin-secret' });
    expect(configFromEnv({ ...env, CONDUIT_OPEN: 'true' }).auth).toMatchObject({ mode: 'open' });
  });
});
