import { pathSegmentProblem } from '../providers/path-segment.js';

/**
 * Built-in settings for well-known OpenAI-compatible servers, chosen by provider NAME. A config entry
 * `groq: { type: openai }` gets Groq's base URL and its key from GROQ_API_KEY; anything the entry sets
 * itself wins. Keys are read from the environment when the config is loaded, never per request.
 *
 * Without a config file (zero-config), every preset whose key variable is set becomes a provider, and
 * so does every local one (ollama, vllm, lmstudio) whose `<NAME>_BASE_URL` is set. `<NAME>_BASE_URL`
 * (e.g. OPENAI_BASE_URL, OLLAMA_BASE_URL) overrides the preset's URL there; it is the full
 * OpenAI-compatible base, `/v1` included.
 */

type Env = Record<string, string | undefined>;

export interface OpenAIPreset {
  /** The OpenAI-compatible base URL, /v1 (or the server's equivalent) included. Azure: from AZURE_OPENAI_ENDPOINT. */
  base_url?: string;
  /** Environment variable with the API key. */
  key_env: string;
  /** Environment variable that overrides base_url (and, for local servers, turns the preset on in zero-config). */
  base_url_env: string;
  /** A server on the user's machine: no key needed. */
  local?: boolean;
  max_tokens_field?: 'max_completion_tokens' | 'max_tokens';
  omit_params?: string[];
  /** The server takes base64 PDFs as `file` content parts. */
  pdf_files?: boolean;
  /** Earlier thinking goes back as `reasoning_content` (the server requires it). */
  reasoning_content?: boolean;
  /** How the server continues an answer from a prefix of it (config `continuation`); absent: it cannot. */
  continuation?: 'assistant_prefill' | 'prefix' | 'continue_final_message';
  /** Where continuation requests go, when the server serves them elsewhere; used only with the preset's own base URL. */
  continuation_base_url?: string;
  azure?: Record<string, unknown>;
}

export const OPENAI_PRESETS: Readonly<Record<string, OpenAIPreset>> = {
  openai: { base_url: 'https://api.openai.com/v1', key_env: 'OPENAI_API_KEY', base_url_env: 'OPENAI_BASE_URL', max_tokens_field: 'max_completion_tokens', pdf_files: true },
  groq: { base_url: 'https://api.groq.com/openai/v1', key_env: 'GROQ_API_KEY', base_url_env: 'GROQ_BASE_URL', max_tokens_field: 'max_completion_tokens' },
  // Mistral rejects fields it does not know (422 extra_forbidden).
  mistral: {
    base_url: 'https://api.mistral.ai/v1',
    key_env: 'MISTRAL_API_KEY',
    base_url_env: 'MISTRAL_BASE_URL',
    max_tokens_field: 'max_tokens',
    omit_params: ['stream_options', 'user', 'reasoning_effort'],
    // A final assistant message with `prefix: true` is continued.
    continuation: 'prefix',
  },
  // DeepSeek's thinking mode refuses a tool-call turn whose reasoning_content was not sent back.
  // Its prefix completion (`prefix: true` on the final assistant message) is served on the beta endpoint only.
  deepseek: {
    base_url: 'https://api.deepseek.com/v1',
    key_env: 'DEEPSEEK_API_KEY',
    base_url_env: 'DEEPSEEK_BASE_URL',
    max_tokens_field: 'max_tokens',
    reasoning_content: true,
    continuation: 'prefix',
    continuation_base_url: 'https://api.deepseek.com/beta',
  },
  together: { base_url: 'https://api.together.xyz/v1', key_env: 'TOGETHER_API_KEY', base_url_env: 'TOGETHER_BASE_URL', max_tokens_field: 'max_tokens' },
  fireworks: { base_url: 'https://api.fireworks.ai/inference/v1', key_env: 'FIREWORKS_API_KEY', base_url_env: 'FIREWORKS_BASE_URL', max_tokens_field: 'max_tokens' },
  // A trailing assistant message is continued (a prefill, passed on to the models that take one).
  openrouter: {
    base_url: 'https://openrouter.ai/api/v1',
    key_env: 'OPENROUTER_API_KEY',
    base_url_env: 'OPENROUTER_BASE_URL',
    max_tokens_field: 'max_tokens',
    pdf_files: true,
    continuation: 'assistant_prefill',
  },
  xai: { base_url: 'https://api.x.ai/v1', key_env: 'XAI_API_KEY', base_url_env: 'XAI_BASE_URL', max_tokens_field: 'max_tokens' },
  ollama: { base_url: 'http://127.0.0.1:11434/v1', key_env: 'OLLAMA_API_KEY', base_url_env: 'OLLAMA_BASE_URL', local: true, max_tokens_field: 'max_tokens' },
  // `continue_final_message: true` (with `add_generation_prompt: false`) continues the final assistant message.
  vllm: {
    base_url: 'http://127.0.0.1:8000/v1',
    key_env: 'VLLM_API_KEY',
    base_url_env: 'VLLM_BASE_URL',
    local: true,
    max_tokens_field: 'max_tokens',
    continuation: 'continue_final_message',
  },
  lmstudio: { base_url: 'http://127.0.0.1:1234/v1', key_env: 'LMSTUDIO_API_KEY', base_url_env: 'LMSTUDIO_BASE_URL', local: true, max_tokens_field: 'max_tokens' },
  // Azure OpenAI: the resource endpoint varies, so it comes from the environment (or the entry's base_url).
  azure: {
    key_env: 'AZURE_OPENAI_API_KEY',
    base_url_env: 'AZURE_OPENAI_ENDPOINT',
    max_tokens_field: 'max_completion_tokens',
    pdf_files: true,
    azure: {},
  },
};

/**
 * Fills in preset fields on the `type: openai` providers of a raw (env-substituted) config whose name
 * is a preset. Fields the entry sets are kept; `keys` comes from the preset's key variable only when
 * the entry has no `keys` and the variable is set. Returns a new object; other entries are untouched.
 */
export function applyPresets(raw: unknown, env: Env): unknown {
  if (!isObject(raw) || !isObject(raw.providers)) return raw;
  const providers: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(raw.providers)) {
    const preset = presetNamed(name);
    providers[name] = preset && isObject(entry) && entry.type === 'openai' ? withPreset(entry, preset, env) : entry;
  }
  return { ...raw, providers };
}

function withPreset(entry: Record<string, unknown>, preset: OpenAIPreset, env: Env): Record<string, unknown> {
  const out = { ...entry };
  const baseUrl = env[preset.base_url_env] || preset.base_url;
  // The preset's continuation URL belongs to its own server: not when the entry or the environment names another.
  const ownServer = out.base_url === undefined && !env[preset.base_url_env];
  if (out.base_url === undefined && baseUrl) out.base_url = baseUrl;
  if (out.continuation === undefined && preset.continuation) out.continuation = preset.continuation;
  if (out.continuation_base_url === undefined && preset.continuation_base_url && ownServer) out.continuation_base_url = preset.continuation_base_url;
  const key = env[preset.key_env];
  if (out.keys === undefined && key) out.keys = [{ value: key }];
  if (out.max_tokens_field === undefined && preset.max_tokens_field) out.max_tokens_field = preset.max_tokens_field;
  if (out.omit_params === undefined && preset.omit_params) out.omit_params = [...preset.omit_params];
  if (out.pdf_files === undefined && preset.pdf_files) out.pdf_files = true;
  if (out.reasoning_content === undefined && preset.reasoning_content) out.reasoning_content = true;
  if (out.azure === undefined && preset.azure) {
    out.azure = { ...preset.azure, ...(env.AZURE_OPENAI_API_VERSION ? { api_version: env.AZURE_OPENAI_API_VERSION } : {}) };
  }
  return out;
}

/**
 * Zero-config providers: `{ <name>: { type: 'openai' } }` for each preset that is switched on by the
 * environment (its key variable set; for local servers, or Azure, its base URL variable set).
 * applyPresets then fills them in.
 */
export function presetProvidersFromEnv(env: Env): Record<string, { type: 'openai' }> {
  const out: Record<string, { type: 'openai' }> = {};
  for (const [name, preset] of Object.entries(OPENAI_PRESETS)) {
    const hasKey = Boolean(env[preset.key_env]);
    const hasUrl = Boolean(env[preset.base_url_env]);
    const on = preset.local ? hasUrl : preset.base_url ? hasKey : hasKey && hasUrl;
    if (on) out[name] = { type: 'openai' };
  }
  return out;
}

/** The preset a provider name picks, if any (own entries only: a provider may be called `constructor`). */
function presetNamed(name: string): OpenAIPreset | undefined {
  return Object.hasOwn(OPENAI_PRESETS, name) ? OPENAI_PRESETS[name] : undefined;
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Start-up checks for openai-type settings that the schema alone cannot express; each line names the field. */
export function openaiProviderErrors(
  providers: Record<string, { type: string; base_url?: string; azure?: { deployment?: string }; continuation?: string; continuation_base_url?: string }>,
): string[] {
  const errors: string[] = [];
  for (const [name, p] of Object.entries(providers)) {
    if (p.type !== 'openai') {
      if (p.azure !== undefined) errors.push(`providers.${name}.azure: only for type openai`);
      if (p.continuation_base_url !== undefined) errors.push(`providers.${name}.continuation_base_url: only for type openai`);
      // Anthropic's body has one way to continue an answer: the assistant prefill.
      if (p.continuation === 'prefix' || p.continuation === 'continue_final_message') {
        errors.push(`providers.${name}.continuation: "${p.continuation}" is for type openai; type ${p.type} takes assistant_prefill or none`);
      }
      continue;
    }
    const deployment = p.azure?.deployment;
    const segment = deployment === undefined ? undefined : pathSegmentProblem(deployment, 'an Azure deployment');
    if (segment !== undefined) errors.push(`providers.${name}.azure.deployment: ${segment}`);
    if (p.base_url !== undefined) continue;
    const preset = presetNamed(name);
    errors.push(
      preset
        ? `providers.${name}.base_url: required (set it, or ${preset.base_url_env})`
        : `providers.${name}.base_url: required for type openai ("${name}" is not a built-in preset: ${Object.keys(OPENAI_PRESETS).join(', ')})`,
    );
  }
  return errors;
}
