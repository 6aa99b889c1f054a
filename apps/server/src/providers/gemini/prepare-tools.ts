import { asKnown } from '../../contract/open-unions.js';
import type { CustomTool, ToolChoice, ToolUnion } from '../../generated/types.gen.js';
import type { UnsupportedFeatures } from '../openai/unsupported.js';
import type { GeminiFunctionDeclaration, GeminiRequest } from './gemini-types.js';
import { SchemaBudget, SchemaTooLarge, toGeminiParameters } from './json-schema.js';
import type { GeminiToolNames } from './tool-names.js';

export interface PreparedTools {
  tools?: GeminiRequest['tools'];
  toolConfig?: GeminiRequest['toolConfig'];
  /** `tool_choice.disable_parallel_tool_use`: Gemini has no such switch (listed in x-bf-dropped). */
  droppedParallel: boolean;
}

/**
 * Anthropic tools and tool_choice → Gemini `tools[{functionDeclarations}]` and `toolConfig`.
 * - custom tools → `{name, description, parameters}`, the input schema reduced to what Gemini takes
 *   (json-schema.ts); a schema too large once its references are resolved, alone or with the
 *   request's other schemas (`schemas`, one budget for all), is unsupported, named `tool <name>`. Server tools and kinds the contract does not know are unsupported, by type.
 * - tool_choice auto / any / tool / none → `functionCallingConfig.mode` AUTO / ANY / ANY with
 *   `allowedFunctionNames: [name]` / NONE; neither is sent when no function is left.
 */
export function prepareTools(
  tools: readonly ToolUnion[] | undefined,
  toolChoice: ToolChoice | undefined,
  names: GeminiToolNames,
  unsupported: UnsupportedFeatures,
  schemas = new SchemaBudget(),
): PreparedTools {
  const declarations: GeminiFunctionDeclaration[] = [];
  for (const tool of tools ?? []) {
    if (!isCustomTool(tool)) {
      unsupported.add(tool.type);
      continue;
    }
    try {
      const parameters = toGeminiParameters(tool.input_schema, schemas);
      declarations.push({
        name: names.toUpstream(tool.name),
        ...(tool.description ? { description: tool.description } : {}),
        ...(parameters ? { parameters } : {}),
      });
    } catch (err) {
      if (!(err instanceof SchemaTooLarge)) throw err;
      unsupported.add(`tool ${tool.name}`);
    }
  }
  if (declarations.length === 0) return { droppedParallel: false };
  const out: PreparedTools = { tools: [{ functionDeclarations: declarations }], droppedParallel: false };
  if (!toolChoice) return out;
  const choice = asKnown(toolChoice);
  switch (choice.type) {
    case 'auto':
      out.toolConfig = { functionCallingConfig: { mode: 'AUTO' } };
      break;
    case 'any':
      out.toolConfig = { functionCallingConfig: { mode: 'ANY' } };
      break;
    case 'tool': {
      const name = names.toUpstream(choice.name);
      if (declarations.some((d) => d.name === name)) out.toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } };
      break;
    }
    case 'none':
      out.toolConfig = { functionCallingConfig: { mode: 'NONE' } };
      return out;
    default:
      unsupported.add(`tool_choice ${toolChoice.type}`);
      return out;
  }
  out.droppedParallel = choice.disable_parallel_tool_use === true;
  return out;
}

/** A custom tool has no `type` (or `custom`); server tools carry a dated type such as web_search_20250305. */
function isCustomTool(tool: ToolUnion): tool is CustomTool {
  return tool.type === undefined || tool.type === null || tool.type === 'custom';
}
