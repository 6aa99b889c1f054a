/**
 * A key's or team's allowed models: alias names, "provider/model", or patterns where `*` stands
 * for any run of characters ("anthropic/*", "*haiku*", "openai/gpt-4o*"). A model name passes when
 * the name itself or the "provider/model" it resolves to matches one of them.
 */
export type ModelMatcher = (name: string, resolved: string | undefined) => boolean;

export function modelMatcher(patterns: readonly string[]): ModelMatcher {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const p of patterns) {
    if (p.includes('*')) globs.push(new RegExp(`^${p.split('*').map(escape).join('.*')}$`));
    else exact.add(p);
  }
  const matches = (s: string): boolean => exact.has(s) || globs.some((g) => g.test(s));
  return (name, resolved) => matches(name) || (resolved !== undefined && resolved !== name && matches(resolved));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
