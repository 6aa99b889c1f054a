/**
 * Secrets never leave the gateway: an upstream that echoes the credentials it was sent (the
 * gateway's keys, credential headers from the config, the client's own forwarded key) in an error
 * body, an error header or a stream error event cannot hand them to the client, the log or the
 * async job store. And a client credential a job forwards never reaches the store in clear.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  anthropicErrorEvent,
  anthropicMessage,
  anthropicSseEvents,
  openaiError,
  startFakeAnthropic,
  startFakeOpenAI,
  type FakeReply,
  type FakeUpstream,
  type RecordedRequest,
} from '@conduit/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConfigInput } from '../src/config/schema.js';
import { REDIS_URL, deleteRedisPrefix, pollUntilDone, submitJob, testPrefix, waitFor, warmUp } from './helpers/async.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { captureLog, type CapturedLog } from './helpers/log.js';

const MESSAGES = '/anthropic/v1/messages';
// Every secret has SECRET in it: one search finds any of them.
const GATEWAY_KEY = 'sk-ant-gateway-SECRET-0001';
const HEADER_TOKEN = 'hdr-token-SECRET-0002';
const CLIENT_KEY = 'sk-client-SECRET-0003';
const OPENAI_KEY = 'sk-openai-SECRET-0004';
const CREDENTIAL_KEY = 'ck-shared-SECRET-0005-0123456789abcdef';

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let dir: string;

/** Everything secret the upstream received, as it would echo it. */
const received = (req: RecordedRequest) =>
  ['x-api-key', 'authorization', 'x-extra-auth']
    .map((h) => req.headers[h])
    .filter(Boolean)
    .join(' | ');
const promptOf = (req: RecordedRequest) => String(req.body?.messages?.at(-1)?.content);

/** The Anthropic fake echoes what it received, in the form the prompt asks for. */
function echoingAnthropic(req: RecordedRequest): FakeReply {
  const echo = received(req);
  switch (promptOf(req)) {
    case 'json-error':
      return {
        kind: 'json',
        status: 400,
        headers: { 'x-should-retry': String(req.headers['x-api-key'] ?? req.headers.authorization) },
        body: { type: 'error', error: { type: 'invalid_request_error', message: `this key is not valid here: ${echo}` } },
      };
    case 'raw-error':
      return { kind: 'raw', status: 500, headers: { 'content-type': 'text/plain' }, body: `proxy failure, request had ${echo}` };
    case 'stream-error': {
      const frames = anthropicSseEvents(anthropicMessage({ text: 'partial answer' }), { textChunks: 2 });
      const firstDelta = frames.findIndex((f) => f.startsWith('event: content_block_delta'));
      return { kind: 'sse', events: [...frames.slice(0, firstDelta + 1), anthropicErrorEvent('overloaded_error', `overloaded while serving ${echo}`)] };
    }
    default:
      return { kind: 'json', body: anthropicMessage({ text: 'fine' }) };
  }
}

function echoingOpenAI(req: RecordedRequest): FakeReply {
  const echo = received(req);
  if (promptOf(req) === 'stream-error') {
    const chunk = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta: { role: 'assistant', content: 'partial' }, finish_reason: null }] };
    return { kind: 'sse', events: [`data: ${JSON.stringify(chunk)}\n\n`, `data: ${JSON.stringify({ error: { message: `quota exceeded for ${echo}`, code: 503 } })}\n\n`] };
  }
  return openaiError(400, `invalid request for ${echo}`, 'invalid_request_error');
}

beforeAll(async () => {
  anthropic = await startFakeAnthropic({ requireAuth: false });
  openai = await startFakeOpenAI({ requireAuth: false });
  dir = mkdtempSync(join(tmpdir(), 'conduit-secrets-'));
});
afterEach(() => {
  anthropic.reset();
  openai.reset();
});
afterAll(async () => {
  await anthropic?.close();
  await openai?.close();
  rmSync(dir, { recursive: true, force: true });
});

function config(store: string, extra: Partial<ConfigInput> = {}): Omit<ConfigInput, 'listen'> {
  return {
    store,
    default_provider: 'anthropic',
    async: { credential_key: CREDENTIAL_KEY, lease_ms: 2_000, sweep_interval_ms: 200 },
    providers: {
      anthropic: {
        type: 'anthropic',
        base_url: anthropic.url,
        keys: [{ value: GATEWAY_KEY }],
        headers: { 'x-extra-auth': `Bearer ${HEADER_TOKEN}` },
        max_retries: 0,
      },
      passthrough: { type: 'anthropic', base_url: anthropic.url, max_retries: 0 },
      openai: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: OPENAI_KEY }], max_retries: 0 },
    },
    ...extra,
  };
}

const ask = (model: string, prompt: string, extra: object = {}) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: prompt }], ...extra });

async function send(gw: RunningGateway, body: object, headers: Record<string, string> = { 'x-api-key': CLIENT_KEY }) {
  const res = await fetch(gw.url + MESSAGES, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** What a client could see of an answer: status line aside, every header and the body. */
const seen = (reply: { headers: Headers; text: string }) => `${JSON.stringify([...reply.headers])}\n${reply.text}`;

describe('what upstreams echo is redacted', () => {
  let gw: RunningGateway;
  let log: CapturedLog;

  beforeAll(async () => {
    log = captureLog('debug');
    gw = await startGateway(config('sqlite::memory:'), { logger: log.logger });
    await warmUp(gw.url);
  });
  afterAll(async () => {
    await gw?.close();
  });
  beforeEach(() => {
    anthropic.setResponder(echoingAnthropic);
    openai.setResponder(echoingOpenAI);
  });

  it('in a JSON error from the native Anthropic path: message and relayed headers', async () => {
    for (const model of ['anthropic/claude', 'passthrough/claude']) {
      const reply = await send(gw, ask(model, 'json-error'));
      expect(reply.status).toBe(400);
      expect(seen(reply)).not.toContain('SECRET');
      expect(reply.text).toContain('[redacted]');
      expect(reply.headers.get('x-should-retry')).toBe('[redacted]');
    }
    // The fake did receive the secrets: this is what it echoed.
    expect(anthropic.requests.map(received)).toEqual([`${GATEWAY_KEY} | Bearer ${HEADER_TOKEN}`, CLIENT_KEY]);
  });

  it('in an error body that is not JSON', async () => {
    const reply = await send(gw, ask('anthropic/claude', 'raw-error'));
    expect(reply.status).toBe(500);
    expect(seen(reply)).not.toContain('SECRET');
    expect(JSON.parse(reply.text).error.message).toBe('upstream returned HTTP 500: proxy failure, request had [redacted] | [redacted]');
  });

  it('in a stream error event, from Anthropic and from an OpenAI-type upstream', async () => {
    for (const model of ['anthropic/claude', 'passthrough/claude', 'openai/gpt-4o']) {
      const reply = await send(gw, ask(model, 'stream-error', { stream: true }));
      expect(reply.status).toBe(200);
      expect(reply.text).toMatch(/event: error\ndata: .*\[redacted\]/);
      expect(seen(reply)).not.toContain('SECRET');
    }
  });

  it('in a JSON error from an OpenAI-type upstream', async () => {
    const reply = await send(gw, ask('openai/gpt-4o', 'json-error'));
    expect(reply.status).toBe(400);
    expect(JSON.parse(reply.text).error.message).toBe('invalid request for Bearer [redacted]');
  });

  it('in async job outcomes: the stored answer and every poll', async () => {
    const ids = [
      await submitJob(gw.url, ask('anthropic/claude', 'json-error'), { 'x-api-key': CLIENT_KEY }),
      await submitJob(gw.url, ask('passthrough/claude', 'json-error'), { 'x-api-key': CLIENT_KEY }),
      await submitJob(gw.url, ask('anthropic/claude', 'raw-error'), { 'x-api-key': CLIENT_KEY }),
    ];
    for (const id of ids) {
      const done = await pollUntilDone(gw.url, id, 8_000, { 'x-api-key': CLIENT_KEY });
      expect(done.headers['x-bf-async-status']).toBe('failed');
      expect(JSON.stringify(done.headers) + done.text).not.toContain('SECRET');
      expect(done.text).toContain('[redacted]');
      const stored = await gw.gateway.jobs.get(id);
      expect(JSON.stringify(stored)).not.toContain('SECRET');
    }
  });

  it('nothing secret was logged, by any of the requests above', () => {
    expect(log.lines.filter((l) => l.msg === 'request').length).toBeGreaterThan(8);
    expect(log.raw()).toContain('[redacted]');
    expect(log.raw()).not.toContain('SECRET');
  });
});

/** Every byte of the SQLite database and its write-ahead log. */
function sqliteBytes(path: string): Buffer {
  return Buffer.concat([path, `${path}-wal`].filter(existsSync).map((p) => readFileSync(p)));
}

/** Every value under a Redis key prefix, whatever its type, as text. */
async function redisDump(prefix: string): Promise<string> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    const keys = await redis.keys(`${prefix}:*`);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') parts.push(String(await redis.get(key)));
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
    return `${keys.join('\n')}\n${parts.join('\n')}`;
  } finally {
    redis.disconnect();
  }
}

describe("a forwarded client credential never reaches the job store", () => {
  it('SQLite: not in the database file nor its WAL, while the job waits, runs, or after', async () => {
    const path = join(dir, 'jobs.db');
    const gw = await startGateway(config(`sqlite:${path}`));
    try {
      await warmUp(gw.url);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      anthropic.setResponder(async () => {
        await gate;
        return { kind: 'json', body: anthropicMessage({ text: 'ran with the forwarded key' }) };
      });
      const id = await submitJob(gw.url, ask('passthrough/claude', 'hello'), { 'x-api-key': CLIENT_KEY });
      await waitFor('the job to reach the upstream', () => anthropic.requests.length === 1);
      expect(anthropic.requests[0]!.headers['x-api-key']).toBe(CLIENT_KEY);
      expect(sqliteBytes(path).includes(CLIENT_KEY)).toBe(false);
      release();
      expect((await pollUntilDone(gw.url, id, 8_000, { 'x-api-key': CLIENT_KEY })).status).toBe(200);
      expect(sqliteBytes(path).length).toBeGreaterThan(0);
      expect(sqliteBytes(path).includes(CLIENT_KEY)).toBe(false);
      expect(sqliteBytes(path).includes('SECRET')).toBe(false);
    } finally {
      await gw.close();
    }
  });

  it('Redis: in no key under the prefix, while the job runs, or after', async () => {
    const prefix = testPrefix();
    const gw = await startGateway(config(REDIS_URL, { async: { credential_key: CREDENTIAL_KEY, redis_prefix: prefix, lease_ms: 2_000 } }));
    try {
      await warmUp(gw.url);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      anthropic.setResponder(async () => {
        await gate;
        return { kind: 'json', body: anthropicMessage({ text: 'ran with the forwarded key' }) };
      });
      const id = await submitJob(gw.url, ask('passthrough/claude', 'hello'), { 'x-api-key': CLIENT_KEY });
      await waitFor('the job to reach the upstream', () => anthropic.requests.length === 1);
      expect(anthropic.requests[0]!.headers['x-api-key']).toBe(CLIENT_KEY);
      const running = await redisDump(prefix);
      expect(running).toContain(id);
      expect(running).not.toContain('SECRET');
      release();
      expect((await pollUntilDone(gw.url, id, 8_000, { 'x-api-key': CLIENT_KEY })).status).toBe(200);
      expect(await redisDump(prefix)).not.toContain('SECRET');
    } finally {
      await gw.close();
      await deleteRedisPrefix(prefix);
    }
  });

  it('without a shared credential_key, a job another process picks up fails and says to submit it again', async () => {
    const path = join(dir, 'handover.db');
    const unshared = config(`sqlite:${path}`, { async: { lease_ms: 2_000 } });
    const first = await startGateway(unshared);
    let id: string;
    try {
      await warmUp(first.url);
      anthropic.setResponder(() => ({ kind: 'hang' }));
      id = await submitJob(first.url, ask('passthrough/claude', 'hello'), { 'x-api-key': CLIENT_KEY });
      await waitFor('the job to reach the upstream', () => anthropic.requests.length === 1);
    } finally {
      // An orderly stop hands the running job back to the queue.
      await first.close();
    }
    anthropic.reset();
    const second = await startGateway(unshared);
    try {
      const done = await pollUntilDone(second.url, id, 8_000, { 'x-api-key': CLIENT_KEY });
      expect(done.status).toBe(500);
      expect(done.body.error.message).toMatch(/only the gateway process that accepted it could read .* submit it again/);
      expect(anthropic.requests).toHaveLength(0);
    } finally {
      await second.close();
    }
  });

  it('with a shared credential_key, any instance runs it', async () => {
    const path = join(dir, 'shared.db');
    const shared = config(`sqlite:${path}`);
    const first = await startGateway(shared);
    let id: string;
    try {
      await warmUp(first.url);
      anthropic.setResponder(() => ({ kind: 'hang' }));
      id = await submitJob(first.url, ask('passthrough/claude', 'hello'), { 'x-api-key': CLIENT_KEY });
      await waitFor('the job to reach the upstream', () => anthropic.requests.length === 1);
    } finally {
      await first.close();
    }
    anthropic.reset();
    anthropic.setResponder(() => ({ kind: 'json', body: anthropicMessage({ text: 'ran on the second instance' }) }));
    const second = await startGateway(shared);
    try {
      const done = await pollUntilDone(second.url, id, 8_000, { 'x-api-key': CLIENT_KEY });
      expect(done.status).toBe(200);
      expect(anthropic.requests[0]!.headers['x-api-key']).toBe(CLIENT_KEY);
    } finally {
      await second.close();
    }
  });
});
