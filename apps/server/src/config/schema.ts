import { z } from 'zod';
import { requestLogSchema } from '../request-log/config.js';
import { authSchema } from '../governance/config.js';
import { asyncSchema, storeSchema } from '../jobs/config.js';
import { batchesSchema } from '../jobs/batches/config.js';

export const PROVIDER_TYPES = ['anthropic', 'openai', 'bedrock', 'vertex', 'gemini'] as const;

/**
 * How a provider continues an answer whose stream broke after the client got part of it: the text
 * already sent goes back as the start of the assistant's answer, and the model writes the rest.
 * - `assistant_prefill`: a final assistant message (Anthropic's prefill; OpenRouter takes it too);
 * - `prefix`: a final assistant message marked `prefix: true` (DeepSeek, Mistral);
 * - `continue_final_message`: a final assistant message and `continue_final_message: true`,
 *   `add_generation_prompt: false` (vLLM);
 * - `none`: the provider cannot continue an answer (OpenAI itself would start a new one).
 */
export const CONTINUATION_MODES = ['assistant_prefill', 'prefix', 'continue_final_message', 'none'] as const;
export type ContinuationMode = (typeof CONTINUATION_MODES)[number];

const keySchema = z.strictObject({
  /** The secret. `env.NAME` reads it from the environment. */
  value: z.string().min(1),
  /** Relative share of traffic among the keys that serve a model. */
  weight: z.number().positive().default(1),
  /** Only these upstream model ids use this key; absent = every model. */
  models: z.array(z.string().min(1)).optional(),
});

const providerSchema = z.strictObject({
  type: z.enum(PROVIDER_TYPES),
  /** Upstream base URL. Anthropic: without /v1. OpenAI-compatible: including /v1. */
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  /** API keys. None: the client's own credential is forwarded (anthropic type only). */
  keys: z.array(keySchema).default([]),
  /** Model ids this provider advertises on GET /anthropic/v1/models. */
  models: z.array(z.string().min(1)).default([]),
  /** Extra headers sent upstream with every request. */
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * openai type: the request field that carries `max_tokens`. OpenAI's current `max_completion_tokens`
   * (required by its reasoning models), or `max_tokens` for compatible servers that only know that one.
   * Presets set it per server; otherwise `max_completion_tokens`.
   */
  max_tokens_field: z.enum(['max_completion_tokens', 'max_tokens']).optional(),
  /**
   * openai type: drop request features the upstream has no equivalent for (server tools such as
   * web_search, mcp_servers, PDF documents, container) instead of answering 400 invalid_request_error;
   * the answer names what was dropped in the `x-bf-dropped` header.
   */
  drop_unsupported: z.boolean().default(false),
  /**
   * openai type: top-level Chat Completions fields never sent to this upstream, for servers that reject
   * fields they do not know (Mistral refuses `stream_options` and `user`). Presets set it where needed.
   */
  omit_params: z.array(z.string().min(1)).optional(),
  /**
   * openai type: send base64 PDF documents as Chat Completions `file` parts. OpenAI, Azure OpenAI and
   * OpenRouter take them (their presets turn this on); elsewhere a PDF is an unsupported feature.
   */
  pdf_files: z.boolean().optional(),
  /**
   * openai type: send the thinking blocks of earlier assistant turns back as `reasoning_content` on
   * that assistant message. DeepSeek's thinking mode requires it on tool-call turns (the `deepseek`
   * preset turns it on); OpenAI refuses the field, so it is off by default (the blocks are dropped and
   * listed in x-bf-dropped).
   */
  reasoning_content: z.boolean().optional(),
  /**
   * openai type: Azure OpenAI. Requests go to
   * `{base_url}/openai/deployments/{deployment}/chat/completions?api-version={api_version}` with the key
   * in an `api-key` header. `base_url` is the resource endpoint, e.g. https://NAME.openai.azure.com.
   */
  azure: z
    .strictObject({
      /** The Azure OpenAI REST API version. */
      api_version: z.string().min(1).default('2024-10-21'),
      /** Deployment for every model; absent = the model part of "provider/model" names the deployment. */
      deployment: z.string().min(1).optional(),
    })
    .optional(),
  /**
   * How this provider continues a stream that broke after part of the answer reached the client
   * (CONTINUATION_MODES). Absent: `assistant_prefill` for anthropic, bedrock (Claude models) and
   * vertex; `none` for openai unless its preset says otherwise (config/continuation.ts).
   */
  continuation: z.enum(CONTINUATION_MODES).optional(),
  /**
   * openai type: where continuation requests go when the server serves them on another base URL
   * (DeepSeek: prefix completion only on its beta endpoint). Absent: `base_url`.
   */
  continuation_base_url: z.url({ protocol: /^https?$/ }).optional(),
  /** bedrock, vertex: the cloud region (bedrock: e.g. us-east-1; vertex: e.g. us-east5, or `global`). */
  region: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a region is lower-case letters, digits and -').optional(),
  /** bedrock: static AWS credentials, signed with SigV4. Absent: `api_key`/`keys`, else the standard AWS chain. */
  aws: z
    .strictObject({
      access_key_id: z.string().min(1),
      secret_access_key: z.string().min(1),
      session_token: z.string().min(1).optional(),
    })
    .optional(),
  /** bedrock: a Bedrock API key, sent as a bearer token (the same as one entry in `keys`). */
  api_key: z.string().min(1).optional(),
  /** bedrock: `anthropic-beta` values to pass to Bedrock besides the built-in list of the ones it knows. */
  betas: z.array(z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a beta name is lower-case letters, digits and -')).optional(),
  /** vertex: the Google Cloud project id. */
  project: z.string().regex(/^[a-z0-9][a-z0-9.:-]*$/i, 'a project id is letters, digits, - . and :').optional(),
  /** vertex: a service-account key file (its token_uri is honoured). Absent: application default credentials. */
  credentials_file: z.string().min(1).optional(),
  /** gemini: Gemini on Vertex AI (OAuth, as type vertex) instead of the Gemini API (keys). */
  vertex: z
    .strictObject({
      /** The Google Cloud project (GOOGLE_CLOUD_PROJECT when absent). */
      project: z.string().regex(/^[a-z0-9][a-z0-9.:-]*$/i, 'a project id is letters, digits, - . and :').optional(),
      /** The location, e.g. us-central1 or global (GOOGLE_CLOUD_LOCATION when absent). */
      region: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a region is lower-case letters, digits and -').optional(),
      /** A service-account key file (its token_uri is honoured). Absent: application default credentials. */
      credentials_file: z.string().min(1).optional(),
    })
    .optional(),
  /** Time limits for one upstream attempt (reference: the README, "Timeouts"). */
  timeouts: z
    .strictObject({
      /** TCP (and TLS) connect. */
      connect_ms: z.number().int().positive().default(10_000),
      /** Request sent → response headers. Non-streaming upstreams send headers when the whole answer is ready. */
      headers_ms: z.number().int().positive().default(600_000),
      /** Streams: request sent → first content event (message_start and ping do not count). */
      first_token_ms: z.number().int().positive().default(120_000),
      /** Streams: longest silence between two events once content flows. */
      idle_ms: z.number().int().positive().default(120_000),
      /** Overall deadline, counted from the client's request, while this provider is being tried or is streaming. */
      total_ms: z.number().int().positive().default(1_800_000),
    })
    .prefault({}),
  /**
   * Most connections open to this provider's upstream at once. Absent: no limit, one per request in
   * flight (a stream holds its connection until it ends). With a limit, requests past it wait for a
   * connection to free up, and the wait counts against `timeouts`.
   */
  max_connections: z.number().int().positive().optional(),
  /** Retries on the same provider+model after a retryable failure (429, 5xx, network, timeout), before the next fallback. */
  max_retries: z.number().int().min(0).max(10).default(2),
  retry: z
    .strictObject({
      /** Backoff before retry n is a random value in [0, min(max_ms, base_ms * 2^n)] (full jitter). */
      base_ms: z.number().int().nonnegative().default(500),
      max_ms: z.number().int().nonnegative().default(8_000),
      /** A 429's retry-after is honoured up to this; longer waits fail over to the next fallback instead. */
      max_retry_after_ms: z.number().int().nonnegative().default(30_000),
      /** How long a key that answered 401/403 is left out for that model. */
      key_cooldown_ms: z.number().int().nonnegative().default(60_000),
    })
    .prefault({}),
  /**
   * anthropic type: `native` sends a Message Batch whose every request goes to this provider (no
   * fallbacks) to Anthropic's own Batches API (half price); Conduit keeps track of it. `gateway`
   * (default): batches run request by request in Conduit's workers.
   */
  batches: z.enum(['gateway', 'native']).default('gateway'),
  /** Circuit breaker per provider+model. */
  breaker: z
    .strictObject({
      /** Consecutive failures (5xx, network, timeouts) that open the circuit. */
      failure_threshold: z.number().int().positive().default(5),
      /** How long an open circuit sends traffic straight to the fallbacks before one probe request is let through. */
      cooldown_ms: z.number().int().positive().default(30_000),
    })
    .prefault({}),
});

/** A model name clients may send (e.g. Claude Code's bare "claude-sonnet-4-5") and where it goes. */
const modelAliasSchema = z.strictObject({
  /** "provider/model" (or a bare model id for the default provider). */
  target: z.string().min(1),
  /** Tried in order after `target` (and after the request's own `fallbacks`). */
  fallbacks: z.array(z.string().min(1)).default([]),
});

/** USD per million tokens for one "provider/model"; cache prices default to the input price. */
const pricingSchema = z.strictObject({
  input_per_mtok: z.number().nonnegative(),
  output_per_mtok: z.number().nonnegative(),
  cache_read_per_mtok: z.number().nonnegative().optional(),
  cache_write_per_mtok: z.number().nonnegative().optional(),
});

/**
 * What one request may cost the gateway (reference: the README, "Limits"). Every limit a client
 * could otherwise push without bound: time to send a request, time to read an answer, upstream
 * calls, tokenizer work.
 */
const limitsSchema = z
  .strictObject({
    /** From the first byte of a request until its headers are complete; past it: 408 and the connection closes. */
    headers_timeout_ms: z.number().int().positive().default(60_000),
    /** From the first byte of a request until its whole body has arrived; past it: 408 and the connection closes. */
    request_timeout_ms: z.number().int().positive().default(300_000),
    /** A stream whose client has not taken what was written for this long is closed and its upstream aborted. */
    stalled_reader_ms: z.number().int().positive().default(60_000),
    /** Targets in one request's plan: the model, its fallbacks and its alias's fallbacks. More is a 400. */
    max_plan_targets: z.number().int().positive().max(100).default(8),
    /** Upstream calls one request may make, retries, key switches and fallbacks included. */
    max_upstream_attempts: z.number().int().positive().max(1000).default(16),
    /** count_tokens (openai type): characters tokenized exactly per request; the rest is estimated. */
    count_tokens_exact_chars: z.number().int().positive().default(1_000_000),
    /** Times one stream may be continued after it broke mid-answer (0: never; the stream ends with `event: error`). */
    max_stream_continuations: z.number().int().min(0).max(10).default(2),
    /**
     * Characters of answer text a stream keeps to continue from. An answer longer than this when it
     * breaks is not continued: it ends with `event: error`.
     */
    max_continuation_chars: z.number().int().positive().max(10_000_000).default(500_000),
    /**
     * Memory for the parts of a body that sessions send unchanged on every turn, kept parsed (and
     * translated) once: `system`, `tools` and each earlier message (contract/parse-cache.ts), in MB;
     * 0 turns the cache off.
     */
    parse_cache_mb: z.number().int().min(0).max(4096).default(64),
    /**
     * Request bodies being read at once, all requests together, in MB (each is held to body_limit
     * on its own). Past it a request whose body is still arriving is answered 503 overloaded_error
     * with retry-after: many clients uploading large bodies slowly cannot fill the gateway's memory.
     */
    bodies_in_flight_mb: z.number().int().positive().max(65_536).default(512),
  })
  .refine((l) => l.headers_timeout_ms <= l.request_timeout_ms, {
    message: 'headers_timeout_ms must not exceed request_timeout_ms',
    path: ['headers_timeout_ms'],
  })
  .prefault({});

export const configSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  /** Where async jobs live: sqlite:<path> or redis://... */
  store: storeSchema,
  /** Async jobs (x-bf-async): TTLs, worker pool, queue cap, leases. */
  async: asyncSchema,
  /** Message Batches: worker pool, limits, expiry and retention (the store and leases are async's). */
  batches: batchesSchema,
  /** Provider used for a model name without a "provider/" prefix. */
  default_provider: z.string().min(1).optional(),
  /** Largest accepted request body, e.g. "32mb". */
  body_limit: z.string().regex(/^\d+(b|kb|mb)$/i).default('32mb'),
  /**
   * Deepest nesting of objects and arrays accepted in a request body (the body itself is level 1);
   * deeper is a 400. Tool schemas and tool inputs nest, but not this deep. Capped so that code
   * walking a body recursively stays far from the stack's limit.
   */
  body_max_depth: z.number().int().min(8).max(1000).default(128),
  /** Per-request limits: deadlines, stalled readers, plan length and upstream attempts, tokenizer work. */
  limits: limitsSchema,
  /** Log level: fatal | error | warn | info | debug | trace | silent. */
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Put request bodies (prompts) in the per-request log line. Off by default: prompts are the users' data. */
  log_bodies: z.boolean().default(false),
  /** The request log and per-minute traffic figures the dashboard shows, in the store. */
  request_log: requestLogSchema,
  /** Serve the dashboard at /ui (built into apps/dashboard/dist). */
  ui: z.boolean().default(true),
  /** Prices by "provider/model" for the cost in logs and metrics; a model without a price logs cost null. */
  pricing: z.record(z.string().regex(/^[^/]+\/.+$/, 'pricing keys are "provider/model"'), pricingSchema).default({}),
  providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'provider names are letters, digits, _ . -'), providerSchema),
  /** Model aliases: a request whose `model` is a key here goes to its target, then its fallbacks. */
  models: z.record(z.string().min(1), modelAliasSchema).default({}),
  /**
   * Deprecated, without effect: streams that break mid-answer are continued per provider
   * (`providers.<name>.continuation`, `limits.max_stream_continuations`). Still accepted so that
   * existing configs start; the gateway logs a warning naming the replacement.
   */
  stream_fallback_prefill: z.boolean().optional(),
  /** Virtual keys, teams, limits and budgets. Absent: no gateway authentication (loopback, or no provider keys). */
  auth: authSchema,
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config['providers'][string];
export type ProviderKeyConfig = ProviderConfig['keys'][number];
export type ModelPricing = z.output<typeof pricingSchema>;
export type ModelAlias = z.output<typeof modelAliasSchema>;
export type ProviderTimeouts = ProviderConfig['timeouts'];
export type Limits = Config['limits'];
