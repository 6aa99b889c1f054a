/**
 * The fake Gemini against Google's own client, @google/genai: if the SDK reads the fake's answers,
 * streams and errors, the fake speaks the real protocol. The strict checks (schema keywords,
 * thought signatures) are driven through the same client, as a program using Gemini would hit them.
 */
import { createSign } from 'node:crypto';
import { ApiError, GoogleGenAI, type Content } from '@google/genai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_GEMINI_TEXT,
  FAKE_GEMINI_API_KEY,
  SKIP_THOUGHT_SIGNATURE,
  checkGeminiRequest,
  createFakeServiceAccount,
  geminiQuotaError,
  geminiReplies,
  geminiThoughtSignature,
  isValidThoughtSignature,
  startFakeGemini,
  type FakeGemini,
  type FakeServiceAccount,
} from '../src/index.js';

let sa: FakeServiceAccount;
let fake: FakeGemini;

beforeAll(async () => {
  sa = createFakeServiceAccount();
  fake = await startFakeGemini({ vertex: { project: 'fake-project', serviceAccounts: [sa] } });
});
afterEach(() => fake.reset());
afterAll(() => fake.close());

const client = (apiKey = FAKE_GEMINI_API_KEY) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: fake.url, retryOptions: { attempts: 1 } } });

const weather = {
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: { type: 'OBJECT', properties: { city: { type: 'STRING' } }, required: ['city'] },
};

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('@google/genai against the fake Gemini API', () => {
  it('generateContent, generateContentStream and countTokens', async () => {
    const ai = client();
    const answer = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'Hello there', config: { systemInstruction: 'Be brief.', maxOutputTokens: 64 } });
    expect(answer.text).toBe(DEFAULT_GEMINI_TEXT);
    expect(answer.usageMetadata).toMatchObject({ promptTokenCount: 5 });
    let streamed = '';
    for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'Hello there' })) streamed += chunk.text ?? '';
    expect(streamed).toBe(DEFAULT_GEMINI_TEXT);
    const counted = await ai.models.countTokens({ model: 'gemini-2.5-flash', contents: 'How many tokens is this?' });
    expect(counted.totalTokens).toBe(6);
    expect(fake.requests.map((r) => r.path + (r.query.size ? `?${r.query}` : ''))).toEqual([
      '/v1beta/models/gemini-2.5-flash:generateContent',
      '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse',
      '/v1beta/models/gemini-2.5-flash:countTokens',
    ]);
    expect(fake.requests[0]!.headers['x-goog-api-key']).toBe(FAKE_GEMINI_API_KEY);
  });

  it('a scripted answer with thoughts, a signed call and usage reads as the SDK expects, JSON and streamed', async () => {
    const { json, stream } = geminiReplies({ thoughts: 'The user wants the weather.', functionCalls: [{ name: 'get_weather', args: { city: 'Paris' }, signature: true }], usage: { promptTokenCount: 40, thoughtsTokenCount: 12 } });
    fake.enqueue(json, stream);
    const ai = client();
    const params = { model: 'gemini-3-pro-preview', contents: 'Weather in Paris?', config: { tools: [{ functionDeclarations: [weather] }], thinkingConfig: { includeThoughts: true } } };
    const answer = await ai.models.generateContent(params as never);
    expect(answer.functionCalls).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
    expect(answer.usageMetadata).toMatchObject({ promptTokenCount: 40, thoughtsTokenCount: 12 });
    const parts = answer.candidates![0]!.content!.parts!;
    expect(parts[0]).toMatchObject({ thought: true, text: 'The user wants the weather.' });
    expect(isValidThoughtSignature(parts[1]!.thoughtSignature)).toBe(true);
    const calls: unknown[] = [];
    for await (const chunk of await ai.models.generateContentStream(params as never)) calls.push(...(chunk.functionCalls ?? []));
    expect(calls).toEqual([{ name: 'get_weather', args: { city: 'Paris' } }]);
  });

  it('a maxOutputTokens above the model’s output limit is refused with the supported range', async () => {
    const err = await failure(client().models.generateContent({ model: 'gemini-2.0-flash', contents: 'hi', config: { maxOutputTokens: 32_000 } }));
    expect(err.status).toBe(400);
    expect(err.message).toContain('maxOutputTokens value of 32000 but the supported range is from 1 (inclusive) to 8193 (exclusive)');
    expect((await client().models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { maxOutputTokens: 32_000 } })).text).toBe(DEFAULT_GEMINI_TEXT);
  });

  it('errors reach the SDK with their status: a quota error, a key Gemini does not take', async () => {
    fake.enqueue(geminiQuotaError(7));
    const quota = await failure(client().models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    expect(quota.status).toBe(429);
    expect(quota.message).toContain('RESOURCE_EXHAUSTED');
    const badKey = await failure(client('AIzaNotAKnownKey').models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi' }));
    expect(badKey.status).toBe(400);
    expect(badKey.message).toContain('API_KEY_INVALID');
  });
});

describe('what the fake refuses, as Gemini does', () => {
  it('JSON Schema keywords Gemini does not know, in parameters: "Unknown name"', async () => {
    // The SDK passes keywords it does not know on to the service (it leaves out only additionalProperties).
    const loose = { ...weather, parameters: { type: 'object', properties: { city: { type: 'string', const: 'Paris' } } } };
    const err = await failure(client().models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { tools: [{ functionDeclarations: [loose as never] }] } }));
    expect(err.status).toBe(400);
    expect(err.message).toContain(`Unknown name \\"const\\" at 'tools[0].function_declarations[0].parameters.properties[city].value': Cannot find field.`);
    const empty = { ...weather, parameters: { type: 'OBJECT', properties: {} } };
    const emptyErr = await failure(client().models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { tools: [{ functionDeclarations: [empty as never] }] } }));
    expect(emptyErr.message).toContain('parameters.properties: should be non-empty for OBJECT type');
    const numbers = { ...weather, parameters: { type: 'OBJECT', properties: { level: { type: 'INTEGER', enum: [1, 2] } } } };
    const enumErr = await failure(client().models.generateContent({ model: 'gemini-2.5-flash', contents: 'hi', config: { tools: [{ functionDeclarations: [numbers as never] }] } }));
    expect(enumErr.message).toContain("properties[level].value.enum[0]' (TYPE_STRING), 1");
  });

  it('a function-calling turn of Gemini 3 must carry its signature, unaltered', async () => {
    const ai = client();
    const tools = [{ functionDeclarations: [weather] }];
    const first = await ai.models.generateContent({ model: 'gemini-3-pro-preview', contents: 'CALL_TOOL: weather in Rome', config: { tools } as never });
    const modelTurn = first.candidates![0]!.content! as Content;
    const signature = modelTurn.parts![0]!.thoughtSignature!;
    expect(isValidThoughtSignature(signature)).toBe(true);
    const history = (turn: Content): Content[] => [
      { role: 'user', parts: [{ text: 'CALL_TOOL: weather in Rome' }] },
      turn,
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: '28°C' } } }] },
    ];
    const second = await ai.models.generateContent({ model: 'gemini-3-pro-preview', contents: history(modelTurn), config: { tools } as never });
    expect(second.text).toBe(DEFAULT_GEMINI_TEXT);

    const call = modelTurn.parts![0]!.functionCall!;
    const missing = await failure(ai.models.generateContent({ model: 'gemini-3-pro-preview', contents: history({ role: 'model', parts: [{ functionCall: call }] }), config: { tools } as never }));
    expect(missing.status).toBe(400);
    expect(missing.message).toContain('Function call is missing a thought_signature in functionCall parts');
    const altered = `${signature.slice(0, 8)}${signature[8] === 'A' ? 'B' : 'A'}${signature.slice(9)}`;
    const corrupted = await failure(ai.models.generateContent({ model: 'gemini-3-pro-preview', contents: history({ role: 'model', parts: [{ functionCall: call, thoughtSignature: altered }] }), config: { tools } as never }));
    expect(corrupted.message).toContain('Corrupted thought signature.');
    const stand_in = await ai.models.generateContent({ model: 'gemini-3-pro-preview', contents: history({ role: 'model', parts: [{ functionCall: call, thoughtSignature: SKIP_THOUGHT_SIGNATURE }] }), config: { tools } as never });
    expect(stand_in.text).toBe(DEFAULT_GEMINI_TEXT);
  });

  it('turns before the current one are not checked for missing signatures; Gemini 2.5 does not require them', async () => {
    const ai = client();
    const tools = [{ functionDeclarations: [weather] }];
    const earlier: Content[] = [
      { role: 'user', parts: [{ text: 'Weather in Oslo?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { output: 'snow' } } }] },
      { role: 'model', parts: [{ text: 'It snows.' }] },
      { role: 'user', parts: [{ text: 'Thanks!' }] },
    ];
    expect((await ai.models.generateContent({ model: 'gemini-3-pro-preview', contents: earlier, config: { tools } as never })).text).toBe(DEFAULT_GEMINI_TEXT);
    expect((await ai.models.generateContent({ model: 'gemini-2.5-pro', contents: earlier.slice(0, 3), config: { tools } as never })).text).toBe(DEFAULT_GEMINI_TEXT);
    expect(isValidThoughtSignature(geminiThoughtSignature())).toBe(true);
    expect(isValidThoughtSignature('Zm9yZ2Vk')).toBe(false);
  });
});

describe('@google/genai on Vertex AI against the fake', () => {
  async function token(): Promise<string> {
    const iat = Math.floor(Date.now() / 1000);
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const input = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc({ iss: sa.clientEmail, scope: 'https://www.googleapis.com/auth/cloud-platform', aud: `${fake.url}/token`, iat, exp: iat + 3600 })}`;
    const jwt = `${input}.${createSign('RSA-SHA256').update(input).sign(sa.privateKeyPem).toString('base64url')}`;
    const res = await fetch(`${fake.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: jwt }).toString(),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  function vertexClient(bearer: string, project = 'fake-project'): GoogleGenAI {
    const authClient = { getRequestHeaders: async () => new Headers({ authorization: `Bearer ${bearer}` }) };
    return new GoogleGenAI({ vertexai: true, project, location: 'us-central1', googleAuthOptions: { authClient: authClient as never }, httpOptions: { baseUrl: fake.url, retryOptions: { attempts: 1 } } });
  }

  it('generateContent, the stream and countTokens on publishers/google, with an OAuth token', async () => {
    const ai = vertexClient(await token());
    expect((await ai.models.generateContent({ model: 'gemini-2.5-pro', contents: 'Hello' })).text).toBe(DEFAULT_GEMINI_TEXT);
    let streamed = '';
    for await (const chunk of await ai.models.generateContentStream({ model: 'gemini-2.5-pro', contents: 'Hello' })) streamed += chunk.text ?? '';
    expect(streamed).toBe(DEFAULT_GEMINI_TEXT);
    expect((await ai.models.countTokens({ model: 'gemini-2.5-pro', contents: 'How many tokens is this?' })).totalTokens).toBe(6);
    expect(fake.requests.filter((r) => r.path !== '/token').map((r) => r.path)).toEqual([
      '/v1beta1/projects/fake-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent',
      '/v1beta1/projects/fake-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:streamGenerateContent',
      '/v1beta1/projects/fake-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:countTokens',
    ]);
  });

  it('a token the fake did not issue: 401; another project: 403', async () => {
    expect((await failure(vertexClient('ya29.forged').models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi' }))).status).toBe(401);
    expect((await failure(vertexClient(await token(), 'not-mine').models.generateContent({ model: 'gemini-2.5-pro', contents: 'hi' }))).status).toBe(403);
  });
});

describe('checkGeminiRequest', () => {
  const base = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };
  const check = (extra: Record<string, unknown>) => checkGeminiRequest({ ...base, ...extra }, { requireSignatures: false })?.message ?? null;
  const fn = (parameters: unknown) => ({ tools: [{ functionDeclarations: [{ name: 'f', parameters }] }] });

  it('accepts what the gateway sends', () => {
    expect(check({ systemInstruction: { parts: [{ text: 'Be brief.' }] }, generationConfig: { maxOutputTokens: 10, stopSequences: ['a'], thinkingConfig: { includeThoughts: true, thinkingBudget: 1024 } } })).toBeNull();
    expect(check(fn({ type: 'OBJECT', properties: { a: { type: 'ARRAY', items: {} }, b: { type: 'STRING', enum: ['x'] } }, required: ['a'] }))).toBeNull();
  });

  it.each([
    ['additionalProperties', { type: 'OBJECT', properties: { a: { type: 'STRING' } }, additionalProperties: false }],
    ['$ref', { type: 'OBJECT', properties: { a: { $ref: '#/$defs/A' } } }],
    ['$schema', { $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'OBJECT', properties: { a: { type: 'STRING' } } }],
    ['oneOf', { type: 'OBJECT', properties: { a: { oneOf: [{ type: 'STRING' }] } } }],
  ])('refuses %s in parameters', (keyword, parameters) => {
    expect(check(fn(parameters))).toMatch(new RegExp(`^Invalid JSON payload received. Unknown name "\\${keyword}" at 'tools\\[0\\].function_declarations\\[0\\].parameters`));
  });

  it('refuses an ARRAY without items, more than 5 stop sequences, unknown fields, an invalid function name', () => {
    expect(check(fn({ type: 'OBJECT', properties: { a: { type: 'ARRAY' } } }))).toContain('parameters.properties[a].value.items: missing field.');
    expect(check({ generationConfig: { stopSequences: ['1', '2', '3', '4', '5', '6'] } })).toContain('Only up to 5 stop sequences are supported.');
    expect(check({ generationConfig: { max_tokens: 5 } })).toContain(`Unknown name "max_tokens" at 'generation_config'`);
    expect(check({ stream: true })).toContain('Unknown name "stream"');
    expect(check({ tools: [{ functionDeclarations: [{ name: '1f' }] }] })).toContain('Invalid function name');
    expect(check({ generationConfig: { responseSchema: { type: 'OBJECT', properties: {}, title: 'x' } } })).toContain('generation_config.response_schema.properties: should be non-empty for OBJECT type');
  });
});
