#!/usr/bin/env node
/** Runs one fake upstream in the foreground: `node dist/cli.js anthropic|openai --port N`. Prints its URL. */
import { parseArgs } from 'node:util';
import { startFakeAnthropic } from './anthropic/fake.js';
import { startFakeOpenAI } from './openai/fake.js';

const USAGE = `usage: node dist/cli.js anthropic|openai [--port N] [--host H] [--stream-chunks N] [--no-strict] [--no-auth] [--record]

  --port N           port to listen on (default: a free port)
  --host H           address to bind (default 127.0.0.1)
  --stream-chunks N  text deltas in the default streaming reply (default 10)
  --no-strict        accept requests the real API would reject
  --no-auth          do not require the provider's auth header
  --record           keep every request in memory (off by default: long runs would grow without bound)`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'stream-chunks': { type: 'string' },
      'no-strict': { type: 'boolean' },
      'no-auth': { type: 'boolean' },
      record: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const kind = positionals[0];
  if (values.help || (kind !== 'anthropic' && kind !== 'openai')) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const opts = {
    port: values.port !== undefined ? Number(values.port) : undefined,
    host: values.host,
    streamChunks: values['stream-chunks'] !== undefined ? Number(values['stream-chunks']) : undefined,
    strict: !values['no-strict'],
    requireAuth: !values['no-auth'],
    record: values.record ?? false,
  };
  const fake = kind === 'anthropic' ? await startFakeAnthropic(opts) : await startFakeOpenAI(opts);
  console.log(fake.url);
  const stop = () => {
    void fake.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
