/**
 * Gemini model ids (`gemini-2.5-pro`, `gemini-2.5-flash-preview-05-20`, `gemini-3-pro-preview`,
 * `gemini-2.0-flash-001`) become one path segment (`.../models/{id}:generateContent`): checked
 * before any call.
 */
const MODEL_ID = /^[a-z0-9][a-z0-9._-]{0,127}$/i;

export function geminiModelIdProblem(model: string): string | undefined {
  if (MODEL_ID.test(model) && !model.includes('..')) return undefined;
  return `"${model}" is not a Gemini model id (letters, digits and . _ -)`;
}
