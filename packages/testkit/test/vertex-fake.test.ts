/**
 * The fake Vertex AI against Anthropic's Vertex SDK (it proves the routes, bodies and streams are
 * what the real service speaks) and against hand-made service-account assertions (it proves the
 * token endpoint checks what Google checks).
 */
import { createSign, generateKeyPairSync } from 'node:crypto';
import AnthropicVertex from '@anthropic-ai/vertex-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeServiceAccount, startFakeVertex, vertexError, type FakeServiceAccount, type FakeVertex } from '../src/index.js';

let sa: FakeServiceAccount;
let fake: FakeVertex;
let clock = Date.now();

beforeAll(async () => {
  sa = createFakeServiceAccount();
  fake = await startFakeVertex({ serviceAccounts: [sa], tokenTtlSeconds: 600, now: () => clock });
});
afterEach(() => {
  fake.reset();
  clock = Date.now();
});
afterAll(() => fake.close());

function assertion(claims: Record<string, unknown>, privateKeyPem = sa.privateKeyPem, alg = 'RS256'): string {
  const iat = Math.floor(clock / 1000);
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg, typ: 'JWT', kid: sa.privateKeyId })}.${enc({ iss: sa.clientEmail, scope: 'https://www.googleapis.com/auth/cloud-platform', aud: `${fake.url}/token`, iat, exp: iat + 3600, ...claims })}`;
  return `${input}.${createSign('RSA-SHA256').update(input).sign(privateKeyPem).toString('base64url')}`;
}

async function grant(jwt: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${fake.url}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }).toString(),
  });
  return { status: res.status, body: await res.json() };
}

describe('the fake token endpoint', () => {
  it('issues a token for a well-signed assertion', async () => {
    const { status, body } = await grant(assertion({}));
    expect(status).toBe(200);
    expect(body).toMatchObject({ access_token: expect.stringMatching(/^ya29\./), expires_in: 600, token_type: 'Bearer' });
    expect(fake.issuedTokens).toEqual(expect.arrayContaining([body.access_token]));
  });

  it('refuses what Google refuses: another key, another audience, no cloud-platform scope, a stale or long-lived assertion, HS256', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(await grant(assertion({}, other))).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'Invalid JWT Signature.' } });
    expect((await grant(assertion({ aud: 'https://oauth2.googleapis.com/token' }))).body.error_description).toMatch(/audience/);
    expect((await grant(assertion({ scope: 'https://www.googleapis.com/auth/userinfo.email' }))).body.error).toBe('invalid_scope');
    const old = Math.floor(clock / 1000) - 7200;
    expect((await grant(assertion({ iat: old, exp: old + 3600 }))).body.error_description).toMatch(/short-lived/);
    expect((await grant(assertion({ exp: Math.floor(clock / 1000) + 7200 }))).body.error_description).toMatch(/short-lived/);
    expect((await grant(assertion({ iss: 'someone@else.iam.gserviceaccount.com' }))).body.error_description).toMatch(/account not found/);
    expect((await grant(assertion({}, sa.privateKeyPem, 'HS256'))).body.error_description).toMatch(/not RS256/);
  });
});

describe('Anthropic’s Vertex SDK against the fake', () => {
  /** The SDK asks an auth client for its headers; this one holds a token from the fake's endpoint. */
  function vertexClient(token: string, projectId = 'fake-project'): AnthropicVertex {
    const authClient = { projectId, getRequestHeaders: async () => new Headers({ authorization: `Bearer ${token}` }) };
    return new AnthropicVertex({ authClient: authClient as never, projectId, region: 'us-east5', baseURL: `${fake.url}/v1`, maxRetries: 0 });
  }

  async function client(): Promise<AnthropicVertex> {
    const { body } = await grant(assertion({}));
    return vertexClient(body.access_token);
  }

  it('messages.create, messages.stream().finalMessage() and countTokens', async () => {
    const c = await client();
    const params = { model: 'claude-sonnet-4-5@20250929', max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hello there' }] };
    const created = await c.messages.create(params);
    const streamed = await c.messages.stream(params).finalMessage();
    expect(created.content).toEqual([{ type: 'text', text: 'Hello from the fake Vertex AI upstream.' }]);
    expect(streamed.content).toEqual(created.content);
    const counted = await c.messages.countTokens({ model: 'claude-sonnet-4-5@20250929', messages: params.messages });
    expect(counted.input_tokens).toBe(3);
    expect(fake.requests.filter((r) => r.path !== '/token').map((r) => r.path)).toEqual([
      '/v1/projects/fake-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict',
      '/v1/projects/fake-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:streamRawPredict',
      '/v1/projects/fake-project/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict',
    ]);
  });

  it('no token, an unknown token or an expired one: 401 UNAUTHENTICATED; another project: 403', async () => {
    const params = { model: 'claude-sonnet-4-5@20250929', max_tokens: 8, messages: [{ role: 'user' as const, content: 'hi' }] };
    const unknown = vertexClient('ya29.forged');
    await expect(unknown.messages.create(params)).rejects.toMatchObject({ status: 401 });
    const c = await client();
    clock += 601_000;
    await expect(c.messages.create(params)).rejects.toMatchObject({ status: 401 });
    clock = Date.now();
    const { body } = await grant(assertion({}));
    const elsewhere = vertexClient(body.access_token, 'not-mine');
    await expect(elsewhere.messages.create(params)).rejects.toMatchObject({ status: 403 });
  });

  it('scripted Google errors reach the client with their status', async () => {
    const c = await client();
    fake.enqueue(vertexError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.'));
    await expect(c.messages.create({ model: 'claude-sonnet-4-5@20250929', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 429 });
  });
});
