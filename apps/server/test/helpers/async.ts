import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import request, { type Response } from 'supertest';

export const MESSAGES = '/anthropic/v1/messages';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A Redis key prefix of our own, so parallel tests and other users of the server never meet. */
export function testPrefix(): string {
  return `conduit-test-${randomBytes(6).toString('hex')}`;
}

/** Deletes every key under the prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * The first validated request compiles the contract (seconds on a busy machine): do it in a hook,
 * so the tests' own time bounds measure the behaviour under test.
 */
export async function warmUp(url: string): Promise<void> {
  await request(url).post(MESSAGES).send({});
}

/** Submits `body` as an async job; fails the test unless the answer is 202. Returns the job id. */
export async function submitJob(url: string, body: object, headers: Record<string, string> = {}): Promise<string> {
  const res = await request(url).post(MESSAGES).set({ 'x-api-key': 'client-key', 'x-bf-async': 'true', ...headers }).send(body);
  if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${res.text}`);
  return res.headers['x-bf-async-id'] as string;
}

/** One poll with an empty body. */
export function pollJob(url: string, id: string, headers: Record<string, string> = { 'x-api-key': 'client-key' }): request.Test {
  return request(url).post(MESSAGES).set({ ...headers, 'x-bf-async-id': id });
}

/** Polls every 50 ms until the answer is no longer 202; bounded by `timeoutMs`. */
export async function pollUntilDone(url: string, id: string, timeoutMs = 8_000, headers?: Record<string, string>): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await pollJob(url, id, headers);
    if (res.status !== 202) return res;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${String(res.headers['x-bf-async-status'])} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Waits until `check` holds; bounded. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export const userBody = (text: string, extra: object = {}) => ({
  model: 'anthropic/claude-sonnet-4-5',
  max_tokens: 64,
  messages: [{ role: 'user', content: text }],
  ...extra,
});
