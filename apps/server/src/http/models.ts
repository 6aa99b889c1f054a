import type { RequestHandler } from 'express';
import type { Config } from '../config/schema.js';
import { notFound } from '../errors.js';
import type { ModelInfo, ModelList } from '../generated/types.gen.js';
import { observationOf } from '../observability/observation.js';
import type { Provider } from '../providers/types.js';
import { sendError } from './error-envelope.js';

/** Longest model id echoed back in a 404. */
const ECHO_LIMIT = 200;

/**
 * What GET /anthropic/v1/models lists: every configured provider's advertised models as
 * "provider/model", then the `models:` aliases (the names clients such as Claude Code send).
 */
export function modelCatalogue(providers: ReadonlyMap<string, Provider>, aliases: Config['models'], createdAt: string): ModelInfo[] {
  const out: ModelInfo[] = [];
  for (const provider of providers.values()) {
    for (const model of provider.config.models) {
      out.push({ id: `${provider.name}/${model}`, type: 'model', display_name: `${model} (${provider.name})`, created_at: createdAt });
    }
  }
  for (const [alias, { target }] of Object.entries(aliases)) {
    out.push({ id: alias, type: 'model', display_name: `${alias} (→ ${target})`, created_at: createdAt });
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

/** GET /anthropic/v1/models/{model_id} (operationId getModel): one catalogue entry, or 404 not_found_error. */
export function getModelHandler(catalogue: ModelInfo[]): RequestHandler {
  const byId = new Map(catalogue.map((m) => [m.id, m]));
  return (req, res) => {
    observationOf(res).operation = 'get_model';
    const param = (req.params as { model_id: string | string[] }).model_id;
    const id = Array.isArray(param) ? param.join('/') : param;
    const model = byId.get(id);
    if (!model) {
      const shown = id.length > ECHO_LIMIT ? `${id.slice(0, ECHO_LIMIT)}…` : id;
      sendError(res, notFound(`model: "${shown}" is not a model of this gateway; GET /anthropic/v1/models lists them`));
      return;
    }
    res.status(200).json(model);
  };
}
