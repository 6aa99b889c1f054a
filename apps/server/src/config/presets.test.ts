import { describe, expect, it } from 'vitest';
import { configFromEnv, parseConfig } from './load.js';
import { OPENAI_PRESETS } from './presets.js';
import { configuredContinuation } from './continuation.js';

describe('openai presets by provider name', () => {
  it('`groq: { type: openai }` gets the Groq URL and GROQ_API_KEY, read at load time', () => {
    const config = parseConfig({ providers: { groq: { type: 'openai' } } }, { GROQ_API_KEY: 'gsk-1' });
    expect(config.providers.groq).toMatchObject({
      type: 'openai',
      base_url: 'https://api.groq.com/openai/v1',
      keys: [{ value: 'gsk-1', weight: 1 }],
      max_tokens_field: 'max_completion_tokens',
      drop_unsupported: false,
    });
  });

  it('fields the entry sets win over the preset', () => {
    const config = parseConfig(
      { providers: { openai: { type: 'openai', base_url: 'http://127.0.0.1:9/v1', keys: [{ value: 'mine' }], max_tokens_field: 'max_tokens' } } },
      { OPENAI_API_KEY: 'from-env' },
    );
    expect(config.providers.openai).toMatchObject({ base_url: 'http://127.0.0.1:9/v1', keys: [{ value: 'mine' }], max_tokens_field: 'max_tokens' });
  });

  it('Mistral: max_tokens and the fields it refuses', () => {
    const config = parseConfig({ providers: { mistral: { type: 'openai' } } }, { MISTRAL_API_KEY: 'm' });
    expect(config.providers.mistral).toMatchObject({ max_tokens_field: 'max_tokens', omit_params: ['stream_options', 'user', 'reasoning_effort'] });
  });

  it('PDF file parts: on for OpenAI, Azure and OpenRouter, off elsewhere, and the entry wins', () => {
    const config = parseConfig(
      {
        providers: {
          openai: { type: 'openai' },
          openrouter: { type: 'openai' },
          azure: { type: 'openai', base_url: 'https://x.openai.azure.com' },
          groq: { type: 'openai' },
          custom: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' },
          mine: { type: 'openai', base_url: 'http://127.0.0.1:9/v1', pdf_files: true },
        },
      },
      { OPENAI_API_KEY: 'o', OPENROUTER_API_KEY: 'r', AZURE_OPENAI_API_KEY: 'a', GROQ_API_KEY: 'g' },
    );
    expect([config.providers.openai!.pdf_files, config.providers.openrouter!.pdf_files, config.providers.azure!.pdf_files]).toEqual([true, true, true]);
    expect([config.providers.groq!.pdf_files, config.providers.custom!.pdf_files, config.providers.mine!.pdf_files]).toEqual([undefined, undefined, true]);
    const off = parseConfig({ providers: { openai: { type: 'openai', pdf_files: false } } }, { OPENAI_API_KEY: 'o' });
    expect(off.providers.openai!.pdf_files).toBe(false);
  });

  it('reasoning_content: on for DeepSeek, off elsewhere, and the entry wins', () => {
    const config = parseConfig({ providers: { deepseek: { type: 'openai' }, openai: { type: 'openai' } } }, { DEEPSEEK_API_KEY: 'd', OPENAI_API_KEY: 'o' });
    expect(config.providers.deepseek!.reasoning_content).toBe(true);
    expect(config.providers.openai!.reasoning_content).toBeUndefined();
    const off = parseConfig({ providers: { deepseek: { type: 'openai', reasoning_content: false } } }, { DEEPSEEK_API_KEY: 'd' });
    expect(off.providers.deepseek!.reasoning_content).toBe(false);
  });

  it('a local preset needs no key', () => {
    const config = parseConfig({ providers: { ollama: { type: 'openai' } } }, {});
    expect(config.providers.ollama).toMatchObject({ base_url: 'http://127.0.0.1:11434/v1', keys: [] });
  });

  it('every preset has a base URL or a variable for it, and a key variable', () => {
    for (const [name, preset] of Object.entries(OPENAI_PRESETS)) {
      expect(preset.key_env, name).toMatch(/^[A-Z_]+$/);
      expect(preset.base_url_env, name).toMatch(/^[A-Z_]+$/);
      if (preset.base_url) expect(() => new URL(preset.base_url!), name).not.toThrow();
    }
    expect(Object.keys(OPENAI_PRESETS)).toEqual(
      expect.arrayContaining(['openai', 'groq', 'mistral', 'deepseek', 'together', 'fireworks', 'openrouter', 'xai', 'ollama', 'vllm', 'lmstudio']),
    );
  });

  it('an openai provider that is not a preset must name its base_url', () => {
    expect(() => parseConfig({ providers: { mine: { type: 'openai', keys: [{ value: 'k' }] } } }, {})).toThrow(
      /providers\.mine\.base_url: required for type openai \("mine" is not a built-in preset/,
    );
  });

  it('anthropic-type entries are never touched by presets, and azure is only for openai', () => {
    const config = parseConfig({ providers: { openai: { type: 'anthropic' } } }, { OPENAI_API_KEY: 'x' });
    expect(config.providers.openai).toMatchObject({ type: 'anthropic', keys: [] });
    expect(config.providers.openai!.base_url).toBeUndefined();
    expect(() => parseConfig({ providers: { a: { type: 'anthropic', azure: { api_version: 'v' } } } }, {})).toThrow(/providers\.a\.azure: only for type openai/);
  });

  it('azure: endpoint and key from AZURE_OPENAI_*, default api-version', () => {
    const config = parseConfig({ providers: { azure: { type: 'openai' } } }, { AZURE_OPENAI_API_KEY: 'az', AZURE_OPENAI_ENDPOINT: 'https://res.openai.azure.com' });
    expect(config.providers.azure).toMatchObject({ base_url: 'https://res.openai.azure.com', keys: [{ value: 'az' }], azure: { api_version: '2024-10-21' } });
    expect(() => parseConfig({ providers: { azure: { type: 'openai' } } }, {})).toThrow(/providers\.azure\.base_url: required \(set it, or AZURE_OPENAI_ENDPOINT\)/);
  });

  it('rejects unknown provider fields and bad values, naming them', () => {
    expect(() => parseConfig({ providers: { openai: { type: 'openai', max_tokens_field: 'tokens' } } }, {})).toThrow(/providers\.openai\.max_tokens_field/);
    expect(() => parseConfig({ providers: { openai: { type: 'openai', drop_unsupported: 'yes' } } }, {})).toThrow(/providers\.openai\.drop_unsupported/);
  });
});

describe('zero-config presets', () => {
  it('each preset whose key variable is set becomes a provider', () => {
    const config = configFromEnv({ GROQ_API_KEY: 'gsk', OPENAI_API_KEY: 'sk' });
    expect(Object.keys(config.providers).sort()).toEqual(['anthropic', 'groq', 'openai']);
    expect(config.providers.groq).toMatchObject({ type: 'openai', base_url: 'https://api.groq.com/openai/v1', keys: [{ value: 'gsk' }] });
    expect(config.default_provider).toBe('anthropic');
  });

  it('local servers are switched on by <NAME>_BASE_URL, which also overrides a hosted preset URL', () => {
    const config = configFromEnv({ OLLAMA_BASE_URL: 'http://127.0.0.1:11434/v1', OPENAI_API_KEY: 'sk', OPENAI_BASE_URL: 'http://127.0.0.1:4000/v1' });
    expect(config.providers.ollama).toMatchObject({ base_url: 'http://127.0.0.1:11434/v1', keys: [] });
    expect(config.providers.openai).toMatchObject({ base_url: 'http://127.0.0.1:4000/v1' });
    expect(config.providers.vllm).toBeUndefined();
  });

  it('azure needs both its key and its endpoint', () => {
    expect(configFromEnv({ AZURE_OPENAI_API_KEY: 'a' }).providers.azure).toBeUndefined();
    expect(configFromEnv({ AZURE_OPENAI_API_KEY: 'a', AZURE_OPENAI_ENDPOINT: 'https://r.openai.azure.com', AZURE_OPENAI_API_VERSION: '2025-01-01-preview' }).providers.azure).toMatchObject({
      azure: { api_version: '2025-01-01-preview' },
    });
  });

  it('nothing set: only anthropic', () => {
    expect(Object.keys(configFromEnv({}).providers)).toEqual(['anthropic']);
  });
});

describe('continuation by preset', () => {
  it('vLLM continue_final_message, Mistral and DeepSeek prefix, OpenRouter a trailing assistant message; others none', () => {
    const config = parseConfig(
      { providers: { vllm: { type: 'openai' }, mistral: { type: 'openai' }, deepseek: { type: 'openai' }, openrouter: { type: 'openai' }, openai: { type: 'openai' } } },
      { MISTRAL_API_KEY: 'm', DEEPSEEK_API_KEY: 'd', OPENROUTER_API_KEY: 'r', OPENAI_API_KEY: 'o' },
    );
    const modes = Object.fromEntries(Object.entries(config.providers).map(([n, p]) => [n, configuredContinuation(p)]));
    expect(modes).toEqual({ vllm: 'continue_final_message', mistral: 'prefix', deepseek: 'prefix', openrouter: 'assistant_prefill', openai: 'none' });
  });

  it("DeepSeek continues on its beta endpoint, only when the preset's own server is used", () => {
    const own = parseConfig({ providers: { deepseek: { type: 'openai' } } }, { DEEPSEEK_API_KEY: 'd' });
    expect(own.providers.deepseek!.continuation_base_url).toBe('https://api.deepseek.com/beta');
    const proxied = parseConfig({ providers: { deepseek: { type: 'openai' } } }, { DEEPSEEK_API_KEY: 'd', DEEPSEEK_BASE_URL: 'http://127.0.0.1:9/v1' });
    expect(proxied.providers.deepseek!.continuation_base_url).toBeUndefined();
    const mine = parseConfig({ providers: { deepseek: { type: 'openai', base_url: 'http://127.0.0.1:9/v1' } } }, { DEEPSEEK_API_KEY: 'd' });
    expect(mine.providers.deepseek!.continuation_base_url).toBeUndefined();
  });

  it('the entry wins over the preset, and Anthropic-type providers default to the assistant prefill', () => {
    const config = parseConfig(
      { providers: { vllm: { type: 'openai', continuation: 'none' }, anthropic: { type: 'anthropic' }, vertex: { type: 'vertex', project: 'p', region: 'us-east5' }, off: { type: 'anthropic', continuation: 'none' } } },
      {},
    );
    expect(Object.values(config.providers).map((p) => configuredContinuation(p))).toEqual(['none', 'assistant_prefill', 'assistant_prefill', 'none']);
  });

  it('an Anthropic-type provider cannot take an OpenAI way of continuing, nor a continuation URL', () => {
    expect(() => parseConfig({ providers: { a: { type: 'anthropic', continuation: 'prefix' } } }, {})).toThrow(
      'providers.a.continuation: "prefix" is for type openai; type anthropic takes assistant_prefill or none',
    );
    expect(() => parseConfig({ providers: { a: { type: 'anthropic', continuation_base_url: 'http://127.0.0.1:9' } } }, {})).toThrow('providers.a.continuation_base_url: only for type openai');
    expect(() => parseConfig({ providers: { a: { type: 'openai', base_url: 'http://127.0.0.1:9/v1', continuation: 'sometimes' } } }, {})).toThrow(/providers\.a\.continuation/);
  });
});
