// Contract smoke test: openapi.yaml loads into express-openapi-validator and into ajv (2020),
// accepts what Anthropic clients really send, rejects what it should, and the generated
// types line up with realistic payloads (checked by `tsc`, since the fixtures below are typed).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Ajv2020 } from 'ajv/dist/2020.js';
import express, { type NextFunction, type Request, type Response } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import request from 'supertest';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { loadValidatorSpec } from '../src/http/validator-spec.js';

import type {
  ContentBlock,
  CountTokensRequest,
  CountTokensResponse,
  CreateMessageRequest,
  ErrorResponse,
  InputContentBlock,
  Message,
  MessageStreamEvent,
  ModelList,
  ReadyResponse,
  ToolUnion,
  Usage,
} from '../src/generated/types.gen.js';

const SPEC_PATH = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

// ----------------------------------------------------------------------------- fixtures
// Typed against the generated types: if the contract and the generator drift apart, tsc fails.

const minimal = {
  model: 'anthropic/claude-sonnet-4-5',
  max_tokens: 16,
  messages: [{ role: 'user', content: 'Hello' }],
} satisfies CreateMessageRequest;

const PNG_1PX =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=';

const tools: ToolUnion[] = [
  {
    name: 'get_screenshot',
    description: 'Take a screenshot of the named window.',
    input_schema: {
      type: 'object',
      properties: { window: { type: 'string' } },
      required: ['window'],
    },
    cache_control: { type: 'ephemeral' },
  },
  {
    type: 'web_search_20250305',
    name: 'web_search',
    max_uses: 3,
    allowed_domains: ['example.com'],
    user_location: {
      type: 'approximate',
      city: 'Paris',
      region: 'Ile-de-France',
      country: 'FR',
      timezone: 'Europe/Paris',
    },
  },
  { type: 'bash_20250124', name: 'bash' },
  { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool', max_characters: 10000 },
  { type: 'computer_20250124', name: 'computer', display_width_px: 1280, display_height_px: 800 },
];

const complex = {
  model: 'anthropic/claude-sonnet-4-5',
  max_tokens: 4096,
  system: [
    { type: 'text', text: 'You are a careful assistant.' },
    { type: 'text', text: 'Long shared context...', cache_control: { type: 'ephemeral', ttl: '1h' } },
  ],
  metadata: { user_id: 'user-123' },
  temperature: 1,
  stop_sequences: ['\n\nHuman:'],
  thinking: { type: 'enabled', budget_tokens: 2048 },
  tools,
  tool_choice: { type: 'any', disable_parallel_tool_use: true },
  mcp_servers: [
    {
      type: 'url',
      name: 'docs',
      url: 'https://mcp.example.com/sse',
      authorization_token: null,
      tool_configuration: { enabled: true, allowed_tools: ['search'] },
    },
  ],
  output_config: {
    format: { type: 'json_schema', schema: { type: 'object', properties: { answer: { type: 'string' } } } },
    effort: 'medium',
  },
  service_tier: 'auto',
  fallbacks: ['openai/gpt-4o'],
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: 'What is on my screen?' },
        {
          type: 'document',
          source: { type: 'text', media_type: 'text/plain', data: 'notes' },
          title: 'Notes',
          citations: { enabled: true },
        },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should take a screenshot.', signature: 'sig-abc' },
        { type: 'redacted_thinking', data: 'opaque' },
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_01', name: 'get_screenshot', input: { window: 'main' } },
      ],
    },
    {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: 'toolu_01',
          content: [
            { type: 'text', text: 'Screenshot attached.' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1PX } },
          ],
          cache_control: { type: 'ephemeral' },
        },
        { type: 'text', text: 'Describe it.' },
      ],
    },
  ],
} satisfies CreateMessageRequest;

const usage: Usage = {
  input_tokens: 12,
  output_tokens: 34,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 100,
  cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
  server_tool_use: { web_search_requests: 1 },
  service_tier: 'standard',
};

const everyBlock: ContentBlock[] = [
  { type: 'thinking', thinking: 'hmm', signature: 'sig' },
  { type: 'redacted_thinking', data: 'opaque' },
  {
    type: 'text',
    text: 'Answer',
    citations: [{ type: 'char_location', cited_text: 'x', document_index: 0, start_char_index: 0, end_char_index: 1 }],
  },
  { type: 'text', text: 'Plain', citations: null },
  { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
  { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'weather' } },
  {
    type: 'web_search_tool_result',
    tool_use_id: 'srvtoolu_1',
    content: [{ type: 'web_search_result', url: 'https://example.com', title: 'Ex', encrypted_content: 'enc', page_age: null }],
  },
  {
    type: 'web_search_tool_result',
    tool_use_id: 'srvtoolu_2',
    content: { type: 'web_search_tool_result_error', error_code: 'max_uses_exceeded' },
  },
  { type: 'mcp_tool_use', id: 'mcptoolu_1', name: 'search', server_name: 'docs', input: { q: 'x' } },
  { type: 'mcp_tool_result', tool_use_id: 'mcptoolu_1', is_error: false, content: [{ type: 'text', text: 'found' }] },
];

const fullMessage: Message = {
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: everyBlock,
  stop_reason: 'tool_use',
  stop_sequence: null,
  usage,
};

const streamEvents: MessageStreamEvent[] = [
  { type: 'message_start', message: { ...fullMessage, content: [], stop_reason: null, usage: { input_tokens: 12, output_tokens: 1 } } },
  { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
  { type: 'ping' },
  { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
  { type: 'content_block_delta', index: 0, delta: { type: 'citations_delta', citation: { type: 'char_location' } } },
  { type: 'content_block_stop', index: 0 },
  { type: 'content_block_start', index: 1, content_block: { type: 'thinking', thinking: '', signature: '' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'thinking_delta', thinking: 'hmm' } },
  { type: 'content_block_delta', index: 1, delta: { type: 'signature_delta', signature: 'sig' } },
  { type: 'content_block_stop', index: 1 },
  { type: 'content_block_start', index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } },
  { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{"a":' } },
  { type: 'content_block_stop', index: 2 },
  { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 40 } },
  { type: 'message_stop' },
  { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
];

const errorBody: ErrorResponse = {
  type: 'error',
  error: { type: 'invalid_request_error', message: 'max_tokens: required' },
  request_id: 'req_1',
};

// Pure type-level checks (no runtime effect).
const _inputBlock: InputContentBlock = { type: 'mcp_tool_result', tool_use_id: 'x', content: 'ok' };
const _count: CountTokensRequest = { model: 'openai/gpt-4o', messages: minimal.messages };
const _countRes: CountTokensResponse = { input_tokens: 3 };
const _models: ModelList = {
  data: [{ id: 'openai/gpt-4o', type: 'model', display_name: 'GPT-4o', created_at: '2024-05-13T00:00:00Z' }],
  has_more: false,
  first_id: 'openai/gpt-4o',
  last_id: 'openai/gpt-4o',
};
const _ready: ReadyResponse = { status: 'not_ready', checks: { store: 'down' } };
void [_inputBlock, _count, _countRes, _models, _ready];

// ------------------------------------------------------------------ request validation

interface ValidatorIssue {
  path: string;
  message: string;
}

function buildApp() {
  const app = express();
  app.use(express.json({ limit: '10mb' }));
  app.use(
    OpenApiValidator.middleware({
      // What the gateway runs: the contract with its unions dispatched on `type` (src/http/validator-spec.ts).
      apiSpec: loadValidatorSpec(SPEC_PATH) as never,
      validateRequests: { allowUnknownQueryParameters: false },
      validateResponses: false,
      validateSecurity: false,
      ignoreUndocumented: true,
    }),
  );
  const reached = (req: Request, res: Response) => {
    res.status(200).json({ reached: true, body: req.body as unknown });
  };
  app.post('/anthropic/v1/messages', reached);
  app.post('/anthropic/v1/messages/count_tokens', reached);
  app.get('/anthropic/v1/models', reached);
  app.use((err: { status?: number; message?: string; errors?: ValidatorIssue[] }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(err.status ?? 500).json({ message: err.message, errors: err.errors ?? [] });
  });
  return app;
}

type ValidationResult = { reached?: boolean; body?: unknown; message?: string; errors?: ValidatorIssue[] };

describe('openapi.yaml in express-openapi-validator', () => {
  const app = buildApp();
  const post = (body: unknown, headers: Record<string, string> = {}, path = '/anthropic/v1/messages') =>
    request(app).post(path).set(headers).send(body as object);

  it('accepts a minimal request (handler reached)', async () => {
    const res = await post(minimal);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((res.body as ValidationResult).reached).toBe(true);
  });

  it('rejects a request without max_tokens with a 400 naming the field', async () => {
    const { max_tokens: _omit, ...body } = minimal;
    const res = await post(body);
    expect(res.status).toBe(400);
    const out = res.body as ValidationResult;
    expect(out.reached).toBeUndefined();
    expect(out.errors?.some((e) => e.path.includes('max_tokens'))).toBe(true);
  });

  it('tolerates unknown top-level fields', async () => {
    const res = await post({ ...minimal, some_future_field: { a: 1 }, speed: 'fast' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('rejects temperature 1.5', async () => {
    const res = await post({ ...minimal, temperature: 1.5 });
    expect(res.status).toBe(400);
    expect((res.body as ValidationResult).errors?.some((e) => e.path.includes('temperature'))).toBe(true);
  });

  it('accepts a realistic complex request', async () => {
    const res = await post(complex, { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'mcp-client-2025-04-04' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('accepts the other documented shapes', async () => {
    const variants: unknown[] = [
      { ...minimal, system: 'Be brief.' },
      { ...minimal, max_tokens: 0 },
      { ...minimal, thinking: { type: 'adaptive' } },
      { ...minimal, thinking: { type: 'disabled' } },
      { ...minimal, tool_choice: { type: 'none' } },
      { ...minimal, tool_choice: { type: 'tool', name: 'f' } },
      { ...minimal, output_format: { type: 'json_schema', schema: { type: 'object' } } },
      { ...minimal, output_format: null },
      { ...minimal, container: 'container_1' },
      { ...minimal, container: null },
      { ...minimal, metadata: { user_id: null } },
      { ...minimal, fallbacks: ['openai/gpt-4o', { model: 'claude-opus-4-1' }] },
      { ...minimal, tools: [{ type: 'custom', name: 'f', input_schema: { type: 'object' } }] },
      { ...minimal, tools: [{ type: 'web_fetch_20250910', name: 'web_fetch', max_content_tokens: 1000 }] },
      { ...minimal, tools: [{ type: 'code_execution_20250825', name: 'code_execution' }] },
      { ...minimal, tools: [{ type: 'memory_20250818', name: 'memory' }] },
      {
        ...minimal,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } },
              { type: 'image', source: { type: 'file', file_id: 'file_1' } },
              { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
              { type: 'document', source: { type: 'url', url: 'https://example.com/a.pdf' } },
              { type: 'document', source: { type: 'file', file_id: 'file_2' } },
              { type: 'document', source: { type: 'content', content: [{ type: 'text', text: 'chunk' }] } },
              { type: 'search_result', source: 'https://example.com', title: 'Ex', content: [{ type: 'text', text: 'x' }] },
            ],
          },
          {
            role: 'assistant',
            content: [
              { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
              {
                type: 'web_search_tool_result',
                tool_use_id: 'srvtoolu_1',
                content: [{ type: 'web_search_result', url: 'https://example.com', title: 'Ex', encrypted_content: 'e' }],
              },
              { type: 'mcp_tool_use', id: 'mcptoolu_1', name: 'search', server_name: 'docs', input: {} },
              { type: 'mcp_tool_result', tool_use_id: 'mcptoolu_1', is_error: false, content: [{ type: 'text', text: 'r' }] },
            ],
          },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'plain', is_error: true }] },
        ],
      },
    ];
    for (const body of variants) {
      const res = await post(body);
      expect(res.status, `${JSON.stringify(body)} -> ${JSON.stringify(res.body)}`).toBe(200);
    }
  });

  it('accepts kinds it does not know yet in every open union (Anthropic ships new ones often)', async () => {
    const variants: unknown[] = [
      { ...minimal, tools: [{ type: 'tool_search_tool_bm25_20251119', name: 'tool_search_tool_bm25' }] },
      { ...minimal, tools: [{ type: 'browser_toolset_20260101', name: 'browser', display_width_px: 1024 }] },
      { ...minimal, tools: [{ type: 'computer_toolset_20260101' }] },
      { ...minimal, tools: [{ type: 'mcp_toolset', mcp_server_name: 'docs', default_config: { enabled: false } }] },
      { ...minimal, thinking: { type: 'sometimes', level: 3 } },
      { ...minimal, tool_choice: { type: 'auto_strict' } },
      { ...minimal, fallbacks: 'default' },
      {
        ...minimal,
        messages: [
          { role: 'user', content: [{ type: 'browser_state', url: 'https://example.com', screenshot: { type: 'base64', data: 'x' } }] },
          { role: 'assistant', content: [{ type: 'compaction', content: 'summary of earlier turns' }, { type: 'text', text: 'ok' }] },
          {
            role: 'user',
            content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'tool_reference', tool_name: 'get_weather' }] }],
          },
        ],
      },
    ];
    for (const body of variants) {
      const res = await post(body);
      expect(res.status, `${JSON.stringify(body)} -> ${JSON.stringify(res.body)}`).toBe(200);
      expect((res.body as ValidationResult).body).toEqual(body);
    }
  });

  it('rejects malformed bodies', async () => {
    const bad: Array<[string, unknown]> = [
      ['model', { ...minimal, model: '' }],
      ['messages', { ...minimal, messages: [] }],
      ['role', { ...minimal, messages: [{ role: 'system', content: 'x' }] }],
      ['max_tokens', { ...minimal, max_tokens: -1 }],
      ['max_tokens', { ...minimal, max_tokens: '16' }],
      ['budget_tokens', { ...minimal, thinking: { type: 'enabled', budget_tokens: 100 } }],
      ['thinking', { ...minimal, thinking: { type: '' } }],
      ['thinking', { ...minimal, thinking: { budget_tokens: 2048 } }],
      ['tool_choice', { ...minimal, tool_choice: { type: 'tool' } }],
      ['fallbacks', { ...minimal, fallbacks: ['gpt-4o'] }],
      ['service_tier', { ...minimal, service_tier: 'priority' }],
      ['cache_control', { ...minimal, system: [{ type: 'text', text: 's', cache_control: { type: 'persistent' } }] }],
      ['content', { ...minimal, messages: [{ role: 'user', content: [{ text: 'no type' }] }] }],
      ['content', { ...minimal, messages: [{ role: 'user', content: [{ type: 7 }] }] }],
      // An unknown kind's name is bounded and header-safe (translated providers list it in x-bf-dropped).
      ['type', { ...minimal, messages: [{ role: 'user', content: [{ type: 'a, b' }] }] }],
      ['type', { ...minimal, messages: [{ role: 'user', content: [{ type: 'x'.repeat(129) }] }] }],
      ['type', { ...minimal, tools: [{ type: 'new tool' }] }],
      // A known kind is validated as that kind: the open member never takes it.
      ['text', { ...minimal, messages: [{ role: 'user', content: [{ type: 'text', body: 'x' }] }] }],
      ['tool_use_id', { ...minimal, messages: [{ role: 'user', content: [{ type: 'tool_result', content: 'x' }] }] }],
      ['source', { ...minimal, messages: [{ role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: [{ type: 'image' }] }] }] }],
      ['fallbacks', { ...minimal, fallbacks: 'openai/gpt-4o' }],
      ['media_type', { ...minimal, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/bmp', data: 'x' } }] }] }],
      ['tools', { ...minimal, tools: [{ type: 'web_search_20250305', name: 'not_web_search' }] }],
      ['tools', { ...minimal, tools: [{ name: 'no_schema' }] }],
      ['tools', { ...minimal, tools: [{ type: 'custom', name: 'no_schema' }] }],
      ['tools', { ...minimal, tools: [{ type: 'computer_20250124', name: 'computer' }] }],
      ['tool_choice', { ...minimal, tool_choice: { type: 'auto', disable_parallel_tool_use: 'yes' } }],
    ];
    for (const [field, body] of bad) {
      const res = await post(body);
      expect(res.status, `${field}: ${JSON.stringify(body)}`).toBe(400);
      const out = res.body as ValidationResult;
      expect(out.reached).toBeUndefined();
      expect(JSON.stringify(out.errors), field).toContain(field);
    }
  });

  it('validates the gateway headers', async () => {
    expect((await post(minimal, { 'x-bf-async': 'true', 'x-bf-async-job-result-ttl': '3600' })).status).toBe(200);
    expect((await post(minimal, { 'x-bf-async-id': 'job_123' })).status).toBe(200);

    const badTtl = await post(minimal, { 'x-bf-async-job-result-ttl': 'soon' });
    expect(badTtl.status).toBe(400);
    expect(JSON.stringify((badTtl.body as ValidationResult).errors)).toContain('x-bf-async-job-result-ttl');

    expect((await post(minimal, { 'x-bf-async-job-result-ttl': '0' })).status).toBe(400);
    expect((await post(minimal, { 'x-bf-async': 'yes' })).status).toBe(400);
  });

  it('accepts ?beta=true (sent by the Anthropic beta clients) but no other unknown query parameter', async () => {
    expect((await request(app).post('/anthropic/v1/messages?beta=true').send(minimal)).status).toBe(200);
    expect((await request(app).post('/anthropic/v1/messages?foo=1').send(minimal)).status).toBe(400);
  });

  it('validates count_tokens and models', async () => {
    const ok = await post({ model: 'openai/gpt-4o', messages: minimal.messages, tools }, {}, '/anthropic/v1/messages/count_tokens');
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    const bad = await post({ model: 'openai/gpt-4o' }, {}, '/anthropic/v1/messages/count_tokens');
    expect(bad.status).toBe(400);

    expect((await request(app).get('/anthropic/v1/models?limit=5&after_id=a')).status).toBe(200);
    expect((await request(app).get('/anthropic/v1/models?limit=0')).status).toBe(400);
    expect((await request(app).get('/anthropic/v1/models?limit=1001')).status).toBe(400);
  });
});

// ------------------------------------------------------------------ response schemas (ajv)

describe('openapi.yaml response schemas in ajv (JSON Schema 2020-12)', () => {
  let validatorFor: (name: string) => (data: unknown) => { ok: boolean; errors: string };

  beforeAll(() => {
    const doc = parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: Record<string, unknown> } };
    // strict mode catches schema mistakes (unknown keywords, bad types); `discriminator` is an
    // OpenAPI annotation and `components` only hosts the schemas for $ref resolution.
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    ajv.addKeyword('discriminator');
    ajv.addKeyword('components');
    ajv.addFormat('date-time', true);
    ajv.addFormat('date', true);
    ajv.addSchema({ $id: 'conduit', components: { schemas: doc.components.schemas } });
    validatorFor = (name) => {
      const validate = ajv.getSchema(`conduit#/components/schemas/${name}`);
      if (!validate) throw new Error(`no schema ${name}`);
      return (data) => ({ ok: validate(data) as boolean, errors: ajv.errorsText(validate.errors) });
    };
  });

  it('compiles every component schema', () => {
    const doc = parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: Record<string, unknown> } };
    for (const name of Object.keys(doc.components.schemas)) expect(() => validatorFor(name)).not.toThrow();
  });

  it('every open member excludes exactly the kinds its union knows', () => {
    const doc = parse(readFileSync(SPEC_PATH, 'utf8')) as { components: { schemas: Record<string, any> } };
    const schemas = doc.components.schemas;
    const members = (union: string): string[] =>
      (schemas[union].oneOf ?? schemas[union].anyOf).map((m: { $ref: string }) => m.$ref.split('/').pop()!);
    const pinned = (name: string): string[] => {
      const type = schemas[name].properties.type;
      if (type.const !== undefined) return [`const:${type.const}`];
      if (type.enum) return type.enum.map((v: string) => `const:${v}`);
      if (type.pattern) return [`pattern:${type.pattern}`];
      // CustomTool: `type` is optional, `custom` when present.
      return type.oneOf.filter((o: { const?: string }) => o.const !== undefined).map((o: { const: string }) => `const:${o.const}`);
    };
    const excluded = (name: string): string[] => {
      const not = schemas[name].properties.type.not;
      if (not.enum) return not.enum.map((v: string) => `const:${v}`);
      return not.anyOf.map((o: { const?: string; pattern?: string }) => (o.const !== undefined ? `const:${o.const}` : `pattern:${o.pattern}`));
    };
    const open = ['InputContentBlock', 'ToolResultContentBlock', 'ToolUnion', 'ToolChoice', 'ThinkingConfig'];
    for (const union of open) {
      const all = members(union);
      const unknown = all.filter((m) => m.startsWith('Unknown'));
      expect(unknown, union).toHaveLength(1);
      const known = all.filter((m) => !m.startsWith('Unknown')).flatMap(pinned);
      expect(new Set(excluded(unknown[0]!)), union).toEqual(new Set(known));
      expect(schemas[union].discriminator, `${union} must not name a discriminator (it cannot express the open member)`).toBeUndefined();
    }
  });

  it('accepts a Message with every content block type', () => {
    const r = validatorFor('Message')(fullMessage);
    expect(r.ok, r.errors).toBe(true);
    // Each block matches exactly one ContentBlock variant (plain oneOf, no discriminator support).
    for (const block of everyBlock) {
      const b = validatorFor('ContentBlock')(block);
      expect(b.ok, `${block.type}: ${b.errors}`).toBe(true);
    }
  });

  it('tolerates extra properties on response blocks and messages', () => {
    const r = validatorFor('Message')({
      ...fullMessage,
      stop_details: null,
      container: null,
      content: [{ type: 'server_tool_use', id: 's', name: 'web_search', input: {}, caller: { type: 'direct' } }],
    });
    expect(r.ok, r.errors).toBe(true);
  });

  it('rejects malformed messages', () => {
    const v = validatorFor('Message');
    expect(v({ ...fullMessage, content: [{ type: 'video' }] }).ok).toBe(false);
    expect(v({ ...fullMessage, stop_reason: 'done' }).ok).toBe(false);
    expect(v({ ...fullMessage, usage: { input_tokens: 1 } }).ok).toBe(false);
    const { stop_sequence: _omit, ...noStopSequence } = fullMessage;
    expect(v(noStopSequence).ok).toBe(false);
    expect(v({ ...fullMessage, content: [{ type: 'text' }] }).ok).toBe(false);
  });

  it('accepts every stream event', () => {
    const v = validatorFor('MessageStreamEvent');
    for (const event of streamEvents) {
      const r = v(event);
      expect(r.ok, `${event.type}: ${r.errors}`).toBe(true);
    }
    expect(v({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: {} }).ok).toBe(false);
    expect(v({ type: 'content_block_delta', index: 0, delta: { type: 'bogus_delta' } }).ok).toBe(false);
  });

  it('accepts the error envelope and the ops payloads', () => {
    expect(validatorFor('ErrorResponse')(errorBody).ok).toBe(true);
    expect(validatorFor('ErrorResponse')({ type: 'error', error: { type: 'teapot_error', message: 'x' } }).ok).toBe(false);
    expect(validatorFor('ModelList')(_models).ok).toBe(true);
    expect(validatorFor('ReadyResponse')(_ready).ok).toBe(true);
    expect(validatorFor('HealthResponse')({ status: 'ok' }).ok).toBe(true);
    expect(validatorFor('CountTokensResponse')(_countRes).ok).toBe(true);
  });
});
