import { quote } from '../quote.js';
import type { Express, Request, RequestHandler, Response } from 'express';
import { GatewayError, invalidRequest, notFound } from '../errors.js';
import type {
  CreatedKey,
  KeyCreateRequest,
  KeyList,
  KeyUpdateRequest,
  Team,
  TeamCreateRequest,
  TeamList,
  TeamUpdateRequest,
  UsageReport,
  VirtualKey,
} from '../generated/types.gen.js';
import { sendError } from '../http/error-envelope.js';
import { dayOf, toUsd } from './periods.js';
import { newId, newSecret, hashSecret } from './secrets.js';
import { unavailable, type Governance } from './service.js';
import type { KeyRecord, Limits, TeamRecord } from './types.js';

/** Live keys made through the admin API, and teams, past which creating one is refused (409). */
export const MAX_API_KEYS = 10_000;
export const MAX_API_TEAMS = 1_000;
/** Longest usage query. */
const MAX_USAGE_DAYS = 366;

/**
 * The admin API: /admin/v1/keys, /admin/v1/teams, /admin/v1/usage. The admin key is checked before
 * the body is read (app.ts); bodies and parameters are validated against openapi.yaml. Changes go
 * to the store first, then to this instance's registry; other instances hear of them through the
 * store within a second.
 */
export function mountAdminApi(app: Express, gov: Governance): void {
  // Anything but a GatewayError comes from the store (Redis unreachable, a full disk): 503.
  const route = (handler: (req: Request, res: Response) => Promise<void>): RequestHandler => {
    return (req, res) => {
      handler(req, res).catch((err: unknown) => sendError(res, err instanceof GatewayError ? err : unavailable(err)));
    };
  };
  const keys: Kind<KeyRecord> = {
    noun: 'key',
    find: (id) => gov.registry.key(id),
    save: (key, create) => gov.withStore((s) => s.saveKey(key, create)),
    put: (key) => gov.registry.putKey(key),
  };
  const teams: Kind<TeamRecord> = {
    noun: 'team',
    find: (id) => gov.registry.team(id),
    save: (team, create) => gov.withStore((s) => s.saveTeam(team, create)),
    put: (team) => gov.registry.putTeam(team),
  };

  app.post(
    '/admin/v1/keys',
    route(async (req, res) => {
      const body = req.body as KeyCreateRequest;
      const team = body.team_id === undefined ? null : liveTeam(gov, body.team_id);
      if (gov.registry.nameTaken('key', body.name)) throw conflict(`a key named "${body.name}" already exists`);
      if (gov.registry.allKeys().filter((k) => k.source === 'api' && k.revokedAt === null).length >= MAX_API_KEYS) {
        throw conflict(`there are already ${MAX_API_KEYS} live keys; revoke some first`);
      }
      const secret = newSecret();
      const key: KeyRecord = {
        id: newId('key'),
        name: body.name,
        hash: hashSecret(secret),
        teamId: team?.id ?? null,
        expiresAt: body.expires_at === undefined ? null : Date.parse(body.expires_at),
        ...limitsOf(body),
        metadata: body.metadata ?? {},
        source: 'api',
        createdAt: Date.now(),
        revokedAt: null,
      };
      await store(keys, key, true);
      const created: CreatedKey = { ...keyView(key), key: secret };
      res.status(201).json(created);
    }),
  );

  app.get(
    '/admin/v1/keys',
    route(async (req, res) => {
      const q = req.query as { limit?: string; after_id?: string; team_id?: string; active_only?: string };
      const now = Date.now();
      let keys = gov.registry.allKeys();
      if (q.team_id !== undefined) keys = keys.filter((k) => k.teamId === q.team_id);
      if (q.active_only === 'true') {
        keys = keys.filter((k) => {
          const team = k.teamId === null ? undefined : gov.registry.team(k.teamId);
          const live = (r: { revokedAt: number | null; expiresAt: number | null }) => r.revokedAt === null && (r.expiresAt === null || r.expiresAt > now);
          return live(k) && (team === undefined || live(team));
        });
      }
      const page: KeyList = paged(keys.map(keyView), q.limit, q.after_id);
      res.status(200).json(page);
    }),
  );

  app.get(
    '/admin/v1/keys/:key_id',
    route(async (req, res) => {
      res.status(200).json(keyView(existing(keys, String(req.params.key_id))));
    }),
  );

  app.patch(
    '/admin/v1/keys/:key_id',
    route(async (req, res) => {
      const old = changeable(keys, String(req.params.key_id));
      const body = req.body as KeyUpdateRequest;
      const key: KeyRecord = { ...old, ...patched(old, body) };
      if (body.team_id !== undefined) key.teamId = body.team_id === null ? null : liveTeam(gov, body.team_id).id;
      await store(keys, key, false);
      res.status(200).json(keyView(key));
    }),
  );

  app.delete(
    '/admin/v1/keys/:key_id',
    route(async (req, res) => {
      res.status(200).json(keyView(await revoke(keys, String(req.params.key_id))));
    }),
  );

  app.post(
    '/admin/v1/teams',
    route(async (req, res) => {
      const body = req.body as TeamCreateRequest;
      if (gov.registry.nameTaken('team', body.name)) throw conflict(`a team named "${body.name}" already exists`);
      if (gov.registry.allTeams().filter((t) => t.source === 'api' && t.revokedAt === null).length >= MAX_API_TEAMS) {
        throw conflict(`there are already ${MAX_API_TEAMS} live teams; revoke some first`);
      }
      const team: TeamRecord = {
        id: newId('team'),
        name: body.name,
        expiresAt: body.expires_at === undefined ? null : Date.parse(body.expires_at),
        ...limitsOf(body),
        metadata: body.metadata ?? {},
        source: 'api',
        createdAt: Date.now(),
        revokedAt: null,
      };
      await store(teams, team, true);
      res.status(201).json(teamView(team));
    }),
  );

  app.get(
    '/admin/v1/teams',
    route(async (req, res) => {
      const q = req.query as { limit?: string; after_id?: string };
      const page: TeamList = paged(gov.registry.allTeams().map(teamView), q.limit, q.after_id);
      res.status(200).json(page);
    }),
  );

  app.get(
    '/admin/v1/teams/:team_id',
    route(async (req, res) => {
      res.status(200).json(teamView(existing(teams, String(req.params.team_id))));
    }),
  );

  app.patch(
    '/admin/v1/teams/:team_id',
    route(async (req, res) => {
      const old = changeable(teams, String(req.params.team_id));
      const team: TeamRecord = { ...old, ...patched(old, req.body as TeamUpdateRequest) };
      await store(teams, team, false);
      res.status(200).json(teamView(team));
    }),
  );

  app.delete(
    '/admin/v1/teams/:team_id',
    route(async (req, res) => {
      res.status(200).json(teamView(await revoke(teams, String(req.params.team_id))));
    }),
  );

  app.get(
    '/admin/v1/usage',
    route(async (req, res) => {
      const q = req.query as { from?: string; to?: string; key_id?: string; team_id?: string; model?: string };
      const today = dayOf(Date.now());
      const from = q.from ?? `${today.slice(0, 8)}01`;
      const to = q.to ?? today;
      const days = (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
      if (!(days >= 1)) throw invalidRequest(`from: ${from} is after to: ${to}`);
      if (days > MAX_USAGE_DAYS) throw invalidRequest(`from..to spans ${days} days; at most ${MAX_USAGE_DAYS} at a time`);
      const rows = await gov.withStore((s) => s.usage({ from, to, keyId: q.key_id, teamId: q.team_id, model: q.model }));
      let total = 0;
      const data = rows.map((r) => {
        total += r.nusd;
        return {
          day: r.day,
          key_id: r.keyId,
          key_name: gov.registry.key(r.keyId)?.name ?? null,
          team_id: r.teamId,
          team_name: r.teamId === null ? null : (gov.registry.team(r.teamId)?.name ?? null),
          model: r.model,
          requests: r.requests,
          input_tokens: r.input,
          output_tokens: r.output,
          cache_read_input_tokens: r.cacheRead,
          cache_creation_input_tokens: r.cacheWrite,
          cost_usd: toUsd(r.nusd),
        };
      });
      const report: UsageReport = { from, to, data, total_cost_usd: toUsd(total) };
      res.status(200).json(report);
    }),
  );
}

function limitsOf(body: KeyCreateRequest | TeamCreateRequest): Limits {
  return {
    models: body.models ?? null,
    rpm: body.rpm ?? null,
    tpm: body.tpm ?? null,
    maxConcurrent: body.max_concurrent ?? null,
    budgetUsd: body.budget_usd ?? null,
    budgetPeriod: body.budget_period ?? 'month',
  };
}

type Changeable = Limits & { metadata: Readonly<Record<string, string>>; expiresAt: number | null };

/** What a PATCH changes on a key or a team: a field given replaces, `null` removes. */
function patched(old: Changeable, body: KeyUpdateRequest | TeamUpdateRequest): Changeable {
  const pick = <T>(v: T | null | undefined, was: T | null): T | null => (v === undefined ? was : v);
  return {
    models: pick(body.models, old.models),
    rpm: pick(body.rpm, old.rpm),
    tpm: pick(body.tpm, old.tpm),
    maxConcurrent: pick(body.max_concurrent, old.maxConcurrent),
    budgetUsd: pick(body.budget_usd, old.budgetUsd),
    budgetPeriod: body.budget_period ?? old.budgetPeriod,
    metadata: body.metadata === undefined ? old.metadata : (body.metadata ?? {}),
    expiresAt: body.expires_at === undefined ? old.expiresAt : body.expires_at === null ? null : Date.parse(body.expires_at),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function limitsView(r: Limits) {
  return {
    models: r.models === null ? null : [...r.models],
    rpm: r.rpm,
    tpm: r.tpm,
    max_concurrent: r.maxConcurrent,
    budget_usd: r.budgetUsd,
    budget_period: r.budgetPeriod,
  };
}

/** A key as the admin API shows it: never its secret, never its hash. */
export function keyView(k: KeyRecord): VirtualKey {
  return {
    id: k.id,
    name: k.name,
    team_id: k.teamId,
    expires_at: iso(k.expiresAt),
    ...limitsView(k),
    metadata: { ...k.metadata },
    source: k.source,
    created_at: iso(k.createdAt),
    revoked_at: iso(k.revokedAt),
  };
}

export function teamView(t: TeamRecord): Team {
  return {
    id: t.id,
    name: t.name,
    expires_at: iso(t.expiresAt),
    ...limitsView(t),
    metadata: { ...t.metadata },
    source: t.source,
    created_at: iso(t.createdAt),
    revoked_at: iso(t.revokedAt),
  };
}

function paged<T extends { id: string }>(all: T[], limitText: string | undefined, afterId: string | undefined) {
  const limit = limitText === undefined ? 100 : Number(limitText);
  let start = 0;
  if (afterId !== undefined) {
    const at = all.findIndex((x) => x.id === afterId);
    if (at === -1) throw invalidRequest(`after_id: ${quote(afterId)} is not in the list`);
    start = at + 1;
  }
  const data = all.slice(start, start + limit);
  return { data, has_more: start + limit < all.length, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

/** Keys and teams, as the routes that change them see them. */
interface Kind<R extends KeyRecord | TeamRecord> {
  noun: 'key' | 'team';
  find(id: string): R | undefined;
  save(record: R, create: boolean): Promise<void>;
  put(record: R): void;
}

function existing<R extends KeyRecord | TeamRecord>(kind: Kind<R>, id: string): R {
  const record = kind.find(id);
  if (!record) throw notFound(`no ${kind.noun} with id ${quote(id)}`);
  return record;
}

/** One the admin API may change: made through it, and not revoked. */
function changeable<R extends KeyRecord | TeamRecord>(kind: Kind<R>, id: string): R {
  const record = existing(kind, id);
  if (record.source === 'config') throw fromConfig(kind.noun, record.name);
  if (record.revokedAt !== null) throw conflict(`${kind.noun} "${record.name}" has been revoked and cannot change`);
  return record;
}

/** To the store first, then to this instance's registry. */
async function store<R extends KeyRecord | TeamRecord>(kind: Kind<R>, record: R, create: boolean): Promise<void> {
  await kind.save(record, create);
  kind.put(record);
}

/** Revokes one made through the admin API; one already revoked stays as it was. */
async function revoke<R extends KeyRecord | TeamRecord>(kind: Kind<R>, id: string): Promise<R> {
  const old = existing(kind, id);
  if (old.source === 'config') throw fromConfig(kind.noun, old.name);
  if (old.revokedAt !== null) return old;
  const record: R = { ...old, revokedAt: Date.now() };
  await store(kind, record, false);
  return record;
}

function liveTeam(gov: Governance, id: string): TeamRecord {
  const team = gov.registry.team(id);
  if (!team) throw notFound(`team_id: no team with id ${quote(id)}`);
  if (team.revokedAt !== null) throw conflict(`team_id: team "${team.name}" has been revoked`);
  return team;
}

function conflict(message: string): GatewayError {
  return new GatewayError(409, message, { type: 'conflict_error' });
}

function fromConfig(kind: 'key' | 'team', name: string): GatewayError {
  return conflict(`${kind} "${name}" is defined in the config file: change or remove it there`);
}
