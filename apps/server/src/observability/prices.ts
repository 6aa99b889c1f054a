import { calcPrice, findProvider, type ModelPrice, type Provider as CatalogueProvider } from '@pydantic/genai-prices';
import type { ModelPricing, ProviderConfig } from '../config/schema.js';

/** Tokens of one request as Anthropic reports them: `input` excludes cache reads and writes. */
export interface TokenCounts {
  input: number;
  output: number;
  cacheRead: number;
  cacheWrite: number;
}

/** A price per million tokens, flat or by tier (the tier is chosen by the request's total input tokens). */
type Rate = number | { base: number; tiers: ReadonlyArray<{ start: number; price: number }> };

/** What one model costs, resolved once. */
interface Rates {
  input: Rate;
  output: Rate;
  cacheRead: Rate;
  cacheWrite: Rate;
  /** USD per thousand requests (a few catalogue models charge per call). */
  perKiloRequests: number;
}

/** A model priced by date or time of day: every request asks the catalogue. */
interface DatedModel {
  dated: CatalogueProvider;
  model: string;
}

type Entry = Rates | DatedModel | null;

/** Catalogue provider ids of Conduit's preset names where the two differ. */
const CATALOGUE_IDS: Readonly<Record<string, string>> = { xai: 'x-ai' };

const LOOPBACK_URL = /^https?:\/\/(127\.|localhost|\[::1\])/i;

/**
 * Prices in USD: the config's `pricing` for a "provider/model" first, else `@pydantic/genai-prices`,
 * the catalogue Pydantic maintains from the providers' published prices (tiered long-context
 * prices, cache reads and writes, per-request fees), bundled with the package and updated by
 * upgrading it. Nothing is fetched at run time.
 *
 * The catalogue's own `calcPrice` takes ~20 µs (it matches the model and decomposes the usage on
 * every call); a gateway prices every request, so each model's prices are looked up once and the
 * sum is done here, in the same way (prices.test.ts checks it against `calcPrice`).
 */
export class PriceBook {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly pricing: Readonly<Record<string, ModelPricing>>,
    private readonly providers: Readonly<Record<string, Pick<ProviderConfig, 'type' | 'base_url'>>>,
  ) {}

  /** USD for one request to provider/model, or null when the model has no price. */
  cost(provider: string, model: string, tokens: TokenCounts): number | null {
    const entry = this.entry(provider, model);
    if (entry === null) return null;
    if ('dated' in entry) return datedCost(entry, tokens);
    const total = tokens.input + tokens.cacheRead + tokens.cacheWrite;
    return (
      (rate(entry.input, total) * tokens.input +
        rate(entry.cacheRead, total) * tokens.cacheRead +
        rate(entry.cacheWrite, total) * tokens.cacheWrite +
        rate(entry.output, total) * tokens.output) /
        1_000_000 +
      entry.perKiloRequests / 1000
    );
  }

  /**
   * The most one request could cost: `inputTokens` all written to the cache at the dearest tier, and
   * `outputTokens` at the dearest tier. Null when the model has no price.
   */
  ceiling(provider: string, model: string, inputTokens: number, outputTokens: number): number | null {
    const entry = this.entry(provider, model);
    if (entry === null) return null;
    if ('dated' in entry) {
      return datedCost(entry, { input: 0, cacheRead: 0, cacheWrite: inputTokens, output: outputTokens }) ?? 0;
    }
    const input = Math.max(highest(entry.input), highest(entry.cacheWrite), highest(entry.cacheRead));
    return (input * inputTokens + highest(entry.output) * outputTokens) / 1_000_000 + entry.perKiloRequests / 1000;
  }

  /** Whether the model has a price (config or catalogue). */
  has(provider: string, model: string): boolean {
    return this.entry(provider, model) !== null;
  }

  private entry(provider: string, model: string): Entry {
    const label = `${provider}/${model}`;
    let entry = this.entries.get(label);
    if (entry === undefined) {
      entry = this.resolve(provider, model, label);
      // Model names come from clients: bound the cache (a miss only costs a catalogue lookup).
      if (this.entries.size >= 4096) this.entries.clear();
      this.entries.set(label, entry);
    }
    return entry;
  }

  private resolve(provider: string, model: string, label: string): Entry {
    const configured = this.pricing[label];
    if (configured) {
      return {
        input: configured.input_per_mtok,
        output: configured.output_per_mtok,
        cacheRead: configured.cache_read_per_mtok ?? configured.input_per_mtok,
        cacheWrite: configured.cache_write_per_mtok ?? configured.input_per_mtok,
        perKiloRequests: 0,
      };
    }
    const catalogue = catalogueProvider(provider, this.providers[provider]);
    if (!catalogue) return null;
    const found = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, { provider: catalogue });
    if (!found) return null;
    if (Array.isArray(found.model.prices)) return { dated: { ...catalogue, models: [found.model] }, model };
    return ratesOf(found.model_price);
  }
}

/** The catalogue's provider for a configured provider: by its URL, else by its name, else Anthropic for the anthropic wire format. */
export function catalogueProvider(name: string, config: Pick<ProviderConfig, 'type' | 'base_url'> | undefined): CatalogueProvider | undefined {
  const url = config?.base_url;
  if (url && !LOOPBACK_URL.test(url)) {
    const byUrl = findProvider({ providerApiUrl: url });
    if (byUrl) return byUrl;
  }
  const byName = findProvider({ providerId: CATALOGUE_IDS[name] ?? name });
  if (byName) return byName;
  return config?.type === 'anthropic' ? findProvider({ providerId: 'anthropic' }) : undefined;
}

function ratesOf(price: ModelPrice): Rates {
  const input = asRate(price.input_mtok) ?? 0;
  return {
    input,
    output: asRate(price.output_mtok) ?? 0,
    cacheRead: asRate(price.cache_read_mtok) ?? input,
    cacheWrite: asRate(price.cache_write_mtok) ?? input,
    perKiloRequests: typeof price.requests_kcount === 'number' ? price.requests_kcount : 0,
  };
}

function asRate(v: ModelPrice[string]): Rate | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : { base: v.base, tiers: v.tiers };
}

function rate(r: Rate, totalInput: number): number {
  if (typeof r === 'number') return r;
  let price = r.base;
  for (const tier of r.tiers) if (totalInput > tier.start) price = tier.price;
  return price;
}

function highest(r: Rate): number {
  return typeof r === 'number' ? r : Math.max(r.base, ...r.tiers.map((t) => t.price));
}

function datedCost(entry: DatedModel, t: TokenCounts): number | null {
  const result = calcPrice(
    { input_tokens: t.input + t.cacheRead + t.cacheWrite, cache_read_tokens: t.cacheRead, cache_write_tokens: t.cacheWrite, output_tokens: t.output },
    entry.model,
    { provider: entry.dated },
  );
  return result ? result.total_price : null;
}
