import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.js';
import { GatewayError } from '../errors.js';
import type { CreateMessageRequest, Usage } from '../generated/types.gen.js';
import { sendError } from '../http/error-envelope.js';
import { isAsyncPoll, isAsyncRequest } from '../jobs/http.js';
import { requestCost } from '../observability/cost.js';
import { Observation, observationOf } from '../observability/observation.js';
import type { PriceBook } from '../observability/prices.js';
import type { Router } from '../routing/router.js';
import { callerOf, setCaller } from './caller.js';
import type { AuthConfig } from './config.js';
import { dayOf, toNusd } from './periods.js';
import { setRateHeaders } from './rate-headers.js';
import { Registry } from './registry.js';
import { configuredHash, hashPresented, presentedCredential, sameHash, sameHashConstantTime } from './secrets.js';
import { SqliteGovernanceStore } from './sqlite-store.js';
import type { AdmitResult, Caller, GovernanceStore, KeyRecord, LedgerEntry, Refusal, Settlement, Subject, TeamRecord } from './types.js';

export interface GovernanceOptions {
  /** `store:` from the config: sqlite:<path> or redis://... */
  store: string;
  /** Redis key prefix (shared with async jobs): instances with the same prefix share keys, limits and the ledger. */
  redisPrefix: string;
  router: Router;
  prices: PriceBook;
  logger: Logger;
}

/** Which guarded route a request is on. */
/** `batches`: the Message Batches routes (each request of a batch is model-checked at create and admitted when it runs). */
export type GuardedRoute = 'messages' | 'count_tokens' | 'models' | 'batches';

/**
 * Who may spend what. Three steps around each request to /anthropic/*:
 * 1. `authenticate` (before the body is read): the Conduit key in x-api-key or a bearer token,
 *    looked up by its hash; 401 when missing, unknown, revoked or expired. The key is then removed
 *    from the request: it must never travel upstream.
 * 2. `guard` (after validation, before routing): the model and every fallback must be allowed for
 *    the key and its team (403); the limits must let the request through (429, 402), or the store
 *    must be reachable (503). Sets the anthropic-ratelimit-* headers.
 * 3. settlement (when the answer's usage is known, before its last bytes): tokens and cost are
 *    debited to the key and team, the in-flight lease is released and the ledger entry written.
 */
export class Governance {
  readonly registry: Registry;
  readonly adminHash: string | undefined;
  private store: GovernanceStore | undefined;
  private readonly storeReady: Promise<GovernanceStore>;
  private readonly logger: Logger;

  constructor(
    readonly auth: AuthConfig,
    private readonly opts: GovernanceOptions,
  ) {
    this.registry = new Registry(auth);
    this.adminHash = auth.admin_key === undefined ? undefined : configuredHash(auth.admin_key);
    this.logger = opts.logger;
    // SQLite opens at once (a bad path stops start-up, as the job store's does); Redis loads its client first.
    const opened = openStore(opts);
    this.storeReady = Promise.resolve(opened);
    if (!(opened instanceof Promise)) this.store = opened;
    this.storeReady.then(
      (store) => {
        this.store = store;
        store.onChange(() => void this.reload());
        void this.reload();
      },
      (err: unknown) => this.logger.error({ err }, 'governance store failed to open'),
    );
  }

  /** The store, once open (the Redis one loads asynchronously). */
  withStore<T>(use: (store: GovernanceStore) => T | Promise<T>): Promise<T> {
    return this.store ? Promise.resolve(use(this.store)) : this.storeReady.then(use);
  }

  /** Keys and teams made through the admin API, from the store. Coalesces overlapping calls. */
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.reloadAgain = false;
        try {
          const { keys, teams } = await this.withStore((s) => s.loadRecords());
          this.registry.replace(keys, teams);
        } catch (err) {
          this.logger.warn({ err }, 'could not load keys and teams from the store');
        }
      } while (this.reloadAgain);
      this.reloading = undefined;
    })();
    return this.reloading;
  }

  // ------------------------------------------------------------------ 1. authenticate

  /**
   * Identifies the caller of an /anthropic/* request. Returns the error to answer with, nothing
   * when the caller is known (then on `res`), or a promise of either when the key must be looked
   * up in the store (a key made on another instance a moment ago).
   */
  authenticate(req: Request, res: Response): GatewayError | undefined | Promise<GatewayError | undefined> {
    const credential = presentedCredential(req.headers);
    if (!credential) return unauthorized('no key: send your Conduit key in the x-api-key header or as Authorization: Bearer <key>');
    const hash = hashPresented(credential.secret);
    if (this.adminHash !== undefined && sameHash(hash, this.adminHash)) {
      return unauthorized('this is the admin key, which only the admin API takes: send a client key');
    }
    const known = this.registry.keyByHash(hash);
    if (known) return this.identify(req, res, known, credential.kind);
    if (!this.store || this.store.kind === 'redis') {
      return this.withStore((s) => s.findKeyByHash(hash)).then(
        (found) => {
          if (!found) return unknownKey();
          this.registry.putKey(found);
          return this.identify(req, res, found, credential.kind);
        },
        (err: unknown) => unavailable(err),
      );
    }
    return unknownKey();
  }

  private identify(req: Request, res: Response, key: KeyRecord, kind: Caller['kind']): GatewayError | undefined {
    if (key.revokedAt !== null) return unauthorized(`key "${key.name}" has been revoked`);
    if (key.expiresAt !== null && key.expiresAt <= Date.now()) return unauthorized(`key "${key.name}" expired at ${new Date(key.expiresAt).toISOString()}`);
    let team: TeamRecord | null = null;
    if (key.teamId !== null) {
      team = this.registry.team(key.teamId) ?? null;
      if (team === null) return unauthorized(`key "${key.name}" belongs to a team that no longer exists`);
      if (team.revokedAt !== null) return unauthorized(`team "${team.name}" of key "${key.name}" has been revoked`);
      if (team.expiresAt !== null && team.expiresAt <= Date.now()) {
        return unauthorized(`team "${team.name}" of key "${key.name}" expired at ${new Date(team.expiresAt).toISOString()}`);
      }
    }
    setCaller(res, { key, team, kind });
    const obs = observationOf(res);
    obs.gatewayKeyId = key.id;
    obs.keyName = key.name;
    obs.teamName = team?.name ?? null;
    obs.keyKind = kind;
    // A Conduit key is the gateway's business: it never reaches a provider, a job or a log.
    delete req.headers['x-api-key'];
    delete req.headers.authorization;
    return undefined;
  }

  /** The admin API's and (when configured) /metrics' check. */
  authenticateAdmin(req: Request): GatewayError | undefined {
    if (this.adminHash === undefined) return new GatewayError(403, 'the admin API is off: set auth.admin_key in the config', { type: 'permission_error' });
    const credential = presentedCredential(req.headers);
    if (!credential) return unauthorized('no key: send the admin key in the x-api-key header or as Authorization: Bearer <key>');
    if (!sameHashConstantTime(hashPresented(credential.secret), this.adminHash)) return unauthorized('not the admin key: the admin API takes only auth.admin_key');
    return undefined;
  }

  // ------------------------------------------------------------------ 2. guard

  /** Wraps a route's handler: model check, admission, rate-limit headers, and settlement of a sync message. */
  guard(route: GuardedRoute, handler: RequestHandler): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      const caller = callerOf(res);
      if (!caller) {
        sendError(res, unauthorized('no key: send your Conduit key in the x-api-key header or as Authorization: Bearer <key>'));
        return;
      }
      const poll = route === 'messages' && isAsyncPoll(req);
      const submit = route === 'messages' && !poll && isAsyncRequest(req);
      const sync = route === 'messages' && !poll && !submit;
      if (route !== 'models' && route !== 'batches' && !poll) {
        const refused = this.checkModels(caller, req.body as CreateMessageRequest, route === 'messages');
        if (refused) {
          sendError(res, refused);
          return;
        }
      }
      const subjects = this.subjectsOf(caller);
      const held = sync && subjects.some((s) => s.limits.maxConcurrent !== null || s.limits.budgetUsd !== null);
      const lease = held ? newLease() : null;
      const reserveNusd = held && subjects.some((s) => s.limits.budgetUsd !== null) ? this.reservation(req) : 0;
      const admission = { subjects, mode: sync || submit ? ('consume' as const) : ('peek' as const), lease, reserveNusd, now: Date.now() };
      // A sync message is settled once it was admitted: when its usage is known, or when it closes
      // (failed, aborted, or gone before the store even answered: its lease is released then).
      let settle: (() => void | Promise<void>) | undefined;
      let closed = false;
      if (sync) {
        res.once('close', () => {
          closed = true;
          if (settle) void settle();
        });
      }
      const proceed = (result: AdmitResult): void => {
        setRateHeaders(res, result.state);
        if (!result.ok) {
          sendError(res, refusalError(result.refusal));
          return;
        }
        if (sync) {
          settle = this.settlementFor(res, caller, subjects, lease);
          if (closed) {
            void settle();
            return;
          }
        }
        const ret = handler(req, res, next) as unknown;
        if (ret instanceof Promise) ret.catch(next);
      };
      let result: AdmitResult | Promise<AdmitResult>;
      try {
        result = this.store ? this.store.admit(admission) : this.storeReady.then((s) => s.admit(admission));
      } catch (err) {
        sendError(res, unavailable(err));
        return;
      }
      if (result instanceof Promise) result.then(proceed, (err: unknown) => sendError(res, unavailable(err)));
      else proceed(result);
    };
  }

  subjectsOf(caller: Caller): Subject[] {
    const key = this.registry.subjectOf(caller.key, 'key');
    return caller.team ? [key, this.registry.subjectOf(caller.team, 'team')] : [key];
  }

  /** For a batch's requests: 403 unless the key and its team may use the request's model and every string fallback. */
  permitModels(caller: Caller, body: Pick<CreateMessageRequest, 'model' | 'fallbacks'>): GatewayError | undefined {
    return this.checkModels(caller, body, true);
  }

  /** 403 unless the key and its team may use the request's model and every string fallback. */
  private checkModels(caller: Caller, body: Pick<CreateMessageRequest, 'model' | 'fallbacks'> | undefined, withFallbacks: boolean): GatewayError | undefined {
    const keyMatch = this.registry.matcherOf(caller.key);
    const teamMatch = caller.team ? this.registry.matcherOf(caller.team) : null;
    if ((keyMatch === null && teamMatch === null) || !body || typeof body.model !== 'string') return undefined;
    const names: Array<[string, string]> = [['model', body.model]];
    if (withFallbacks && Array.isArray(body.fallbacks)) body.fallbacks.forEach((f, i) => typeof f === 'string' && names.push([`fallbacks[${i}]`, f]));
    for (const [field, name] of names) {
      const resolved = this.resolvedLabel(name);
      if (keyMatch && !keyMatch(name, resolved)) return forbidden(`key "${caller.key.name}"`, name, resolved, field);
      if (teamMatch && !teamMatch(name, resolved)) return forbidden(`team "${caller.team!.name}"`, name, resolved, field);
    }
    return undefined;
  }

  private resolvedLabel(name: string): string | undefined {
    try {
      return this.opts.router.resolve(name).label;
    } catch {
      // Unknown provider: routing answers 400 for it.
      return undefined;
    }
  }

  /**
   * The most a request could cost, in nano-USD, held against budgets while it runs: its body's size
   * as input tokens (no tokenizer makes fewer bytes than tokens of text) written to the cache at the
   * dearest rate, and max_tokens of output, on the dearest target of its plan.
   */
  private reservation(req: Request): number {
    const body = req.body as CreateMessageRequest;
    const length = Number(req.headers['content-length']);
    const inputTokens = Number.isFinite(length) && length > 0 ? length : JSON.stringify(body).length;
    let plan;
    try {
      plan = this.opts.router.plan(body);
    } catch {
      return 0;
    }
    let most = 0;
    for (const t of plan) most = Math.max(most, this.opts.prices.ceiling(t.provider.name, t.model, inputTokens, body.max_tokens) ?? 0);
    return toNusd(most);
  }

  // ------------------------------------------------------------------ 3. settle

  /** The request's settlement, run once: by the handler before its last bytes, or when the response closes. */
  private settlementFor(res: Response, caller: Caller, subjects: readonly Subject[], lease: string | null): () => void | Promise<void> {
    const obs = observationOf(res);
    let settled = false;
    const settle = (): void | Promise<void> => {
      if (settled) return;
      settled = true;
      return this.settle(this.settlement(caller, subjects, lease, obs));
    };
    obs.beforeComplete = settle;
    return settle;
  }

  /** Writes a settlement; a store failure is logged, never thrown (the answer goes out regardless). */
  settle(s: Settlement): void | Promise<void> {
    const failed = (err: unknown): void => {
      this.logger.error({ err, ledger: s.ledger }, 'could not record a request\'s usage (spend ledger and limits are behind)');
    };
    try {
      const done = this.store!.settle(s);
      if (done instanceof Promise) return done.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  private settlement(caller: Caller, subjects: readonly Subject[], lease: string | null, obs: Observation): Settlement {
    const now = Date.now();
    const cost = requestCost(this.opts.prices, obs);
    const nusd = cost === null ? 0 : toNusd(cost);
    const input = obs.inputTokens ?? 0;
    const output = obs.outputTokens ?? 0;
    const cacheRead = obs.cacheReadTokens ?? 0;
    const cacheWrite = obs.cacheWriteTokens ?? 0;
    const ledger: LedgerEntry | null =
      obs.provider === null
        ? null
        : {
            day: dayOf(now),
            keyId: caller.key.id,
            teamId: caller.team?.id ?? null,
            // A request that failed and used nothing goes under `<provider>/_failed`: its model name is
            // the client's own, and a row for every made-up name would grow the ledger without end.
            model: obs.error !== null && input + output + cacheRead + cacheWrite === 0 && nusd === 0 ? `${obs.provider}/_failed` : `${obs.provider}/${obs.model}`,
            requests: 1,
            input,
            output,
            cacheRead,
            cacheWrite,
            nusd,
          };
    return { subjects, lease, tokens: input + output + cacheRead + cacheWrite, nusd, ledger, now };
  }

  // ------------------------------------------------------------------ async jobs

  /**
   * Before a queued job runs: its key must still be live and within its budget (a job queued
   * before a revocation or before the budget ran out does not spend). Throws the GatewayError the
   * job then fails with.
   */
  async admitJob(keyId: string): Promise<void> {
    const caller = this.jobCaller(keyId);
    if (caller instanceof GatewayError) throw caller;
    const subjects = this.subjectsOf(caller);
    const result = await this.withStore((s) => s.admit({ subjects, mode: 'budget', lease: null, reserveNusd: 0, now: Date.now() }));
    if (!result.ok) throw refusalError(result.refusal);
  }

  /** A job finished: debit its usage to the key that submitted it. */
  async settleJob(keyId: string, served: { provider: string; model: string; usage: Partial<Usage> } | null): Promise<void> {
    const key = this.registry.key(keyId);
    if (!key) return;
    const team = key.teamId === null ? null : (this.registry.team(key.teamId) ?? null);
    const caller: Caller = { key, team, kind: 'x-api-key' };
    const obs = new Observation();
    if (served) {
      obs.provider = served.provider;
      obs.model = served.model;
      obs.usage(served.usage);
    }
    await this.withStore(() => this.settle(this.settlement(caller, this.subjectsOf(caller), null, obs)));
  }

  private jobCaller(keyId: string): Caller | GatewayError {
    const key = this.registry.key(keyId);
    if (!key) return unauthorized('the key that submitted this job no longer exists');
    if (key.revokedAt !== null) return unauthorized(`key "${key.name}" has been revoked`);
    if (key.expiresAt !== null && key.expiresAt <= Date.now()) return unauthorized(`key "${key.name}" expired at ${new Date(key.expiresAt).toISOString()}`);
    const team = key.teamId === null ? null : (this.registry.team(key.teamId) ?? null);
    if (team?.revokedAt) return unauthorized(`team "${team.name}" of key "${key.name}" has been revoked`);
    if (team?.expiresAt && team.expiresAt <= Date.now()) return unauthorized(`team "${team.name}" of key "${key.name}" has expired`);
    return { key, team, kind: 'x-api-key' };
  }

  async ping(): Promise<void> {
    await this.withStore((s) => s.ping());
  }

  async close(): Promise<void> {
    const store = await this.storeReady.catch(() => undefined);
    await store?.close();
  }
}

function openStore(opts: GovernanceOptions): GovernanceStore | Promise<GovernanceStore> {
  if (opts.store.startsWith('sqlite:')) {
    const path = opts.store.slice('sqlite:'.length);
    try {
      return new SqliteGovernanceStore(path);
    } catch (err) {
      throw new ConfigError(`store: cannot open SQLite database ${path}: ${(err as Error).message}`);
    }
  }
  return import('./redis-store.js').then(({ RedisGovernanceStore }) => new RedisGovernanceStore({ url: opts.store, prefix: opts.redisPrefix, logger: opts.logger }));
}

/** Lease ids: this process's random prefix and a counter (unique across instances, no entropy spent per request). */
const LEASE_PREFIX = randomBytes(9).toString('base64url');
let leases = 0;
function newLease(): string {
  return `${LEASE_PREFIX}.${(leases++).toString(36)}`;
}

function unauthorized(message: string): GatewayError {
  return new GatewayError(401, message, { type: 'authentication_error' });
}

function unknownKey(): GatewayError {
  return unauthorized('unknown key: it is not a key of this gateway');
}

function forbidden(who: string, name: string, resolved: string | undefined, field: string): GatewayError {
  const what = resolved && resolved !== name ? `"${name}" (${resolved})` : `"${name}"`;
  return new GatewayError(403, `${who} may not use model ${what}${field === 'model' ? '' : ` in ${field}`}`, { type: 'permission_error' });
}

export function refusalError(r: Refusal): GatewayError {
  return new GatewayError(r.status, r.message, {
    type: r.type,
    headers: r.retryAfterS === undefined ? {} : { 'retry-after': String(Math.max(1, Math.ceil(r.retryAfterS))) },
  });
}

/** The store that holds the limits cannot answer: refuse rather than serve without limits. */
export function unavailable(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError(503, `keys and limits are unavailable (the store does not answer: ${(err as Error)?.message ?? String(err)}); refusing rather than serving without limits`, {
    type: 'overloaded_error',
    headers: { 'retry-after': '1' },
    cause: err,
  });
}
