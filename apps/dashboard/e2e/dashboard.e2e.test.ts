import { anthropicError, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, startCli, watchErrors, type RunningCli } from './harness.js';

const ADMIN_KEY = 'sk-cdt-admin-e2e-0123456789abcdefghijkl';
const ALICE = 'sk-cdt-alice-e2e-000000000000000000000001';

let healthy: FakeUpstream;
let flaky: FakeUpstream;
let gw: RunningCli;
let browser: Browser;
let page: Page;
let errors: string[];

const message = (model: string) => ({ model, max_tokens: 32, messages: [{ role: 'user', content: 'Hello from the end-to-end test' }] });

/** A request to the gateway from outside the browser, as a client would send it. */
async function send(key: string, model = 'anthropic/claude-haiku-4-5', headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.url}/anthropic/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key, ...headers },
    body: JSON.stringify(message(model)),
  });
}

/** The value of an overview tile, e.g. "Requests". */
const tile = (label: string) => page.locator('.tile', { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd');

beforeAll(async () => {
  healthy = await startFakeAnthropic();
  flaky = await startFakeAnthropic();
  flaky.setResponder(() => anthropicError(503, 'overloaded_error', 'flaky is down'));
  gw = await startCli(`
listen: { host: 127.0.0.1, port: 0 }
store: sqlite:$DIR/conduit.db
log_level: info
log_bodies: true
request_log: { flush_ms: 200 }
pricing:
  anthropic/claude-haiku-4-5: { input_per_mtok: 1000, output_per_mtok: 1000 }
providers:
  anthropic:
    type: anthropic
    base_url: ${healthy.url}
    keys: [{ value: sk-ant-upstream-e2e }]
    models: [claude-haiku-4-5]
    max_retries: 0
  flaky:
    type: anthropic
    base_url: ${flaky.url}
    keys: [{ value: sk-ant-upstream-e2e }]
    models: [claude-haiku-4-5]
    max_retries: 0
    breaker: { failure_threshold: 3, cooldown_ms: 600000 }
models:
  main: { target: flaky/claude-haiku-4-5, fallbacks: [anthropic/claude-haiku-4-5] }
auth:
  admin_key: ${ADMIN_KEY}
  teams: [{ name: research, budget_usd: 50 }]
  keys:
    - { name: alice, value: ${ALICE}, team: research, budget_usd: 1, budget_period: day }
`);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  errors = watchErrors(page);
});

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await Promise.all([healthy?.close(), flaky?.close()]);
});

describe('the dashboard in Chromium', () => {
  it('asks for the admin key and, once signed in, shows the providers and keys', async () => {
    await page.goto(`${gw.url}/ui`);
    await expect.poll(() => page.getByRole('textbox', { name: 'Admin key' }).count()).toBe(1);
    // Nothing but the form before sign-in.
    expect(await page.getByText('alice').count()).toBe(0);
    await page.getByLabel('Admin key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const providers = page.getByRole('list', { name: 'Providers' });
    await providers.getByRole('link', { name: 'anthropic', exact: true }).waitFor({ timeout: 10_000 });
    await providers.getByRole('link', { name: 'flaky', exact: true }).waitFor({ timeout: 10_000 });
    await page.getByRole('list', { name: 'Keys' }).getByText('alice', { exact: true }).waitFor({ timeout: 10_000 });
    await screenshot(page, 'signed-in');
  });

  it('shows the traffic the test sends on the overview', async () => {
    for (let i = 0; i < 5; i++) expect((await send(ALICE)).status).toBe(200);
    await expect.poll(async () => tile('Requests').textContent(), { timeout: 15_000 }).toBe('5');
    expect(await tile('Error rate').textContent()).toBe('0%');
    expect(await tile('Cost').textContent()).not.toBe('$0');
    // The charts are drawn (uPlot canvases), one per figure.
    expect(await page.locator('.chart canvas').count()).toBe(4);
    // Alice's spend shows against her budget.
    await expect.poll(() => page.getByRole('list', { name: 'Keys' }).getByRole('meter').count(), { timeout: 15_000 }).toBe(1);
    await page.getByRole('button', { name: 'Last day' }).click();
    await expect.poll(async () => tile('Requests').textContent(), { timeout: 5_000 }).toBe('5');
    await page.getByRole('button', { name: 'Last hour' }).click();
    await screenshot(page, 'overview');
  });

  it('shows a failing provider as failing over', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await send(ALICE, 'main');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-bf-provider')).toBe('anthropic');
    }
    await page.getByRole('link', { name: 'Providers' }).first().click();
    const row = page.locator('tr[data-model="flaky/claude-haiku-4-5"]');
    await expect.poll(() => row.locator('.badge').first().textContent(), { timeout: 15_000 }).toBe('Failing over');
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain('open (probe in');
    await expect.poll(() => page.locator('tr[data-model="anthropic/claude-haiku-4-5"] .badge').first().textContent()).toBe('Healthy');
    await screenshot(page, 'providers');
  });

  it('creates a key that works, and revokes it so the next request is refused', async () => {
    await page.getByRole('link', { name: 'Keys and teams' }).click();
    const form = page.getByRole('form', { name: 'Create a key' });
    await form.getByLabel('Name').fill('e2e-key');
    await form.getByLabel('RPM').fill('100');
    await form.getByLabel('Budget (USD)').fill('5');
    await form.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByLabel('New key secret').textContent())!.trim();
    expect(secret).toMatch(/^sk-cdt-/);
    expect((await send(secret)).status).toBe(200);
    const row = page.locator('tr[data-key="e2e-key"]');
    await expect.poll(() => row.textContent()).toContain('100 rpm');
    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('button', { name: 'Revoke e2e-key' }).click();
    await page.getByRole('button', { name: 'Confirm revoking e2e-key' }).click();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('revoked');
    const refused = await send(secret);
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.type).toBe('authentication_error');
    await screenshot(page, 'keys');
  });

  it('lists recent requests, filters them, and shows a prompt with log_bodies on', async () => {
    // The flaky model on its own, circuit open and no fallback: a 503.
    expect((await send(ALICE, 'flaky/claude-haiku-4-5')).status).toBe(503);
    await page.getByRole('link', { name: 'Requests' }).click();
    const rows = page.locator('table.requests tbody tr[data-request]');
    // 5 + 4 fallbacks + the new key's request and its 401 + the 503.
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(12);
    const filters = page.getByRole('form', { name: 'Filter requests' });
    await filters.getByLabel('Status').fill('error');
    await filters.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(2);
    await filters.getByLabel('Status').fill('503');
    await filters.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(1);
    await rows.first().click();
    await page.getByText('Hello from the end-to-end test').first().waitFor();
    expect(await page.locator('tr.detail').textContent()).toContain('overloaded_error');
    await filters.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(() => page.locator('tr[data-request] .badge', { hasText: 'fallback 1' }).count(), { timeout: 10_000 }).toBe(4);
    await screenshot(page, 'requests');
  });

  it('counts async jobs by state', async () => {
    const submit = await send(ALICE, 'anthropic/claude-haiku-4-5', { 'x-bf-async': 'true' });
    expect(submit.status).toBe(202);
    await page.getByRole('link', { name: 'Async jobs and batches' }).click();
    const completed = page.locator('.tile.job-completed dd');
    await expect.poll(() => completed.textContent(), { timeout: 15_000 }).toBe('1');
    expect(await page.locator('.tile.job-queued dd').textContent()).toBe('0');
    await screenshot(page, 'jobs');
  });

  it('logged no console errors', () => {
    expect(errors).toEqual([]);
  });
});
