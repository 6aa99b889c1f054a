/**
 * Vertex AI model ids for Claude: `claude-sonnet-4-5@20250929`, `claude-3-5-haiku@20241022`, or a
 * bare `claude-sonnet-4-5` (the latest version). The id becomes part of the URL path
 * (`.../models/{id}:rawPredict`), so it is checked before any call.
 */
const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,127}(?:@[a-z0-9._-]{1,64})?$/i;

export function vertexModelIdProblem(model: string): string | undefined {
  if (MODEL_ID.test(model) && !model.includes('..')) return undefined;
  return `"${model}" is not a Vertex AI model id (letters, digits and . _ -, then optionally @ and a version)`;
}

/** Vertex's endpoint for a location: `global` and the `us` / `eu` multi-regions have their own hosts. */
export function vertexBaseUrl(region: string): string {
  if (region === 'global') return 'https://aiplatform.googleapis.com';
  if (region === 'us' || region === 'eu') return `https://aiplatform.${region}.rep.googleapis.com`;
  return `https://${region}-aiplatform.googleapis.com`;
}
