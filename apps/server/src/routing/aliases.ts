import type { Config } from '../config/schema.js';

/**
 * Start-up check of `models:` aliases: every target and fallback must name a configured provider
 * (or be a bare model id with a provider to send it to), and an alias's plan must fit in
 * `limits.max_plan_targets`. Returns one line per problem, each naming its field; a fallback may
 * name another alias.
 */
export function aliasConfigErrors(config: Pick<Config, 'providers' | 'default_provider' | 'models'> & Partial<Pick<Config, 'limits'>>): string[] {
  const names = Object.keys(config.providers);
  const bareGoesTo = config.default_provider ?? (names.length === 1 ? names[0] : undefined);
  const problem = (value: string): string | undefined => {
    const slash = value.indexOf('/');
    if (slash > 0) {
      const provider = value.slice(0, slash);
      if (!Object.hasOwn(config.providers, provider)) return `unknown provider "${provider}" in "${value}" (configured: ${names.join(', ')})`;
      if (slash === value.length - 1) return `"${value}" names no model after the provider`;
      return undefined;
    }
    if (!bareGoesTo) return `"${value}" has no provider prefix and no default_provider is configured`;
    return undefined;
  };
  const errors: string[] = [];
  const maxTargets = config.limits?.max_plan_targets;
  for (const [name, alias] of Object.entries(config.models ?? {})) {
    if (maxTargets !== undefined && 1 + alias.fallbacks.length > maxTargets) {
      errors.push(`models.${name}.fallbacks: the target and ${alias.fallbacks.length} fallbacks make ${1 + alias.fallbacks.length} targets; limits.max_plan_targets is ${maxTargets}`);
    }
    const targetProblem = problem(alias.target);
    if (targetProblem) errors.push(`models.${name}.target: ${targetProblem}`);
    alias.fallbacks.forEach((f, i) => {
      if (config.models && Object.hasOwn(config.models, f)) return;
      const p = problem(f);
      if (p) errors.push(`models.${name}.fallbacks[${i}]: ${p}`);
    });
  }
  return errors;
}
