/**
 * Claude on AWS Bedrock and Google Vertex AI: settings from the environment, zero-config providers,
 * and the start-up checks the schema alone cannot express.
 *
 * Every `type: bedrock` entry takes, when it sets none: `region` from AWS_REGION (or
 * AWS_DEFAULT_REGION), and, when it has no credentials of its own (`aws`, `api_key`, `keys`), the
 * Bedrock API key in AWS_BEARER_TOKEN_BEDROCK. Every `type: vertex` entry takes `project` from
 * ANTHROPIC_VERTEX_PROJECT_ID (or GOOGLE_CLOUD_PROJECT), `region` from CLOUD_ML_REGION (or
 * GOOGLE_CLOUD_LOCATION) and `credentials_file` from GOOGLE_APPLICATION_CREDENTIALS. These are the
 * variables Claude Code and the AWS and Google SDKs read.
 */
import { readCredentialsFile } from '../providers/google-auth/credentials-file.js';
import type { Config } from './schema.js';

type Env = Record<string, string | undefined>;

/** Fields that belong to one provider type; set on another type they are a config error. */
const TYPE_FIELDS: Record<string, readonly string[]> = {
  bedrock: ['aws', 'api_key', 'betas'],
  vertex: ['project', 'credentials_file'],
  gemini: ['vertex'],
};
const REGION_TYPES = new Set(['bedrock', 'vertex']);

/** Fills in the environment's settings on bedrock and vertex entries of a raw (env-substituted) config. */
export function applyCloudDefaults(raw: unknown, env: Env): unknown {
  if (!isObject(raw) || !isObject(raw.providers)) return raw;
  const providers: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(raw.providers)) {
    if (!isObject(entry)) providers[name] = entry;
    else if (entry.type === 'bedrock') providers[name] = bedrockDefaults(entry, env);
    else if (entry.type === 'vertex') providers[name] = vertexDefaults(entry, env);
    else providers[name] = entry;
  }
  return { ...raw, providers };
}

function bedrockDefaults(entry: Record<string, unknown>, env: Env): Record<string, unknown> {
  const out = { ...entry };
  out.region ??= env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  if (out.aws === undefined && out.api_key === undefined && out.keys === undefined && env.AWS_BEARER_TOKEN_BEDROCK) {
    out.api_key = env.AWS_BEARER_TOKEN_BEDROCK;
  }
  return dropUndefined(out);
}

function vertexDefaults(entry: Record<string, unknown>, env: Env): Record<string, unknown> {
  const out = { ...entry };
  out.project ??= env.ANTHROPIC_VERTEX_PROJECT_ID || env.GOOGLE_CLOUD_PROJECT || undefined;
  out.region ??= env.CLOUD_ML_REGION || env.GOOGLE_CLOUD_LOCATION || undefined;
  out.credentials_file ??= env.GOOGLE_APPLICATION_CREDENTIALS || undefined;
  return dropUndefined(out);
}

/**
 * Zero-config: a `bedrock` provider when AWS_BEARER_TOKEN_BEDROCK is set or CLAUDE_CODE_USE_BEDROCK=1,
 * a `vertex` provider when ANTHROPIC_VERTEX_PROJECT_ID is set or CLAUDE_CODE_USE_VERTEX=1.
 * applyCloudDefaults then fills them in.
 */
export function cloudProvidersFromEnv(env: Env): Record<string, { type: 'bedrock' | 'vertex' }> {
  const out: Record<string, { type: 'bedrock' | 'vertex' }> = {};
  if (env.AWS_BEARER_TOKEN_BEDROCK || env.CLAUDE_CODE_USE_BEDROCK === '1') out.bedrock = { type: 'bedrock' };
  if (env.ANTHROPIC_VERTEX_PROJECT_ID || env.CLAUDE_CODE_USE_VERTEX === '1') out.vertex = { type: 'vertex' };
  return out;
}

/**
 * Start-up checks of bedrock and vertex entries (and of their fields on other types); each line
 * names the field. A bedrock `api_key` becomes the entry's one key, so key choice, cooldowns and
 * logs treat it like any other.
 */
export function checkCloudProviders(providers: Config['providers']): string[] {
  const errors: string[] = [];
  for (const [name, p] of Object.entries(providers)) {
    const at = (field: string) => `providers.${name}.${field}`;
    for (const [type, fields] of Object.entries(TYPE_FIELDS)) {
      if (p.type === type) continue;
      for (const field of fields) if ((p as Record<string, unknown>)[field] !== undefined) errors.push(`${at(field)}: only for type ${type}`);
    }
    if (!REGION_TYPES.has(p.type)) {
      if (p.region !== undefined) errors.push(`${at('region')}: only for types bedrock and vertex`);
      continue;
    }
    if (p.type === 'bedrock') {
      if (p.region === undefined) errors.push(`${at('region')}: required for type bedrock (set it, or AWS_REGION)`);
      if (p.api_key !== undefined && p.keys.length > 0) errors.push(`${at('api_key')}: set api_key or keys, not both`);
      else if (p.api_key !== undefined && p.aws !== undefined) errors.push(`${at('api_key')}: set aws or api_key, not both`);
      else if (p.aws !== undefined && p.keys.length > 0) errors.push(`${at('keys')}: set aws or keys (Bedrock API keys), not both`);
      else if (p.api_key !== undefined) p.keys = [{ value: p.api_key, weight: 1 }];
      continue;
    }
    if (p.project === undefined) errors.push(`${at('project')}: required for type vertex (set it, or ANTHROPIC_VERTEX_PROJECT_ID)`);
    if (p.region === undefined) errors.push(`${at('region')}: required for type vertex (set it, or CLOUD_ML_REGION)`);
    if (p.keys.length > 0) errors.push(`${at('keys')}: type vertex authenticates with credentials_file or application default credentials, not keys`);
    if (p.credentials_file !== undefined) {
      try {
        readCredentialsFile(p.credentials_file);
      } catch (err) {
        errors.push(`${at('credentials_file')}: ${(err as Error).message}`);
      }
    }
  }
  return errors;
}

function dropUndefined(entry: Record<string, unknown>): Record<string, unknown> {
  for (const key of Object.keys(entry)) if (entry[key] === undefined) delete entry[key];
  return entry;
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
