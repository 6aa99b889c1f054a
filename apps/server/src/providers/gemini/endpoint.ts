import type { ProviderConfig } from '../../config/schema.js';
import { createGoogleTokenSource, type GoogleTokenSource } from '../google-auth/token-source.js';
import type { AttemptContext } from '../types.js';
import { vertexBaseUrl } from '../vertex/model-id.js';
import type { GeminiRequest } from './gemini-types.js';

/** The Gemini API's endpoint (the `gemini` preset's base URL). */
export const GEMINI_API_BASE_URL = 'https://generativelanguage.googleapis.com/v1beta';

export type GeminiMethod = 'generateContent' | 'streamGenerateContent' | 'countTokens';

/** Where a Gemini provider's calls go and how they are authenticated: the Gemini API with a key, or Vertex AI with OAuth. */
export interface GeminiEndpoint {
  url(model: string, method: GeminiMethod): string;
  headers(ctx: AttemptContext): Promise<Record<string, string>>;
  /** The countTokens body for the input a request would send. */
  countTokensBody(input: GeminiRequest, model: string): unknown;
  /** The upstream refused the credential (401). */
  refused(): void;
  close(): Promise<void>;
}

function method(m: GeminiMethod): string {
  return m === 'streamGenerateContent' ? 'streamGenerateContent?alt=sse' : m;
}

/**
 * The Gemini API: `{base_url}/models/{model}:generateContent` (`:streamGenerateContent?alt=sse`,
 * `:countTokens`) with the key in `x-goog-api-key` (never in the URL, where logs would keep it).
 */
export class GeminiApiEndpoint implements GeminiEndpoint {
  private readonly base: string;

  constructor(private readonly config: ProviderConfig) {
    this.base = (config.base_url ?? GEMINI_API_BASE_URL).replace(/\/+$/, '');
  }

  url(model: string, m: GeminiMethod): string {
    return `${this.base}/models/${encodeURIComponent(model)}:${method(m)}`;
  }

  async headers(ctx: AttemptContext): Promise<Record<string, string>> {
    const headers: Record<string, string> = { ...this.config.headers, 'content-type': 'application/json' };
    if (ctx.key.value !== undefined) headers['x-goog-api-key'] = ctx.key.value;
    return headers;
  }

  /** countTokens takes the whole request (system instruction and tools too) as `generateContentRequest`. */
  countTokensBody(input: GeminiRequest, model: string): unknown {
    return { generateContentRequest: { model: `models/${model}`, ...input } };
  }

  refused(): void {}

  async close(): Promise<void> {}
}

/**
 * Gemini on Vertex AI: `{host}/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent`
 * (and the same methods), with an OAuth token from the service account or application default
 * credentials, as `type: vertex` gets its own (google-auth/).
 */
export class VertexGeminiEndpoint implements GeminiEndpoint {
  private readonly models: string;
  private readonly tokens: GoogleTokenSource;

  constructor(
    private readonly config: ProviderConfig,
    vertex: NonNullable<ProviderConfig['vertex']>,
    provider: string,
    connectMs: number,
  ) {
    // Both are checked at start-up (config/gemini.ts).
    const { project, region } = vertex as { project: string; region: string };
    const host = (config.base_url ?? vertexBaseUrl(region)).replace(/\/+$/, '').replace(/\/v1$/, '');
    this.models = `${host}/v1/projects/${project}/locations/${region}/publishers/google/models`;
    this.tokens = createGoogleTokenSource({ credentialsFile: vertex.credentials_file, provider, connectMs });
  }

  url(model: string, m: GeminiMethod): string {
    return `${this.models}/${encodeURIComponent(model)}:${method(m)}`;
  }

  async headers(_ctx: AttemptContext): Promise<Record<string, string>> {
    return { ...this.config.headers, 'content-type': 'application/json', authorization: `Bearer ${await this.tokens.token()}` };
  }

  /** Vertex's countTokens takes contents, system instruction and tools at the top level. */
  countTokensBody(input: GeminiRequest): unknown {
    const { contents, systemInstruction, tools } = input;
    return { contents, ...(systemInstruction ? { systemInstruction } : {}), ...(tools ? { tools } : {}) };
  }

  refused(): void {
    this.tokens.invalidate();
  }

  close(): Promise<void> {
    return this.tokens.close();
  }
}
