#!/usr/bin/env node
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createGateway } from './app.js';
import { ConfigError, loadConfig } from './config/load.js';

function main(): void {
  const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } }, strict: true });
  let config;
  try {
    config = loadConfig({ path: values.config });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`conduit: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  // Asynchronous stdout: lines written while a write is in flight leave together in the next one,
  // instead of one blocking write(2) per request. pino flushes what is left when the process exits.
  const logger = pino({ level: config.log_level }, pino.destination({ dest: 1, sync: false }));
  let gateway;
  try {
    gateway = createGateway(config, { logger, processMetrics: true });
  } catch (err) {
    // e.g. the job store cannot be opened
    if (err instanceof ConfigError) {
      process.stderr.write(`conduit: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const server = gateway.createServer();
  server.listen(config.listen.port, config.listen.host);
  server.on('listening', () => {
    const { address, port } = server.address() as AddressInfo;
    logger.info({ providers: [...gateway.providers.keys()] }, `conduit listening on http://${address}:${port}`);
  });
  server.on('error', (err) => {
    logger.fatal({ err }, 'cannot listen');
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    gateway.readiness.setDraining();
    logger.info({ signal }, 'draining');
    const force = setTimeout(() => server.closeAllConnections(), 10_000);
    force.unref();
    server.close(() => {
      void gateway.close().finally(() => process.exit(0));
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main();
