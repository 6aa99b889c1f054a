import type { Dispatcher } from 'undici';
import type { ContinuationMode, ProviderConfig } from '../../config/schema.js';
import { configuredContinuation } from '../../config/continuation.js';
import type { CountTokensRequest, CreateMessageRequest } from '../../generated/types.gen.js';
import { AnthropicMessages } from '../anthropic/anthropic-messages.js';
import { countTokens as countTokensLocally } from '../openai/count-tokens.js';
import { createDispatcher, readUpstreamText, transportOptions, type UpstreamTarget } from '../transport.js';
import type { AttemptContext, MessageResult, Provider, StreamResult } from '../types.js';
import { badUpstreamResponse, tryParseJson } from '../upstream-error.js';
import { BedrockAuth } from './auth.js';
import { BEDROCK_BETAS, splitBetas } from './betas.js';
import { ConverseClient } from './converse-client.js';
import { countTokensUnavailable, invokeCountTokensBody, NoCountTokens, readCountTokens } from './count-tokens.js';
import { BedrockInvokeEnvelope } from './invoke-envelope.js';
import { bedrockModelIdProblem, foundationModelId, isClaudeModel, modelPath } from './model-id.js';

/** Bedrock Runtime's endpoint for a region. */
export function bedrockBaseUrl(region: string): string {
  return `https://bedrock-runtime.${region}.amazonaws.com`;
}

/**
 * AWS Bedrock. Claude models (`anthropic.claude-*`, and inference profiles of them) take
 * Anthropic's own body through InvokeModel: the anthropic adapter's code in Bedrock's envelope
 * (invoke-envelope.ts). Every other model (Llama, Mistral, Nova, DeepSeek, ...) goes through the
 * Converse API, translated both ways (converse/). The credential is always the gateway's own
 * (SigV4 or a Bedrock API key, see auth.ts), never the client's.
 */
export class BedrockProvider implements Provider {
  readonly type = 'bedrock' as const;
  readonly ownCredentials = true;
  private readonly dispatcher: Dispatcher;
  private readonly invoke: BedrockInvokeEnvelope;
  private readonly claude: AnthropicMessages;
  private readonly converse: ConverseClient;
  private readonly knownBetas: ReadonlySet<string>;
  private readonly noCountTokens = new NoCountTokens();

  constructor(
    readonly name: string,
    readonly config: ProviderConfig,
  ) {
    if (!config.region) throw new Error(`providers.${name}.region: required for type bedrock`);
    const baseUrl = (config.base_url ?? bedrockBaseUrl(config.region)).replace(/\/+$/, '');
    const auth = new BedrockAuth(config.region, config.aws);
    this.dispatcher = createDispatcher(transportOptions(config));
    this.invoke = new BedrockInvokeEnvelope(baseUrl, config, auth, name);
    this.claude = new AnthropicMessages(name, this.dispatcher, this.invoke);
    this.converse = new ConverseClient(name, config, this.dispatcher, this.invoke);
    this.knownBetas = new Set([...BEDROCK_BETAS, ...(config.betas ?? [])]);
  }

  checkModel(model: string): string | undefined {
    return bedrockModelIdProblem(model);
  }

  /** Claude takes Anthropic's body, prefill included; Converse models are not continued. */
  continuationMode(model: string): ContinuationMode {
    return isClaudeModel(model) ? configuredContinuation(this.config) : 'none';
  }

  createMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<MessageResult> {
    return isClaudeModel(ctx.model) ? this.claude.create(body, ctx) : this.converse.create(body, ctx);
  }

  streamMessage(body: CreateMessageRequest, ctx: AttemptContext): Promise<StreamResult> {
    return isClaudeModel(ctx.model) ? this.claude.stream(body, ctx) : this.converse.stream(body, ctx);
  }

  /**
   * Bedrock's CountTokens (never billed) where the model has it: Claude's InvokeModel body, or the
   * Converse body for other models, sent to the foundation model behind an inference profile.
   * Models without it are counted locally (an estimate, see openai/count-tokens.ts) and remembered.
   */
  async countTokens(body: CountTokensRequest, ctx: AttemptContext): Promise<{ input_tokens: number }> {
    const model = foundationModelId(ctx.model);
    if (!this.noCountTokens.has(model)) {
      const payload = isClaudeModel(model)
        ? invokeCountTokensBody(body, splitBetas(ctx.clientHeaders.anthropicBeta, this.knownBetas).kept)
        : this.converse.countTokensBody(body, ctx);
      const target: UpstreamTarget = { provider: this.name, model: ctx.model };
      try {
        const res = await this.claude.send(await this.invoke.signed(modelPath(model, 'count-tokens'), payload, false, ctx), ctx);
        const count = readCountTokens(tryParseJson(await readUpstreamText(res, target, ctx.signal)));
        if (count === undefined) throw badUpstreamResponse(target, 'the upstream CountTokens answer has no inputTokens');
        return { input_tokens: count };
      } catch (err) {
        const unavailable = countTokensUnavailable(err);
        if (!unavailable) throw err;
        if (unavailable === 'model') this.noCountTokens.add(model);
      }
    }
    return { input_tokens: await countTokensLocally(body, ctx.model) };
  }

  close(): Promise<void> {
    return this.dispatcher.close();
  }
}
