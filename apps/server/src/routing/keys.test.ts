import { describe, expect, it } from 'vitest';
import { KeyCooldowns, pickKey } from './keys.js';

const config = {
  keys: [
    { value: 'a', weight: 1 },
    { value: 'b', weight: 1 },
    { value: 'c', weight: 1, models: ['special'] },
  ],
};

function clock() {
  let t = 5_000;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('pickKey with cooldowns', () => {
  it('skips a rate-limited key while another is free, per model', () => {
    const c = clock();
    const cooldowns = new KeyCooldowns(c.now);
    cooldowns.coolDown('p#0', 'm', 1000, 'rate_limit');
    for (let i = 0; i < 50; i++) expect(pickKey('p', config, 'm', { cooldowns })!.key.value).toBe('b');
    // The cooldown is for model m only.
    expect(pickKey('p', config, 'other', { cooldowns, random: () => 0 })!.key.value).toBe('a');
    c.advance(1000);
    expect(pickKey('p', config, 'm', { cooldowns, random: () => 0 })!.key.value).toBe('a');
  });

  it('when every key is rate-limited, offers the one free soonest and says how long', () => {
    const c = clock();
    const cooldowns = new KeyCooldowns(c.now);
    cooldowns.coolDown('p#0', 'm', 900, 'rate_limit');
    cooldowns.coolDown('p#1', 'm', 300, 'rate_limit');
    expect(pickKey('p', config, 'm', { cooldowns })).toEqual({ key: { id: 'p#1', value: 'b' }, configured: true, coolingMs: 300 });
  });

  it('never offers a refused key, nor one excluded by the request', () => {
    const cooldowns = new KeyCooldowns();
    cooldowns.coolDown('p#0', 'm', 60_000, 'auth');
    expect(pickKey('p', config, 'm', { cooldowns })!.key.value).toBe('b');
    expect(pickKey('p', config, 'm', { cooldowns, exclude: new Set(['p#1']) })).toBeUndefined();
  });

  it('a refused key stays refused when it is later rate-limited too', () => {
    const cooldowns = new KeyCooldowns();
    cooldowns.coolDown('p#0', 'm', 60_000, 'auth');
    cooldowns.coolDown('p#0', 'm', 10, 'rate_limit');
    expect(cooldowns.get('p#0', 'm')!.reason).toBe('auth');
    expect(cooldowns.get('p#0', 'm')!.remainingMs).toBeGreaterThan(59_000);
  });

  it("forwards the client's credential when no key serves the model (never cooled)", () => {
    expect(pickKey('p', { keys: [] }, 'm')).toEqual({ key: { id: 'p#client' }, configured: false, coolingMs: 0 });
  });
});

describe('KeyCooldowns.served', () => {
  it('ends a rate-limit cooldown but never an auth one', () => {
    const cooldowns = new KeyCooldowns();
    cooldowns.coolDown('p#0', 'm', 60_000, 'rate_limit');
    cooldowns.coolDown('p#1', 'm', 60_000, 'auth');
    cooldowns.served('p#0', 'm');
    cooldowns.served('p#1', 'm');
    expect(cooldowns.get('p#0', 'm')).toBeUndefined();
    expect(cooldowns.get('p#1', 'm')?.reason).toBe('auth');
  });
});

describe('KeyCooldowns shared with other instances', () => {
  it('tells of cooldowns, and of a rate limit ending only when there was one', () => {
    const c = clock();
    const told: string[] = [];
    const cooldowns = new KeyCooldowns(c.now, { cooled: (k, m, until, r) => told.push(`${k} ${m} ${until} ${r}`), freed: (k, m) => told.push(`freed ${k} ${m}`) });
    cooldowns.served('p#0', 'm');
    cooldowns.coolDown('p#0', 'm', 100, 'rate_limit');
    cooldowns.served('p#0', 'm');
    cooldowns.served('p#0', 'm');
    cooldowns.coolDown('p#1', 'm', 100, 'auth');
    cooldowns.served('p#1', 'm');
    expect(told).toEqual(['p#0 m 5100 rate_limit', 'freed p#0 m', 'p#1 m 5100 auth']);
  });

  it("applies another instance's cooldowns, never shortening one, and its ends of rate limits", () => {
    const c = clock();
    const cooldowns = new KeyCooldowns(c.now);
    cooldowns.applyRemote('p#0', 'm', c.now() + 500, 'rate_limit');
    expect(cooldowns.get('p#0', 'm')).toEqual({ remainingMs: 500, reason: 'rate_limit' });
    cooldowns.applyRemote('p#0', 'm', c.now() + 100, 'rate_limit');
    expect(cooldowns.get('p#0', 'm')!.remainingMs).toBe(500);
    cooldowns.applyRemote('p#0', 'm', null, 'rate_limit');
    expect(cooldowns.get('p#0', 'm')).toBeUndefined();
    cooldowns.applyRemote('p#1', 'm', c.now() + 500, 'auth');
    cooldowns.applyRemote('p#1', 'm', null, 'rate_limit');
    expect(cooldowns.get('p#1', 'm')!.reason).toBe('auth');
    cooldowns.applyRemote('p#2', 'm', c.now() - 1, 'auth');
    expect(cooldowns.get('p#2', 'm')).toBeUndefined();
  });

  it('is bounded: model names are the clients\'', () => {
    const c = clock();
    const cooldowns = new KeyCooldowns(c.now);
    for (let i = 0; i < 10_001; i++) cooldowns.coolDown('p#0', `model-${i}`, 1000, 'auth');
    expect(cooldowns.get('p#0', 'model-0')).toBeUndefined();
    expect(cooldowns.get('p#0', 'model-10000')).toBeDefined();
  });
});
