import { GatewayError } from '../errors.js';
import { quote } from '../quote.js';
import type { Provider } from '../providers/types.js';

/** Where one attempt goes: a provider and the model id it knows. */
export interface RouteTarget {
  provider: Provider;
  model: string;
  /** "provider/model", as clients write it. */
  label: string;
}

export interface ModelResolver {
  providers: ReadonlyMap<string, Provider>;
  defaultProvider?: string;
}

/**
 * "provider/model" → that provider and model; the model part may itself contain slashes
 * ("openrouter/meta-llama/llama-3"). A bare name goes to the default provider.
 */
export function resolveModel(resolver: ModelResolver, model: string, field = 'model'): RouteTarget {
  const slash = model.indexOf('/');
  const configured = () => [...resolver.providers.keys()].join(', ');
  if (slash > 0) {
    const name = model.slice(0, slash);
    const provider = resolver.providers.get(name);
    const upstreamModel = model.slice(slash + 1);
    if (provider && upstreamModel) return checked({ provider, model: upstreamModel, label: model }, field);
    if (!provider) {
      // Client text is quoted cut short (quote.ts): a model id can be long, and it is named twice.
      const hint = resolver.defaultProvider
        ? ` (a model id containing "/" needs its provider prefix, e.g. ${quote(`${resolver.defaultProvider}/${model}`)})`
        : '';
      throw new GatewayError(400, `${field}: unknown provider ${quote(name)} in ${quote(model)}; configured providers: ${configured()}${hint}`);
    }
    throw new GatewayError(400, `${field}: ${quote(model)} names no model after the provider`);
  }
  const fallbackName = resolver.defaultProvider ?? (resolver.providers.size === 1 ? [...resolver.providers.keys()][0] : undefined);
  const provider = fallbackName === undefined ? undefined : resolver.providers.get(fallbackName);
  if (!provider) {
    throw new GatewayError(
      400,
      `${field}: ${quote(model)} has no provider prefix and no default_provider is configured; use "provider/model" with one of: ${configured()}`,
    );
  }
  return checked({ provider, model, label: `${provider.name}/${model}` }, field);
}

/** A model id the provider cannot take (it becomes part of a URL path on cloud providers) is a 400 naming the field. */
function checked(target: RouteTarget, field: string): RouteTarget {
  const problem = target.provider.checkModel?.(target.model);
  if (problem) throw new GatewayError(400, `${field}: ${problem} for provider "${target.provider.name}" (type ${target.provider.type})`);
  return target;
}
