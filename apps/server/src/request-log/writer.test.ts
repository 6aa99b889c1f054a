import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MinuteCells } from './cell.js';
import type { RequestRecord } from './record.js';
import { testRecord } from './test-records.js';
import type { RequestLogStore } from './types.js';
import { RequestLogWriter, type WriterOptions } from './writer.js';

/** A store that records each write and answers when the test says so. */
function fakeStore() {
  const writes: Array<{ records: RequestRecord[]; cells: MinuteCells }> = [];
  let gate: Promise<void> = Promise.resolve();
  let fail = false;
  const store: RequestLogStore = {
    kind: 'sqlite',
    async write(records, cells) {
      await gate;
      if (fail) throw new Error('disk full');
      writes.push({ records: [...records], cells });
    },
    list: async () => ({ records: [], hasMore: false, nextBefore: null }),
    cells: async () => new Map(),
    prune: async () => undefined,
    close: async () => undefined,
  };
  return {
    store,
    writes,
    hold() {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return release;
    },
    failing(v: boolean) {
      fail = v;
    },
  };
}

function writer(store: RequestLogStore, over: Partial<WriterOptions> = {}) {
  const dropped = { n: 0 };
  const errors: unknown[] = [];
  const w = new RequestLogWriter(store, {
    flushMs: 1000,
    batchSize: 3,
    maxPending: 5,
    maxPendingBodyChars: 100,
    onDrop: (n) => (dropped.n += n),
    onError: (e) => errors.push(e),
    ...over,
  });
  return { w, dropped, errors };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('request log writer', () => {
  it('writes nothing on the request path: a record waits for the timer', async () => {
    vi.useFakeTimers();
    const s = fakeStore();
    const { w } = writer(s.store);
    w.add(testRecord());
    w.add(testRecord());
    expect(s.writes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(999);
    expect(s.writes).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(s.writes).toHaveLength(1);
    expect(s.writes[0]!.records).toHaveLength(2);
    // The batch's cells come with it: two requests in one minute on one target.
    const [cells] = [...s.writes[0]!.cells.values()];
    expect([...cells!.values()][0]!.requests).toBe(2);
  });

  it('writes as soon as a batch is full, in batches of batch_size', async () => {
    vi.useFakeTimers();
    const s = fakeStore();
    const { w } = writer(s.store, { maxPending: 100 });
    for (let i = 0; i < 7; i++) w.add(testRecord());
    await vi.advanceTimersByTimeAsync(0);
    expect(s.writes.map((x) => x.records.length)).toEqual([3, 3, 1]);
  });

  it('keeps at most max_pending records while the store is slow, and counts the ones it drops', async () => {
    const s = fakeStore();
    const release = s.hold();
    const { w, dropped } = writer(s.store, { flushMs: 10, batchSize: 3, maxPending: 5 });
    for (let i = 0; i < 3; i++) w.add(testRecord());
    const flushing = w.flush(); // the first batch is now stuck in the store
    for (let i = 0; i < 20; i++) w.add(testRecord());
    expect(w.waiting).toBe(5);
    expect(dropped.n).toBe(15);
    release();
    await flushing;
    expect(s.writes.reduce((n, x) => n + x.records.length, 0)).toBe(8);
    expect(w.waiting).toBe(0);
  });

  it('counts a batch the store refused as dropped, and goes on with the next', async () => {
    const s = fakeStore();
    const { w, dropped, errors } = writer(s.store);
    s.failing(true);
    w.add(testRecord());
    await w.flush();
    expect(dropped.n).toBe(1);
    expect(errors).toHaveLength(1);
    s.failing(false);
    w.add(testRecord());
    await w.flush();
    expect(s.writes).toHaveLength(1);
  });

  it('keeps a record without its body once the bodies waiting pass their budget', async () => {
    const s = fakeStore();
    const { w } = writer(s.store, { maxPendingBodyChars: 100 });
    w.add(testRecord({ body: 'x'.repeat(80) }));
    w.add(testRecord({ body: 'y'.repeat(80) }));
    await w.flush();
    const [a, b] = s.writes[0]!.records;
    expect(a!.body).toHaveLength(80);
    expect(b!.body).toBeNull();
    expect(b!.bodyTruncated).toBe(true);
    // Written bodies no longer count against the budget.
    w.add(testRecord({ body: 'z'.repeat(80) }));
    await w.flush();
    expect(s.writes[1]!.records[0]!.body).toHaveLength(80);
  });

  it('writes what is waiting when closed, then takes nothing more', async () => {
    const s = fakeStore();
    const { w } = writer(s.store);
    w.add(testRecord());
    await w.close();
    expect(s.writes).toHaveLength(1);
    w.add(testRecord());
    expect(w.waiting).toBe(0);
  });
});
