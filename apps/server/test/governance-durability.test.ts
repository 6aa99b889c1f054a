import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisPrefix, REDIS_URL, testPrefix, waitFor } from './helpers/async.js';
import { ensureBuilt, spawnGateway, type ChildGateway } from './helpers/child-gateway.js';
import { ADMIN_KEY } from './helpers/governance.js';

/**
 * The real CLI in child processes, killed with SIGKILL in the middle of traffic: every request
 * whose answer the client received complete has its ledger entry.
 */

const KEY = 'sk-cdt-durable-ledger-0000000000000000001';
const CONCURRENCY = 6;
let dir: string;
let upstream: FakeUpstream;
const children: ChildGateway[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'conduit-ledger-'));
  upstream = await startFakeAnthropic({ record: false });
  upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ usage: { input_tokens: 11, output_tokens: 7 } }), delayMs: 15 }));
}, 120_000);
afterAll(async () => {
  await Promise.all(children.map((c) => c.kill()));
  await upstream?.close();
  await Promise.all(prefixes.map((p) => deleteRedisPrefix(p)));
  rmSync(dir, { recursive: true, force: true });
});

function config(store: string, prefix = 'conduit') {
  return {
    store,
    async: { redis_prefix: prefix },
    providers: { anthropic: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-ant-up' }], max_retries: 0 } },
    auth: { admin_key: ADMIN_KEY, keys: [{ name: 'load', value: KEY }] },
  };
}

async function start(name: string, cfg: Record<string, unknown>): Promise<ChildGateway> {
  const child = await spawnGateway(join(dir, `${name}.yaml`), cfg);
  children.push(child);
  return child;
}

const body = JSON.stringify({ model: 'anthropic/claude-haiku-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] });

/** Keeps CONCURRENCY requests going to each url until stopped; counts the answers received complete. */
function traffic(urls: string[]) {
  let running = true;
  const completed = new Map(urls.map((u) => [u, 0]));
  const loops = urls.flatMap((url) =>
    Array.from({ length: CONCURRENCY }, async () => {
      while (running) {
        try {
          const res = await fetch(`${url}/anthropic/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body });
          const message = (await res.json()) as { type?: string };
          if (res.status === 200 && message.type === 'message') completed.set(url, completed.get(url)! + 1);
        } catch {
          // the instance was killed under this request
        }
      }
    }),
  );
  return {
    completed,
    total: () => [...completed.values()].reduce((a, b) => a + b, 0),
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

async function ledgerRequests(url: string): Promise<number> {
  const res = await fetch(`${url}/admin/v1/usage`, { headers: { 'x-api-key': ADMIN_KEY } });
  const usage = (await res.json()) as { data: Array<{ key_name: string; requests: number; input_tokens: number }> };
  return usage.data.filter((r) => r.key_name === 'load').reduce((n, r) => n + r.requests, 0);
}

describe('kill -9 mid-traffic: no ledger entry lost for completed requests', () => {
  it('embedded store: after a restart on the same file the ledger holds every completed request', async () => {
    const cfg = config(`sqlite:${join(dir, 'ledger.db')}`);
    const first = await start('sqlite-first', cfg);
    const load = traffic([first.url]);
    await waitFor('completed requests', () => load.total() >= 60, 20_000);
    await first.kill();
    await load.stop();
    const completed = load.total();

    const second = await start('sqlite-second', cfg);
    const recorded = await ledgerRequests(second.url);
    expect(recorded).toBeGreaterThanOrEqual(completed);
    // At most the requests in flight at the kill were recorded without their answer arriving.
    expect(recorded).toBeLessThanOrEqual(completed + CONCURRENCY);
    await second.stop();
  }, 60_000);

  it('Redis: one of two instances killed; the other reads every completed request of both in the ledger', async () => {
    const prefix = testPrefix();
    prefixes.push(prefix);
    const cfg = config(REDIS_URL, prefix);
    const a = await start('redis-a', cfg);
    const b = await start('redis-b', cfg);
    const load = traffic([a.url, b.url]);
    await waitFor('completed requests on both', () => load.completed.get(a.url)! >= 40 && load.completed.get(b.url)! >= 40, 20_000);
    await a.kill();
    await load.stop();
    const completed = load.total();
    const recorded = await ledgerRequests(b.url);
    expect(recorded).toBeGreaterThanOrEqual(completed);
    expect(recorded).toBeLessThanOrEqual(completed + CONCURRENCY);
    await b.stop();
  }, 60_000);
});

describe('the safe default', () => {
  it('refuses to start when reachable from other machines with provider keys and no auth, saying what to set', () => {
    const path = join(dir, 'exposed.yaml');
    writeFileSync(path, stringify({ listen: { host: '0.0.0.0', port: 0 }, providers: { anthropic: { type: 'anthropic', keys: [{ value: 'sk-ant-held' }] } } }));
    const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
    const run = spawnSync(process.execPath, [main, '--config', path], { encoding: 'utf8', timeout: 15_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('listen.host 0.0.0.0 is reachable from other machines');
    expect(run.stderr).toContain('auth.admin_key and auth.keys');
    expect(run.stderr).toContain('auth: { mode: open }');
    expect(run.stderr).not.toContain('sk-ant-held');
  });
});
