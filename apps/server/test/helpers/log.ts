import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface CapturedLog {
  logger: Logger;
  /** Every line, parsed. */
  lines: Array<Record<string, any>>;
  /** Everything written, as written. */
  raw(): string;
}

/** A pino logger whose lines are kept in memory, for tests that read what the gateway logged. */
export function captureLog(level = 'info'): CapturedLog {
  const lines: Array<Record<string, any>> = [];
  let raw = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      raw += String(chunk);
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines, raw: () => raw };
}

/** Waits (bounded) until at least `count` lines with `msg` were logged; returns them. */
export async function linesWith(log: CapturedLog, msg: string, count = 1, timeoutMs = 2_000): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = log.lines.filter((l) => l.msg === msg);
    if (found.length >= count || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 5));
  }
}
