/**
 * A key's or team's allowed models: alias names, "provider/model", or patterns where `*` stands
 * for any run of characters ("anthropic/*", "*haiku*", "openai/gpt-4o*"). A model name passes when
 * the name itself or the "provider/model" it resolves to matches one of them.
 */
export type ModelMatcher = (name: string, resolved: string | undefined) => boolean;

export function modelMatcher(patterns: readonly string[]): ModelMatcher {
  const exact = new Set<string>();
  const globs: string[] = [];
  for (const p of patterns) {
    if (p.includes('*')) globs.push(p);
    else exact.add(p);
  }
  const matches = (s: string): boolean => exact.has(s) || globs.some((g) => globMatch(g, s));
  return (name, resolved) => matches(name) || (resolved !== undefined && resolved !== name && matches(resolved));
}

/**
 * Whether `text` matches `pattern`, whose every `*` stands for any run of characters. Greedy, going
 * back only to the last star: at most |text| × |pattern| steps. (A pattern turned into a regular
 * expression, `a*-*-*-*`, backtracks through every way of splitting a name that does not match:
 * polynomial in its length to the power of the stars.)
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.length && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}
