import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeServiceAccount, startFakeVertex, type FakeVertex } from '@conduit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import { parseCredentials } from './credentials-file.js';
import { signAssertion } from './jwt-bearer.js';
import { createGoogleTokenSource } from './token-source.js';

const sa = createFakeServiceAccount();
const stranger = createFakeServiceAccount('stranger@fake-project.iam.gserviceaccount.com');
let fake: FakeVertex;
let dir: string;

beforeAll(async () => {
  fake = await startFakeVertex({ serviceAccounts: [sa], tokenTtlSeconds: 3600 });
  dir = mkdtempSync(join(tmpdir(), 'conduit-google-'));
});
afterAll(() => fake.close());

function keyFile(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('service-account tokens (JWT-bearer grant)', () => {
  it('the assertion is RS256, for cloud-platform, addressed to the key file’s token_uri', () => {
    const creds = parseCredentials(sa.keyFile('https://oauth2.private.example/token'));
    if (creds.kind !== 'service_account') throw new Error('expected a service account');
    const [header, claims] = signAssertion(creds.key, 'https://www.googleapis.com/auth/cloud-platform', 1_700_000_000_000)
      .split('.')
      .slice(0, 2)
      .map((p) => JSON.parse(Buffer.from(p, 'base64url').toString('utf8')));
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: sa.privateKeyId });
    expect(claims).toEqual({ iss: sa.clientEmail, scope: 'https://www.googleapis.com/auth/cloud-platform', aud: 'https://oauth2.private.example/token', iat: 1_700_000_000, exp: 1_700_003_600 });
  });

  it('posts to token_uri (not Google’s), gets a token the fake issued, and caches it', async () => {
    const source = createGoogleTokenSource({ credentialsFile: keyFile('sa.json', sa.keyFile(`${fake.url}/token`)), provider: 'vertex' });
    const token = await source.token();
    expect(fake.issuedTokens).toContain(token);
    expect(await source.token()).toBe(token);
    expect(fake.requests.filter((r) => r.path === '/token')).toHaveLength(1);
    await source.close();
  });

  it('a key the token endpoint refuses: a 401 GatewayError (the router treats it as the gateway’s credential refused)', async () => {
    const source = createGoogleTokenSource({ credentialsFile: keyFile('stranger.json', stranger.keyFile(`${fake.url}/token`)), provider: 'vertex' });
    const err = await source.token().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 401, type: 'authentication_error', origin: 'upstream', upstream: { status: 401 } });
    expect((err as Error).message).toContain(`the token endpoint refused the service account ${stranger.clientEmail}: invalid_grant: Invalid grant: account not found`);
    await source.close();
  });

  it('other credential kinds go to google-auth-library; one it cannot use is a 401 naming the problem', async () => {
    // An external_account file missing its settings: refused by the library before any network call.
    const source = createGoogleTokenSource({ credentialsFile: keyFile('external.json', JSON.stringify({ type: 'external_account', audience: '//iam.googleapis.com/x' })), provider: 'vertex' });
    const err = await source.token().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ status: 401, type: 'authentication_error', upstream: { status: 401 } });
    expect((err as Error).message).toMatch(/^vertex: no Google Cloud credentials: \S/);
  });

  it('an unreachable token endpoint is a transient (5xx-like) failure', async () => {
    const source = createGoogleTokenSource({ credentialsFile: keyFile('down.json', sa.keyFile('http://127.0.0.1:9/token')), provider: 'vertex' });
    const err = await source.token().catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, upstream: { kind: 'connect' } });
    await source.close();
  });
});
