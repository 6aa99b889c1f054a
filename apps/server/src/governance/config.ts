import { z } from 'zod';
import type { ProviderConfig } from '../config/schema.js';
import { configuredHash, isHashed } from './secrets.js';

/** Key and team names: what logs and metrics show. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const NAME_MESSAGE = 'names are 1-64 letters, digits, _ . - (starting with a letter or digit)';

/** Most models patterns on one key or team. */
export const MAX_MODEL_PATTERNS = 100;
/** Most metadata entries on one key or team, and the longest value. */
export const MAX_METADATA_ENTRIES = 32;
export const MAX_METADATA_VALUE = 512;

/** What a key and a team may both carry: the models they may use and their limits. */
const limitFields = {
  /** Allowed models: alias names, "provider/model", or patterns with `*` ("anthropic/*", "*haiku*"). Absent: every model. */
  models: z.array(z.string().min(1).max(200)).max(MAX_MODEL_PATTERNS).optional(),
  /** Requests per minute (any 60 s, counted in whole seconds). */
  rpm: z.number().int().positive().optional(),
  /** Input + output tokens per minute, debited with the real usage; a request is admitted while some are left. */
  tpm: z.number().int().positive().optional(),
  /** Requests in flight at once. */
  max_concurrent: z.number().int().positive().optional(),
  /** USD per budget period; spent = requests refused with 402 until the period ends. */
  budget_usd: z.number().positive().optional(),
  /** `day` or `month` (UTC calendar periods). */
  budget_period: z.enum(['day', 'month']).default('month'),
  /** Free-form labels shown in admin listings. */
  metadata: z
    .record(z.string().max(64), z.string().max(MAX_METADATA_VALUE))
    .refine((m) => Object.keys(m).length <= MAX_METADATA_ENTRIES, `at most ${MAX_METADATA_ENTRIES} metadata entries`)
    .optional(),
};

const configKeySchema = z.strictObject({
  name: z.string().regex(NAME_PATTERN, NAME_MESSAGE),
  /** The secret itself, `env.NAME`, or `sha256:<64 hex digits>` of the secret. */
  value: z.string().min(1),
  /** Name of a team from `auth.teams`. */
  team: z.string().min(1).optional(),
  /** RFC 3339 time after which the key is refused. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
  ...limitFields,
});

const configTeamSchema = z.strictObject({
  name: z.string().regex(NAME_PATTERN, NAME_MESSAGE),
  /** RFC 3339 time after which every key of the team is refused. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
  ...limitFields,
});

/** `auth:` — virtual keys, teams, limits and budgets (reference: the README, "Keys, teams, limits and budgets"). */
export const authSchema = z
  .strictObject({
    /**
     * `keys` (the default): every request to /anthropic/* needs a Conduit key. `open`: no
     * authentication, also when listening beyond loopback with provider keys (an explicit choice).
     */
    mode: z.enum(['keys', 'open']).default('keys'),
    /** The admin API's key: the secret, `env.NAME` or `sha256:<hex>`. Without it the admin API is off. */
    admin_key: z.string().min(1).optional(),
    keys: z.array(configKeySchema).default([]),
    teams: z.array(configTeamSchema).default([]),
    /** `admin`: GET /metrics needs the admin key too. */
    metrics: z.enum(['open', 'admin']).default('open'),
  })
  .optional();

export type AuthConfig = NonNullable<z.output<typeof authSchema>>;
export type ConfigKey = AuthConfig['keys'][number];
export type ConfigTeam = AuthConfig['teams'][number];

/** Whether gateway authentication is on: an `auth` section that is not `mode: open`. */
export function authEnabled(auth: z.output<typeof authSchema>): auth is AuthConfig {
  return auth !== undefined && auth.mode === 'keys';
}

/** Problems with the auth section that the schema alone cannot see; each line names the field. */
export function authConfigErrors(config: {
  auth?: z.output<typeof authSchema>;
  listen: { host: string };
  providers: Readonly<Record<string, Pick<ProviderConfig, 'type' | 'keys'>>>;
}): string[] {
  const auth = config.auth;
  const errors: string[] = [];
  if (auth === undefined || auth.mode === 'open') {
    if (auth?.mode === 'open' && (auth.admin_key !== undefined || auth.keys.length > 0 || auth.teams.length > 0)) {
      errors.push('auth.mode: "open" turns authentication off; remove auth.admin_key, auth.keys and auth.teams, or use mode "keys"');
    }
    if (auth === undefined) {
      const exposure = exposureError(config);
      if (exposure) errors.push(exposure);
    }
    return errors;
  }
  const teamNames = new Set<string>();
  auth.teams.forEach((t, i) => {
    if (teamNames.has(t.name)) errors.push(`auth.teams[${i}].name: "${t.name}" is used twice`);
    teamNames.add(t.name);
  });
  const keyNames = new Set<string>();
  const secrets = new Map<string, number>();
  const admin = auth.admin_key === undefined ? undefined : configuredHash(auth.admin_key);
  auth.keys.forEach((k, i) => {
    if (keyNames.has(k.name)) errors.push(`auth.keys[${i}].name: "${k.name}" is used twice`);
    keyNames.add(k.name);
    if (k.team !== undefined && !teamNames.has(k.team)) {
      errors.push(`auth.keys[${i}].team: "${k.team}" is not in auth.teams (${[...teamNames].join(', ') || 'none defined'})`);
    }
    if (k.value.startsWith('sha256:') && !isHashed(k.value)) errors.push(`auth.keys[${i}].value: a hash is "sha256:" and 64 lowercase hex digits`);
    const digest = configuredHash(k.value);
    const twin = secrets.get(digest);
    if (twin !== undefined) errors.push(`auth.keys[${i}].value: the same secret as auth.keys[${twin}]; every key needs its own`);
    secrets.set(digest, i);
    if (digest === admin) errors.push(`auth.keys[${i}].value: the same secret as auth.admin_key; the admin key is never a client key`);
  });
  if (auth.admin_key?.startsWith('sha256:') && !isHashed(auth.admin_key)) errors.push('auth.admin_key: a hash is "sha256:" and 64 lowercase hex digits');
  // With auth on, clients send Conduit keys, which never travel upstream: every Anthropic-type
  // provider must hold a key for every model, or its requests would go out with no credential.
  for (const [name, provider] of Object.entries(config.providers)) {
    if (provider.type !== 'anthropic') continue;
    if (!provider.keys.some((k) => k.models === undefined)) {
      errors.push(
        `providers.${name}.keys: with auth on, clients send Conduit keys, which are never forwarded upstream; ` +
          `give this provider a key of its own that serves every model (a key without "models")`,
      );
    }
  }
  return errors;
}

/**
 * The safe default: refuse to start when anyone who reaches the port could spend the provider keys.
 * Undefined when that is not the case.
 */
export function exposureError(config: { listen: { host: string }; providers: Readonly<Record<string, Pick<ProviderConfig, 'keys'>>> }): string | undefined {
  if (isLoopback(config.listen.host)) return undefined;
  const holding = Object.entries(config.providers)
    .filter(([, p]) => p.keys.length > 0)
    .map(([name]) => name);
  if (holding.length === 0) return undefined;
  return (
    `auth: listen.host ${config.listen.host} is reachable from other machines and providers ${holding.join(', ')} hold API keys, ` +
    `but there is no auth section: anyone who can reach the port would spend those keys. ` +
    `Set auth.admin_key and auth.keys (README, "Keys, teams, limits and budgets"; without a config file: CONDUIT_ADMIN_KEY), ` +
    `listen on 127.0.0.1, or say that it should be open with "auth: { mode: open }" (without a config file: CONDUIT_OPEN=true)`
  );
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}
