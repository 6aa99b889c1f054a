import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { applyCloudDefaults, checkCloudProviders, cloudProvidersFromEnv } from './cloud.js';
import { applyGeminiDefaults, checkGeminiProviders, geminiProvidersFromEnv } from './gemini.js';
import { applyPresets, openaiProviderErrors, presetProvidersFromEnv } from './presets.js';
import { configSchema, type Config } from './schema.js';
import { authConfigErrors } from '../governance/config.js';
import { aliasConfigErrors } from '../routing/aliases.js';
import { nativeBatchesConfigErrors } from '../jobs/batches/config.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const ENV_REF = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/;

/** Replaces every string value `env.NAME` with that variable; a missing variable names the field. */
export function substituteEnv(value: unknown, env: Env, path: string[] = []): unknown {
  if (typeof value === 'string') {
    const m = ENV_REF.exec(value);
    if (!m) return value;
    const v = env[m[1]!];
    if (v === undefined || v === '') {
      throw new ConfigError(`${formatPath(path)}: environment variable ${m[1]} is not set`);
    }
    return v;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, String(i)]));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnv(v, env, [...path, k]);
    return out;
  }
  return value;
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(root)';
  return path
    .map((p, i) => (typeof p === 'number' || /^\d+$/.test(String(p)) ? `[${String(p)}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

/** Validates a raw config object (after env substitution); errors name every bad field. */
export function parseConfig(raw: unknown, env: Env = process.env): Config {
  const substituted = applyGeminiDefaults(applyCloudDefaults(applyPresets(substituteEnv(raw ?? {}, env), env), env), env);
  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${formatPath(i.path)}: ${i.message}`);
    throw new ConfigError(`invalid config:\n${lines.join('\n')}`);
  }
  const config = result.data;
  const names = Object.keys(config.providers);
  if (names.length === 0) {
    throw new ConfigError('invalid config:\n  providers: at least one provider is required');
  }
  if (config.default_provider !== undefined && !Object.hasOwn(config.providers, config.default_provider)) {
    throw new ConfigError(
      `invalid config:\n  default_provider: "${config.default_provider}" is not a configured provider (configured: ${names.join(', ')})`,
    );
  }
  const providerErrors = [
    ...openaiProviderErrors(config.providers),
    ...checkCloudProviders(config.providers),
    ...checkGeminiProviders(config.providers),
    ...nativeBatchesConfigErrors(config.providers),
  ];
  if (providerErrors.length > 0) throw new ConfigError(`invalid config:\n${providerErrors.map((l) => `  ${l}`).join('\n')}`);
  const aliasErrors = aliasConfigErrors(config);
  if (aliasErrors.length > 0) throw new ConfigError(`invalid config:\n${aliasErrors.map((l) => `  ${l}`).join('\n')}`);
  const authErrors = authConfigErrors(config);
  if (authErrors.length > 0) throw new ConfigError(`invalid config:\n${authErrors.map((l) => `  ${l}`).join('\n')}`);
  return config;
}

/** Providers built from the environment when no config file is given. */
export function configFromEnv(env: Env = process.env): Config {
  const raw: Record<string, unknown> = {
    listen: {
      host: env.CONDUIT_HOST ?? '127.0.0.1',
      port: env.CONDUIT_PORT ? Number(env.CONDUIT_PORT) : env.PORT ? Number(env.PORT) : 8080,
    },
    default_provider: 'anthropic',
    providers: {
      anthropic: {
        type: 'anthropic',
        ...(env.ANTHROPIC_BASE_URL ? { base_url: env.ANTHROPIC_BASE_URL } : {}),
        keys: env.ANTHROPIC_API_KEY ? [{ value: env.ANTHROPIC_API_KEY }] : [],
      },
      // openai, groq, ollama ...: each preset the environment switches on (config/presets.ts).
      ...presetProvidersFromEnv(env),
      // bedrock, vertex: when the environment says so (config/cloud.ts).
      ...cloudProvidersFromEnv(env),
      // gemini: GEMINI_API_KEY / GOOGLE_API_KEY, or GOOGLE_GENAI_USE_VERTEXAI (config/gemini.ts).
      ...geminiProvidersFromEnv(env),
    },
  };
  // Gateway auth without a file: the admin key from CONDUIT_ADMIN_KEY (client keys are then made
  // through the admin API), or CONDUIT_OPEN=true to say that a gateway reachable from elsewhere is open on purpose.
  if (env.CONDUIT_ADMIN_KEY) raw.auth = { admin_key: env.CONDUIT_ADMIN_KEY };
  else if (env.CONDUIT_OPEN === 'true') raw.auth = { mode: 'open' };
  return parseConfig(raw, env);
}

/** Reads the config file named by --config or CONDUIT_CONFIG, or builds one from the environment. */
export function loadConfig(opts: { path?: string; env?: Env } = {}): Config {
  const env = opts.env ?? process.env;
  const path = opts.path ?? env.CONDUIT_CONFIG;
  if (!path) return configFromEnv(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`cannot parse config file ${path}: ${(err as Error).message}`);
  }
  return parseConfig(raw, env);
}
