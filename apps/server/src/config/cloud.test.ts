import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, parseConfig } from './load.js';

function serviceAccountFile(fields: Record<string, unknown> = {}): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dir = mkdtempSync(join(tmpdir(), 'conduit-sa-'));
  const path = join(dir, 'key.json');
  writeFileSync(
    path,
    JSON.stringify({
      type: 'service_account',
      project_id: 'p',
      client_email: 'gw@p.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      token_uri: 'http://127.0.0.1:9/token',
      ...fields,
    }),
  );
  return path;
}

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a config error');
};

describe('bedrock config', () => {
  it('static keys, region and base_url as written; api_key becomes the entry’s one key', () => {
    const config = parseConfig(
      {
        providers: {
          aws: { type: 'bedrock', region: 'eu-west-1', base_url: 'http://127.0.0.1:9', aws: { access_key_id: 'AKID', secret_access_key: 's', session_token: 't' } },
          bearer: { type: 'bedrock', region: 'us-east-1', api_key: 'bedrock-api-key' },
        },
      },
      {},
    );
    expect(config.providers.aws).toMatchObject({ region: 'eu-west-1', aws: { access_key_id: 'AKID', secret_access_key: 's', session_token: 't' }, keys: [] });
    expect(config.providers.bearer!.keys).toEqual([{ value: 'bedrock-api-key', weight: 1 }]);
  });

  it('region from AWS_REGION, the API key from AWS_BEARER_TOKEN_BEDROCK, unless the entry has its own', () => {
    const env = { AWS_REGION: 'us-west-2', AWS_BEARER_TOKEN_BEDROCK: 'env-key' };
    const config = parseConfig(
      { providers: { a: { type: 'bedrock' }, b: { type: 'bedrock', region: 'eu-central-1', aws: { access_key_id: 'k', secret_access_key: 's' } } } },
      env,
    );
    expect(config.providers.a).toMatchObject({ region: 'us-west-2', keys: [{ value: 'env-key' }] });
    expect(config.providers.b).toMatchObject({ region: 'eu-central-1', keys: [] });
    expect(config.providers.b!.api_key).toBeUndefined();
  });

  it('errors name the field', () => {
    expect(errorOf(() => parseConfig({ providers: { b: { type: 'bedrock' } } }, {}))).toContain('providers.b.region: required for type bedrock');
    expect(errorOf(() => parseConfig({ providers: { b: { type: 'bedrock', region: 'us-east-1', api_key: 'k', aws: { access_key_id: 'a', secret_access_key: 's' } } } }, {}))).toContain(
      'providers.b.api_key: set aws or api_key, not both',
    );
    expect(errorOf(() => parseConfig({ providers: { b: { type: 'bedrock', region: 'us-east-1', aws: { access_key_id: 'a' } } } }, {}))).toContain('providers.b.aws.secret_access_key');
    expect(errorOf(() => parseConfig({ providers: { b: { type: 'bedrock', region: 'US East' } } }, {}))).toContain('providers.b.region: a region is lower-case letters');
    expect(errorOf(() => parseConfig({ providers: { b: { type: 'bedrock', region: 'us-east-1', project: 'p' } } }, {}))).toContain('providers.b.project: only for type vertex');
    expect(errorOf(() => parseConfig({ providers: { o: { type: 'openai', base_url: 'http://x/v1', region: 'us-east-1', api_key: 'k' } } }, {}))).toMatch(
      /providers\.o\.api_key: only for type bedrock[\s\S]*providers\.o\.region: only for types bedrock and vertex/,
    );
  });
});

describe('vertex config', () => {
  it('project, region and a service-account file; environment defaults', () => {
    const file = serviceAccountFile();
    const config = parseConfig({ providers: { v: { type: 'vertex', project: 'my-proj', region: 'global', credentials_file: file } } }, {});
    expect(config.providers.v).toMatchObject({ type: 'vertex', project: 'my-proj', region: 'global', credentials_file: file });
    const fromEnv = parseConfig({ providers: { v: { type: 'vertex' } } }, { ANTHROPIC_VERTEX_PROJECT_ID: 'p2', CLOUD_ML_REGION: 'us-east5', GOOGLE_APPLICATION_CREDENTIALS: file });
    expect(fromEnv.providers.v).toMatchObject({ project: 'p2', region: 'us-east5', credentials_file: file });
  });

  it('without a credentials file: application default credentials (no error)', () => {
    const config = parseConfig({ providers: { v: { type: 'vertex', project: 'p', region: 'us-east5' } } }, {});
    expect(config.providers.v!.credentials_file).toBeUndefined();
  });

  it('errors name the field, including what is wrong with the key file', () => {
    expect(errorOf(() => parseConfig({ providers: { v: { type: 'vertex' } } }, {}))).toMatch(
      /providers\.v\.project: required for type vertex[\s\S]*providers\.v\.region: required for type vertex/,
    );
    expect(errorOf(() => parseConfig({ providers: { v: { type: 'vertex', project: 'p', region: 'r', credentials_file: '/nonexistent/key.json' } } }, {}))).toContain(
      'providers.v.credentials_file: cannot read /nonexistent/key.json: ENOENT',
    );
    const badUri = serviceAccountFile({ token_uri: 'http://token.example.com/token' });
    expect(errorOf(() => parseConfig({ providers: { v: { type: 'vertex', project: 'p', region: 'r', credentials_file: badUri } } }, {}))).toContain(
      'providers.v.credentials_file: ' + badUri + ': token_uri must be an https URL',
    );
    const noKey = serviceAccountFile({ private_key: 'not a key' });
    expect(errorOf(() => parseConfig({ providers: { v: { type: 'vertex', project: 'p', region: 'r', credentials_file: noKey } } }, {}))).toContain('private_key is not a PEM private key');
    expect(errorOf(() => parseConfig({ providers: { v: { type: 'vertex', project: 'p', region: 'r', keys: [{ value: 'k' }] } } }, {}))).toContain(
      'providers.v.keys: type vertex authenticates with credentials_file',
    );
    expect(errorOf(() => parseConfig({ providers: { v: { type: 'vertex', project: 'p', region: 'r', aws: { access_key_id: 'a', secret_access_key: 's' } } } }, {}))).toContain(
      'providers.v.aws: only for type bedrock',
    );
  });
});

describe('zero-config cloud providers', () => {
  it('bedrock from AWS_BEARER_TOKEN_BEDROCK, vertex from ANTHROPIC_VERTEX_PROJECT_ID; nothing without them', () => {
    const config = configFromEnv({ AWS_BEARER_TOKEN_BEDROCK: 'k', AWS_REGION: 'us-east-1', ANTHROPIC_VERTEX_PROJECT_ID: 'p', CLOUD_ML_REGION: 'global' });
    expect(config.providers.bedrock).toMatchObject({ type: 'bedrock', region: 'us-east-1', keys: [{ value: 'k' }] });
    expect(config.providers.vertex).toMatchObject({ type: 'vertex', project: 'p', region: 'global' });
    const none = configFromEnv({ AWS_REGION: 'us-east-1' });
    expect(Object.keys(none.providers)).toEqual(['anthropic']);
  });

  it('CLAUDE_CODE_USE_BEDROCK without a region is a config error naming the field', () => {
    expect(errorOf(() => configFromEnv({ CLAUDE_CODE_USE_BEDROCK: '1' }))).toContain('providers.bedrock.region: required for type bedrock (set it, or AWS_REGION)');
  });
});
