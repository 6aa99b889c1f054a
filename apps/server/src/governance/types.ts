import type { ErrorType } from '../generated/types.gen.js';

export type BudgetPeriod = 'day' | 'month';

/** What a key and a team may both be limited by. Null: no limit of that kind. */
export interface Limits {
  /** Allowed model patterns; null = every model. */
  models: readonly string[] | null;
  rpm: number | null;
  tpm: number | null;
  maxConcurrent: number | null;
  budgetUsd: number | null;
  budgetPeriod: BudgetPeriod;
}

interface RecordBase extends Limits {
  id: string;
  name: string;
  metadata: Readonly<Record<string, string>>;
  /** `config`: from the config file (read-only through the admin API); `api`: made at run time. */
  source: 'config' | 'api';
  /** ms since epoch; null for config records. */
  createdAt: number | null;
  /** ms since epoch once revoked. */
  revokedAt: number | null;
  /** ms since epoch after which it is refused (a team: every key in it). */
  expiresAt: number | null;
}

export type TeamRecord = RecordBase;

export interface KeyRecord extends RecordBase {
  /** `sha256:<hex>` of the secret. The secret itself is never kept. */
  hash: string;
  teamId: string | null;
}

/** Who is calling: set by authentication, read by the limits, the ledger, the logs and job ownership. */
export interface Caller {
  key: KeyRecord;
  team: TeamRecord | null;
  /** How the key arrived (logs show this, never the key). */
  kind: 'x-api-key' | 'bearer';
}

/** A key or a team as the limits see it: `k:<id>` or `t:<id>`, its name for messages, its limits. */
export interface Subject {
  id: string;
  label: string;
  limits: Limits;
}

/** A request asking to go ahead. */
export interface Admission {
  subjects: readonly Subject[];
  /**
   * `consume`: a request that will reach a provider (counts against rpm, checks tpm, budget,
   * concurrency). `budget`: only whether budgets are spent, consuming nothing (a queued job about to
   * start). `peek`: a request that spends nothing (count_tokens, model list, polls): never refused
   * by a limit, only told where the limits stand.
   */
  mode: 'consume' | 'budget' | 'peek';
  /** Held until the request settles: counts against max_concurrent and reserves budget. Null: none. */
  lease: string | null;
  /** The most the request could cost, in nano-USD, reserved against budgets while it runs. */
  reserveNusd: number;
  now: number;
}

/** Where a limit stands, for the anthropic-ratelimit-* headers. */
export interface LimitState {
  limit: number;
  remaining: number;
  /** ms since epoch when the window is fully replenished. */
  resetAt: number;
}

export interface RateHeadersState {
  requests: LimitState | null;
  tokens: LimitState | null;
}

export interface Refusal {
  status: 401 | 402 | 429;
  type: ErrorType;
  message: string;
  /** Seconds, for retry-after (429 only). */
  retryAfterS?: number;
}

export type AdmitResult = { ok: true; state: RateHeadersState } | { ok: false; refusal: Refusal; state: RateHeadersState };

/** One request's spend, recorded when its usage is known. */
export interface LedgerEntry {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  keyId: string;
  teamId: string | null;
  /** provider/model that served. */
  model: string;
  requests: number;
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** Cost in nano-USD (integers add up exactly). */
  nusd: number;
}

/** A request is over: debit its tokens and cost, release its lease, write its ledger entry. */
export interface Settlement {
  subjects: readonly Subject[];
  lease: string | null;
  /** Input + output tokens (cache reads and writes included) for tpm. */
  tokens: number;
  nusd: number;
  /** Null when the request named no provider (nothing to record). */
  ledger: LedgerEntry | null;
  now: number;
}

export interface UsageQuery {
  from: string;
  to: string;
  keyId?: string;
  teamId?: string;
  model?: string;
}

/** The store behind the limits and the ledger: embedded (SQLite + memory) or Redis. */
export interface GovernanceStore {
  readonly kind: 'sqlite' | 'redis';
  admit(a: Admission): AdmitResult | Promise<AdmitResult>;
  settle(s: Settlement): void | Promise<void>;
  /** Keys and teams made through the admin API. */
  loadRecords(): Promise<{ keys: KeyRecord[]; teams: TeamRecord[] }>;
  /** A key made elsewhere since the records were loaded (Redis), by the hash of its secret. */
  findKeyByHash(hash: string): Promise<KeyRecord | undefined>;
  /** Inserts or replaces; `create` fails with a conflict when the name is taken. */
  saveKey(key: KeyRecord, create: boolean): Promise<void>;
  saveTeam(team: TeamRecord, create: boolean): Promise<void>;
  /** Called when another instance changed keys or teams. */
  onChange(listener: () => void): void;
  usage(q: UsageQuery): Promise<LedgerEntry[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
