import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { periodOf } from './periods.js';
import { ADMIT, SAVE_RECORD, SETTLE } from './redis-scripts.js';
import { refusals } from './refusals.js';
import type {
  Admission,
  AdmitResult,
  GovernanceStore,
  KeyRecord,
  LedgerEntry,
  LimitState,
  RateHeadersState,
  Refusal,
  Settlement,
  Subject,
  TeamRecord,
  UsageQuery,
} from './types.js';

export interface RedisStoreOptions {
  url: string;
  /** Key prefix; instances with the same prefix share keys, limits and the ledger. */
  prefix: string;
  logger: Logger;
  /** A command not answered in this long fails (and the request gets 503). */
  commandTimeoutMs?: number;
  /** How often the change counter is read, in case a change notice was missed. */
  pollMs?: number;
}

/** An in-flight lease lapses this long after it was last renewed (its instance died). */
const LEASE_MS = 60_000;
const RENEW_MS = 20_000;

type GovRedis = Redis & {
  govAdmit(numKeys: number, ...args: Array<string | number>): Promise<Array<string | number>>;
  govSettle(numKeys: number, ...args: Array<string | number>): Promise<number>;
  govSave(numKeys: number, ...args: Array<string | number>): Promise<string>;
};

/**
 * Keys, teams, limits and the ledger in Redis, shared by every instance with the same prefix.
 * Admission and settlement are one script call each (redis-scripts.ts), atomic, so limits hold
 * exactly across instances; ioredis pipelines the calls of concurrent requests together.
 * Changes to keys and teams are announced on a channel and counted in a version key, read every
 * `pollMs` in case a notice was missed. Redis unreachable: calls fail within the command timeout
 * and requests are refused with 503, never let through unlimited.
 */
export class RedisGovernanceStore implements GovernanceStore {
  readonly kind = 'redis';
  private readonly redis: GovRedis;
  private readonly subscriber: Redis;
  private readonly p: string;
  private readonly listeners: Array<() => void> = [];
  private version: string | null = null;
  private readonly poller: NodeJS.Timeout;
  private readonly renewer: NodeJS.Timeout;
  /** This instance's live leases → the subjects they hold: renewed while their requests run. */
  private readonly leases = new Map<string, readonly Subject[]>();

  constructor(private readonly opts: RedisStoreOptions) {
    this.p = `${opts.prefix}:gov`;
    const onError = (err: unknown) => opts.logger.warn({ err }, 'governance store (Redis) error');
    this.redis = new Redis(opts.url, {
      maxRetriesPerRequest: 1,
      commandTimeout: opts.commandTimeoutMs ?? 1000,
      enableAutoPipelining: true,
    }) as GovRedis;
    this.redis.on('error', onError);
    this.redis.defineCommand('govAdmit', { lua: ADMIT });
    this.redis.defineCommand('govSettle', { lua: SETTLE });
    this.redis.defineCommand('govSave', { lua: SAVE_RECORD });
    this.subscriber = new Redis(opts.url, { maxRetriesPerRequest: null });
    this.subscriber.on('error', onError);
    this.subscriber.on('message', () => this.changed());
    this.subscriber.subscribe(this.channel).catch(onError);
    this.poller = setInterval(() => void this.poll(), opts.pollMs ?? 500);
    this.poller.unref();
    this.renewer = setInterval(() => void this.renewLeases(), RENEW_MS);
    this.renewer.unref();
  }

  private get channel(): string {
    return `${this.p}:changed`;
  }

  private base(id: string): string {
    return `${this.p}:s:${id}`;
  }

  async admit(a: Admission): Promise<AdmitResult> {
    const n = a.subjects.length;
    const keys: string[] = [];
    const args: Array<string | number> = [
      a.now,
      a.mode,
      a.lease ?? '',
      a.now + LEASE_MS,
      Math.round(a.reserveNusd),
      periodOf('day', a.now).id,
      periodOf('month', a.now).id,
      n,
    ];
    for (const s of a.subjects) {
      keys.push(this.base(s.id));
      const l = s.limits;
      args.push(s.id, l.rpm ?? '', l.tpm ?? '', l.maxConcurrent ?? '', l.budgetUsd === null ? '' : Math.round(l.budgetUsd * 1e9), l.budgetPeriod);
    }
    keys.push(`${this.p}:revoked`);
    const out = await this.redis.govAdmit(keys.length, ...keys, ...args);
    const outcome = String(out[0]);
    const at = Number(out[1]);
    const retry = Number(out[2]);
    // A revoked subject ends the script before any limit is read.
    const state = outcome === 'revoked' ? { requests: null, tokens: null } : headerState(a.subjects, out.slice(3).map(Number));
    if (outcome === 'ok') {
      if (a.lease !== null) this.leases.set(a.lease, a.subjects);
      return { ok: true, state };
    }
    const s = a.subjects[at - 1]!;
    return { ok: false, refusal: refusalFor(outcome, s, retry, a.now), state };
  }

  async settle(s: Settlement): Promise<void> {
    if (s.lease !== null) this.leases.delete(s.lease);
    const day = periodOf('day', s.now);
    const month = periodOf('month', s.now);
    const keys: string[] = [];
    const args: Array<string | number> = [s.now, s.lease ?? '', Math.round(s.tokens), Math.round(s.nusd), day.id, month.id, ttl(day.endsAt, s.now), ttl(month.endsAt, s.now), s.subjects.length];
    for (const subject of s.subjects) {
      keys.push(this.base(subject.id));
      args.push(subject.limits.tpm === null ? '0' : '1');
    }
    const e = s.ledger;
    keys.push(`${this.p}:ledger:${e?.day ?? 'none'}`);
    if (e) args.push(ledgerPrefix(e), e.requests, e.input, e.output, e.cacheRead, e.cacheWrite, Math.round(e.nusd));
    else args.push('', 0, 0, 0, 0, 0, 0);
    await this.redis.govSettle(keys.length, ...keys, ...args);
  }

  async loadRecords(): Promise<{ keys: KeyRecord[]; teams: TeamRecord[] }> {
    const [keys, teams] = await Promise.all([this.redis.hvals(`${this.p}:keys`), this.redis.hvals(`${this.p}:teams`)]);
    return { keys: keys.map((j) => JSON.parse(j) as KeyRecord), teams: teams.map((j) => JSON.parse(j) as TeamRecord) };
  }

  async findKeyByHash(hash: string): Promise<KeyRecord | undefined> {
    const id = await this.redis.hget(`${this.p}:keyhash`, hash);
    if (id === null) return undefined;
    const json = await this.redis.hget(`${this.p}:keys`, id);
    return json === null ? undefined : (JSON.parse(json) as KeyRecord);
  }

  saveKey(key: KeyRecord, create: boolean): Promise<void> {
    return this.save('key', key, key.hash, create);
  }

  saveTeam(team: TeamRecord, create: boolean): Promise<void> {
    return this.save('team', team, '', create);
  }

  private async save(kind: 'key' | 'team', record: KeyRecord | TeamRecord, hash: string, create: boolean): Promise<void> {
    const p = this.p;
    const keys = kind === 'key' ? [`${p}:keys`, `${p}:keyhash`, `${p}:keynames`] : [`${p}:teams`, `${p}:teamhash`, `${p}:teamnames`];
    keys.push(`${p}:revoked`, `${p}:version`);
    const subject = `${kind === 'key' ? 'k' : 't'}:${record.id}`;
    const result = await this.redis.govSave(
      keys.length,
      ...keys,
      record.id,
      subject,
      record.name,
      hash,
      JSON.stringify(record),
      record.revokedAt ?? '',
      create ? '1' : '0',
      this.channel,
    );
    if (result === 'conflict') throw new GatewayError(409, `a ${kind} named "${record.name}" already exists`, { type: 'conflict_error' });
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  async usage(q: UsageQuery): Promise<LedgerEntry[]> {
    const days: string[] = [];
    for (let t = Date.parse(q.from); t <= Date.parse(q.to); t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
    const hashes = await Promise.all(days.map((d) => this.redis.hgetall(`${this.p}:ledger:${d}`)));
    const rows: LedgerEntry[] = [];
    days.forEach((day, i) => {
      const byRow = new Map<string, LedgerEntry>();
      for (const [field, value] of Object.entries(hashes[i]!)) {
        const cut = field.lastIndexOf('\t');
        const prefix = field.slice(0, cut);
        let row = byRow.get(prefix);
        if (!row) {
          const [keyId, teamId, model] = prefix.split('\t') as [string, string, string];
          row = { day, keyId, teamId: teamId === '' ? null : teamId, model, requests: 0, input: 0, output: 0, cacheRead: 0, cacheWrite: 0, nusd: 0 };
          byRow.set(prefix, row);
        }
        const v = Number(value);
        switch (field.slice(cut + 1)) {
          case 'requests':
            row.requests = v;
            break;
          case 'input':
            row.input = v;
            break;
          case 'output':
            row.output = v;
            break;
          case 'cache_read':
            row.cacheRead = v;
            break;
          case 'cache_write':
            row.cacheWrite = v;
            break;
          case 'nusd':
            row.nusd = v;
            break;
        }
      }
      const sorted = [...byRow.values()].sort((a, b) => (a.keyId + a.model < b.keyId + b.model ? -1 : 1));
      for (const r of sorted) {
        if ((q.keyId === undefined || r.keyId === q.keyId) && (q.teamId === undefined || r.teamId === q.teamId) && (q.model === undefined || r.model === q.model)) rows.push(r);
      }
    });
    return rows;
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    clearInterval(this.renewer);
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private changed(): void {
    for (const l of this.listeners) l();
  }

  /** The safety net under the change notices: a version that moved means something changed. */
  private async poll(): Promise<void> {
    try {
      const v = await this.redis.get(`${this.p}:version`);
      if (this.version !== null && v !== this.version) this.changed();
      this.version = v;
    } catch {
      // Redis down: requests fail closed meanwhile; the next poll tries again.
    }
  }

  /** Keeps this instance's in-flight leases from lapsing while their requests run (streams can take minutes). */
  private async renewLeases(): Promise<void> {
    if (this.leases.size === 0) return;
    const until = Date.now() + LEASE_MS;
    const pipeline = this.redis.pipeline();
    for (const [lease, subjects] of this.leases) {
      for (const s of subjects) pipeline.zadd(`${this.base(s.id)}:fl`, 'XX', until, lease);
    }
    await pipeline.exec().catch(() => undefined);
  }
}

function ttl(endsAt: number, now: number): number {
  return Math.ceil((endsAt - now) / 1000) + 86_400;
}

/** Ledger hash fields are "<key id>\t<team id>\t<provider/model>\t<measure>". */
function ledgerPrefix(e: LedgerEntry): string {
  return `${e.keyId}\t${e.teamId ?? ''}\t${e.model.replace(/\t/g, ' ')}\t`;
}

function refusalFor(outcome: string, s: Subject, retryAfterS: number, now: number): Refusal {
  switch (outcome) {
    case 'revoked':
      return refusals.revoked(s);
    case 'rpm':
      return refusals.rpm(s, retryAfterS);
    case 'tpm':
      return refusals.tpm(s, retryAfterS);
    case 'concurrency':
      return refusals.concurrency(s);
    case 'budget':
      return refusals.budget(s, periodOf(s.limits.budgetPeriod, now).endsAt);
    default:
      return refusals.reserved(s);
  }
}

/** The tightest limits from the script's per-subject figures: requests used, empty-at, tokens used, empty-at. */
function headerState(subjects: readonly Subject[], figures: number[]): RateHeadersState {
  let requests: LimitState | null = null;
  let tokens: LimitState | null = null;
  subjects.forEach((s, i) => {
    const [rUsed, rEmpty, tUsed, tEmpty] = figures.slice(i * 4, i * 4 + 4) as [number, number, number, number];
    const { rpm, tpm } = s.limits;
    if (rpm !== null) {
      const remaining = Math.max(0, rpm - rUsed);
      if (requests === null || remaining < requests.remaining) requests = { limit: rpm, remaining, resetAt: rEmpty * 1000 };
    }
    if (tpm !== null) {
      const remaining = Math.max(0, tpm - tUsed);
      if (tokens === null || remaining < tokens.remaining) tokens = { limit: tpm, remaining, resetAt: tEmpty * 1000 };
    }
  });
  return { requests, tokens };
}
