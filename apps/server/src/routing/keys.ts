import type { ProviderConfig } from '../config/schema.js';
import type { AttemptKey } from '../providers/types.js';

/** Why a key sits out: a refused key (401/403) is not used at all; a rate-limited one only when nothing else is free. */
export type CooldownReason = 'auth' | 'rate_limit';

/** Cooldowns kept at most (keys × models); see KeyCooldowns.set. */
const MAX_COOLDOWNS = 10_000;

/** Told of cooldowns to share with other instances (state/shared-state.ts). */
export interface CooldownShare {
  /** The key sits out for `model` until `until` (epoch ms). */
  cooled(keyId: string, model: string, until: number, reason: CooldownReason): void;
  /** The key's rate-limit cooldown for `model` is over (it served). */
  freed(keyId: string, model: string): void;
}

/**
 * Per key and model: until when a key sits out after a 429 or a 401/403. In this process's memory,
 * shared with other instances through `share` when they share Redis.
 */
export class KeyCooldowns {
  private readonly entries = new Map<string, { until: number; reason: CooldownReason }>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly share?: CooldownShare,
  ) {}

  /** Extends (never shortens) the key's cooldown for `model`. */
  coolDown(keyId: string, model: string, ms: number, reason: CooldownReason): void {
    if (ms <= 0) return;
    const id = `${keyId}|${model}`;
    const current = this.get(keyId, model);
    const entry = {
      until: this.now() + Math.max(ms, current?.remainingMs ?? 0),
      reason: current?.reason === 'auth' ? ('auth' as const) : reason,
    };
    this.set(id, entry);
    this.share?.cooled(keyId, model, entry.until, entry.reason);
  }

  /** The key just served `model`: whatever rate limit cooled it is over. A refused key stays refused. */
  served(keyId: string, model: string): void {
    // Most calls find nothing: the map is empty, and a lookup there is cheaper than building the id.
    if (this.entries.size === 0) return;
    const id = `${keyId}|${model}`;
    if (this.entries.get(id)?.reason !== 'rate_limit') return;
    this.entries.delete(id);
    this.share?.freed(keyId, model);
  }

  /** Another instance cooled the key for `model` until `until` (null: its rate limit is over). Never shortens a cooldown. */
  applyRemote(keyId: string, model: string, until: number | null, reason: CooldownReason): void {
    const id = `${keyId}|${model}`;
    const current = this.entries.get(id);
    if (until === null) {
      if (current?.reason === 'rate_limit') this.entries.delete(id);
      return;
    }
    if (until <= this.now()) return;
    if (current && current.until >= until) return;
    this.set(id, { until, reason: current?.reason === 'auth' ? 'auth' : reason });
  }

  /** Model names are the clients': past MAX_COOLDOWNS entries the expired ones go, and if that is not enough, all. */
  private set(id: string, entry: { until: number; reason: CooldownReason }): void {
    if (this.entries.size >= MAX_COOLDOWNS && !this.entries.has(id)) {
      const now = this.now();
      for (const [k, e] of this.entries) if (e.until <= now) this.entries.delete(k);
      if (this.entries.size >= MAX_COOLDOWNS) this.entries.clear();
    }
    this.entries.set(id, entry);
  }

  /** The key's cooldown for `model`, or undefined when it is free. */
  get(keyId: string, model: string): { remainingMs: number; reason: CooldownReason } | undefined {
    const id = `${keyId}|${model}`;
    const e = this.entries.get(id);
    if (!e) return undefined;
    const remainingMs = e.until - this.now();
    if (remainingMs <= 0) {
      this.entries.delete(id);
      return undefined;
    }
    return { remainingMs, reason: e.reason };
  }
}

export interface KeyChoice {
  key: AttemptKey;
  /** Whether `key.value` is one of the provider's configured keys (false: the client's own credential). */
  configured: boolean;
  /** > 0 when every usable key is rate-limited and this is the one free soonest. */
  coolingMs: number;
}

export interface PickOptions {
  cooldowns?: KeyCooldowns;
  /** Keys already refused during this request. */
  exclude?: ReadonlySet<string>;
  random?: () => number;
}

/**
 * Weighted random choice among the keys that serve `model`, leaving out refused keys and, while
 * another key is free, rate-limited ones. Undefined when no key is usable. A provider without keys
 * for the model forwards the client's own credential (AttemptKey without a value).
 */
export function pickKey(providerName: string, config: Pick<ProviderConfig, 'keys'>, model: string, opts: PickOptions = {}): KeyChoice | undefined {
  const keys = config.keys;
  const eligible: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const models = keys[i]!.models;
    if (!models || models.includes(model)) eligible.push(i);
  }
  if (eligible.length === 0) {
    const id = `${providerName}#client`;
    return opts.exclude?.has(id) ? undefined : { key: { id }, configured: false, coolingMs: 0 };
  }
  const free: number[] = [];
  let soonest: { index: number; remainingMs: number } | undefined;
  for (const i of eligible) {
    const id = `${providerName}#${i}`;
    if (opts.exclude?.has(id)) continue;
    const cooling = opts.cooldowns?.get(id, model);
    if (!cooling) free.push(i);
    else if (cooling.reason === 'rate_limit' && (!soonest || cooling.remainingMs < soonest.remainingMs)) {
      soonest = { index: i, remainingMs: cooling.remainingMs };
    }
  }
  const toKey = (i: number): AttemptKey => ({ id: `${providerName}#${i}`, value: keys[i]!.value });
  if (free.length > 0) return { key: toKey(weightedPick(free, keys, opts.random ?? Math.random)), configured: true, coolingMs: 0 };
  if (soonest) return { key: toKey(soonest.index), configured: true, coolingMs: soonest.remainingMs };
  return undefined;
}

function weightedPick(candidates: number[], keys: Pick<ProviderConfig, 'keys'>['keys'], random: () => number): number {
  let total = 0;
  for (const i of candidates) total += keys[i]!.weight;
  let pick = random() * total;
  for (const i of candidates) {
    pick -= keys[i]!.weight;
    if (pick < 0) return i;
  }
  return candidates[candidates.length - 1]!;
}

/** Weighted random choice among the keys that serve `model`, ignoring cooldowns (count_tokens, simple callers). */
export function chooseKey(providerName: string, config: Pick<ProviderConfig, 'keys'>, model: string, random = Math.random): AttemptKey {
  return pickKey(providerName, config, model, { random })!.key;
}
