import {
  countTokens,
  createKey,
  createMessage,
  createTeam,
  getKey,
  getTeam,
  getMetrics,
  getUsage,
  listKeys,
  listModels,
  listTeams,
  revokeKey,
  revokeTeam,
  streamMessage,
  updateKey,
  updateTeam,
  type MessageStreamEvent,
} from '@conduit/sdk';
import Anthropic from '@anthropic-ai/sdk';
import { anthropicError, anthropicMessage, anthropicSseEvents, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../src/governance/secrets.js';
import { pollUntilDone, sleep, submitJob } from './helpers/async.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { ADMIN_KEY, bearerClient, captureLog, client, message, rateHeaders } from './helpers/governance.js';

const MESSAGES = '/anthropic/v1/messages';
const UPSTREAM_KEY = 'sk-ant-upstream-held-by-the-gateway';
/** Secrets of config keys; every secret this file sees is also searched for in logs and metrics at the end. */
const SECRETS = {
  open: 'sk-cdt-open-key-0000000000000000000001',
  haikuOnly: 'sk-cdt-haiku-only-000000000000000000002',
  twoPerMinute: 'sk-cdt-two-per-minute-00000000000000003',
  tokens: 'sk-cdt-tokens-limited-00000000000000004',
  single: 'sk-cdt-one-at-a-time-000000000000000005',
  budget: 'sk-cdt-small-budget-0000000000000000006',
  expired: 'sk-cdt-expired-long-ago-000000000000007',
  teamA: 'sk-cdt-team-member-a-0000000000000000008',
  teamB: 'sk-cdt-team-member-b-0000000000000000009',
  hashed: 'sk-cdt-configured-as-a-hash-000000000010',
  bygone: 'sk-cdt-member-of-an-expired-team-0000011',
};
const made: string[] = [];

let upstream: FakeUpstream;
let gw: RunningGateway;
const log = captureLog();

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startGateway(
    {
      default_provider: 'anthropic',
      pricing: { 'anthropic/claude-haiku-4-5': { input_per_mtok: 1000, output_per_mtok: 1000 } },
      providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: UPSTREAM_KEY }], models: ['claude-haiku-4-5'], max_retries: 0 } },
      models: { fast: { target: 'anthropic/claude-haiku-4-5' } },
      auth: {
        admin_key: ADMIN_KEY,
        teams: [
          { name: 'research', rpm: 1 },
          { name: 'bygone', expires_at: '2020-01-01T00:00:00Z' },
        ],
        keys: [
          { name: 'open', value: SECRETS.open },
          { name: 'haiku-only', value: SECRETS.haikuOnly, models: ['anthropic/claude-haiku-*'] },
          { name: 'two-per-minute', value: SECRETS.twoPerMinute, rpm: 2 },
          { name: 'tokens', value: SECRETS.tokens, tpm: 1000 },
          { name: 'single', value: SECRETS.single, max_concurrent: 1 },
          { name: 'budget', value: SECRETS.budget, budget_usd: 0.05, budget_period: 'day' },
          { name: 'expired', value: SECRETS.expired, expires_at: '2020-01-01T00:00:00Z' },
          { name: 'member-a', value: SECRETS.teamA, team: 'research' },
          { name: 'member-b', value: SECRETS.teamB, team: 'research' },
          { name: 'hashed', value: hashSecret(SECRETS.hashed) },
          { name: 'in-bygone', value: SECRETS.bygone, team: 'bygone' },
        ],
      },
    },
    { logger: log.logger },
  );
  // The first validated request compiles the contract: not inside a test's timing.
  await request(gw.url).post(MESSAGES).set('x-api-key', SECRETS.open).send({});
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
afterEach(() => upstream.reset());

const admin = () => client(gw.url, ADMIN_KEY);

describe('401 authentication_error', () => {
  it('without a key, with an unknown one, with an expired one; the answer is the contract envelope', async () => {
    for (const [key, text] of [
      [undefined, /no key/],
      ['sk-cdt-nobody-has-this-key', /unknown key/],
      [SECRETS.expired, /key "expired" expired at 2020-01-01T00:00:00.000Z/],
      [SECRETS.bygone, /team "bygone" of key "in-bygone" expired at 2020-01-01T00:00:00.000Z/],
    ] as const) {
      const { error, response } = await createMessage({ client: client(gw.url, key), body: message() });
      expect(response!.status).toBe(401);
      expect(error?.error.type).toBe('authentication_error');
      expect(error?.error.message).toMatch(text);
      expectContractResponse(MESSAGES, 'post', 401, error);
    }
    expect(upstream.requests).toHaveLength(0);
  });

  it('after the key is revoked through the admin API', async () => {
    const { data: created } = await createKey({ client: admin(), body: { name: 'short-lived' } });
    made.push(created!.key);
    expect((await createMessage({ client: client(gw.url, created!.key), body: message() })).response!.status).toBe(200);
    const { data: revoked, response } = await revokeKey({ client: admin(), path: { key_id: created!.id } });
    expect(response!.status).toBe(200);
    expect(revoked!.revoked_at).not.toBeNull();
    const { error } = await createMessage({ client: client(gw.url, created!.key), body: message() });
    expect(error?.error).toEqual({ type: 'authentication_error', message: 'key "short-lived" has been revoked' });
  });

  it('the admin key is refused on the messages route, and a client key on the admin API', async () => {
    const asClient = await createMessage({ client: admin(), body: message() });
    expect(asClient.response!.status).toBe(401);
    expect(asClient.error?.error.message).toMatch(/admin key/);
    const asAdmin = await listKeys({ client: client(gw.url, SECRETS.open) });
    expect(asAdmin.response!.status).toBe(401);
    expect(asAdmin.error?.error.type).toBe('authentication_error');
    expectContractResponse('/admin/v1/keys', 'get', 401, asAdmin.error);
  });

  it('count_tokens and the model list need a key too', async () => {
    expect((await countTokens({ client: client(gw.url), body: { model: 'anthropic/claude-haiku-4-5', messages: message().messages } })).response!.status).toBe(401);
    expect((await listModels({ client: client(gw.url) })).response!.status).toBe(401);
    const listed = await listModels({ client: client(gw.url, SECRETS.open) });
    expect(listed.data?.data.map((m) => m.id)).toEqual(['anthropic/claude-haiku-4-5', 'fast']);
  });
});

describe('a key in x-api-key or as a bearer token, configured as the secret or as its hash', () => {
  it('serves the request with the provider key; the client key never travels upstream', async () => {
    for (const c of [client(gw.url, SECRETS.open), bearerClient(gw.url, SECRETS.open), client(gw.url, SECRETS.hashed)]) {
      const { response } = await createMessage({ client: c, body: message() });
      expect(response!.status).toBe(200);
    }
    expect(upstream.requests).toHaveLength(3);
    for (const r of upstream.requests) {
      expect(r.headers['x-api-key']).toBe(UPSTREAM_KEY);
      expect(r.headers.authorization).toBeUndefined();
      expect(JSON.stringify(r.headers)).not.toContain('sk-cdt-');
    }
  });
});

describe('403 permission_error', () => {
  it('for a model, or a fallback, the key may not use; an alias passes by what it resolves to', async () => {
    const c = client(gw.url, SECRETS.haikuOnly);
    const denied = await createMessage({ client: c, body: message('anthropic/claude-sonnet-4-5') });
    expect(denied.response!.status).toBe(403);
    expect(denied.error?.error).toEqual({ type: 'permission_error', message: 'key "haiku-only" may not use model "anthropic/claude-sonnet-4-5"' });
    expectContractResponse(MESSAGES, 'post', 403, denied.error);
    const fallback = await createMessage({ client: c, body: message('anthropic/claude-haiku-4-5', { fallbacks: ['anthropic/claude-opus-4-1'] }) });
    expect(fallback.error?.error.message).toBe('key "haiku-only" may not use model "anthropic/claude-opus-4-1" in fallbacks[0]');
    const counted = await countTokens({ client: c, body: { model: 'anthropic/claude-sonnet-4-5', messages: message().messages } });
    expect(counted.response!.status).toBe(403);
    expect((await createMessage({ client: c, body: message('fast') })).response!.status).toBe(200);
    expect((await createMessage({ client: c, body: message('claude-haiku-4-5') })).response!.status).toBe(200);
    expect(upstream.requests).toHaveLength(2);
  });
});

describe('429 rate_limit_error and the rate-limit headers', () => {
  it('requests per minute: each answer says what is left; past the limit, 429 with retry-after', async () => {
    const c = client(gw.url, SECRETS.twoPerMinute);
    const first = await createMessage({ client: c, body: message() });
    const before = Date.now();
    const second = await createMessage({ client: c, body: message() });
    expect(rateHeaders(first.response)).toMatchObject({ requestsLimit: 2, requestsRemaining: 1, tokensLimit: null });
    expect(rateHeaders(second.response)).toMatchObject({ requestsLimit: 2, requestsRemaining: 0 });
    const reset = Date.parse(rateHeaders(second.response).requestsReset!);
    expect(reset).toBeGreaterThan(before + 55_000);
    expect(reset).toBeLessThanOrEqual(before + 62_000);

    const third = await createMessage({ client: c, body: message() });
    expect(third.response!.status).toBe(429);
    expect(third.error?.error.type).toBe('rate_limit_error');
    expect(third.error?.error.message).toMatch(/key "two-per-minute" is over its limit of 2 requests per minute/);
    const retryAfter = Number(third.response!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(55);
    expect(retryAfter).toBeLessThanOrEqual(61);
    expect(rateHeaders(third.response)).toMatchObject({ requestsLimit: 2, requestsRemaining: 0 });
    expectContractResponse(MESSAGES, 'post', 429, third.error);
    expect(upstream.requests).toHaveLength(2);
  });

  it('count_tokens and the model list are not counted against requests per minute, but say where the limit stands', async () => {
    const c = client(gw.url, SECRETS.teamA);
    const counted = await countTokens({ client: c, body: { model: 'anthropic/claude-haiku-4-5', messages: message().messages } });
    expect(counted.response!.status).toBe(200);
    expect(rateHeaders(counted.response)).toMatchObject({ requestsLimit: 1, requestsRemaining: 1 });
    expect((await listModels({ client: c })).response!.status).toBe(200);
  });

  it('tokens per minute: debited with the real usage once known; admission needs some left', async () => {
    const c = client(gw.url, SECRETS.tokens);
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ usage: { input_tokens: 500, output_tokens: 300 } }) });
    const first = await createMessage({ client: c, body: message() });
    expect(rateHeaders(first.response)).toMatchObject({ tokensLimit: 1000, tokensRemaining: 1000, requestsLimit: null });
    // A stream's usage comes from its final message_delta.
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(anthropicMessage({ text: 'streamed', usage: { input_tokens: 50, output_tokens: 150 } })) });
    const events: MessageStreamEvent[] = [];
    for await (const e of streamMessage({ client: c, body: message() })) events.push(e);
    expect(events.at(-1)?.type).toBe('message_stop');

    const refused = await createMessage({ client: c, body: message() });
    expect(refused.response!.status).toBe(429);
    expect(refused.error?.error.message).toMatch(/key "tokens" has used its 1000 tokens per minute/);
    expect(rateHeaders(refused.response)).toMatchObject({ tokensLimit: 1000, tokensRemaining: 0 });
    expect(Number(refused.response!.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('concurrent requests: one in flight at a time', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({}), delayMs: 400 });
    const c = client(gw.url, SECRETS.single);
    const slow = createMessage({ client: c, body: message() });
    await sleep(150);
    const second = await createMessage({ client: c, body: message() });
    expect(second.response!.status).toBe(429);
    expect(second.error?.error.message).toMatch(/already has 1 requests in flight/);
    expect((await slow).response!.status).toBe(200);
    // Once the first finished, its place is free again.
    expect((await createMessage({ client: c, body: message() })).response!.status).toBe(200);
  });

  it('a team limit applies to every key of the team', async () => {
    expect((await createMessage({ client: client(gw.url, SECRETS.teamA), body: message() })).response!.status).toBe(200);
    const refused = await createMessage({ client: client(gw.url, SECRETS.teamB), body: message() });
    expect(refused.response!.status).toBe(429);
    expect(refused.error?.error.message).toMatch(/team "research" is over its limit of 1 requests per minute/);
  });
});

describe('releasing what a request held', () => {
  it('a client that leaves mid-stream frees its place at once', async () => {
    const c = client(gw.url, SECRETS.single);
    upstream.enqueue({ kind: 'sse', events: anthropicSseEvents(anthropicMessage({ text: 'a stream that stalls' }), { textChunks: 4 }), stallAfter: 5 });
    const controller = new AbortController();
    const res = await fetch(`${gw.url}${MESSAGES}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': SECRETS.single },
      body: JSON.stringify(message('anthropic/claude-haiku-4-5', { stream: true })),
      signal: controller.signal,
    });
    await res.body!.getReader().read();
    expect((await createMessage({ client: c, body: message() })).response!.status).toBe(429);
    controller.abort();
    const deadline = Date.now() + 2000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await createMessage({ client: c, body: message() })).response!.status;
      if (status !== 200) await sleep(20);
    }
    expect(status).toBe(200);
  });
});

describe('the official Anthropic SDK, as Claude Code uses it', () => {
  it('with the key as apiKey (x-api-key) or authToken (Bearer); refusals are its typed errors', async () => {
    const viaApiKey = new Anthropic({ apiKey: SECRETS.open, baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    const viaToken = new Anthropic({ apiKey: null, authToken: SECRETS.open, baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    for (const sdk of [viaApiKey, viaToken]) {
      const reply = await sdk.messages.create(message());
      expect(reply.type).toBe('message');
      const streamed = await sdk.messages.stream(message()).finalMessage();
      expect(streamed.stop_reason).toBe('end_turn');
      const counted = await sdk.messages.countTokens({ model: 'anthropic/claude-haiku-4-5', messages: message().messages });
      expect(counted.input_tokens).toBeGreaterThan(0);
    }
    const unknown = new Anthropic({ apiKey: 'sk-cdt-not-a-key', baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    await expect(unknown.messages.create(message())).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    const limited = new Anthropic({ apiKey: SECRETS.haikuOnly, baseURL: gw.anthropicBaseUrl, maxRetries: 0 });
    await expect(limited.messages.create(message('anthropic/claude-opus-4-1'))).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
  });
});

describe('402 billing_error', () => {
  it('once the period budget is spent; the spend is what the ledger holds', async () => {
    const c = client(gw.url, SECRETS.budget);
    // 20 + 10 tokens at $1000 per million: $0.03 a request against a $0.05 budget.
    const reply = () => upstream.enqueue({ kind: 'json', body: anthropicMessage({ usage: { input_tokens: 20, output_tokens: 10 } }) });
    reply();
    reply();
    expect((await createMessage({ client: c, body: message() })).response!.status).toBe(200);
    expect((await createMessage({ client: c, body: message() })).response!.status).toBe(200);
    const spent = await createMessage({ client: c, body: message() });
    expect(spent.response!.status).toBe(402);
    expect(spent.error?.error.type).toBe('billing_error');
    expect(spent.error?.error.message).toMatch(/key "budget" has spent its budget of \$0.05 for this day; it renews at \d{4}-\d\d-\d\dT00:00:00.000Z/);
    expectContractResponse(MESSAGES, 'post', 402, spent.error);

    const { data: usage } = await getUsage({ client: admin(), query: { key_id: 'cfg_budget' } });
    expect(usage!.data).toEqual([
      expect.objectContaining({ key_id: 'cfg_budget', key_name: 'budget', team_id: null, model: 'anthropic/claude-haiku-4-5', requests: 2, input_tokens: 40, output_tokens: 20 }),
    ]);
    expect(usage!.total_cost_usd).toBeCloseTo(0.06, 9);
    expectContractResponse('/admin/v1/usage', 'get', 200, usage);
  });
});

describe('the usage ledger under made-up model names', () => {
  it('failed requests that used nothing are counted under <provider>/_failed, one row however many names', async () => {
    const c = client(gw.url, SECRETS.open);
    for (let i = 0; i < 5; i++) {
      upstream.enqueue(anthropicError(404, 'not_found_error', `model: made-up-${i}`));
      const res = await createMessage({ client: c, body: message(`anthropic/made-up-${i}`) });
      expect(res.response!.status).toBe(404);
    }
    const { data: usage } = await getUsage({ client: admin(), query: { key_id: 'cfg_open' } });
    const rows = usage!.data.filter((r) => r.model.startsWith('anthropic/made-up') || r.model === 'anthropic/_failed');
    expect(rows).toEqual([expect.objectContaining({ key_name: 'open', model: 'anthropic/_failed', requests: 5, input_tokens: 0, output_tokens: 0 })]);
  });
});

describe('the admin API', () => {
  it('an id it does not know is quoted back cut short, however long', async () => {
    const long = 'k'.repeat(10_000);
    for (const path of [`/admin/v1/keys?after_id=${long}`, `/admin/v1/teams?after_id=${long}`]) {
      const res = await fetch(`${gw.url}${path}`, { headers: { 'x-api-key': ADMIN_KEY } });
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { message: string } };
      expect(body.error.message).toBe(`after_id: "${'k'.repeat(64)}…" (10000 characters) is not in the list`);
    }
  });

  it('creates a key shown once, lists it without secret or hash, changes and revokes it; teams the same', async () => {
    const { data: team, response: teamRes } = await createTeam({ client: admin(), body: { name: 'platform', rpm: 100, metadata: { cost_centre: '42' } } });
    expect(teamRes!.status).toBe(201);
    expectContractResponse('/admin/v1/teams', 'post', 201, team);
    const { data: created, response } = await createKey({
      client: admin(),
      body: { name: 'ci-bot', team_id: team!.id, models: ['fast'], rpm: 5, budget_usd: 10, metadata: { owner: 'ci' } },
    });
    expect(response!.status).toBe(201);
    expectContractResponse('/admin/v1/keys', 'post', 201, created);
    made.push(created!.key);
    expect(created).toMatchObject({ name: 'ci-bot', team_id: team!.id, models: ['fast'], rpm: 5, budget_usd: 10, budget_period: 'month', source: 'api', revoked_at: null });
    expect(created!.key).toMatch(/^sk-cdt-[A-Za-z0-9_-]{43}$/);
    expect(created!.id).toMatch(/^key_/);

    const listed = await listKeys({ client: admin() });
    expectContractResponse('/admin/v1/keys', 'get', 200, listed.data);
    const mine = listed.data!.data.find((k) => k.id === created!.id)!;
    expect(mine).toEqual({ ...created, key: undefined });
    expect(JSON.stringify(listed.data)).not.toContain(created!.key);
    expect(listed.data!.data.map((k) => k.name)).toEqual(expect.arrayContaining(['open', 'haiku-only', 'ci-bot']));

    const c = client(gw.url, created!.key);
    const ok = await createMessage({ client: c, body: message('fast') });
    expect(rateHeaders(ok.response)).toMatchObject({ requestsLimit: 5, requestsRemaining: 4 });
    const changed = await updateKey({ client: admin(), path: { key_id: created!.id }, body: { rpm: 50, models: null } });
    expect(changed.data).toMatchObject({ rpm: 50, models: null });
    const after = await createMessage({ client: c, body: message('anthropic/claude-haiku-4-5') });
    expect(after.response!.status).toBe(200);
    expect(rateHeaders(after.response)).toMatchObject({ requestsLimit: 50, requestsRemaining: 48 });

    expect((await getKey({ client: admin(), path: { key_id: created!.id } })).data?.rpm).toBe(50);
    const teams = await listTeams({ client: admin() });
    expect(teams.data!.data.map((t) => t.name)).toEqual(['bygone', 'research', 'platform']);
    const active = await listKeys({ client: admin(), query: { active_only: 'true', limit: 1000 } });
    const activeNames = active.data!.data.map((k) => k.name);
    expect(activeNames).toContain('ci-bot');
    expect(activeNames).not.toContain('expired');
    expect(activeNames).not.toContain('in-bygone');

    await revokeTeam({ client: admin(), path: { team_id: team!.id } });
    const refused = await createMessage({ client: c, body: message() });
    expect(refused.error?.error).toEqual({ type: 'authentication_error', message: 'team "platform" of key "ci-bot" has been revoked' });
  });

  it('answers 400 naming a misspelt field, 404 for an unknown id, 409 for a taken name and for config keys', async () => {
    const typo = await createKey({ client: admin(), body: { name: 'x', budget: 5 } as never });
    expect(typo.response!.status).toBe(400);
    expect(typo.error?.error.message).toMatch(/budget/);
    const badName = await createKey({ client: admin(), body: { name: 'has spaces' } });
    expect(badName.response!.status).toBe(400);
    expect(badName.error?.error.message).toMatch(/name/);
    expect((await getKey({ client: admin(), path: { key_id: 'key_nope' } })).response!.status).toBe(404);
    const taken = await createKey({ client: admin(), body: { name: 'open' } });
    expect(taken.response!.status).toBe(409);
    expect(taken.error?.error.type).toBe('conflict_error');
    const configKey = await revokeKey({ client: admin(), path: { key_id: 'cfg_open' } });
    expect(configKey.response!.status).toBe(409);
    expect(configKey.error?.error.message).toMatch(/defined in the config file/);
    const unknownTeam = await createKey({ client: admin(), body: { name: 'orphan', team_id: 'team_nope' } });
    expect(unknownTeam.response!.status).toBe(404);
  });

  it('revoking twice changes nothing the second time; what was revoked, key or team, cannot change', async () => {
    const { data: team } = await createTeam({ client: admin(), body: { name: 'short-team' } });
    const { data: key } = await createKey({ client: admin(), body: { name: 'short-key', team_id: team!.id } });
    for (const [revoke, update] of [
      [() => revokeKey({ client: admin(), path: { key_id: key!.id } }), () => updateKey({ client: admin(), path: { key_id: key!.id }, body: { rpm: 1 } })],
      [() => revokeTeam({ client: admin(), path: { team_id: team!.id } }), () => updateTeam({ client: admin(), path: { team_id: team!.id }, body: { rpm: 1 } })],
    ] as const) {
      const first = await revoke();
      expect(first.response!.status).toBe(200);
      expect(first.data!.revoked_at).not.toBeNull();
      const again = await revoke();
      expect(again.response!.status).toBe(200);
      expect(again.data!.revoked_at).toBe(first.data!.revoked_at);
      const changed = await update();
      expect(changed.response!.status).toBe(409);
      expect(changed.error?.error.message).toMatch(/has been revoked and cannot change/);
    }
    expect((await getTeam({ client: admin(), path: { team_id: team!.id } })).data!.rpm).toBeNull();
  });
});

describe('async jobs', () => {
  it('belong to the key that submitted them, and their usage is debited to it', async () => {
    upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'from a job', usage: { input_tokens: 7, output_tokens: 3 } }) }));
    const { data: owner } = await createKey({ client: admin(), body: { name: 'job-owner' } });
    const { data: other } = await createKey({ client: admin(), body: { name: 'job-other' } });
    made.push(owner!.key, other!.key);
    const id = await submitJob(gw.url, message(), { 'x-api-key': owner!.key });
    const done = await pollUntilDone(gw.url, id, 8_000, { 'x-api-key': owner!.key });
    expect(done.status).toBe(200);
    expect(done.body.content).toEqual([{ type: 'text', text: 'from a job' }]);
    const stranger = await request(gw.url).post(MESSAGES).set({ 'x-api-key': other!.key, 'x-bf-async-id': id });
    expect(stranger.status).toBe(404);
    const anonymous = await request(gw.url).post(MESSAGES).set({ 'x-bf-async-id': id });
    expect(anonymous.status).toBe(401);
    const { data: usage } = await getUsage({ client: admin(), query: { key_id: owner!.id } });
    expect(usage!.data).toEqual([expect.objectContaining({ key_name: 'job-owner', requests: 1, input_tokens: 7, output_tokens: 3 })]);
  });
});

describe('/metrics, logs and listings', () => {
  it('carry key names and teams, and no secret nor hash of one', async () => {
    const metrics = await request(gw.url).get('/metrics');
    expect(metrics.status).toBe(200);
    // member-a: a count_tokens, a model list and a message, all 200.
    expect(metrics.text).toMatch(/conduit_key_requests_total\{conduit_key="member-a",conduit_team="research",http_response_status_code="200"\} 3/);
    expect(metrics.text).toMatch(/conduit_key_requests_total\{conduit_key="two-per-minute",conduit_team="_none",http_response_status_code="429"\} 1/);
    const line = log.lines.find((l) => l.msg === 'request' && l.key_name === 'member-b');
    expect(line).toMatchObject({ key_kind: 'x-api-key', key_id: 'cfg_member-b', team: 'research', status: 429 });

    const keys = await listKeys({ client: admin(), query: { limit: 1000 } });
    const teams = await listTeams({ client: admin() });
    const usage = await getUsage({ client: admin() });
    const everything = [log.raw(), metrics.text, JSON.stringify(keys.data), JSON.stringify(teams.data), JSON.stringify(usage.data)].join('\n');
    // Keys this gateway never knew are presented credentials too: none of them either.
    const secrets = [...Object.values(SECRETS), ...made, ADMIN_KEY, 'sk-cdt-nobody-has-this-key', 'sk-cdt-not-a-key'];
    expect(made.length).toBeGreaterThanOrEqual(3);
    for (const secret of secrets) {
      const hex = hashSecret(secret).slice('sha256:'.length);
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(hex.slice(0, 12));
    }
    expect(everything).not.toMatch(/sk-cdt-[A-Za-z0-9_-]{20,}/);
  });
});

describe('/metrics behind the admin key (auth.metrics: admin)', () => {
  it('answers 401 without it and the metrics with it', async () => {
    const locked = await startGateway({
      providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: UPSTREAM_KEY }] } },
      auth: { admin_key: ADMIN_KEY, metrics: 'admin' },
    });
    try {
      const refused = await getMetrics({ client: client(locked.url) });
      expect(refused.response!.status).toBe(401);
      expectContractResponse('/metrics', 'get', 401, refused.error);
      expect((await getMetrics({ client: client(locked.url, ADMIN_KEY), parseAs: 'text' })).response!.status).toBe(200);
      expect((await request(locked.url).get('/metrics').set('authorization', `Bearer ${ADMIN_KEY}`)).status).toBe(200);
      // Health and readiness stay open for probes.
      expect((await request(locked.url).get('/health')).status).toBe(200);
    } finally {
      await locked.close();
    }
  });
});

describe('without an auth section', () => {
  it('there is no admin API and any credential is accepted, as before', async () => {
    const open = await startGateway({ providers: { anthropic: { type: 'anthropic', base_url: upstream.url } } });
    try {
      const res = await request(open.url).post('/admin/v1/keys').set('x-api-key', ADMIN_KEY).send({ name: 'x' });
      expect(res.status).toBe(404);
      const msg = await createMessage({ client: client(open.url, 'sk-ant-client-own'), body: message() });
      expect(msg.response!.status).toBe(200);
      expect(rateHeaders(msg.response)).toMatchObject({ requestsLimit: null, tokensLimit: null });
      expect(upstream.requests[0]!.headers['x-api-key']).toBe('sk-ant-client-own');
    } finally {
      await open.close();
    }
  });
});
