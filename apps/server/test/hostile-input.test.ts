/**
 * Bad input gets a clear 4xx in Anthropic's envelope, before any upstream call: model ids that
 * cannot go in a header, names that are Object.prototype members, bodies nested too deep, echoes
 * of huge client text, malformed HTTP, path segments that would rewrite an upstream URL, and
 * empty credential headers.
 */
import { connect } from 'node:net';
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config/load.js';
import { pollUntilDone, sleep } from './helpers/async.js';
import { expectContractResponse } from './helpers/contract.js';
import { startGateway, type RunningGateway } from './helpers/gateway.js';
import { captureLog, linesWith, type CapturedLog } from './helpers/log.js';

const MESSAGES = '/anthropic/v1/messages';
const COUNT = '/anthropic/v1/messages/count_tokens';

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let gw: RunningGateway;
let log: CapturedLog;

beforeAll(async () => {
  // Bearer tokens are credentials too: the fake must not insist on x-api-key.
  anthropic = await startFakeAnthropic({ requireAuth: false });
  openai = await startFakeOpenAI();
  log = captureLog();
  gw = await startGateway(
    {
      default_provider: 'anthropic',
      pricing: { 'anthropic/claude-sonnet-4-5': { input_per_mtok: 3, output_per_mtok: 15 } },
      models: { fast: { target: 'anthropic/claude-haiku-4-5' } },
      providers: {
        anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: 'sk-upstream-key' }], max_retries: 0 },
        passthrough: { type: 'anthropic', base_url: anthropic.url, max_retries: 0 },
        azure: { type: 'openai', base_url: openai.url, keys: [{ value: 'az-key' }], azure: { api_version: '2024-10-21' }, max_retries: 0 },
        local: { type: 'openai', base_url: openai.url, max_retries: 0 },
      },
    },
    { logger: log.logger },
  );
  // The first validated request compiles the contract: pay for it here, not in a test.
  await post(MESSAGES, {});
}, 30_000);
afterAll(async () => {
  await gw?.close();
  await anthropic?.close();
  await openai?.close();
});
afterEach(() => {
  anthropic.reset();
  openai.reset();
});

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function post(path: string, body: unknown, headers: Record<string, string> = { 'x-api-key': 'client-key' }): Promise<Reply> {
  const res = await fetch(gw.url + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const ask = (model: string, extra: object = {}) => ({ model, max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }], ...extra });

function expect400(reply: Reply, field: RegExp): void {
  expect(reply.status, reply.text.slice(0, 300)).toBe(400);
  expect(reply.json).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  expect(reply.json.error.message).toMatch(field);
  expect(reply.json.request_id).toBe(reply.headers.get('request-id'));
}

/** Every route that takes a model: sync JSON, stream, count_tokens and async submit. */
async function everyRoute(body: Record<string, unknown>): Promise<Array<[string, Reply]>> {
  return [
    ['messages', await post(MESSAGES, body)],
    ['stream', await post(MESSAGES, { ...body, stream: true })],
    ['count_tokens', await post(COUNT, body)],
    ['async submit', await post(MESSAGES, body, { 'x-api-key': 'client-key', 'x-bf-async': 'true' })],
  ];
}

describe('model ids that cannot go in a header', () => {
  const bad: Array<[string, string]> = [
    ['a character outside Latin-1', 'anthropic/claude-\u0100'],
    ['a Latin-1 letter (headers carry only ASCII safely)', 'anthropic/claude-é'],
    ['an emoji', 'anthropic/claude-😀'],
    ['a control character', 'anthropic/claude\u0007'],
    ['CR/LF', 'anthropic/claude\r\nx-injected: yes'],
    ['a C1 control character', 'anthropic/claude\u0085'],
    ['more than 256 characters', `anthropic/${'c'.repeat(247)}`],
  ];

  it.each(bad)('%s in `model` is a 400 naming the field on every route, before any upstream call', async (_what, model) => {
    for (const [route, reply] of await everyRoute(ask(model))) {
      expect400(reply, /^model: /);
      expect(reply.json.error.message, route).not.toContain('\r');
    }
    expect(anthropic.requests).toHaveLength(0);
  });

  it('a bad string in `fallbacks` is a 400 naming it, before any upstream call', async () => {
    // count_tokens has no fallbacks: the field is ignored there.
    for (const [route, reply] of await everyRoute(ask('anthropic/claude-sonnet-4-5', { fallbacks: ['anthropic/ok', 'anthropic/bad\u0000id'] }))) {
      if (route !== 'count_tokens') expect400(reply, /^fallbacks\.1: /);
    }
    const sync = await post(MESSAGES, ask('anthropic/claude-sonnet-4-5', { fallbacks: ['anthropic/ok', 'anthropic/bad\u0000id'] }));
    expect400(sync, /^fallbacks\.1: /);
    const submit = await post(MESSAGES, ask('anthropic/claude-sonnet-4-5', { fallbacks: ['anthropic/\u2028'] }), {
      'x-api-key': 'client-key',
      'x-bf-async': 'true',
    });
    expect400(submit, /^fallbacks\.0: /);
    expect(anthropic.requests.filter((r) => r.path === '/v1/messages')).toHaveLength(0);
  });

  it('the message says what a model id may contain', async () => {
    const reply = await post(MESSAGES, ask('anthropic/claude\u0007'));
    expect(reply.json.error.message).toBe('model: must be printable ASCII (no control characters, no CR or LF)');
    const long = await post(MESSAGES, ask(`anthropic/${'c'.repeat(300)}`));
    expect(long.json.error.message).toBe('model: must NOT have more than 256 characters');
    expectContractResponse(MESSAGES, 'post', 400, long.json);
  });

  it('a 256-character model id of printable ASCII is served, and named in x-bf-model', async () => {
    const id = `m ~!@#$%^&*()_+{}|:"<>?[]\\;',./=${'x'.repeat(214)}`;
    const model = `anthropic/${id}`;
    expect(model).toHaveLength(256);
    const reply = await post(MESSAGES, ask(model));
    expect(reply.status).toBe(200);
    expect(anthropic.requests[0]!.body.model).toBe(id);
    expect(reply.headers.get('x-bf-model')).toBe(id);
  });
});

describe('model names that are Object.prototype members', () => {
  const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

  it.each(names)('"%s" is an ordinary model name on every route', async (name) => {
    const replies = await everyRoute(ask(name));
    const job = replies[3]![1].headers.get('x-bf-async-id');
    if (job) expect((await pollUntilDone(gw.url, job)).status).toBe(200);
    expect(replies.map(([route, r]) => [route, r.status])).toEqual([
      ['messages', 200],
      ['stream', 200],
      ['count_tokens', 200],
      ['async submit', 202],
    ]);
    expect(anthropic.requests.slice(0, 3).map((r) => r.body.model)).toEqual([name, name, name]);
    expect((await post(MESSAGES, ask(`anthropic/${name}`))).status).toBe(200);
  });

  it('as a provider prefix it is an unknown provider (400), and as a fallback an ordinary model', async () => {
    expect400(await post(MESSAGES, ask('__proto__/claude')), /^model: unknown provider "__proto__"/);
    expect400(await post(MESSAGES, ask('constructor/claude')), /^model: unknown provider "constructor"/);
    anthropic.enqueue({ kind: 'json', status: 503, body: { type: 'error', error: { type: 'overloaded_error', message: 'busy' } } });
    const reply = await post(MESSAGES, ask('anthropic/claude-sonnet-4-5', { fallbacks: ['anthropic/toString'] }));
    expect(reply.status).toBe(200);
    expect(reply.headers.get('x-bf-model')).toBe('toString');
  });

  it('a job polled for its result keeps the name', async () => {
    const submitted = await post(MESSAGES, ask('constructor'), { 'x-api-key': 'client-key', 'x-bf-async': 'true' });
    expect(submitted.status).toBe(202);
    const done = await pollUntilDone(gw.url, submitted.headers.get('x-bf-async-id')!);
    expect(done.status).toBe(200);
  });
});

describe('deeply nested bodies', () => {
  const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  /** A body whose deepest value is `depth` levels down, counting the body object itself as level 1. */
  const bodyOfDepth = (depth: number, route = MESSAGES) =>
    `{"model":"anthropic/claude-sonnet-4-5",${route === MESSAGES ? '"max_tokens":8,' : ''}"messages":[{"role":"user","content":"Hi"}],"x_extra":${nested(depth - 1)}}`;

  it('a body 5,000 levels deep is a 400 naming the limit on every route, before any upstream call', async () => {
    for (const route of [MESSAGES, COUNT]) expect400(await post(route, bodyOfDepth(5_000, route)), /nested deeper than 128 levels/);
    expect400(await post(MESSAGES, bodyOfDepth(5_000), { 'x-api-key': 'k', 'x-bf-async': 'true' }), /nested deeper than 128 levels/);
    expect400(await post(MESSAGES, `{"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":${nested(100_000)}}]}]}`), /nested/);
    expect(anthropic.requests).toHaveLength(0);
  });

  it('exactly 128 levels are served; 129 are not', async () => {
    expect((await post(MESSAGES, bodyOfDepth(128))).status).toBe(200);
    expect400(await post(MESSAGES, bodyOfDepth(129)), /^request body is nested deeper than 128 levels/);
  });

  it('brackets inside strings do not count', async () => {
    const body = ask('anthropic/claude-sonnet-4-5', { messages: [{ role: 'user', content: `"\\[{${'['.repeat(10_000)}` }] });
    expect((await post(MESSAGES, body)).status).toBe(200);
  });

  it('an unexpected failure is a 500 whose cause is logged', async () => {
    const router = gw.gateway.router;
    const original = router.createMessage;
    router.createMessage = async () => {
      throw new TypeError('the handler tripped', { cause: new RangeError('root cause of the failure') });
    };
    try {
      const reply = await post(MESSAGES, ask('anthropic/claude-sonnet-4-5'));
      expect(reply.status).toBe(500);
      expect(reply.json.error).toEqual({ type: 'api_error', message: 'internal gateway error' });
      const [line] = (await linesWith(log, 'request', 1)).filter((l) => l.req_id === reply.headers.get('request-id'));
      expect(line!.err.message).toMatch(/^the handler tripped/);
      expect(line!.err.stack).toMatch(/^TypeError: the handler tripped\n\s+at /);
      expect(JSON.stringify(line!.err)).toContain('root cause of the failure');
    } finally {
      router.createMessage = original;
    }
  });
});

describe('client text echoed in answers and logs', () => {
  it('an 8 MB model name is not repeated back', async () => {
    const logged = log.raw().length;
    const reply = await post(MESSAGES, ask(`nope/${'m'.repeat(8 * 1024 * 1024)}`));
    expect400(reply, /^model: /);
    expect(reply.text.length).toBeLessThan(1_000);
    await sleep(20);
    expect(log.raw().length - logged).toBeLessThan(10_000);
  });

  it('routing errors quote a model id cut short', async () => {
    const model = `nope-${'x'.repeat(200)}/claude`;
    const reply = await post(MESSAGES, ask(model));
    expect400(reply, /^model: unknown provider "nope-x{59}…" \(205 characters\) in "nope-x{59}…" \(212 characters\); configured providers: /);
  });

  it('a 4 MB block type is refused by its length, never echoed, in the answer and in the log', async () => {
    const type = `t${'y'.repeat(4 * 1024 * 1024)}`;
    const replies = [
      // a type the contract does not know (taken as Anthropic's next block type when short), on both provider kinds
      await post(MESSAGES, ask('local/gpt-4o', { messages: [{ role: 'user', content: [{ type }] }] })),
      await post(MESSAGES, ask('anthropic/claude-sonnet-4-5', { messages: [{ role: 'user', content: [{ type, text: 7 }] }] })),
    ];
    for (const reply of replies) {
      expect(reply.status).toBe(400);
      expect(reply.json.error.message).toBe('messages.0.content.0.type: must NOT have more than 128 characters');
      expect(reply.text.length).toBeLessThan(1_000);
    }
    const lines = (await linesWith(log, 'request', 1)).filter((l) => replies.some((r) => r.headers.get('request-id') === l.req_id));
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(JSON.stringify(line).length).toBeLessThan(3_000);
  });

  it("the log line cuts a long upstream error at 2,000 characters (the answer relays it whole)", async () => {
    const message = `upstream says: ${'e'.repeat(10_000)}`;
    anthropic.enqueue({ kind: 'json', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message } } });
    const reply = await post(MESSAGES, ask('anthropic/claude-sonnet-4-5'));
    expect(reply.status).toBe(400);
    expect(reply.json.error.message).toBe(message);
    const [line] = (await linesWith(log, 'request', 1)).filter((l) => l.req_id === reply.headers.get('request-id'));
    expect(line!.error).toBe(`${message.slice(0, 2_000)}… (${message.length} characters)`);
  });

  it('an unknown route quotes a long path cut short', async () => {
    const res = await fetch(`${gw.url}/${'p'.repeat(8_000)}`);
    const body = (await res.json()) as any;
    expect(res.status).toBe(404);
    expect(body.error.message).toMatch(/^no route for GET "\/p{63}…" \(8001 characters\)$/);
    const [line] = (await linesWith(log, 'request', 1)).filter((l) => l.req_id === res.headers.get('request-id'));
    expect(line!.path.length).toBeLessThan(600);
  });

  it('the log line keeps a requested model whole and its error short', async () => {
    const model = `nope/${'a'.repeat(251)}`;
    const reply = await post(MESSAGES, ask(model));
    expect(reply.status).toBe(400);
    const [line] = (await linesWith(log, 'request', 1)).filter((l) => l.req_id === reply.headers.get('request-id'));
    expect(line!.requested_model).toBe(model);
    expect(line!.error.length).toBeLessThan(400);
  });
});

/** Sends raw bytes on a fresh connection; resolves with everything the server sent once it closes. */
function rawExchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const url = new URL(gw.url);
    const socket = connect(Number(url.port), url.hostname);
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (received += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(received));
    socket.setTimeout(5_000, () => socket.destroy(new Error('no answer in 5 s')));
    socket.write(Buffer.from(bytes, 'latin1'));
  });
}

function parseRawResponse(raw: string): { status: number; headers: Record<string, string>; body: any } {
  const end = raw.indexOf('\r\n\r\n');
  const [statusLine, ...headerLines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(raw.slice(end + 4)) };
}

describe('malformed HTTP', () => {
  it('a header value with a control character gets a 400 in the envelope, then the connection closes', async () => {
    const raw = await rawExchange(`POST ${MESSAGES} HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\nContent-Length: 2\r\n\r\n{}`);
    const res = parseRawResponse(raw);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers.connection).toBe('close');
    expect(res.headers['request-id']).toMatch(/^req_/);
    expect(res.body).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^malformed HTTP request: /) },
      request_id: res.headers['request-id'],
    });
    expectContractResponse(MESSAGES, 'post', 400, res.body);
  });

  it('headers over the size limit get a 431 in the envelope', async () => {
    const raw = await rawExchange(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    const res = parseRawResponse(raw);
    expect(res.status).toBe(431);
    expect(res.headers.connection).toBe('close');
    expect(res.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/headers are too large/) } });
    expect(res.body.request_id).toBe(res.headers['request-id']);
    expectContractResponse(MESSAGES, 'post', 431, res.body);
    expectContractResponse('/anthropic/v1/messages/count_tokens', 'post', 431, res.body);
    expectContractResponse('/anthropic/v1/models', 'get', 431, res.body);
  });

  it('a broken request line gets a 400 in the envelope', async () => {
    const res = parseRawResponse(await rawExchange('NOT-HTTP\r\n\r\n'));
    expect(res.status).toBe(400);
    expect(res.body.type).toBe('error');
  });

  it('the gateway keeps serving afterwards', async () => {
    await rawExchange(`GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: \u0000\r\n\r\n`);
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });
});

describe('names that become URL path segments', () => {
  it.each(['..', '.'])('an Azure deployment named "%s" is a 400 naming the field, before any upstream call', async (name) => {
    expect400(await post(MESSAGES, ask(`azure/${name}`)), /^model: /);
    expect400(await post(MESSAGES, ask(`azure/${name}`, { stream: true })), /^model: /);
    expect400(await post(MESSAGES, ask(`azure/${name}`), { 'x-api-key': 'k', 'x-bf-async': 'true' }), /^model: /);
    expect400(await post(MESSAGES, ask('azure/my-gpt', { fallbacks: [`azure/${name}`] })), /^fallbacks\[0\]: /);
    expect(openai.requests).toHaveLength(0);
  });

  it('dots inside a deployment name are fine', async () => {
    const reply = await post(MESSAGES, ask('azure/gpt-4.1.mini'));
    expect(reply.status).toBe(200);
    expect(openai.requests[0]!.path).toBe('/openai/deployments/gpt-4.1.mini/chat/completions');
  });

  it('azure.deployment ".." in the config stops start-up naming the field', () => {
    const config = { providers: { az: { type: 'openai', base_url: 'http://127.0.0.1:1', azure: { deployment: '..' } } } };
    expect(() => parseConfig(config, {})).toThrow(ConfigError);
    expect(() => parseConfig(config, {})).toThrow(/providers\.az\.azure\.deployment: /);
  });
});

describe("the client's credential", () => {
  it('an empty x-api-key beside a bearer token: the job belongs to the token, not to "anonymous"', async () => {
    const submitted = await post(MESSAGES, ask('passthrough/claude-sonnet-4-5'), {
      'x-api-key': '',
      authorization: 'Bearer alice-key',
      'x-bf-async': 'true',
    });
    expect(submitted.status).toBe(202);
    const id = submitted.headers.get('x-bf-async-id')!;
    const asAlice = await pollUntilDone(gw.url, id, 8_000, { authorization: 'Bearer alice-key' });
    expect(asAlice.status).toBe(200);
    // The token is what went upstream, so it is what owns the job.
    expect(anthropic.requests[0]!.headers.authorization).toBe('Bearer alice-key');
    expect(anthropic.requests[0]!.headers['x-api-key']).toBeUndefined();
    for (const headers of [{}, { 'x-api-key': '' }, { authorization: 'Bearer ' }, { 'x-api-key': 'someone-else' }] as Array<Record<string, string>>) {
      expect((await pollUntilDone(gw.url, id, 8_000, headers)).status).toBe(404);
    }
  });

  it('the log names the credential that was used', async () => {
    const reply = await post(MESSAGES, ask('passthrough/claude-sonnet-4-5'), { 'x-api-key': '', authorization: 'Bearer alice-key' });
    expect(reply.status).toBe(200);
    const [line] = (await linesWith(log, 'request', 1)).filter((l) => l.req_id === reply.headers.get('request-id'));
    expect(line!.key_kind).toBe('bearer');
  });

  it('an authorization header that is not a bearer token is no credential: nothing is forwarded', async () => {
    const reply = await post(MESSAGES, ask('passthrough/claude-sonnet-4-5'), { authorization: 'Basic YWxpY2U6c2VjcmV0' });
    expect(reply.status).toBe(200);
    expect(anthropic.requests[0]!.headers.authorization).toBeUndefined();
    expect(anthropic.requests[0]!.headers['x-api-key']).toBeUndefined();
  });
});
