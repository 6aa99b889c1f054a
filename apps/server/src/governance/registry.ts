import type { AuthConfig, ConfigKey, ConfigTeam } from './config.js';
import { modelMatcher, type ModelMatcher } from './models.js';
import { configuredHash } from './secrets.js';
import type { KeyRecord, Limits, Subject, TeamRecord } from './types.js';

/** Ids of records from the config: stable across instances and restarts, never derived from a secret. */
export const CONFIG_ID_PREFIX = 'cfg_';

/**
 * Every key and team this instance knows, in memory: the config's, and those made through the
 * admin API (loaded from the store, then kept current by the store's change notices). A request's
 * key is found by the hash of its secret with one Map lookup.
 */
export class Registry {
  private readonly keys = new Map<string, KeyRecord>();
  private readonly byHash = new Map<string, KeyRecord>();
  private readonly teams = new Map<string, TeamRecord>();
  private readonly configKeys: KeyRecord[];
  private readonly configTeams: TeamRecord[];
  /** Per record object: its subject and compiled models (a changed record is a new object). */
  private readonly subjects = new WeakMap<KeyRecord | TeamRecord, Subject>();
  private readonly matchers = new WeakMap<KeyRecord | TeamRecord, ModelMatcher>();

  constructor(auth: AuthConfig) {
    this.configTeams = auth.teams.map(teamFromConfig);
    this.configKeys = auth.keys.map(keyFromConfig);
    this.replace([], []);
  }

  /** Replaces what the admin API made (config records stay). */
  replace(keys: readonly KeyRecord[], teams: readonly TeamRecord[]): void {
    this.keys.clear();
    this.byHash.clear();
    this.teams.clear();
    for (const t of this.configTeams) this.teams.set(t.id, t);
    for (const t of teams) if (!this.teams.has(t.id)) this.teams.set(t.id, t);
    for (const k of this.configKeys) this.putKey(k);
    for (const k of keys) if (!this.keys.has(k.id) || this.keys.get(k.id)!.source === 'api') this.putKey(k);
  }

  putKey(key: KeyRecord): void {
    const old = this.keys.get(key.id);
    if (old && old.hash !== key.hash) this.byHash.delete(old.hash);
    this.keys.set(key.id, key);
    this.byHash.set(key.hash, key);
  }

  putTeam(team: TeamRecord): void {
    this.teams.set(team.id, team);
  }

  keyByHash(hash: string): KeyRecord | undefined {
    return this.byHash.get(hash);
  }

  key(id: string): KeyRecord | undefined {
    return this.keys.get(id);
  }

  team(id: string): TeamRecord | undefined {
    return this.teams.get(id);
  }

  allKeys(): KeyRecord[] {
    return [...this.keys.values()].sort(byCreation);
  }

  allTeams(): TeamRecord[] {
    return [...this.teams.values()].sort(byCreation);
  }

  /** A live key or team with this name, other than `exceptId`. */
  nameTaken(kind: 'key' | 'team', name: string, exceptId?: string): boolean {
    const all: Iterable<KeyRecord | TeamRecord> = kind === 'key' ? this.keys.values() : this.teams.values();
    for (const r of all) if (r.name === name && r.revokedAt === null && r.id !== exceptId) return true;
    return false;
  }

  subjectOf(record: KeyRecord | TeamRecord, kind: 'key' | 'team'): Subject {
    let s = this.subjects.get(record);
    if (!s) {
      s = { id: `${kind === 'key' ? 'k' : 't'}:${record.id}`, label: `${kind} "${record.name}"`, limits: record };
      this.subjects.set(record, s);
    }
    return s;
  }

  /** The record's model check, or null when it allows every model. */
  matcherOf(record: KeyRecord | TeamRecord): ModelMatcher | null {
    if (record.models === null) return null;
    let m = this.matchers.get(record);
    if (!m) {
      m = modelMatcher(record.models);
      this.matchers.set(record, m);
    }
    return m;
  }
}

function byCreation(a: { createdAt: number | null; id: string }, b: { createdAt: number | null; id: string }): number {
  return (a.createdAt ?? 0) - (b.createdAt ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

function limitsFrom(c: ConfigKey | ConfigTeam): Limits {
  return {
    models: c.models ?? null,
    rpm: c.rpm ?? null,
    tpm: c.tpm ?? null,
    maxConcurrent: c.max_concurrent ?? null,
    budgetUsd: c.budget_usd ?? null,
    budgetPeriod: c.budget_period,
  };
}

function teamFromConfig(t: ConfigTeam): TeamRecord {
  return {
    id: CONFIG_ID_PREFIX + t.name,
    name: t.name,
    expiresAt: t.expires_at === undefined ? null : Date.parse(t.expires_at),
    ...limitsFrom(t),
    metadata: t.metadata ?? {},
    source: 'config',
    createdAt: null,
    revokedAt: null,
  };
}

function keyFromConfig(k: ConfigKey): KeyRecord {
  return {
    id: CONFIG_ID_PREFIX + k.name,
    name: k.name,
    hash: configuredHash(k.value),
    teamId: k.team === undefined ? null : CONFIG_ID_PREFIX + k.team,
    expiresAt: k.expires_at === undefined ? null : Date.parse(k.expires_at),
    ...limitsFrom(k),
    metadata: k.metadata ?? {},
    source: 'config',
    createdAt: null,
    revokedAt: null,
  };
}
