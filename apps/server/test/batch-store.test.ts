import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PendingLimitError } from '../src/jobs/batches/errors.js';
import { RedisBatchStore } from '../src/jobs/batches/redis-store.js';
import { SqliteBatchStore } from '../src/jobs/batches/sqlite-store.js';
import type { BatchStore, NewBatch, RequestResult } from '../src/jobs/batches/types.js';
import { REDIS_URL, deleteRedisPrefix, sleep, testPrefix } from './helpers/async.js';

/**
 * The batch store contract, run against SQLite and a real Redis: claims under leases, one result
 * per request whatever happens to workers, cancel, expiry, paging, retention.
 */

const HOUR = 3600_000;
let n = 0;
const newId = () => `msgbatch_test${String(++n).padStart(18, '0')}`;

function newBatch(owner = 'owner-a', over: Partial<NewBatch> = {}): NewBatch {
  const now = Date.now();
  return {
    id: newId(),
    owner,
    createdAt: now,
    expiresAt: now + 24 * HOUR,
    resultsUntil: now + 48 * HOUR,
    deleteAt: now + 96 * HOUR,
    ...over,
  };
}

const params = (i: number) => JSON.stringify({ model: 'anthropic/m', max_tokens: 8, messages: [{ role: 'user', content: `q${i}` }] });
const CONTEXT = { clientHeaders: { anthropicVersion: '2023-06-01' }, requestId: 'req_submit', sealedCredential: 'v1.sealed' };
const ok = (text: string): RequestResult => ({ outcome: 'succeeded', result: `{"type":"succeeded","message":{"text":"${text}"}}` });

/** A batch of `count` requests (custom ids r0, r1, ...), stored in chunks and opened. */
async function openBatch(store: BatchStore, count: number, over: Partial<NewBatch> = {}, owner?: string): Promise<string> {
  const batch = newBatch(owner, over);
  await store.begin(batch);
  for (let from = 0; from < count; from += 3) {
    const chunk = [];
    for (let i = from; i < Math.min(count, from + 3); i++) chunk.push({ index: i, customId: `r${i}`, params: params(i) });
    await store.addRequests(batch.id, chunk);
  }
  await store.open(batch.id, count, 1_000_000, CONTEXT);
  return batch.id;
}

async function allResults(store: BatchStore, id: string): Promise<any[]> {
  const out: any[] = [];
  let after = -1;
  for (;;) {
    const page = await store.results(id, after, 2);
    if (page.length === 0) return out;
    for (const r of page) out.push(JSON.parse(r.line));
    after = page.at(-1)!.index;
  }
}

type Kind = 'sqlite' | 'redis';
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deleteRedisPrefix(p);
});

describe.each<Kind>(['sqlite', 'redis'])('batch store: %s', (kind) => {
  let store: BatchStore;
  beforeEach(() => {
    if (kind === 'sqlite') {
      store = new SqliteBatchStore({ path: ':memory:' });
    } else {
      const prefix = testPrefix();
      prefixes.push(prefix);
      store = new RedisBatchStore({ url: REDIS_URL, prefix, timeoutMs: 2000, onError: () => undefined });
    }
  });
  afterEach(async () => {
    await store.close();
  });

  it('a batch is invisible while its requests are being stored, then in progress with every request processing', async () => {
    const batch = newBatch();
    await store.begin(batch);
    await store.addRequests(batch.id, [{ index: 0, customId: 'a', params: params(0) }]);
    expect(await store.get(batch.id)).toBeUndefined();
    expect((await store.list('owner-a', { limit: 10 })).batches).toEqual([]);
    expect(await store.claim('w1', 10_000)).toBeUndefined();
    await store.addRequests(batch.id, [{ index: 1, customId: 'b', params: params(1) }]);
    await store.open(batch.id, 2, 100, CONTEXT);
    const got = await store.get(batch.id);
    expect(got).toMatchObject({ id: batch.id, owner: 'owner-a', state: 'in_progress', endedAt: null, cancelInitiatedAt: null });
    expect(got!.counts).toEqual({ processing: 2, succeeded: 0, errored: 0, canceled: 0, expired: 0 });
    expect(await store.pending()).toBe(2);
  });

  it('requests are claimed in order, with the batch context, under a lease; each result is recorded once', async () => {
    const id = await openBatch(store, 3);
    const first = await store.claim('w1', 10_000);
    expect(first).toMatchObject({ id: `${id}:0`, attempts: 1, credentialScope: id });
    expect(first!.request).toEqual({
      body: JSON.parse(params(0)),
      clientHeaders: { anthropicVersion: '2023-06-01' },
      requestId: 'req_submit',
      sealedCredential: 'v1.sealed',
    });
    const second = await store.claim('w2', 10_000);
    expect(second!.id).toBe(`${id}:1`);
    expect(await store.renew(first!.id, 'w1', 10_000)).toBe(true);
    expect(await store.renew(first!.id, 'w2', 10_000)).toBe(false);

    expect(await store.finish(first!.id, 'w2', ok('x'))).toBe(false);
    expect(await store.finish(first!.id, 'w1', ok('zero'))).toBe(true);
    expect(await store.finish(first!.id, 'w1', ok('again'))).toBe(false);
    expect(await store.finish(second!.id, 'w2', { outcome: 'errored', result: '{"type":"errored","error":{"type":"error"}}' })).toBe(true);
    let got = await store.get(id);
    expect(got!.counts).toEqual({ processing: 1, succeeded: 1, errored: 1, canceled: 0, expired: 0 });
    expect(got!.state).toBe('in_progress');

    const third = await store.claim('w1', 10_000);
    expect(third!.id).toBe(`${id}:2`);
    expect(await store.claim('w1', 10_000)).toBeUndefined();
    expect(await store.finish(third!.id, 'w1', ok('two'))).toBe(true);
    got = await store.get(id);
    expect(got!.state).toBe('ended');
    expect(got!.endedAt).toBeGreaterThan(0);
    expect(got!.counts).toEqual({ processing: 0, succeeded: 2, errored: 1, canceled: 0, expired: 0 });
    expect(await store.pending()).toBe(0);
    expect(await allResults(store, id)).toEqual([
      { custom_id: 'r0', result: { type: 'succeeded', message: { text: 'zero' } } },
      { custom_id: 'r1', result: { type: 'errored', error: { type: 'error' } } },
      { custom_id: 'r2', result: { type: 'succeeded', message: { text: 'two' } } },
    ]);
  });

  it("a lapsed lease is taken over by another worker; the first worker's late result is refused", async () => {
    const id = await openBatch(store, 1);
    const first = await store.claim('dead', 50);
    await sleep(80);
    // The holder's own lapsed lease is a stalled loop, not a dead worker: not taken back by itself.
    expect(await store.claim('dead', 50)).toBeUndefined();
    const again = await store.claim('alive', 10_000);
    expect(again).toMatchObject({ id: first!.id, attempts: 2 });
    expect(await store.renew(first!.id, 'dead', 10_000)).toBe(false);
    expect(await store.finish(first!.id, 'dead', ok('late'))).toBe(false);
    expect(await store.finish(again!.id, 'alive', ok('on time'))).toBe(true);
    expect(await allResults(store, id)).toEqual([{ custom_id: 'r0', result: { type: 'succeeded', message: { text: 'on time' } } }]);
  });

  it('a request handed back at shutdown is claimed again without counting the start', async () => {
    const id = await openBatch(store, 2);
    const first = await store.claim('w1', 10_000);
    await store.release(first!.id, 'w1');
    const again = await store.claim('w2', 10_000);
    expect(again).toMatchObject({ id: `${id}:0`, attempts: 1 });
  });

  it('the oldest batch is served first', async () => {
    const older = await openBatch(store, 2);
    const newer = await openBatch(store, 2);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await store.claim('w', 10_000))!.id);
    expect(ids).toEqual([`${older}:0`, `${older}:1`, `${newer}:0`, `${newer}:1`]);
  });

  it('cancel: requests not started end canceled, a running one finishes, then the batch ends', async () => {
    const id = await openBatch(store, 5);
    const running = await store.claim('w1', 10_000);
    const canceled = await store.cancel(id, 12345);
    expect(canceled).toMatchObject({ state: 'canceling', cancelInitiatedAt: 12345 });
    expect(await store.claim('w2', 10_000)).toBeUndefined();
    expect(await store.unsettled(Date.now(), 10)).toEqual([id]);
    expect(await store.settle(id, Date.now(), 2)).toEqual({ outcome: 'canceled', settled: 2, left: 2 });
    expect(await store.settle(id, Date.now(), 10)).toEqual({ outcome: 'canceled', settled: 2, left: 0 });
    let got = await store.get(id);
    expect(got!.state).toBe('canceling');
    expect(got!.counts).toEqual({ processing: 1, succeeded: 0, errored: 0, canceled: 4, expired: 0 });
    expect(await store.finish(running!.id, 'w1', ok('done'))).toBe(true);
    got = await store.get(id);
    expect(got!.state).toBe('ended');
    expect(got!.counts).toEqual({ processing: 0, succeeded: 1, errored: 0, canceled: 4, expired: 0 });
    const results = await allResults(store, id);
    expect(results.map((r) => r.result.type)).toEqual(['succeeded', 'canceled', 'canceled', 'canceled', 'canceled']);
    expect(results.map((r) => r.custom_id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    // Cancelling again changes nothing.
    expect((await store.cancel(id, 99))!.cancelInitiatedAt).toBe(12345);
  });

  it("cancel: a running request whose worker died ends canceled once its lease lapses", async () => {
    const id = await openBatch(store, 1);
    await store.claim('dead', 50);
    await store.cancel(id, Date.now());
    await sleep(80);
    await store.sweep(Date.now(), 0);
    expect(await store.settle(id, Date.now(), 10)).toEqual({ outcome: 'canceled', settled: 1, left: 0 });
    const got = await store.get(id);
    expect(got).toMatchObject({ state: 'ended' });
    expect(got!.counts.canceled).toBe(1);
  });

  it('expiry: a batch past expires_at hands out nothing more; its requests not run end expired', async () => {
    const now = Date.now();
    const id = await openBatch(store, 3, { expiresAt: now + 150 });
    const running = await store.claim('w1', 10_000);
    await sleep(200);
    expect(await store.claim('w1', 10_000)).toBeUndefined();
    expect(await store.unsettled(Date.now(), 10)).toEqual([id]);
    expect(await store.settle(id, Date.now(), 100)).toEqual({ outcome: 'expired', settled: 2, left: 0 });
    expect(await store.settle(id, Date.now(), 100)).toEqual({ outcome: 'expired', settled: 0, left: 0 });
    expect((await store.get(id))!.counts).toEqual({ processing: 1, succeeded: 0, errored: 0, canceled: 0, expired: 2 });
    expect(await store.finish(running!.id, 'w1', ok('made it'))).toBe(true);
    expect((await store.get(id))!.state).toBe('ended');
    expect((await allResults(store, id)).map((r) => r.result.type)).toEqual(['succeeded', 'expired', 'expired']);
  });

  it('expiry: a running request\'s lease is no longer renewed, and once handed back it ends expired', async () => {
    const id = await openBatch(store, 1, { expiresAt: Date.now() + 100 });
    const running = await store.claim('w1', 10_000);
    expect(await store.renew(running!.id, 'w1', 10_000)).toBe(true);
    await sleep(150);
    expect(await store.renew(running!.id, 'w1', 10_000)).toBe(false);
    // The pool aborts the run and hands the request back; the settle ends it.
    await store.release(running!.id, 'w1');
    expect(await store.settle(id, Date.now(), 10)).toEqual({ outcome: 'expired', settled: 1, left: 0 });
    expect(await store.get(id)).toMatchObject({ state: 'ended', counts: { expired: 1, processing: 0 } });
  });

  it('lists the owner\'s batches newest first, paged both ways', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await openBatch(store, 1, {}, 'lister'));
    await openBatch(store, 1, {}, 'someone-else');
    const newestFirst = [...ids].reverse();
    const first = await store.list('lister', { limit: 2 });
    expect(first.batches.map((b) => b.id)).toEqual(newestFirst.slice(0, 2));
    expect(first.hasMore).toBe(true);
    const second = await store.list('lister', { limit: 2, afterId: newestFirst[1] });
    expect(second.batches.map((b) => b.id)).toEqual(newestFirst.slice(2, 4));
    const last = await store.list('lister', { limit: 2, afterId: newestFirst[3] });
    expect(last.batches.map((b) => b.id)).toEqual(newestFirst.slice(4));
    expect(last.hasMore).toBe(false);
    const back = await store.list('lister', { limit: 2, beforeId: newestFirst[4] });
    expect(back.batches.map((b) => b.id)).toEqual(newestFirst.slice(2, 4));
    expect(back.hasMore).toBe(true);
    // Another owner's id is no cursor here.
    expect(await store.list('someone-else', { limit: 2, afterId: newestFirst[0] })).toEqual({ batches: [], hasMore: false });
  });

  it('refuses to open a batch past the pending cap', async () => {
    await openBatch(store, 3);
    const batch = newBatch();
    await store.begin(batch);
    await store.addRequests(batch.id, [0, 1].map((i) => ({ index: i, customId: `c${i}`, params: params(i) })));
    await expect(store.open(batch.id, 2, 4, CONTEXT)).rejects.toBeInstanceOf(PendingLimitError);
    await store.open(batch.id, 2, 5, CONTEXT);
    expect(await store.pending()).toBe(5);
  });

  it('reads back stored requests in order, a page at a time', async () => {
    const id = await openBatch(store, 5);
    const page = await store.requests(id, 1, 2);
    expect(page).toEqual([
      { index: 2, customId: 'r2', params: params(2) },
      { index: 3, customId: 'r3', params: params(3) },
    ]);
  });

  it('delete forgets the batch and its results; discard forgets one being received', async () => {
    const id = await openBatch(store, 2);
    for (let i = 0; i < 2; i++) {
      const c = await store.claim('w', 10_000);
      await store.finish(c!.id, 'w', ok(String(i)));
    }
    expect(await store.delete(id)).toBe(true);
    expect(await store.get(id)).toBeUndefined();
    expect(await store.delete(id)).toBe(false);
    while ((await store.sweep(Date.now(), 0)).more);
    expect(await store.results(id, -1, 10)).toEqual([]);

    const receiving = newBatch();
    await store.begin(receiving);
    await store.addRequests(receiving.id, [{ index: 0, customId: 'x', params: params(0) }]);
    await store.discard(receiving.id);
    await store.open(receiving.id, 1, 10, CONTEXT).then(
      () => expect.unreachable('a discarded batch cannot open'),
      (err) => expect(String(err)).toMatch(/not being received/),
    );
  });

  it('retention: results go at resultsUntil (the batch stays), the record at deleteAt; a batch never opened is forgotten', async () => {
    const now = Date.now();
    const id = await openBatch(store, 1, { resultsUntil: now + 100, deleteAt: now + 400 });
    const c = await store.claim('w', 10_000);
    await store.finish(c!.id, 'w', ok('kept a while'));
    expect(await allResults(store, id)).toHaveLength(1);
    const stale = newBatch();
    await store.begin(stale);
    await sleep(150);
    while ((await store.sweep(Date.now(), Date.now())).more);
    expect(await store.get(id)).toMatchObject({ state: 'ended' });
    expect(await store.results(id, -1, 10)).toEqual([]);
    await store.open(stale.id, 0, 10, CONTEXT).then(
      () => expect.unreachable('a stale receiving batch is gone'),
      (err) => expect(String(err)).toMatch(/not being received/),
    );
    await sleep(300);
    while ((await store.sweep(Date.now(), 0)).more);
    expect(await store.get(id)).toBeUndefined();
    expect((await store.list('owner-a', { limit: 100 })).batches.map((b) => b.id)).not.toContain(id);
  });

  it('a native batch keeps no requests and takes the state its provider reports', async () => {
    const batch = newBatch();
    await store.begin(batch);
    await store.addRequests(batch.id, [{ index: 0, customId: 'n0', params: params(0) }]);
    await store.openNative(batch.id, 1, { provider: 'anthropic', upstreamId: 'msgbatch_up', keyIndex: 0 });
    expect(await store.claim('w', 10_000)).toBeUndefined();
    expect(await store.pending()).toBe(0);
    expect(await store.get(batch.id)).toMatchObject({ state: 'in_progress', native: { provider: 'anthropic', upstreamId: 'msgbatch_up', keyIndex: 0 } });
    await store.updateNative(batch.id, {
      state: 'ended',
      counts: { processing: 0, succeeded: 1, errored: 0, canceled: 0, expired: 0 },
      endedAt: 5000,
      cancelInitiatedAt: null,
    });
    expect(await store.get(batch.id)).toMatchObject({ state: 'ended', endedAt: 5000, counts: { succeeded: 1, processing: 0 } });
    while ((await store.sweep(Date.now(), 0)).more);
    expect(await store.requests(batch.id, -1, 10)).toEqual([]);
  });
});
