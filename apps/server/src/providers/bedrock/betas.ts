/**
 * `anthropic-beta` values Bedrock accepts for Claude, sent in the body as `anthropic_beta`. Bedrock
 * refuses a request naming any other ("invalid beta flag"), and clients such as Claude Code send
 * betas Bedrock has never heard of, so the others are left out and named in x-bf-dropped. A
 * provider's `betas` adds to this list (a beta Bedrock gained after this release).
 */
export const BEDROCK_BETAS: readonly string[] = [
  'computer-use-2024-10-22',
  'computer-use-2025-01-24',
  'computer-use-2025-11-24',
  'token-efficient-tools-2025-02-19',
  'interleaved-thinking-2025-05-14',
  'output-128k-2025-02-19',
  'dev-full-thinking-2025-05-14',
  'context-1m-2025-08-07',
  'context-management-2025-06-27',
  'effort-2025-11-24',
  'tool-search-tool-2025-10-19',
  'tool-examples-2025-10-29',
];

/** The client's comma-separated betas split into what goes to Bedrock and what is dropped, each once, in order. */
export function splitBetas(header: string | undefined, known: ReadonlySet<string>): { kept: string[]; dropped: string[] } {
  const kept: string[] = [];
  const dropped: string[] = [];
  // A Set, not a search of the lists: a 16 KB header holds thousands of names.
  const seen = new Set<string>();
  for (const raw of (header ?? '').split(',')) {
    const beta = raw.trim();
    if (!beta || seen.has(beta)) continue;
    seen.add(beta);
    (known.has(beta) ? kept : dropped).push(beta);
  }
  return { kept, dropped };
}
