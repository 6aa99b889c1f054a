import { startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshot, startCli, watchErrors, type RunningCli } from './harness.js';

let upstream: FakeUpstream;
let gw: RunningCli;
let browser: Browser;
let page: Page;
let errors: string[];

beforeAll(async () => {
  upstream = await startFakeAnthropic();
  gw = await startCli(`
listen: { host: 127.0.0.1, port: 0 }
store: sqlite:$DIR/conduit.db
log_level: info
request_log: { flush_ms: 200 }
providers:
  anthropic: { type: anthropic, base_url: ${upstream.url}, models: [claude-haiku-4-5] }
`);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  errors = watchErrors(page);
});

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  await upstream?.close();
});

describe('the dashboard with gateway auth off', () => {
  it('opens without a key and says auth is off in a banner', async () => {
    await page.goto(`${gw.url}/ui`);
    await page.getByRole('note').getByText('Gateway auth is off', { exact: false }).waitFor({ timeout: 10_000 });
    expect(await page.getByLabel('Admin key').count()).toBe(0);
    await page.getByRole('list', { name: 'Providers' }).getByRole('link', { name: 'anthropic', exact: true }).waitFor({ timeout: 10_000 });
    expect(await page.getByText('there are no keys', { exact: false }).count()).toBe(1);
    const res = await fetch(`${gw.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'client-own-key' },
      body: JSON.stringify({ model: 'anthropic/claude-haiku-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(res.status).toBe(200);
    const requests = page.locator('.tile', { has: page.locator('dt', { hasText: /^Requests$/ }) }).locator('dd');
    await expect.poll(() => requests.textContent(), { timeout: 15_000 }).toBe('1');
    await screenshot(page, 'auth-off');
    expect(errors).toEqual([]);
  });
});
