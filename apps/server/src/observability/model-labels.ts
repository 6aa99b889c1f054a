import type { Config } from '../config/schema.js';

/** Label value for a request that never reached a provider (bad request, unknown route). */
export const NO_TARGET = '_none';
/** Label value shared by every model that is neither configured nor has served a request. */
export const OTHER_MODEL = '_other';

/**
 * Which models get a metrics label of their own. Clients choose model names, so a name becomes a
 * label only once the gateway has a reason to believe in it: it is configured (a provider's
 * `models`, an alias's target or fallback, a `pricing` key), or an upstream served a request on it.
 * Every other name (a typo, a 404 from the upstream, junk) is counted as `_other`. Models that
 * served are kept up to `max` in all, so a permissive upstream cannot grow the series either.
 */
export class ModelLabels {
  /** provider → its models with a label of their own. */
  private readonly known = new Map<string, Set<string>>();
  private count = 0;

  constructor(private readonly max: number) {}

  /** A configured model: always labelled, even past `max`. */
  configure(provider: string, model: string): void {
    this.add(provider, model);
  }

  /** An upstream served a request on this model: it is labelled from now on, while fewer than `max` are. */
  served(provider: string, model: string): void {
    if (this.count >= this.max || this.known.get(provider)?.has(model)) return;
    this.add(provider, model);
  }

  /** The label for a model: its own name when known, else `_other` (`_none` stays `_none`). */
  label(provider: string, model: string): string {
    if (model === NO_TARGET || model === OTHER_MODEL) return model;
    return this.known.get(provider)?.has(model) === true ? model : OTHER_MODEL;
  }

  /** Models with their own label. */
  get size(): number {
    return this.count;
  }

  private add(provider: string, model: string): void {
    let models = this.known.get(provider);
    if (!models) {
      models = new Set();
      this.known.set(provider, models);
    }
    if (models.has(model)) return;
    models.add(model);
    this.count++;
  }
}

/**
 * The provider/model pairs a config names: each provider's `models`, every alias's target and
 * fallbacks (through `resolve`, which follows the config's own routing) and the `pricing` keys.
 */
export function configuredModels(
  config: Pick<Config, 'providers' | 'models' | 'pricing'>,
  resolve: (model: string) => { provider: { name: string }; model: string },
): Array<[provider: string, model: string]> {
  const out: Array<[string, string]> = [];
  for (const [name, provider] of Object.entries(config.providers)) for (const model of provider.models) out.push([name, model]);
  for (const alias of Object.values(config.models)) {
    for (const name of [alias.target, ...alias.fallbacks]) {
      try {
        const target = resolve(name);
        out.push([target.provider.name, target.model]);
      } catch {
        // not a model (checked at start-up): nothing to label
      }
    }
  }
  for (const key of Object.keys(config.pricing)) {
    const slash = key.indexOf('/');
    out.push([key.slice(0, slash), key.slice(slash + 1)]);
  }
  return out;
}
