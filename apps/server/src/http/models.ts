import type { RequestHandler } from 'express';
import type { ModelInfo, ModelList } from '../generated/types.gen.js';
import { observationOf } from '../observability/observation.js';
import type { Provider } from '../providers/types.js';

/** Every configured provider's advertised models, as "provider/model" ids. */
export function modelCatalogue(providers: ReadonlyMap<string, Provider>, createdAt: string): ModelInfo[] {
  const out: ModelInfo[] = [];
  for (const provider of providers.values()) {
    for (const model of provider.config.models) {
      out.push({ id: `${provider.name}/${model}`, type: 'model', display_name: `${model} (${provider.name})`, created_at: createdAt });
    }
  }
  return out;
}

/** GET /anthropic/v1/models (operationId listModels), paged like Anthropic's: limit, after_id, before_id. */
export function listModelsHandler(catalogue: ModelInfo[]): RequestHandler {
  return (req, res) => {
    // No provider is asked: the series stay `_none` for provider/model.
    observationOf(res).operation = 'list_models';
    const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
    const afterId = req.query.after_id as string | undefined;
    const beforeId = req.query.before_id as string | undefined;
    let start = 0;
    let end = catalogue.length;
    if (afterId !== undefined) start = catalogue.findIndex((m) => m.id === afterId) + 1;
    if (beforeId !== undefined) {
      const i = catalogue.findIndex((m) => m.id === beforeId);
      end = i === -1 ? catalogue.length : i;
      start = Math.max(start, end - limit);
    }
    const page = catalogue.slice(start, Math.min(end, start + limit));
    const body: ModelList = {
      data: page,
      has_more: beforeId !== undefined ? start > 0 : start + page.length < end,
      first_id: page[0]?.id ?? null,
      last_id: page[page.length - 1]?.id ?? null,
    };
    res.status(200).json(body);
  };
}
