// The peer gateways the benchmark compares against. They install into bench/.peers (gitignored)
// with npm, each in its own folder, never into the workspace or its lockfile.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNode } from './procs.mjs';

export const PEERS_DIR = new URL('../.peers/', import.meta.url).pathname;

export const PEERS = {
  portkey: {
    label: 'Portkey 1.15.2',
    // Portkey's own ranges would float; these are the versions it was measured with.
    packages: ['@portkey-ai/gateway@1.15.2', 'hono@4.9.7', '@hono/node-server@1.13.5', '@hono/node-ws@1.2.0'],
    entry: 'node_modules/@portkey-ai/gateway/build/start-server.js',
  },
  ccr: {
    label: 'claude-code-router 2.0.0',
    packages: ['@musistudio/claude-code-router@2.0.0'],
    entry: 'node_modules/@musistudio/claude-code-router/dist/cli.js',
  },
};

export function peerInstalled(name) {
  return existsSync(join(PEERS_DIR, name, PEERS[name].entry));
}

export function installPeers() {
  for (const [name, peer] of Object.entries(PEERS)) {
    if (peerInstalled(name)) {
      console.log(`peer ${name}: installed`);
      continue;
    }
    const dir = join(PEERS_DIR, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `bench-peer-${name}`, private: true }, null, 2));
    console.log(`peer ${name}: npm install ${peer.packages.join(' ')}`);
    // --ignore-scripts: Portkey's postinstall runs patch-package for its own repo's patches, which the package does not ship.
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--save-exact', ...peer.packages], {
      cwd: dir,
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error(`npm install for peer ${name} failed`);
  }
}

/** Portkey: `start-server.js --port=N --headless`; the upstream is chosen per request by x-portkey-* headers. */
export async function startPortkey(port) {
  const dir = join(PEERS_DIR, 'portkey');
  return startNode('portkey', [PEERS.portkey.entry, `--port=${port}`, '--headless'], {
    cwd: dir,
    env: { NODE_ENV: 'production' },
    probe: `http://127.0.0.1:${port}/`,
  });
}

/**
 * claude-code-router: `ccr start` serves in the foreground from ~/.claude-code-router/config.json,
 * so it gets a HOME of its own. LOG off: Conduit's one line per request goes to /dev/null, theirs
 * would go to files.
 */
export async function startCcr(port, openaiBaseUrl, home) {
  const dir = join(PEERS_DIR, 'ccr');
  const configDir = join(home, '.claude-code-router');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(
    join(configDir, 'config.json'),
    JSON.stringify(
      {
        PORT: port,
        HOST: '127.0.0.1',
        LOG: false,
        NON_INTERACTIVE_MODE: true,
        Providers: [{ name: 'fake', api_base_url: `${openaiBaseUrl}/v1/chat/completions`, api_key: 'sk-bench', models: ['gpt-4o-mini'] }],
        Router: { default: 'fake,gpt-4o-mini' },
      },
      null,
      2,
    ),
  );
  return startNode('ccr', [PEERS.ccr.entry, 'start'], { cwd: dir, env: { HOME: home }, probe: `http://127.0.0.1:${port}/` });
}

// `node bench/lib/peers.mjs` (the `bench:peers` script) installs the peers and nothing else.
if (import.meta.url === `file://${process.argv[1]}`) installPeers();
