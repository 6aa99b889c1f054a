import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProviders } from '../providers/registry.js';
import { configFromEnv, parseConfig } from './load.js';

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a config error');
};

function serviceAccountFile(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const path = join(mkdtempSync(join(tmpdir(), 'conduit-gemini-sa-')), 'key.json');
  writeFileSync(path, JSON.stringify({ type: 'service_account', client_email: 'gw@p.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }), token_uri: 'http://127.0.0.1:9/token' }));
  return path;
}

describe('gemini config', () => {
  it('the Gemini API with keys; base_url as written', () => {
    const config = parseConfig({ providers: { g: { type: 'gemini', base_url: 'http://127.0.0.1:9/v1beta', keys: [{ value: 'AIza-1' }] } } }, {});
    expect(config.providers.g).toMatchObject({ type: 'gemini', base_url: 'http://127.0.0.1:9/v1beta', keys: [{ value: 'AIza-1', weight: 1 }] });
    expect(createProviders(config).get('g')!.type).toBe('gemini');
  });

  it('the key from GEMINI_API_KEY, else GOOGLE_API_KEY; the entry named gemini takes GEMINI_BASE_URL', () => {
    const config = parseConfig({ providers: { gemini: { type: 'gemini' }, other: { type: 'gemini' }, own: { type: 'gemini', keys: [{ value: 'mine' }] } } }, { GEMINI_API_KEY: 'g-key', GOOGLE_API_KEY: 'google-key', GEMINI_BASE_URL: 'http://127.0.0.1:9/v1beta' });
    expect(config.providers.gemini).toMatchObject({ keys: [{ value: 'g-key' }], base_url: 'http://127.0.0.1:9/v1beta' });
    expect(config.providers.other).toMatchObject({ keys: [{ value: 'g-key' }] });
    expect(config.providers.other!.base_url).toBeUndefined();
    expect(config.providers.own!.keys).toEqual([{ value: 'mine', weight: 1 }]);
    expect(parseConfig({ providers: { gemini: { type: 'gemini' } } }, { GOOGLE_API_KEY: 'google-key' }).providers.gemini!.keys).toEqual([{ value: 'google-key', weight: 1 }]);
  });

  it('Gemini on Vertex AI: the block, with project, region and credentials from Google’s variables', () => {
    const keyFile = serviceAccountFile();
    const config = parseConfig({ providers: { vg: { type: 'gemini', vertex: {} }, pinned: { type: 'gemini', vertex: { project: 'p2', region: 'global' } } } }, { GOOGLE_CLOUD_PROJECT: 'proj', GOOGLE_CLOUD_LOCATION: 'us-central1', GOOGLE_APPLICATION_CREDENTIALS: keyFile, GEMINI_API_KEY: 'unused' });
    expect(config.providers.vg!.vertex).toEqual({ project: 'proj', region: 'us-central1', credentials_file: keyFile });
    expect(config.providers.vg!.keys).toEqual([]);
    expect(config.providers.pinned!.vertex).toMatchObject({ project: 'p2', region: 'global' });
  });

  it('errors name the field', () => {
    expect(errorOf(() => parseConfig({ providers: { g: { type: 'gemini' } } }, {}))).toContain('providers.g.keys: required for type gemini (set it, or GEMINI_API_KEY / GOOGLE_API_KEY), or set vertex');
    const vertex = errorOf(() => parseConfig({ providers: { g: { type: 'gemini', vertex: {}, keys: [{ value: 'k' }] } } }, {}));
    expect(vertex).toContain('providers.g.vertex.project: required for Gemini on Vertex AI (set it, or GOOGLE_CLOUD_PROJECT)');
    expect(vertex).toContain('providers.g.vertex.region: required for Gemini on Vertex AI (set it, or GOOGLE_CLOUD_LOCATION)');
    expect(vertex).toContain('providers.g.keys: Gemini on Vertex AI authenticates with vertex.credentials_file');
    expect(errorOf(() => parseConfig({ providers: { g: { type: 'gemini', vertex: { project: 'p', region: 'us-central1', credentials_file: '/nonexistent/key.json' } } } }, {}))).toContain(
      'providers.g.vertex.credentials_file: cannot read /nonexistent/key.json',
    );
    expect(errorOf(() => parseConfig({ providers: { a: { type: 'anthropic', vertex: { project: 'p', region: 'r' } } } }, {}))).toContain('providers.a.vertex: only for type gemini');
    expect(errorOf(() => parseConfig({ providers: { g: { type: 'gemini', vertex: { project: 'p', region: 'US East' } } } }, {}))).toContain('providers.g.vertex.region: a region is lower-case letters, digits and -');
  });

  it('zero-config: a gemini provider from GEMINI_API_KEY or GOOGLE_API_KEY; on Vertex AI with GOOGLE_GENAI_USE_VERTEXAI', () => {
    expect(configFromEnv({ GEMINI_API_KEY: 'g-key' }).providers.gemini).toMatchObject({ type: 'gemini', keys: [{ value: 'g-key' }] });
    expect(configFromEnv({ GOOGLE_API_KEY: 'google-key' }).providers.gemini).toMatchObject({ type: 'gemini', keys: [{ value: 'google-key' }] });
    expect(configFromEnv({}).providers.gemini).toBeUndefined();
    const vertex = configFromEnv({ GOOGLE_GENAI_USE_VERTEXAI: 'true', GOOGLE_CLOUD_PROJECT: 'proj', GOOGLE_CLOUD_LOCATION: 'global' }).providers.gemini;
    expect(vertex).toMatchObject({ type: 'gemini', vertex: { project: 'proj', region: 'global' }, keys: [] });
  });
});
