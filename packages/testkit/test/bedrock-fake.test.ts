/**
 * The fake Bedrock Runtime against the vendors' own clients: the AWS SDK (SigV4, its event-stream
 * decoder, its error mapping) and Anthropic's Bedrock SDK. If these accept the fake, the fake
 * speaks the real protocol; if the fake accepts their signatures and refuses altered ones, its
 * signature check is the real one.
 */
import AnthropicBedrock from '@anthropic-ai/bedrock-sdk';
import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InvokeModelCommand,
  InvokeModelWithResponseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_BEDROCK_API_KEY,
  FAKE_BEDROCK_CREDENTIALS,
  bedrockClaudeMessage,
  bedrockExceptionFrame,
  bedrockInvokeFrames,
  bedrockStreamReply,
  bedrockError,
  startFakeBedrock,
  verifySigV4,
  type FakeUpstream,
} from '../src/index.js';

const CLAUDE = 'anthropic.claude-sonnet-4-5-20250929-v1:0';
const PROFILE = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const NOVA = 'amazon.nova-pro-v1:0';

let fake: FakeUpstream;
beforeAll(async () => {
  fake = await startFakeBedrock();
});
afterEach(() => fake.reset());
afterAll(() => fake.close());

function sdkClient(secret = FAKE_BEDROCK_CREDENTIALS.secretAccessKey): BedrockRuntimeClient {
  return new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: fake.url,
    credentials: { accessKeyId: FAKE_BEDROCK_CREDENTIALS.accessKeyId, secretAccessKey: secret },
    // The SDK defaults to HTTP/2; the fake serves HTTP/1.1 (so does Bedrock).
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
}

const claudeBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 64, messages: [{ role: 'user', content: 'Hello there' }], ...extra });

describe('the AWS SDK against the fake Bedrock', () => {
  it('InvokeModel with a model id containing ":" (signed with the path double-encoded)', async () => {
    const out = await sdkClient().send(new InvokeModelCommand({ modelId: CLAUDE, contentType: 'application/json', accept: 'application/json', body: claudeBody() }));
    const message = JSON.parse(Buffer.from(out.body).toString('utf8'));
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [{ type: 'text', text: 'Hello from the fake Bedrock upstream.' }] });
    expect(fake.requests[0]!.path).toBe('/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke');
  });

  it('a wrong secret: the fake recomputes the signature and refuses it as Bedrock does', async () => {
    const err = await sdkClient('not-the-secret').send(new InvokeModelCommand({ modelId: CLAUDE, body: claudeBody() })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } });
    expect((err as Error).message).toMatch(/signature we calculated does not match/);
  });

  it('the signature covers the method, the path, the signed headers, the body and the clock', async () => {
    await sdkClient().send(new InvokeModelCommand({ modelId: CLAUDE, body: claudeBody() }));
    const rec = fake.requests[0]!;
    const at = Date.now();
    const opts = { credentials: [FAKE_BEDROCK_CREDENTIALS], region: 'us-east-1', service: 'bedrock', now: () => at };
    const signed = { method: rec.method, url: rec.path, headers: rec.headers, body: rec.rawBody };
    expect(verifySigV4(signed, opts)).toBeNull();
    expect(verifySigV4({ ...signed, body: rec.rawBody.replace('Hello', 'Jello') }, opts)?.errorType).toBe('InvalidSignatureException');
    expect(verifySigV4({ ...signed, url: rec.path.replace('%3A0', '%3A1') }, opts)?.errorType).toBe('InvalidSignatureException');
    expect(verifySigV4({ ...signed, method: 'PUT' }, opts)?.errorType).toBe('InvalidSignatureException');
    expect(verifySigV4({ ...signed, headers: { ...rec.headers, 'content-type': 'text/plain' } }, opts)?.errorType).toBe('InvalidSignatureException');
    expect(verifySigV4(signed, { ...opts, region: 'eu-west-1' })?.message).toMatch(/scoped to a valid region/);
    expect(verifySigV4(signed, { ...opts, now: () => at + 10 * 60_000 })?.message).toMatch(/Signature expired/);
    expect(verifySigV4(signed, { ...opts, credentials: [{ ...FAKE_BEDROCK_CREDENTIALS, sessionToken: 'tok' }] })?.errorType).toBe('UnrecognizedClientException');
  });

  it('InvokeModelWithResponseStream: the SDK decodes every frame; message_stop carries Bedrock’s metrics', async () => {
    const out = await sdkClient().send(new InvokeModelWithResponseStreamCommand({ modelId: PROFILE, body: claudeBody() }));
    const events: any[] = [];
    for await (const part of out.body!) events.push(JSON.parse(Buffer.from(part.chunk!.bytes!).toString('utf8')));
    expect(events.map((e) => e.type)).toEqual([
      'message_start', 'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    expect(events.at(-1)['amazon-bedrock-invocationMetrics']).toMatchObject({ inputTokenCount: expect.any(Number), outputTokenCount: expect.any(Number) });
  });

  it('an exception frame inside the stream surfaces as the SDK’s typed exception', async () => {
    const frames = bedrockInvokeFrames(bedrockClaudeMessage(CLAUDE));
    fake.enqueue(bedrockStreamReply([...frames.slice(0, 3), bedrockExceptionFrame('throttlingException', 'Too many tokens, please wait before trying again.')]));
    const out = await sdkClient().send(new InvokeModelWithResponseStreamCommand({ modelId: CLAUDE, body: claudeBody() }));
    const err = await (async () => {
      for await (const _ of out.body!) void _;
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ThrottlingException', message: 'Too many tokens, please wait before trying again.' });
  });

  it('errors carry x-amzn-ErrorType, which the SDK maps to its exception classes', async () => {
    fake.enqueue(bedrockError(429, 'ThrottlingException', 'Rate exceeded'));
    const err = await sdkClient().send(new InvokeModelCommand({ modelId: CLAUDE, body: claudeBody() })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ThrottlingException', message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
  });

  it('strict: a Claude body with model or an unknown beta is a ValidationException', async () => {
    const withModel = await sdkClient().send(new InvokeModelCommand({ modelId: CLAUDE, body: claudeBody({ model: 'x' }) })).catch((e: unknown) => e);
    expect(withModel).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('extraneous key [model]') });
    const beta = await sdkClient().send(new InvokeModelCommand({ modelId: CLAUDE, body: claudeBody({ anthropic_beta: ['files-api-2025-04-14'] }) })).catch((e: unknown) => e);
    expect(beta).toMatchObject({ name: 'ValidationException', message: 'invalid beta flag' });
  });

  it('Converse and ConverseStream', async () => {
    const client = sdkClient();
    const conversation = { modelId: NOVA, messages: [{ role: 'user' as const, content: [{ text: 'Hello there' }] }], inferenceConfig: { maxTokens: 64 } };
    const out = await client.send(new ConverseCommand(conversation));
    expect(out.output?.message?.content).toEqual([{ text: 'Hello from the fake Bedrock upstream.' }]);
    expect(out.stopReason).toBe('end_turn');
    expect(out.usage).toMatchObject({ inputTokens: 3, outputTokens: expect.any(Number) });
    const stream = await client.send(new ConverseStreamCommand(conversation));
    let text = '';
    const kinds: string[] = [];
    for await (const ev of stream.stream!) {
      kinds.push(Object.keys(ev)[0]!);
      text += ev.contentBlockDelta?.delta?.text ?? '';
    }
    expect(text).toBe('Hello from the fake Bedrock upstream.');
    expect(kinds[0]).toBe('messageStart');
    expect(kinds.slice(-3)).toEqual(['contentBlockStop', 'messageStop', 'metadata']);
  });

  it('strict Converse: what the real service refuses', async () => {
    const err = await sdkClient()
      .send(new ConverseCommand({ modelId: NOVA, messages: [{ role: 'user', content: [{ text: 'a' }] }, { role: 'user', content: [{ text: 'b' }] }] }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ValidationException', message: expect.stringContaining('must alternate') });
  });

  it('CountTokens for a Claude body; a model without CountTokens answers 400', async () => {
    const out = await sdkClient().send(new CountTokensCommand({ modelId: CLAUDE, input: { invokeModel: { body: new TextEncoder().encode(claudeBody()) } } }));
    expect(out.inputTokens).toBe(3);
    const err = await sdkClient()
      .send(new CountTokensCommand({ modelId: NOVA, input: { converse: { messages: [{ role: 'user', content: [{ text: 'hi' }] }] } } }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ValidationException' });
  });

  it('a Bedrock API key (bearer) is accepted, a wrong one refused', async () => {
    const ok = await fetch(`${fake.url}/model/${encodeURIComponent(CLAUDE)}/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${FAKE_BEDROCK_API_KEY}`, 'content-type': 'application/json' },
      body: claudeBody(),
    });
    expect(ok.status).toBe(200);
    const bad = await fetch(`${fake.url}/model/${encodeURIComponent(CLAUDE)}/invoke`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope', 'content-type': 'application/json' },
      body: claudeBody(),
    });
    expect(bad.status).toBe(403);
    expect(bad.headers.get('x-amzn-errortype')).toMatch(/^UnrecognizedClientException:/);
  });

  it('no credential at all: 403 MissingAuthenticationTokenException', async () => {
    const res = await fetch(`${fake.url}/model/${encodeURIComponent(CLAUDE)}/invoke`, { method: 'POST', body: claudeBody() });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: 'Missing Authentication Token' });
  });
});

describe('Anthropic’s Bedrock SDK against the fake', () => {
  const client = () =>
    new AnthropicBedrock({
      awsAccessKey: FAKE_BEDROCK_CREDENTIALS.accessKeyId,
      awsSecretKey: FAKE_BEDROCK_CREDENTIALS.secretAccessKey,
      awsRegion: 'us-east-1',
      baseURL: fake.url,
      maxRetries: 0,
    });

  it('messages.create and messages.stream().finalMessage() agree', async () => {
    const params = { model: CLAUDE, max_tokens: 64, messages: [{ role: 'user' as const, content: 'Hello there' }] };
    const created = await client().messages.create(params);
    const streamed = await client().messages.stream(params).finalMessage();
    expect(created.content).toEqual([{ type: 'text', text: 'Hello from the fake Bedrock upstream.' }]);
    expect(streamed.content).toEqual(created.content);
    expect(streamed.usage.output_tokens).toBe(created.usage.output_tokens);
    // This client leaves ":" as it is in the path (the AWS SDK sends %3A): the signature holds either way.
    expect(fake.requests.map((r) => r.path)).toEqual([
      '/model/anthropic.claude-sonnet-4-5-20250929-v1:0/invoke',
      '/model/anthropic.claude-sonnet-4-5-20250929-v1:0/invoke-with-response-stream',
    ]);
  });
});
