import type { Config } from '../config/schema.js';
import { AnthropicProvider } from './anthropic/anthropic-provider.js';
import { BedrockProvider } from './bedrock/bedrock-provider.js';
import { GeminiProvider } from './gemini/gemini-provider.js';
import { OpenAIProvider } from './openai/openai-provider.js';
import { VertexProvider } from './vertex/vertex-provider.js';
import type { FactsStore } from '../state/model-facts.js';
import type { Provider } from './types.js';

/** One Provider per configured provider, by name; `facts` holds what their models were found to refuse or limit. */
export function createProviders(config: Config, facts?: FactsStore): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  for (const [name, pc] of Object.entries(config.providers)) {
    switch (pc.type) {
      case 'anthropic':
        providers.set(name, new AnthropicProvider(name, pc));
        break;
      case 'openai': // OpenAI and compatible servers; Azure OpenAI when `azure` is set
        providers.set(name, new OpenAIProvider(name, pc, { countTokensExactChars: config.limits.count_tokens_exact_chars, facts: facts?.forProvider(name) }));
        break;
      case 'bedrock': // Claude through InvokeModel, other models through Converse
        providers.set(name, new BedrockProvider(name, pc));
        break;
      case 'vertex': // Claude on Vertex AI
        providers.set(name, new VertexProvider(name, pc));
        break;
      case 'gemini': // Gemini, on the Gemini API or on Vertex AI
        providers.set(name, new GeminiProvider(name, pc, facts?.forProvider(name)));
        break;
      default:
        throw new Error(`providers.${name}.type: "${pc.type}" is not supported yet`);
    }
  }
  return providers;
}
