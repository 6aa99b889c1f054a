import { anthropicAnswer, dataFrame, openaiAnswer, openaiChunks, PREFILL_REFUSAL, startFakeAnthropic, startFakeOpenAI, type FakeReply, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { comments, expectBrokenStream, expectOneMessage, LONG_TEXT } from './helpers/continuation.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { anthropicProvider, send, streamedText, warmUp } from './helpers/routing.js';

/**
 * Continuation across providers: each continues in its own way (vLLM's continue_final_message,
 * Mistral's and DeepSeek's prefix, Anthropic's prefill), a target that cannot continue is passed
 * over, and a model that refuses is remembered.
 */

let plain: FakeUpstream;
let refuser: FakeUpstream;
let vllm: FakeUpstream;
let mistral: FakeUpstream;
let deepseek: FakeUpstream;
let deepseekBeta: FakeUpstream;
let gw: RunningGateway;

const FAST = { connect_ms: 1_000, headers_ms: 400, first_token_ms: 500, idle_ms: 300, total_ms: 8_000 };
const QUESTION = [{ role: 'user', content: 'Tell me about the fox.' }];
/** The first chunk carries the role only: content pieces start after it. */
const ROLE = 1;

const openai = (url: string, over: Record<string, unknown> = {}) => ({ ...anthropicProvider(`${url}/v1`, { max_retries: 0, timeouts: FAST }), type: 'openai' as const, keys: [{ value: 'sk-o' }], ...over });

beforeAll(async () => {
  [plain, refuser, vllm, mistral, deepseek, deepseekBeta] = await Promise.all([
    startFakeOpenAI(),
    startFakeAnthropic({ noPrefillModels: ['claude-no-prefill', 'claude-no-prefill-2'] }),
    startFakeOpenAI(),
    startFakeOpenAI(),
    startFakeOpenAI(),
    startFakeOpenAI(),
  ]);
  gw = await startGateway({
    providers: {
      oai: openai(plain.url),
      strict: anthropicProvider(refuser.url, { max_retries: 0, timeouts: FAST }),
      // Named after their presets: the preset says how each continues.
      vllm: openai(vllm.url),
      mistral: openai(mistral.url),
      deepseek: openai(deepseek.url, { continuation_base_url: `${deepseekBeta.url}/v1` }),
    },
  });
  await warmUp(gw);
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([plain, refuser, vllm, mistral, deepseek, deepseekBeta].map((f) => f?.close()));
});
afterEach(() => {
  for (const f of [plain, refuser, vllm, mistral, deepseek, deepseekBeta]) f.reset();
});

const firstAnswer = (model: string, faults: Parameters<typeof openaiAnswer>[2]) =>
  openaiAnswer({ model, stream: true, stream_options: { include_usage: true }, messages: QUESTION }, LONG_TEXT, faults);
const ask = (model: string, extra: Record<string, unknown> = {}) => send(gw, { model, max_tokens: 1000, messages: QUESTION, stream: true, ...extra });

describe('a target that cannot continue is passed over', () => {
  it('cut on a provider that cannot continue, a fallback that refuses prefill: the next capable fallback continues, and the refusal is remembered', async () => {
    plain.enqueue(firstAnswer('gpt-x', { cutAfter: ROLE + 40 }));
    refuser.setResponder((req) => anthropicAnswer(req.body, LONG_TEXT));
    vllm.setResponder((req) => openaiAnswer(req.body, LONG_TEXT));
    const body = { fallbacks: ['strict/claude-no-prefill', 'vllm/qwen'] };
    const reply = await ask('oai/gpt-x', body);
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(reply.ms).toBeLessThan(2_000);
    // OpenAI itself cannot continue (it would start a new answer): it was asked once.
    expect(plain.requests).toHaveLength(1);
    expect(refuser.requests).toHaveLength(1);
    expect(refuser.requests[0]!.body.messages.at(-1)).toEqual({ role: 'assistant', content: LONG_TEXT.slice(0, 160).trimEnd() });
    expect(vllm.requests).toHaveLength(1);
    const continuation = vllm.requests[0]!.body;
    // vLLM continues the final message as it is, whitespace included.
    expect(continuation.messages.at(-1)).toEqual({ role: 'assistant', content: LONG_TEXT.slice(0, 160) });
    expect([continuation.continue_final_message, continuation.add_generation_prompt]).toEqual([true, false]);
    expect(comments(reply.text)).toEqual(['x-bf-attempts: 3; continuations: cut on oai/gpt-x: continued on vllm/qwen (2 attempts)']);

    // The model's refusal was learnt: the next break goes straight to vLLM.
    plain.enqueue(firstAnswer('gpt-x', { cutAfter: ROLE + 40 }));
    const again = await ask('oai/gpt-x', body);
    expect(streamedText(expectOneMessage(again.text))).toBe(LONG_TEXT);
    expect(refuser.requests).toHaveLength(1);
    expect(vllm.requests).toHaveLength(2);
  });

  it('when no target can continue: event: error naming the cut, never the refusal of the prefill', async () => {
    plain.enqueue(firstAnswer('gpt-x', { cutAfter: ROLE + 40 }));
    refuser.setResponder((req) => anthropicAnswer(req.body, LONG_TEXT));
    const reply = await ask('oai/gpt-x', { fallbacks: ['strict/claude-no-prefill-2'] });
    const events = expectBrokenStream(reply.text);
    const error = events.at(-1)!.data.error;
    expect(error.message).toMatch(/^oai\/gpt-x: the upstream connection failed/);
    expect(error.message).not.toContain('prefill');
    expect(reply.text).not.toContain(PREFILL_REFUSAL);
    expect(streamedText(events)).toBe(LONG_TEXT.slice(0, 160));
    expect(refuser.requests).toHaveLength(1);
    expect(comments(reply.text)[0]).toContain('cut on oai/gpt-x: failed (1 attempt)');
  });

  it('JSON never carries a prefill: the same fallback serves it', async () => {
    plain.enqueue({ kind: 'reset' });
    refuser.setResponder((req) => anthropicAnswer(req.body, LONG_TEXT));
    const reply = await send(gw, { model: 'oai/gpt-x', fallbacks: ['strict/claude-no-prefill'], max_tokens: 1000, messages: QUESTION });
    expect(reply.json.content[0].text).toBe(LONG_TEXT);
    expect([plain.requests.length, refuser.requests.length]).toEqual([1, 1]);
  });
});

describe('each provider continues its own way', () => {
  it("vLLM ends a generation with finish_reason abort: failure kind aborted, continued on vLLM itself", async () => {
    const answer = firstAnswer('qwen', {}) as Extract<FakeReply, { kind: 'sse' }>;
    const aborted = dataFrame({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'qwen', choices: [{ index: 0, delta: {}, finish_reason: 'abort' }] });
    vllm.enqueue({ ...answer, events: [...answer.events.slice(0, ROLE + 30), aborted] });
    vllm.setResponder((req) => openaiAnswer(req.body, LONG_TEXT));
    const reply = await ask('vllm/qwen');
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(vllm.requests).toHaveLength(2);
    expect(vllm.requests[1]!.body.continue_final_message).toBe(true);
    expect(comments(reply.text)[0]).toContain('aborted on vllm/qwen: continued on vllm/qwen');
  });

  it('Mistral: prefix: true on the final assistant message', async () => {
    mistral.enqueue(firstAnswer('mistral-large', { cutAfter: ROLE + 25 }));
    mistral.setResponder((req) => openaiAnswer(req.body, LONG_TEXT));
    const reply = await ask('mistral/mistral-large');
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(mistral.requests).toHaveLength(2);
    expect(mistral.requests[1]!.body.messages.at(-1)).toEqual({ role: 'assistant', content: LONG_TEXT.slice(0, 100), prefix: true });
  });

  it('DeepSeek: prefix completion on its continuation base URL (the beta endpoint)', async () => {
    deepseek.enqueue(firstAnswer('deepseek-chat', { stallAfter: ROLE + 25 }));
    deepseekBeta.setResponder((req) => openaiAnswer(req.body, LONG_TEXT));
    const reply = await ask('deepseek/deepseek-chat');
    expect(streamedText(expectOneMessage(reply.text))).toBe(LONG_TEXT);
    expect(deepseek.requests).toHaveLength(1);
    expect(deepseekBeta.requests).toHaveLength(1);
    expect(deepseekBeta.requests[0]!.body.messages.at(-1)).toMatchObject({ role: 'assistant', prefix: true });
    expect(reply.ms).toBeGreaterThanOrEqual(290);
  });
});

describe('thinking', () => {
  const reasoning = 'Let me think about the fox and the dog for a while before I answer.';
  const thinkingAnswer = (cutAfter?: number): FakeReply => ({
    kind: 'sse',
    events: openaiChunks({ model: 'qwen', reasoning_content: reasoning, content: LONG_TEXT, chunkSize: 4, includeUsage: true }),
    cutAfter,
  });
  const reasoningPieces = Math.ceil(reasoning.length / 4);

  it('a break inside the thinking: event: error (a thinking block cannot be continued)', async () => {
    vllm.enqueue(thinkingAnswer(ROLE + 5));
    vllm.setResponder((req) => openaiAnswer(req.body, LONG_TEXT));
    const reply = await ask('vllm/qwen');
    expectBrokenStream(reply.text);
    expect(vllm.requests).toHaveLength(1);
    expect(comments(reply.text)[0]).toContain('cut on vllm/qwen: impossible');
  });

  it("a break in the text after it: continued; the continuation's own thinking is left out", async () => {
    vllm.enqueue(thinkingAnswer(ROLE + reasoningPieces + 20));
    vllm.setResponder((req) => ({
      kind: 'sse',
      events: openaiChunks({ model: 'qwen', reasoning_content: 'Thinking again.', content: LONG_TEXT.slice(80), chunkSize: 4, includeUsage: true }),
    }));
    const reply = await ask('vllm/qwen');
    const events = expectOneMessage(reply.text);
    expect(events.filter((e) => e.event === 'content_block_start').map((e) => e.data.content_block.type)).toEqual(['thinking', 'text']);
    const thinking = events.filter((e) => e.data?.delta?.type === 'thinking_delta').map((e) => e.data.delta.thinking).join('');
    expect(thinking).toBe(reasoning);
    expect(streamedText(events)).toBe(LONG_TEXT);
    // The prefix is the answer's text alone.
    expect(vllm.requests[1]!.body.messages.at(-1)).toEqual({ role: 'assistant', content: LONG_TEXT.slice(0, 80) });
  });
});
