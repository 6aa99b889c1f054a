import { describe, expect, it, vi } from 'vitest';
import { Cancel, type CancelSignal } from './cancel.js';

describe('Cancel', () => {
  it('fires its listeners once, in the order added, with the reason set before they run', () => {
    const cancel = new Cancel();
    const seen: string[] = [];
    cancel.addEventListener('abort', () => seen.push(`a:${String(cancel.reason)}`));
    cancel.addEventListener('abort', () => seen.push(`b:${cancel.aborted}`));
    expect(cancel.aborted).toBe(false);
    cancel.abort('gone');
    cancel.abort('again');
    expect(seen).toEqual(['a:gone', 'b:true']);
    expect(cancel.reason).toBe('gone');
  });

  it('keeps a listener added twice once, and never calls a removed one or one added after the abort', () => {
    const cancel = new Cancel();
    const twice = vi.fn();
    const removed = vi.fn();
    const late = vi.fn();
    cancel.addEventListener('abort', twice);
    cancel.addEventListener('abort', twice);
    cancel.addEventListener('abort', removed);
    cancel.removeEventListener('abort', removed);
    cancel.abort();
    cancel.addEventListener('abort', late);
    expect(twice).toHaveBeenCalledTimes(1);
    expect(removed).not.toHaveBeenCalled();
    expect(late).not.toHaveBeenCalled();
  });

  it('skips a listener that an earlier one removes while they run', () => {
    const cancel = new Cancel();
    const second = vi.fn();
    cancel.addEventListener('abort', () => cancel.removeEventListener('abort', second));
    cancel.addEventListener('abort', second);
    cancel.abort();
    expect(second).not.toHaveBeenCalled();
  });

  it('gives an AbortError when aborted without a reason', () => {
    const cancel = new Cancel();
    cancel.abort();
    expect(cancel.reason).toBeInstanceOf(Error);
    expect((cancel.reason as Error).name).toBe('AbortError');
  });

  it('runs the other listeners when one throws, and reports the error on a later tick', async () => {
    const cancel = new Cancel();
    const after = vi.fn();
    cancel.addEventListener('abort', () => {
      throw new Error('listener broke');
    });
    cancel.addEventListener('abort', after);
    const reported = new Promise<unknown>((resolve) => {
      const listeners = process.listeners('uncaughtException');
      process.removeAllListeners('uncaughtException');
      process.once('uncaughtException', (err) => {
        for (const l of listeners) process.on('uncaughtException', l);
        resolve(err);
      });
    });
    cancel.abort();
    expect(after).toHaveBeenCalledTimes(1);
    expect(((await reported) as Error).message).toBe('listener broke');
  });

  it('has the shape of a DOM AbortSignal, so either can be passed where a CancelSignal is taken', () => {
    const watch = (signal: CancelSignal, seen: unknown[]) => signal.addEventListener('abort', () => seen.push(signal.reason));
    const dom = new AbortController();
    const own = new Cancel();
    const seen: unknown[] = [];
    watch(dom.signal, seen);
    watch(own, seen);
    dom.abort('dom');
    own.abort('own');
    expect(seen).toEqual(['dom', 'own']);
  });
});
