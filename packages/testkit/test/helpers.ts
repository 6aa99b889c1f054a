import { parseSse } from '../src/index.js';
import type { SseEvent } from '../src/index.js';

/** Upper bound for any single HTTP exchange in these tests. */
export const REQUEST_TIMEOUT_MS = 1500;

export const ANTHROPIC_AUTH = { 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01' };
export const OPENAI_AUTH = { authorization: 'Bearer test-key' };

export function post(url: string, body: unknown, headers: Record<string, string> = {}, timeoutMs = REQUEST_TIMEOUT_MS) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
}

export async function sseOf(res: Response): Promise<SseEvent[]> {
  return parseSse(await res.text());
}

/** Reads a body until it ends or fails, keeping what arrived; `error` is set when the stream broke. */
export async function readAll(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

/** Simple user turn in either API's message shape. */
export function userTurn(content: string) {
  return [{ role: 'user', content }];
}

export function anthropicRequest(extra: Record<string, unknown> = {}) {
  return { model: 'claude-test', max_tokens: 64, messages: userTurn('What is the weather like today?'), ...extra };
}

export function openaiRequest(extra: Record<string, unknown> = {}) {
  return { model: 'gpt-test', messages: userTurn('What is the weather like today?'), ...extra };
}
