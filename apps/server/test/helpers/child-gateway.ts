import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(SERVER_DIR, 'dist', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * The child-process tests run the built CLI (dist/main.js). The turbo pipeline builds before it
 * tests; when run by hand on a tree whose src/ is newer than dist/, build first so the test never
 * exercises stale code.
 */
export function ensureBuilt(): void {
  const built = (() => {
    try {
      return statSync(MAIN).mtimeMs;
    } catch {
      return 0;
    }
  })();
  if (built >= newestMtime(join(SERVER_DIR, 'src'))) return;
  // tsc still emits when some unrelated file has a type error; what matters is a fresh dist.
  spawnSync('pnpm', ['run', 'build'], { cwd: SERVER_DIR, stdio: 'ignore' });
  if (!existsSync(MAIN)) throw new Error('apps/server build failed: dist/main.js is missing');
}

export interface ChildGateway {
  url: string;
  anthropicBaseUrl: string;
  process: ChildProcess;
  /** Stderr and non-JSON stdout, for failure messages. */
  output(): string;
  /** SIGKILL: no drain, no cleanup, like a crash. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM and wait (drain). */
  stop(): Promise<void>;
}

/** Writes `config` as YAML to `configPath` and starts `node dist/main.js --config configPath`. */
export async function spawnGateway(configPath: string, config: Record<string, unknown>, timeoutMs = 15_000): Promise<ChildGateway> {
  writeFileSync(configPath, stringify({ log_level: 'info', ...config, listen: { host: '127.0.0.1', port: 0 } }));
  const child = spawn(process.execPath, [MAIN, '--config', configPath], { cwd: SERVER_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start in ${timeoutMs} ms:\n${output}`)), timeoutMs);
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /conduit listening on (http:\/\/[0-9.]+:\d+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        } else if (!line.startsWith('{') || /"level":(40|50|60)/.test(line)) {
          output += `${line}\n`;
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  return {
    url,
    anthropicBaseUrl: `${url}/anthropic`,
    process: child,
    output: () => output,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
