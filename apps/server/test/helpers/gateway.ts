import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { pino, type Logger } from 'pino';
import { createGateway, type Gateway } from '../../src/app.js';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';

export interface RunningGateway {
  /** e.g. http://127.0.0.1:PORT */
  url: string;
  /** baseURL for the official Anthropic SDK: url + "/anthropic". */
  anthropicBaseUrl: string;
  gateway: Gateway;
  server: Server;
  close(): Promise<void>;
}

/** Starts the real gateway on a random 127.0.0.1 port with the given config (validated like a file). */
export async function startGateway(
  config: Omit<ConfigInput, 'listen'> & { listen?: ConfigInput['listen'] },
  opts: { pingIntervalMs?: number; env?: Record<string, string | undefined>; logger?: Logger } = {},
): Promise<RunningGateway> {
  // Each test gateway has its own in-memory job store unless the test names one.
  const parsed = parseConfig({ log_level: 'silent', store: 'sqlite::memory:', ...config, listen: { host: '127.0.0.1', port: 0 } }, opts.env ?? process.env);
  const gateway = createGateway(parsed, { logger: opts.logger ?? pino({ level: 'silent' }), pingIntervalMs: opts.pingIntervalMs });
  // Served as main.ts serves it (express's own request and response prototypes from the start).
  const server = gateway.createServer();
  server.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    anthropicBaseUrl: `${url}/anthropic`,
    gateway,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
    },
  };
}
