import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { anthropicMessage, startFakeAnthropic, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqliteJobStore } from '../src/jobs/sqlite-store.js';
import type { NewJob } from '../src/jobs/types.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { pollUntilDone, sleep, submitJob, userBody, waitFor, warmUp } from './helpers/async.js';

let dir: string;
let upstream: FakeUpstream;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'conduit-async-'));
  upstream = await startFakeAnthropic();
});
afterAll(async () => {
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => upstream.reset());

const job = (id: string, ttlS = 60): NewJob => ({
  id,
  owner: 'anonymous',
  model: 'anthropic/m',
  ttlS,
  request: { body: { model: 'anthropic/m' }, clientHeaders: {}, requestId: 'req_1' },
  createdAt: Date.now(),
});

/** Rows in the file, read through a connection of our own. */
function rows(path: string): Array<Record<string, any>> {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare('SELECT * FROM async_jobs ORDER BY created_at').all() as Array<Record<string, any>>;
  } finally {
    db.close();
  }
}

/** A file whose async_jobs table is as an earlier version made it: no outcome_bytes, and request_bytes only if asked. */
function oldJobsFile(path: string, { requestBytes }: { requestBytes: boolean }): Database.Database {
  const old = new Database(path);
  old.exec(`CREATE TABLE async_jobs (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, model TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    request TEXT, ${requestBytes ? 'request_bytes INTEGER NOT NULL DEFAULT 0, ' : ''}ttl_s INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    lease_holder TEXT, lease_until INTEGER, created_at INTEGER NOT NULL, finished_at INTEGER, expires_at INTEGER, outcome TEXT) STRICT`);
  return old;
}

describe('SQLite job store', () => {
  it('creates the directory, uses WAL, and keeps jobs in the file across a reopen', async () => {
    const path = join(dir, 'nested', 'deeper', 'jobs.db');
    const first = new SqliteJobStore({ path, maxQueued: 10, maxQueuedBytes: 1 << 30, concurrency: 1, leaseMs: 1000, onError: () => {} });
    await first.submit(job('job_reopen'));
    await first.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const second = new SqliteJobStore({ path, maxQueued: 10, maxQueuedBytes: 1 << 30, concurrency: 1, leaseMs: 1000, onError: () => {} });
    expect(await second.get('job_reopen')).toMatchObject({ status: 'queued', owner: 'anonymous', model: 'anthropic/m' });
    await second.close();
  });

  it('a lease that lapses hands the job to another worker; the old holder can no longer finish it', async () => {
    const store = new SqliteJobStore({ path: join(dir, 'lease.db'), maxQueued: 10, maxQueuedBytes: 1 << 30, concurrency: 1, leaseMs: 1000, onError: () => {} });
    try {
      await store.submit(job('job_lease'));
      expect(store.claim('worker-a', 100)).toMatchObject({ id: 'job_lease', attempts: 1 });
      expect(store.claim('worker-b', 100)).toBeUndefined();
      await sleep(150);
      // Its own lapsed lease is not taken back by the same worker (a slow event loop, not a death) ...
      expect(store.claim('worker-a', 5000)).toBeUndefined();
      // ... but another worker takes it over.
      expect(store.claim('worker-b', 5000)).toMatchObject({ id: 'job_lease', attempts: 2 });
      const view = await store.get('job_lease');
      expect(view?.status).toBe('running');
      expect(store.renew('job_lease', 'worker-a', 1000)).toBe(false);
      const outcome = { status: 'completed' as const, headers: {}, body: '{}' };
      expect(store.finish('job_lease', 'worker-a', outcome)).toBe(false);
      expect(store.finish('job_lease', 'worker-b', outcome)).toBe(true);
      expect((await store.get('job_lease'))?.status).toBe('completed');
      expect(rows(join(dir, 'lease.db'))[0]).toMatchObject({ attempts: 2, request: null });
    } finally {
      await store.close();
    }
  });

  it('counts only waiting jobs against max_queued', async () => {
    const store = new SqliteJobStore({ path: ':memory:', maxQueued: 1, maxQueuedBytes: 1 << 30, concurrency: 1, leaseMs: 1000, onError: () => {} });
    try {
      await store.submit(job('job_q1'));
      await expect(store.submit(job('job_q2'))).rejects.toThrow(/queue is full/);
      store.claim('w', 1000);
      await store.submit(job('job_q2'));
      expect(await store.depth()).toEqual({ queued: 1, running: 1 });
    } finally {
      await store.close();
    }
  });
  it('counts the bytes of waiting requests against max_queued_mb; one job always fits an empty queue', async () => {
    const KB = 1024;
    const sized = (id: string, kb: number): NewJob => ({ ...job(id), request: { body: { model: 'anthropic/m', text: 'x'.repeat(kb * KB) }, clientHeaders: {}, requestId: 'req_1' } });
    const store = new SqliteJobStore({ path: ':memory:', maxQueued: 100, maxQueuedBytes: 10 * KB, concurrency: 1, leaseMs: 1000, onError: () => {} });
    try {
      // Larger than the whole cap, into an empty queue: accepted; nothing fits beside it.
      await store.submit(sized('job_big', 20));
      await expect(store.submit(job('job_small'))).rejects.toThrow(/max_queued_mb/);
      // Started, it no longer waits: three 3 KB requests fit, a fourth does not.
      expect(store.claim('w', 1000)?.id).toBe('job_big');
      for (const id of ['job_b1', 'job_b2', 'job_b3']) await store.submit(sized(id, 3));
      await expect(store.submit(sized('job_b4', 3))).rejects.toThrow(/queue is full \(the requests waiting and this one would be more than 0\.01 MB, async\.max_queued_mb\)/);
      expect(await store.depth()).toEqual({ queued: 3, running: 1 });
    } finally {
      await store.close();
    }
  });

  it('opens a file made before request_bytes existed, and counts its waiting jobs as 0 bytes', async () => {
    const path = join(dir, 'old-schema.db');
    const old = oldJobsFile(path, { requestBytes: false });
    old.prepare(`INSERT INTO async_jobs (id, owner, model, status, request, ttl_s, created_at) VALUES ('job_old', 'anonymous', 'anthropic/m', 'queued', '{}', 60, 1)`).run();
    old.close();
    const store = new SqliteJobStore({ path, maxQueued: 10, maxQueuedBytes: 1024, concurrency: 1, leaseMs: 1000, onError: () => {} });
    try {
      await store.submit(job('job_new'));
      expect(rows(path).map((r) => [r.id, r.request_bytes > 0])).toEqual([
        ['job_old', false],
        ['job_new', true],
      ]);
    } finally {
      await store.close();
    }
  });

  it('counts the results kept against max_results_mb: full, a submit is refused until the sweep deletes expired ones', async () => {
    const KB = 1024;
    const store = new SqliteJobStore({ path: ':memory:', maxQueued: 100, maxQueuedBytes: 1 << 30, maxResultsBytes: 10 * KB, concurrency: 1, leaseMs: 1000, onError: () => {} });
    /** A job run to completion with an answer of about `kb` KB, kept `ttlS` seconds. */
    const finished = async (id: string, kb: number, ttlS: number) => {
      await store.submit(job(id, ttlS));
      expect(store.claim('w', 1000)?.id).toBe(id);
      expect(store.finish(id, 'w', { status: 'completed', headers: {}, body: 'x'.repeat(kb * KB) })).toBe(true);
    };
    try {
      await finished('job_r1', 4, 1);
      await finished('job_r2', 4, 60);
      expect(store.resultBytes()).toBeGreaterThan(8 * KB);
      // Under the limit: one more job is taken, and its result may carry the total past it.
      await finished('job_r3', 4, 60);
      expect(store.resultBytes()).toBeGreaterThan(12 * KB);
      const refused = store.submit(job('job_r4'));
      await expect(refused).rejects.toThrow(/async result store is full \(the results of finished jobs kept until they expire hold 0\.01 MB, async\.max_results_mb\)/);
      await expect(refused).rejects.toMatchObject({ retryAfterS: 60 });
      // A result recorded a second time (a stale lease) does not count twice.
      expect(store.finish('job_r3', 'w', { status: 'completed', headers: {}, body: '{}' })).toBe(false);
      // The first result expires; until the sweep deletes it, it still takes its room.
      await sleep(1100);
      await expect(store.submit(job('job_r4'))).rejects.toThrow(/max_results_mb/);
      expect(await store.sweep()).toBe(1);
      expect(store.resultBytes()).toBeGreaterThan(8 * KB);
      expect(store.resultBytes()).toBeLessThan(10 * KB);
      await store.submit(job('job_r4'));
      // The total is the results' own size as stored.
      const held = (store as unknown as { db: Database.Database }).db.prepare('SELECT total(length(CAST(outcome AS BLOB))) AS b FROM async_jobs').get() as { b: number };
      expect(store.resultBytes()).toBe(held.b);
    } finally {
      await store.close();
    }
  });

  it('opens a file made before outcome_bytes existed, counts the results it holds, and measures the total again on every open', async () => {
    const path = join(dir, 'old-results.db');
    const old = oldJobsFile(path, { requestBytes: true });
    const outcome = JSON.stringify({ status: 'completed', headers: {}, body: 'y'.repeat(3000) });
    old
      .prepare(`INSERT INTO async_jobs (id, owner, model, status, ttl_s, created_at, finished_at, expires_at, outcome) VALUES ('job_done', 'anonymous', 'anthropic/m', 'completed', 60, 1, 1, ?, ?)`)
      .run(Date.now() + 60_000, outcome);
    old.close();
    const store = new SqliteJobStore({ path, maxQueued: 10, maxQueuedBytes: 1 << 30, maxResultsBytes: 2000, concurrency: 1, leaseMs: 1000, onError: () => {} });
    try {
      expect(store.resultBytes()).toBe(Buffer.byteLength(outcome));
      await expect(store.submit(job('job_new'))).rejects.toThrow(/max_results_mb/);
    } finally {
      await store.close();
    }
    // Opened again, the total is neither lost nor counted twice.
    const again = new SqliteJobStore({ path, maxQueued: 10, maxQueuedBytes: 1 << 30, concurrency: 1, leaseMs: 1000, onError: () => {} });
    try {
      expect(again.resultBytes()).toBe(Buffer.byteLength(outcome));
    } finally {
      await again.close();
    }
    // A total that drifted (an earlier version sharing the file swept results without taking them off) is measured again on open.
    const raw = new Database(path);
    raw.prepare('UPDATE async_result_bytes SET bytes = 1000000000').run();
    raw.close();
    const repaired = new SqliteJobStore({ path, maxQueued: 10, maxQueuedBytes: 1 << 30, maxResultsBytes: 1 << 20, concurrency: 1, leaseMs: 1000, onError: () => {} });
    try {
      expect(repaired.resultBytes()).toBe(Buffer.byteLength(outcome));
      await repaired.submit(job('job_after_repair'));
    } finally {
      await repaired.close();
    }
  });
});

describe('SQLite store behind the gateway', () => {
  // One gateway on one file for these tests (each gateway start compiles the contract: costly).
  const POISONED = 'job_AAAAAAAAAAAAAAAAAAAAAA';
  let path: string;
  let gw: RunningGateway;

  beforeAll(async () => {
    path = join(dir, 'gateway.db');
    // Before the gateway starts: a job three workers took and died on (their leases lapse at once).
    const crashed = new SqliteJobStore({ path, maxQueued: 10, maxQueuedBytes: 1 << 30, concurrency: 1, leaseMs: 1000, onError: () => {} });
    await crashed.submit({ ...job(POISONED), request: { body: userBody('poison'), clientHeaders: {}, requestId: 'req_1' } });
    for (const worker of ['dead-1', 'dead-2', 'dead-3']) {
      expect(crashed.claim(worker, 1)?.attempts).toBeGreaterThan(0);
      await sleep(5);
    }
    await crashed.close();
    gw = await startGateway({
      store: `sqlite:${path}`,
      async: { max_attempts: 3, sweep_interval_ms: 100 },
      providers: {
        keyed: { type: 'anthropic', base_url: upstream.url, keys: [{ value: 'sk-gateway-key' }], max_retries: 0 },
        passthrough: { type: 'anthropic', base_url: upstream.url, max_retries: 0 },
      },
    });
    await warmUp(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('a job whose runs were interrupted max_attempts times is failed, not run again', async () => {
    const res = await pollUntilDone(gw.url, POISONED, 8000, {});
    expect(res.status).toBe(500);
    expect(res.body.error.type).toBe('api_error');
    expect(res.body.error.message).toMatch(/interrupted 3 times/);
    expect(upstream.requests.filter((r) => r.body?.messages?.[0]?.content === 'poison')).toHaveLength(0);
  });

  it('the periodic sweep deletes expired results from the file', async () => {
    upstream.enqueue({ kind: 'json', body: anthropicMessage({ text: 'gone soon' }) });
    const id = await submitJob(gw.url, userBody('sweep me', { model: 'keyed/claude' }), { 'x-bf-async-job-result-ttl': '1' });
    expect((await pollUntilDone(gw.url, id)).status).toBe(200);
    expect(rows(path).map((r) => r.id)).toContain(id);
    await waitFor('the sweep', () => !rows(path).some((r) => r.id === id), 4000);
  });

  it("never stores the client's credential in clear: only sealed, and only when a provider forwards it", async () => {
    upstream.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'ok' }), delayMs: 600 }));
    const headers = { 'x-api-key': 'sk-client-secret', 'anthropic-beta': 'some-beta-2025' };
    const keyed = await submitJob(gw.url, userBody('a', { model: 'keyed/claude' }), headers);
    const passthrough = await submitJob(gw.url, userBody('b', { model: 'passthrough/claude' }), headers);

    const stored = Object.fromEntries(rows(path).map((r) => [r.id, r]));
    expect(stored[keyed].owner).toBe(createHash('sha256').update('sk-client-secret').digest('hex'));
    expect(stored[keyed].request).not.toContain('sk-client-secret');
    expect(JSON.parse(stored[keyed].request)).not.toHaveProperty('sealedCredential');
    expect(JSON.parse(stored[keyed].request).clientHeaders).toEqual({ anthropicBeta: 'some-beta-2025' });
    expect(stored[passthrough].request).not.toContain('sk-client-secret');
    expect(JSON.parse(stored[passthrough].request).clientHeaders).toEqual({ anthropicBeta: 'some-beta-2025' });
    expect(JSON.parse(stored[passthrough].request).sealedCredential).toMatch(/^v1\./);

    expect((await pollUntilDone(gw.url, keyed, 8000, headers)).status).toBe(200);
    expect((await pollUntilDone(gw.url, passthrough, 8000, headers)).status).toBe(200);
    const seen = upstream.requests.map((r) => ({ key: r.headers['x-api-key'], beta: r.headers['anthropic-beta'] }));
    expect(seen).toEqual(
      expect.arrayContaining([
        { key: 'sk-gateway-key', beta: 'some-beta-2025' },
        { key: 'sk-client-secret', beta: 'some-beta-2025' },
      ]),
    );
    // Once finished, the request (and any credential in it) is gone from the store.
    expect(rows(path).every((r) => r.request === null)).toBe(true);
  });
});
