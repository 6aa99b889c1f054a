import { z } from 'zod';

export const PROVIDER_TYPES = ['anthropic', 'openai'] as const;

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
});

export const configSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
    })
    .prefault({}),
  /** Where async jobs live: sqlite:<path> or redis://... */
  store: z.string().min(1).default('sqlite:./.conduit/conduit.db'),
  /** Provider used for a model name without a "provider/" prefix. */
  default_provider: z.string().min(1).optional(),
  /** Largest accepted request body, e.g. "32mb". */
  body_limit: z.string().regex(/^\d+(b|kb|mb)$/i).default('32mb'),
  /** Log level: fatal | error | warn | info | debug | trace | silent. */
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'provider names are letters, digits, _ . -'), providerSchema),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = Config['providers'][string];
export type ProviderKeyConfig = ProviderConfig['keys'][number];
