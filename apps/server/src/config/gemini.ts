/**
 * Gemini: settings from the environment, the zero-config provider, and the start-up checks the
 * schema alone cannot express.
 *
 * Every `type: gemini` entry on the Gemini API (no `vertex` block) takes, when it has no `keys`,
 * its key from GEMINI_API_KEY (or GOOGLE_API_KEY); the entry named `gemini` takes its base URL from
 * GEMINI_BASE_URL when it sets none. An entry on Vertex AI (`vertex: {...}`) takes what its block
 * leaves out from GOOGLE_CLOUD_PROJECT, GOOGLE_CLOUD_LOCATION and GOOGLE_APPLICATION_CREDENTIALS.
 * These are the variables Google's own SDKs read.
 */
import { readCredentialsFile } from '../providers/google-auth/credentials-file.js';
import type { Config } from './schema.js';

type Env = Record<string, string | undefined>;

/** The key variables, in the order they are read. */
export const GEMINI_KEY_VARIABLES = ['GEMINI_API_KEY', 'GOOGLE_API_KEY'] as const;

export function applyGeminiDefaults(raw: unknown, env: Env): unknown {
  if (!isObject(raw) || !isObject(raw.providers)) return raw;
  const providers: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(raw.providers)) {
    providers[name] = isObject(entry) && entry.type === 'gemini' ? geminiDefaults(name, entry, env) : entry;
  }
  return { ...raw, providers };
}

function geminiDefaults(name: string, entry: Record<string, unknown>, env: Env): Record<string, unknown> {
  const out = { ...entry };
  if (isObject(out.vertex)) {
    const vertex = { ...out.vertex };
    vertex.project ??= env.GOOGLE_CLOUD_PROJECT || undefined;
    vertex.region ??= env.GOOGLE_CLOUD_LOCATION || undefined;
    vertex.credentials_file ??= env.GOOGLE_APPLICATION_CREDENTIALS || undefined;
    for (const key of Object.keys(vertex)) if (vertex[key] === undefined) delete vertex[key];
    out.vertex = vertex;
    return out;
  }
  if (out.vertex !== undefined) return out;
  const key = GEMINI_KEY_VARIABLES.map((v) => env[v]).find((v) => v);
  if (out.keys === undefined && key) out.keys = [{ value: key }];
  if (out.base_url === undefined && name === 'gemini' && env.GEMINI_BASE_URL) out.base_url = env.GEMINI_BASE_URL;
  return out;
}

/**
 * Zero-config: a `gemini` provider when GEMINI_API_KEY or GOOGLE_API_KEY is set; on Vertex AI when
 * GOOGLE_GENAI_USE_VERTEXAI is true (as Google's SDKs read it). applyGeminiDefaults then fills it in.
 */
export function geminiProvidersFromEnv(env: Env): Record<string, { type: 'gemini'; vertex?: Record<string, never> }> {
  if (/^(true|1)$/i.test(env.GOOGLE_GENAI_USE_VERTEXAI ?? '')) return { gemini: { type: 'gemini', vertex: {} } };
  if (GEMINI_KEY_VARIABLES.some((v) => env[v])) return { gemini: { type: 'gemini' } };
  return {};
}

/** Start-up checks of gemini entries; each line names the field. */
export function checkGeminiProviders(providers: Config['providers']): string[] {
  const errors: string[] = [];
  for (const [name, p] of Object.entries(providers)) {
    if (p.type !== 'gemini') continue;
    const at = (field: string) => `providers.${name}.${field}`;
    if (!p.vertex) {
      if (p.keys.length === 0) errors.push(`${at('keys')}: required for type gemini (set it, or GEMINI_API_KEY / GOOGLE_API_KEY), or set vertex for Gemini on Vertex AI`);
      continue;
    }
    if (p.vertex.project === undefined) errors.push(`${at('vertex.project')}: required for Gemini on Vertex AI (set it, or GOOGLE_CLOUD_PROJECT)`);
    if (p.vertex.region === undefined) errors.push(`${at('vertex.region')}: required for Gemini on Vertex AI (set it, or GOOGLE_CLOUD_LOCATION)`);
    if (p.keys.length > 0) errors.push(`${at('keys')}: Gemini on Vertex AI authenticates with vertex.credentials_file or application default credentials, not keys`);
    if (p.vertex.credentials_file !== undefined) {
      try {
        readCredentialsFile(p.vertex.credentials_file);
      } catch (err) {
        errors.push(`${at('vertex.credentials_file')}: ${(err as Error).message}`);
      }
    }
  }
  return errors;
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
