import { afterEach, describe, expect, it } from 'vitest';
import { cellsOf, targetKey } from './cell.js';
import { MAX_SCAN } from './redis-store.js';
import { SqliteRequestLogStore } from './sqlite-store.js';
import { testRecord } from './test-records.js';

let store: SqliteRequestLogStore;
afterEach(async () => {
  await store?.close();
});

describe('SQLite request log', () => {
  it('lists newest first, a page at a time', async () => {
    store = new SqliteRequestLogStore(':memory:');
    const records = Array.from({ length: 5 }, (_, i) => testRecord({ id: `req_${i}` }));
    await store.write(records, cellsOf(records));
    const first = await store.list({ limit: 2 });
    expect(first.records.map((r) => r.id)).toEqual(['req_4', 'req_3']);
    expect(first.hasMore).toBe(true);
    const second = await store.list({ limit: 2, before: first.nextBefore! });
    expect(second.records.map((r) => r.id)).toEqual(['req_2', 'req_1']);
    const last = await store.list({ limit: 2, before: second.nextBefore! });
    expect(last.records.map((r) => r.id)).toEqual(['req_0']);
    expect(last.hasMore).toBe(false);
    expect(last.nextBefore).toBeNull();
  });

  it('filters by outcome, status, provider, model (served or asked for) and key (id or name)', async () => {
    store = new SqliteRequestLogStore(':memory:');
    const records = [
      testRecord({ id: 'ok' }),
      testRecord({ id: 'failed', status: 503, errorType: 'overloaded_error', provider: 'openai', model: 'gpt-5', requestedModel: 'fast' }),
      testRecord({ id: 'bob', keyId: 'key_b', keyName: 'bob' }),
    ];
    await store.write(records, cellsOf(records));
    const ids = async (q: object) => (await store.list({ limit: 10, ...q })).records.map((r) => r.id);
    expect(await ids({ status: 'error' })).toEqual(['failed']);
    expect(await ids({ status: 'ok' })).toEqual(['bob', 'ok']);
    expect(await ids({ status: 503 })).toEqual(['failed']);
    expect(await ids({ provider: 'openai' })).toEqual(['failed']);
    expect(await ids({ model: 'fast' })).toEqual(['failed']);
    expect(await ids({ model: 'gpt-5' })).toEqual(['failed']);
    expect(await ids({ key: 'bob' })).toEqual(['bob']);
    expect(await ids({ key: 'key_b' })).toEqual(['bob']);
  });

  it(`a filtered page looks through MAX_SCAN records at most, then says where the next one goes on`, async () => {
    store = new SqliteRequestLogStore(':memory:');
    // The one match is the oldest of MAX_SCAN + 1,000 records.
    const records = [testRecord({ id: 'needle', model: 'rare' }), ...Array.from({ length: MAX_SCAN + 999 }, (_, i) => testRecord({ id: `hay_${i}` }))];
    await store.write(records, cellsOf(records));
    const first = await store.list({ limit: 10, model: 'rare' });
    expect(first.records).toEqual([]);
    expect(first.hasMore).toBe(true);
    expect(first.nextBefore).toBe(String(records.length + 1 - MAX_SCAN));
    const second = await store.list({ limit: 10, model: 'rare', before: first.nextBefore! });
    expect(second.records.map((r) => r.id)).toEqual(['needle']);
    expect(second.hasMore).toBe(false);
    expect(second.nextBefore).toBeNull();
    // Unfiltered pages are not cut: they read by the primary key.
    expect((await store.list({ limit: 500 })).records).toHaveLength(500);
  });

  it('adds the cells of later batches to the same minute', async () => {
    store = new SqliteRequestLogStore(':memory:');
    const at = Date.UTC(2026, 0, 1, 12, 0, 30);
    const a = [testRecord({ at, latencyMs: 10 })];
    const b = [testRecord({ at: at + 1000, latencyMs: 20, errorType: 'api_error', status: 500 })];
    await store.write(a, cellsOf(a));
    await store.write(b, cellsOf(b));
    const minute = Math.floor(at / 60_000) * 60;
    const cells = await store.cells(minute, minute);
    const cell = cells.get(minute)!.get(targetKey('anthropic', 'claude-haiku-4-5'))!;
    expect(cell.requests).toBe(2);
    expect(cell.errors).toBe(1);
    expect(cell.latency.reduce((x, y) => x + y, 0)).toBe(2);
  });

  it('prunes by age and by count', async () => {
    store = new SqliteRequestLogStore(':memory:');
    const now = Date.now();
    const records = [testRecord({ id: 'old', at: now - 10_000 }), ...Array.from({ length: 4 }, (_, i) => testRecord({ id: `new${i}`, at: now }))];
    await store.write(records, cellsOf(records));
    await store.prune(now - 5_000, 3, 0);
    expect((await store.list({ limit: 10 })).records.map((r) => r.id)).toEqual(['new3', 'new2', 'new1']);
    await store.prune(0, 100, Math.floor(now / 1000) + 3600);
    expect((await store.cells(0, Math.floor(now / 1000) + 3600)).size).toBe(0);
  });
});
