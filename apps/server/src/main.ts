#!/usr/bin/env node
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { pino } from 'pino';
import { createGateway } from './app.js';
import { ConfigError, loadConfig } from './config/load.js';

/**
 * The first limit of V8's old generation, in MB, unless the operator set one (`--initial-heap-size`,
 * `--initial-old-space-size`, `--max-old-space-size`, on the command line or in NODE_OPTIONS). V8
 * sets the limit from the live heap, about 40 MB here; a gateway reading 1 MB bodies then meets it
 * every few requests, and once it settles there a full collection runs several times a second:
 * measured on the benchmark's 1 MB sessions, CPU per request went from 5 to 11 ms and stayed there.
 * At 128 MB it did not (at 64 it still did); the RSS of 2,000 open streams was unchanged.
 */
const INITIAL_HEAP_MB = 128;

function sizeHeap(): void {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
  if (given.some((arg) => /^--(initial-heap-size|initial-old-space-size|max-old-space-size)\b/.test(arg))) return;
  setFlagsFromString(`--initial-heap-size=${INITIAL_HEAP_MB}`);
}

function main(): void {
  sizeHeap();
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
