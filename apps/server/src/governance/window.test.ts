import { describe, expect, it } from 'vitest';
import { MinuteWindow } from './window.js';

describe('MinuteWindow', () => {
  it('counts the current second and the 59 before it', () => {
    const w = new MinuteWindow();
    w.add(1000, 3);
    w.add(1030, 2);
    expect(w.total(1030)).toBe(5);
    expect(w.total(1059)).toBe(5);
    expect(w.total(1060)).toBe(2);
    expect(w.total(1089)).toBe(2);
    expect(w.total(1090)).toBe(0);
  });

  it('reuses a slot a minute later without keeping the old count', () => {
    const w = new MinuteWindow();
    w.add(1000, 7);
    w.add(1060, 1);
    expect(w.total(1060)).toBe(1);
  });

  it('says how long until the total drops below a limit, and when it is empty', () => {
    const w = new MinuteWindow();
    w.add(1000, 2);
    w.add(1010, 2);
    w.add(1020, 2);
    expect(w.secondsUntilBelow(1025, 7)).toBe(0);
    // limit 6: the bucket of second 1000 leaves at 1060.
    expect(w.secondsUntilBelow(1025, 6)).toBe(35);
    // limit 3: the buckets of 1000 and 1010 must leave: at 1070.
    expect(w.secondsUntilBelow(1025, 3)).toBe(45);
    expect(w.emptyAt(1025)).toBe(1080);
    expect(new MinuteWindow().emptyAt(1025)).toBe(1025);
  });
});
