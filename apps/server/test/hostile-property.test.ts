/**
 * Property: whatever a client sends (wrong types, unknown and huge block types, odd and huge
 * strings, prototype names, deep nesting, bad header values, bad async headers, broken JSON and
 * encodings), the gateway answers every request with either a well-formed success or a 4xx in
 * Anthropic's envelope, never a 5xx, and stays responsive. Thousands of generated requests per run
 * go to the real CLI (a child process) over real sockets, with fake upstreams on 127.0.0.1 behind
 * it, so a request the gateway accepts gets a real answer.
 *
 * A failure prints fast-check's seed and path; `HOSTILE_SEED=<seed>` replays that run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '@conduit/testkit';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, spawnGateway, type ChildGateway } from './helpers/child-gateway.js';

const MESSAGES = '/anthropic/v1/messages';
const COUNT = '/anthropic/v1/messages/count_tokens';
const BATCHES = '/anthropic/v1/messages/batches';
/** Requests per run: batches of CONCURRENCY sent at once. */
const REQUESTS = 5_000;
const CONCURRENCY = 8;
const SEED = process.env.HOSTILE_SEED === undefined ? Date.now() ^ (Math.random() * 0x7fffffff) : Number(process.env.HOSTILE_SEED);
/** Every configured secret carries this mark: no answer may contain it. */
const MARK = 'SECRET';
/** The longest error message an answer may have: client text is echoed cut short. */
const MAX_ERROR_MESSAGE = 4_096;
/** /health must answer within this, during and after the run (generous: the machine is shared). */
const HEALTH_BOUND_MS = 5_000;

let anthropic: FakeUpstream;
let openai: FakeUpstream;
let dir: string;
let gateway: ChildGateway;
let agent: Agent;
/** Jobs the run submitted, with the credential that owns each: polls pick from them. */
const jobs: Array<{ id: string; key: string | undefined }> = [];

beforeAll(async () => {
  ensureBuilt();
  anthropic = await startFakeAnthropic({ requireAuth: false, record: false });
  openai = await startFakeOpenAI({ requireAuth: false, record: false });
  dir = mkdtempSync(join(tmpdir(), 'conduit-hostile-'));
  gateway = await spawnGateway(join(dir, 'conduit.yaml'), {
    log_level: 'info',
    store: `sqlite:${join(dir, 'jobs.db')}`,
    default_provider: 'anthropic',
    async: { max_queued: 200, default_ttl_s: 60, credential_key: `credential-key-${MARK}-0123456789abcdef` },
    models: { fast: { target: 'anthropic/claude-haiku-4-5', fallbacks: ['local/gpt-4o'] } },
    pricing: { 'anthropic/claude-sonnet-4-5': { input_per_mtok: 3, output_per_mtok: 15 } },
    providers: {
      anthropic: { type: 'anthropic', base_url: anthropic.url, keys: [{ value: `sk-ant-${MARK}-0001` }], max_retries: 0 },
      passthrough: { type: 'anthropic', base_url: anthropic.url, max_retries: 0 },
      local: { type: 'openai', base_url: `${openai.url}/v1`, keys: [{ value: `sk-oai-${MARK}-0002` }], max_retries: 0 },
      azure: { type: 'openai', base_url: openai.url, keys: [{ value: `az-${MARK}-0003` }], azure: { api_version: '2024-10-21' }, max_retries: 0 },
    },
  });
  agent = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000 });
}, 120_000);

afterAll(async () => {
  await agent?.close();
  await gateway?.stop();
  await anthropic?.close();
  await openai?.close();
  rmSync(dir, { recursive: true, force: true });
});

// ---- what a hostile client sends -------------------------------------------------------------

const chars = (from: number, to: number) => fc.integer({ min: from, max: to }).map((c) => String.fromCharCode(c));
/** What a header value can hold on the wire (undici refuses CR, LF and NUL; llhttp takes obs-text). */
const headerText = fc.string({ unit: fc.oneof(chars(0x20, 0x7e), chars(0xa0, 0xff)), maxLength: 60 }).map((s) => s.trim());

const PROTOTYPE_NAMES = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__', 'isPrototypeOf'];
const ODD_STRINGS = ['', ' ', '\u0000', '\r\n', '\u2028', '😀', '\ud800', '..', '.', '/', '//', 'anthropic/', '/claude', 'azure/..', 'azure/.', '%2e%2e'];

/**
 * Long text anywhere, a long run of one character included (the tokenizer's worst case: count_tokens
 * counts it in bounded slices). Longer text goes where the gateway must refuse it first (`enormous`, below).
 */
const longString = fc.integer({ min: 257, max: 100_000 }).map((n) => 'x'.repeat(n));
/** Megabyte-scale text, in places the gateway must refuse or cut before doing anything with it. */
const enormous = fc.integer({ min: 2_000, max: 1_000_000 }).map((n) => 'x'.repeat(n));

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES, ...ODD_STRINGS) },
  { weight: 1, arbitrary: longString },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...PROTOTYPE_NAMES, 'x'), fc.constantFrom('\r\n', '\u0007', 'é', '\u0100')).map(([a, b]) => `${a}${b}`) },
);

/** Arrays nested `depth` deep: mostly shallow, sometimes around the limit (128), sometimes well past it. */
const nested = fc
  .oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 20 }) }, { weight: 1, arbitrary: fc.integer({ min: 120, max: 135 }) }, { weight: 1, arbitrary: fc.integer({ min: 136, max: 400 }) })
  .map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: hostileString },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, 0, -1, 1.5, 1e308, -0, Number.MAX_SAFE_INTEGER + 2, [], {}) },
  { weight: 1, arbitrary: nested },
  { weight: 1, arbitrary: fc.dictionary(fc.constantFrom(...PROTOTYPE_NAMES, 'type', 'text', 'x'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
);

const MODELS = ['anthropic/claude-sonnet-4-5', 'passthrough/claude-sonnet-4-5', 'local/gpt-4o', 'azure/my-deployment', 'fast', 'claude-bare'];
const model = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...MODELS) }, { weight: 4, arbitrary: hostileValue }, { weight: 1, arbitrary: enormous });

const BLOCK_TYPES = ['text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking', 'search_result', 'server_tool_use', 'mcp_tool_use', 'container_upload'];
const block = fc.oneof(
  { weight: 3, arbitrary: fc.record({ type: fc.constant('text'), text: fc.oneof(fc.string({ maxLength: 40 }), hostileValue) }) },
  { weight: 2, arbitrary: fc.record({ type: fc.constantFrom(...BLOCK_TYPES), id: hostileValue, name: hostileValue, input: hostileValue, content: hostileValue, source: hostileValue }, { requiredKeys: ['type'] }) },
  { weight: 2, arbitrary: fc.record({ type: fc.oneof({ weight: 4, arbitrary: hostileString }, { weight: 1, arbitrary: enormous }), text: fc.string({ maxLength: 10 }) }) },
  { weight: 1, arbitrary: hostileValue },
);
const message = fc.record(
  {
    role: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('user', 'assistant') }, { weight: 1, arbitrary: hostileValue }),
    content: fc.oneof(fc.string({ maxLength: 40 }), fc.array(block, { maxLength: 4 }), hostileValue),
  },
  { requiredKeys: [] },
);
const messages = fc.oneof(
  { weight: 3, arbitrary: fc.constant([{ role: 'user', content: 'Hi' }]) },
  { weight: 3, arbitrary: fc.array(message, { minLength: 0, maxLength: 4 }) },
  { weight: 1, arbitrary: hostileValue },
);
const tool = fc.oneof(
  fc.record({ name: hostileValue, description: hostileValue, input_schema: fc.oneof(fc.constant({ type: 'object' }), hostileValue) }, { requiredKeys: [] }),
  fc.record({ type: fc.oneof(fc.constantFrom('web_search_20250305', 'bash_20250124', 'custom'), hostileString), name: hostileValue }),
  hostileValue,
);

/** Mostly absent: a header or field that is there only now and then. */
const sometimes = <T>(arb: fc.Arbitrary<T>, weight = 5) => fc.oneof({ weight, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

const WEATHER_TOOL = { name: 'get_weather', description: 'Weather by city', input_schema: { type: 'object', properties: { city: { type: 'string' } } } };
const CONVERSATIONS: unknown[] = [
  [{ role: 'user', content: 'Hi' }],
  [{ role: 'user', content: [{ type: 'text', text: 'Hi', cache_control: { type: 'ephemeral' } }] }],
  [{ role: 'user', content: 'CALL_TOOL for Paris' }],
  [
    { role: 'user', content: 'Weather?' },
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Paris' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: 'sunny' }] },
  ],
];

/** A request the gateway serves. */
const validBody = fc.record(
  {
    model: fc.constantFrom(...MODELS),
    max_tokens: fc.integer({ min: 1, max: 64 }),
    messages: fc.constantFrom(...CONVERSATIONS),
    system: sometimes(fc.constantFrom<unknown>('Be brief.', [{ type: 'text', text: 'Be brief.' }]), 1),
    tools: sometimes(fc.constant([WEATHER_TOOL]), 1),
    temperature: sometimes(fc.double({ min: 0, max: 1, noNaN: true }), 2),
    fallbacks: sometimes(fc.constantFrom<unknown>(['local/gpt-4o'], ['anthropic/claude-haiku-4-5'], [{ model: 'claude-x' }]), 2),
    metadata: sometimes(fc.record({ user_id: fc.string({ maxLength: 20 }) }), 2),
  },
  { requiredKeys: ['model', 'max_tokens', 'messages'] },
).map((b) => JSON.parse(JSON.stringify(b)) as Record<string, unknown>);

/** Where a mutation puts a hostile value. */
const PATHS: Array<Array<string | number>> = [
  ['model'], ['max_tokens'], ['messages'], ['messages', 0], ['messages', 0, 'role'], ['messages', 0, 'content'], ['messages', 0, 'content', 0],
  ['messages', 0, 'content', 0, 'type'], ['system'], ['tools'], ['tools', 0], ['tools', 0, 'input_schema'], ['tool_choice'], ['fallbacks'], ['fallbacks', 0],
  ['metadata'], ['metadata', 'user_id'], ['thinking'], ['stop_sequences'], ['stream'], ['temperature'], ['top_k'], ['mcp_servers'], ['x_extra'],
];

/** A shallow copy keeping what the original had: holes, own `__proto__` keys, its prototype. */
function shallowCopy(value: object): object {
  return Array.isArray(value) ? value.slice() : Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value));
}

/**
 * Sets `value` at `path`, making the containers on the way (own properties only). The containers on
 * the way are copied, never edited: one may be a value fast-check hands out more than once (to both
 * mutations of a body, say), and writing into it could make it contain itself.
 */
function setAt(root: Record<string, unknown>, path: Array<string | number>, value: unknown): void {
  let node: any = root;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      Object.defineProperty(node, key, { value, enumerable: true, writable: true, configurable: true });
      return;
    }
    const next = node[key];
    const own = next === null || typeof next !== 'object' ? (typeof path[i + 1] === 'number' ? [] : {}) : shallowCopy(next);
    Object.defineProperty(node, key, { value: own, enumerable: true, writable: true, configurable: true });
    node = own;
  });
}

const mutated = fc
  .tuple(validBody, fc.array(fc.tuple(fc.constantFrom(...PATHS), fc.oneof({ weight: 3, arbitrary: hostileValue }, { weight: 1, arbitrary: block })), { minLength: 1, maxLength: 2 }))
  .map(([b, mutations]) => {
    for (const [path, value] of mutations) setAt(b, path, value);
    return b;
  });

/** Every field hostile at once. */
const chaotic = fc.record(
  {
    model,
    max_tokens: fc.oneof({ weight: 4, arbitrary: fc.constant(16) }, { weight: 1, arbitrary: hostileValue }),
    messages,
    system: hostileValue,
    tools: fc.oneof(fc.array(tool, { maxLength: 3 }), hostileValue),
    tool_choice: fc.oneof(fc.record({ type: fc.constantFrom('auto', 'any', 'tool', 'none', 'bogus'), name: hostileValue }, { requiredKeys: ['type'] }), hostileValue),
    fallbacks: fc.oneof(fc.array(fc.oneof(model, fc.object({ maxDepth: 1 })), { maxLength: 3 }), hostileValue),
    stream: fc.oneof(fc.boolean(), hostileValue),
    thinking: fc.oneof(fc.record({ type: fc.constantFrom('enabled', 'disabled', 'adaptive'), budget_tokens: hostileValue }), hostileValue),
    x_extra: hostileValue,
  },
  { requiredKeys: ['model', 'max_tokens', 'messages'] },
);

const body: fc.Arbitrary<unknown> = fc.oneof({ weight: 3, arbitrary: validBody }, { weight: 6, arbitrary: mutated }, { weight: 1, arbitrary: chaotic });

/** Bodies that are not JSON objects at all, or JSON with keys an object literal cannot hold. */
const RAW_BODIES = [
  '',
  '{',
  '[]',
  'null',
  '"a string"',
  '{"model":',
  '{"model":"anthropic/claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hi"}],"__proto__":{"model":"x","polluted":true}}',
  '{"model":"anthropic/claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"Hi"}],"constructor":{"prototype":{"polluted":true}}}',
  '{"model":"anthropic/claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":[{"type":"text","text":"Hi","__proto__":{"type":"image"}}]}]}',
  `{"model":"fast","max_tokens":16,"messages":[{"role":"user","content":"Hi"}],"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`,
  '\u00ff\u00fe{}',
];

type Route = 'messages' | 'stream' | 'count_tokens' | 'async_submit' | 'async_poll' | 'batch_create';

interface HostileRequest {
  route: Route;
  body: unknown;
  raw: string | undefined;
  headers: Record<string, string | undefined>;
  encoding: 'identity' | 'gzip' | 'gzip-garbage' | 'br-garbage' | 'unknown';
  /** A poll of a job this run submitted (index into `jobs`), instead of a random id. */
  knownJob: number | undefined;
  /** batch_create: the custom_id the body goes under, and how many times the request is repeated. */
  customId: unknown;
  copies: number;
}

const hostileRequest: fc.Arbitrary<HostileRequest> = fc.record({
  route: fc.constantFrom<Route>('messages', 'stream', 'count_tokens', 'async_submit', 'async_poll', 'batch_create'),
  body,
  raw: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(...RAW_BODIES) }),
  headers: fc.record({
    'x-api-key': fc.oneof({ weight: 4, arbitrary: fc.constantFrom('client-key-1', 'client-key-2') }, { weight: 1, arbitrary: fc.constantFrom(undefined, '') }, { weight: 1, arbitrary: headerText }),
    authorization: sometimes(fc.oneof(fc.constantFrom('Bearer client-key-1', 'Bearer ', 'Basic YTpi'), headerText)),
    'anthropic-version': fc.oneof(fc.constant('2023-06-01'), sometimes(headerText, 1)),
    'anthropic-beta': sometimes(headerText),
    'content-type': fc.oneof(
      { weight: 16, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: fc.constantFrom(undefined, 'text/plain', 'application/json; charset=latin1', 'application/vnd.x+json', 'multipart/form-data') },
      { weight: 1, arbitrary: headerText },
    ),
    'x-bf-async': sometimes(fc.oneof(fc.constantFrom('true', 'false'), headerText), 8),
    'x-bf-async-id': sometimes(fc.oneof(fc.constantFrom('job_AAAAAAAAAAAAAAAAAAAAAA', 'job_', '__proto__'), headerText)),
    'x-bf-async-job-result-ttl': sometimes(fc.oneof(fc.constantFrom('1', '60', '0', '-1', '1e3', '99999999999999999999'), headerText), 8),
  }),
  encoding: fc.oneof(
    { weight: 12, arbitrary: fc.constant<'identity'>('identity') },
    { weight: 1, arbitrary: fc.constantFrom<HostileRequest['encoding']>('gzip', 'gzip-garbage', 'br-garbage', 'unknown') },
  ),
  knownJob: fc.option(fc.nat(), { nil: undefined }),
  customId: fc.oneof({ weight: 6, arbitrary: fc.constant('item') }, { weight: 1, arbitrary: hostileValue }),
  copies: fc.integer({ min: 1, max: 3 }),
});

// ---- sending it and judging the answer -------------------------------------------------------

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The headers the request went with. */
  sent: Record<string, string>;
}

function prepare(r: HostileRequest): { path: string; headers: Record<string, string>; payload: string | Buffer } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) if (value !== undefined) headers[name] = value;
  let bodyValue = r.body;
  if (r.route === 'stream' && bodyValue && typeof bodyValue === 'object') bodyValue = { ...bodyValue, stream: true };
  // A batch of the body, under the generated custom_id (repeated copies use it as a prefix; a non-string repeats as it is).
  if (r.route === 'batch_create') {
    const id = (i: number) => (typeof r.customId === 'string' ? `${r.customId}-${i}` : r.customId);
    bodyValue = { requests: Array.from({ length: r.copies }, (_, i) => ({ custom_id: id(i), params: bodyValue })) };
  }
  // Routes pick their own async headers (a random one may still turn a request into another route).
  if (r.route === 'async_submit') headers['x-bf-async'] = 'true';
  if (r.route !== 'async_poll') delete headers['x-bf-async-id'];
  if (r.route === 'async_poll' && r.knownJob !== undefined && jobs.length > 0) {
    const job = jobs[r.knownJob % jobs.length]!;
    headers['x-bf-async-id'] = job.id;
    if (job.key !== undefined) headers['x-api-key'] = job.key;
  } else if (r.route === 'async_poll' && headers['x-bf-async-id'] === undefined) {
    headers['x-bf-async-id'] = 'job_AAAAAAAAAAAAAAAAAAAAAA';
  }
  const text = r.raw ?? JSON.stringify(bodyValue);
  let payload: string | Buffer = text;
  if (r.encoding === 'gzip') payload = gzipSync(text);
  else if (r.encoding === 'gzip-garbage') payload = Buffer.from(`not gzip ${text.slice(0, 100)}`);
  else if (r.encoding === 'br-garbage') payload = Buffer.from([0xff, 0x00, 0x13, 0x37]);
  if (r.encoding !== 'identity') headers['content-encoding'] = r.encoding === 'unknown' ? 'zstd' : r.encoding.replace('-garbage', '');
  return { path: r.route === 'count_tokens' ? COUNT : r.route === 'batch_create' ? BATCHES : MESSAGES, headers, payload };
}

async function send(r: HostileRequest): Promise<Answer> {
  const { path, headers, payload } = prepare(r);
  const res = await request(gateway.url + path, { method: 'POST', headers, body: payload, dispatcher: agent });
  const text = await res.body.text();
  if (res.statusCode === 202 && res.headers['x-bf-async-status'] === 'queued' && headers['x-bf-async-id'] === undefined) {
    jobs.push({ id: String(res.headers['x-bf-async-id']), key: headers['x-api-key'] });
  }
  return { status: res.statusCode, headers: res.headers, text, sent: headers };
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A failing request in a few lines: enough to see what it was, without megabytes of generated text. */
function describeRequest(r: HostileRequest, a: Answer): string {
  const body = r.raw ?? JSON.stringify(r.body) ?? String(r.body);
  return `POST (${r.route}) headers ${JSON.stringify(a.sent).slice(0, 500)} encoding ${r.encoding} body ${body.slice(0, 500)}${body.length > 500 ? `… (${body.length} characters)` : ''}`;
}

/** Why an answer breaks the property, or undefined when it is fine. */
function problemWith(r: HostileRequest, a: Answer): string | undefined {
  const problem = judge(r, a);
  return problem === undefined ? undefined : `${problem}\n  request: ${describeRequest(r, a)}`;
}

function judge(r: HostileRequest, a: Answer): string | undefined {
  const requestId = a.headers['request-id'];
  if (typeof requestId !== 'string' || !requestId.startsWith('req_')) return 'no request-id header';
  if (a.status >= 500) return `a ${a.status}: ${a.text.slice(0, 500)}`;
  if (a.text.includes(MARK)) return 'a configured secret in the answer';
  const contentType = String(a.headers['content-type'] ?? '');
  if (a.status >= 400) {
    const parsed = parseJson(a.text);
    if (parsed === undefined) return `a ${a.status} whose body is not JSON: ${a.text.slice(0, 200)}`;
    if (!contentType.startsWith('application/json')) return `a ${a.status} with content-type ${contentType}`;
    if (parsed?.type !== 'error' || typeof parsed.error?.type !== 'string' || typeof parsed.error?.message !== 'string') {
      return `a ${a.status} outside the envelope: ${a.text.slice(0, 200)}`;
    }
    if (parsed.request_id !== requestId) return 'request_id differs from the request-id header';
    if (parsed.error.message.length > MAX_ERROR_MESSAGE) return `an error message of ${parsed.error.message.length} characters`;
    if (parsed.error.message === 'request is invalid') return 'an error message that names nothing';
    return undefined;
  }
  // Accepted: the answer the route promises, from the fakes behind the gateway.
  const isAsync = a.sent['x-bf-async-id'] !== undefined || a.sent['x-bf-async'] === 'true';
  if (a.status === 202) {
    if (!isAsync) return `a 202 to a request without x-bf-async`;
    const job = a.headers['x-bf-async-id'] !== undefined && parseJson(a.text)?.content?.length === 0;
    return job ? undefined : `a 202 that is not a job: ${a.text.slice(0, 200)}`;
  }
  if (a.status !== 200) return `an unexpected ${a.status}`;
  if (contentType.startsWith('text/event-stream')) {
    if (a.text.includes('event: error')) return `a stream that failed: ${a.text.slice(-300)}`;
    return a.text.includes('event: message_stop') ? undefined : 'a stream without message_stop';
  }
  const parsed = parseJson(a.text);
  if (r.route === 'count_tokens') return typeof parsed?.input_tokens === 'number' ? undefined : `a count without input_tokens: ${a.text.slice(0, 200)}`;
  if (r.route === 'batch_create') {
    return parsed?.type === 'message_batch' && /^msgbatch_/.test(parsed.id) ? undefined : `a 200 that is not a MessageBatch: ${a.text.slice(0, 200)}`;
  }
  return parsed?.type === 'message' ? undefined : `a 200 that is not a Message: ${a.text.slice(0, 200)}`;
}

/** Probes /health on its own connection every `everyMs` while the run goes on; records each answer's time. */
function watchHealth(everyMs: number) {
  const probeAgent = new Agent({ connections: 1 });
  const times: number[] = [];
  const failures: string[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const started = performance.now();
      try {
        const res = await request(`${gateway.url}/health`, { dispatcher: probeAgent, headersTimeout: HEALTH_BOUND_MS * 2, bodyTimeout: HEALTH_BOUND_MS * 2 });
        await res.body.text();
        if (res.statusCode !== 200) failures.push(`/health answered ${res.statusCode}`);
      } catch (err) {
        failures.push(`/health failed: ${(err as Error).message}`);
      }
      times.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    times,
    failures,
    async stop() {
      stopped = true;
      await loop;
      await probeAgent.close();
    },
  };
}

describe('hostile requests (property-based)', () => {
  it(`${REQUESTS} generated requests: every answer is a success or a 4xx in the envelope, never a 5xx; the gateway stays responsive`, async () => {
    const health = watchHealth(200);
    let sent = 0;
    try {
      const result = await fc.check(
        fc.asyncProperty(fc.array(hostileRequest, { minLength: CONCURRENCY, maxLength: CONCURRENCY }), async (batch) => {
          const answers = await Promise.all(batch.map(send));
          sent += batch.length;
          batch.forEach((r, i) => {
            const problem = problemWith(r, answers[i]!);
            if (problem !== undefined) throw new Error(`${r.route}: ${problem}`);
          });
        }),
        // No shrinking: a failure is reported at once, with the seed that replays the run.
        { seed: SEED, numRuns: REQUESTS / CONCURRENCY, endOnFailure: true },
      );
      if (result.failed) {
        const cause = result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
        throw new Error(`hostile request property failed after ${result.numRuns} batches (replay with HOSTILE_SEED=${result.seed}):\n${cause}`);
      }
    } finally {
      await health.stop();
    }
    expect(sent).toBeGreaterThanOrEqual(REQUESTS);
    expect(health.failures).toEqual([]);
    expect(health.times.length).toBeGreaterThan(3);
    expect(Math.max(...health.times)).toBeLessThan(HEALTH_BOUND_MS);
    // Afterwards: alive, answering, and nothing went wrong inside it.
    expect(gateway.process.exitCode).toBeNull();
    const started = performance.now();
    const res = await request(`${gateway.url}/health`);
    expect(res.statusCode).toBe(200);
    await res.body.text();
    expect(performance.now() - started).toBeLessThan(HEALTH_BOUND_MS);
    expect(gateway.output()).not.toMatch(/"level":(50|60)/);
    // Some of the jobs ran to an answer, so accepted requests were exercised too.
    expect(jobs.length).toBeGreaterThan(0);
  }, 180_000);
});
