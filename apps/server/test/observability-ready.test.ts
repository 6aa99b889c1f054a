import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadinessChecks } from '../src/observability/readiness.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

let gw: RunningGateway;

beforeAll(async () => {
  gw = await startGateway({ providers: { anthropic: { type: 'anthropic', base_url: 'http://127.0.0.1:9' } } });
});
afterAll(async () => {
  await gw?.close();
});

describe('/health and /ready', () => {
  it('/health answers 200 alive', async () => {
    const res = await request(gw.url).get('/health');
    expect(res.status).toBe(200);
    expectContractResponse('/health', 'get', 200, res.body);
  });

  it('/ready answers 200 with the config check (and whatever else registered, all ok) once the gateway is built', async () => {
    const res = await request(gw.url).get('/ready');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ready', checks: { config: 'ok' } });
    for (const state of Object.values(res.body.checks)) expect(state).toBe('ok');
    expectContractResponse('/ready', 'get', 200, res.body);
  });

  it('answers 503 naming the dependency that is down, and 200 again once it is back', async () => {
    let cacheUp = false;
    gw.gateway.readiness.register('cache', async () => {
      if (!cacheUp) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
    });
    const down = await request(gw.url).get('/ready');
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'not_ready', checks: { config: 'ok', cache: 'error: connect ECONNREFUSED 127.0.0.1:6379' } });
    expectContractResponse('/ready', 'get', 503, down.body);

    cacheUp = true;
    const up = await request(gw.url).get('/ready');
    expect(up.status).toBe(200);
    expect(up.body.checks).toMatchObject({ config: 'ok', cache: 'ok' });
  });
});

describe('ReadinessChecks', () => {
  it('fails a check that does not answer within its timeout', async () => {
    const checks = new ReadinessChecks(30);
    checks.register('store', () => new Promise(() => {}));
    checks.register('cache', () => 'fine');
    const report = await checks.run();
    expect(report).toEqual({ ready: false, checks: { config: 'ok', store: 'no answer in 30 ms', cache: 'ok' } });
  });

  it('is not ready once draining, whatever the checks say', async () => {
    const checks = new ReadinessChecks();
    expect((await checks.run()).ready).toBe(true);
    checks.setDraining();
    expect(await checks.run()).toEqual({ ready: false, checks: { config: 'ok', shutdown: 'draining' } });
  });
});
