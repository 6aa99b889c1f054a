import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';

/** The built gateway's CLI and the app it serves. */
export const GATEWAY_CLI = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url));
export const APP_DIST = fileURLToPath(new URL('../dist/index.html', import.meta.url));
/** Screenshots of each view (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../e2e-artifacts/', import.meta.url));
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface RunningCli {
  url: string;
  stop(): Promise<void>;
}

/** Starts `node apps/server/dist/main.js --config <file>` on a free port and waits for it to listen. */
export async function startCli(config: string): Promise<RunningCli> {
  for (const [what, path] of [
    ['the gateway (pnpm build)', GATEWAY_CLI],
    ['the dashboard (pnpm build)', APP_DIST],
  ]) {
    if (!existsSync(path)) throw new Error(`${what} is not built: ${path} is missing`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'conduit-e2e-'));
  const file = join(dir, 'conduit.yaml');
  writeFileSync(file, config.replaceAll('$DIR', dir));
  const child: ChildProcess = spawn(process.execPath, [GATEWAY_CLI, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let started = false;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start within 20 s:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      if (started) return; // the request lines that follow are not kept
      output += String(chunk);
      const m = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(output);
      if (m) {
        started = true;
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!started) reject(new Error(`the gateway exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium, headless, as this machine runs it; fails saying how to install it when missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; scripts/ensure-chromium.sh does it) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Every console error and uncaught page error of a page. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg: ConsoleMessage) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => errors.push(`page: ${err.message}`));
  return errors;
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}
