// Child processes for the benchmark: start, wait until they listen, read their CPU and memory from /proc.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const TICKS_PER_SECOND = 100; // USER_HZ; `getconf CLK_TCK` is 100 on every Linux this runs on.

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts `node args...` and resolves once `ready(url)` answers, polling a URL until it does.
 * stdout goes to /dev/null (the gateways log a line per request; the cost of writing it is
 * counted, its bytes are not kept); stderr is kept for the error message.
 */
export async function startNode(name, args, { cwd, env, probe, timeoutMs = 20_000 }) {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  let exited = null;
  child.on('exit', (code, signal) => {
    exited = { code, signal };
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${name} exited (${JSON.stringify(exited)}) before it listened:\n${stderr}`);
    try {
      const res = await fetch(probe, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${name} did not answer ${probe} within ${timeoutMs} ms:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    name,
    pid: child.pid,
    stderr: () => stderr,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await done;
      clearTimeout(timer);
    },
  };
}

/** CPU time (user + system) the process has used so far, in milliseconds. */
export function cpuMs(pid) {
  const { user, system } = cpuSplitMs(pid);
  return user + system;
}

/** A process's CPU time so far in ms, in user mode and in the kernel (its system calls, page faults). */
export function cpuSplitMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at state (field 3).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: (Number(fields[11]) * 1000) / TICKS_PER_SECOND, system: (Number(fields[12]) * 1000) / TICKS_PER_SECOND };
}

/** Resident set size in MB. */
export function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Samples RSS every `everyMs` until stopped; returns { max, samples }. */
export function watchRss(pid, everyMs = 250) {
  const samples = [];
  const take = () => {
    try {
      samples.push({ at: Date.now(), mb: rssMb(pid) });
    } catch {
      // the process is gone
    }
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { max: Math.max(...samples.map((s) => s.mb)), samples };
    },
  };
}
