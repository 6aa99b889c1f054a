import { asKnown } from '../../../contract/open-unions.js';
import type { CustomTool, ToolChoice, ToolUnion } from '../../../generated/types.gen.js';
import type { ToolNameMap } from '../../openai/tool-names.js';
import type { UnsupportedFeatures } from '../../openai/unsupported.js';
import type { ConverseRequest, ConverseTool } from './converse-types.js';

/**
 * Anthropic tools and tool_choice → Converse `toolConfig`.
 * - custom tools → `{toolSpec: {name, description, inputSchema: {json}}}` (names over 64 characters
 *   shortened reversibly); server tools are unsupported, named by their type;
 * - tool_choice auto / any / tool → `{auto: {}}` / `{any: {}}` / `{tool: {name}}`. Converse has no
 *   `none`: the tools are withheld, unless the history has tool blocks, for which Converse requires
 *   a toolConfig: then the tools go without a choice. `disable_parallel_tool_use` has no equivalent.
 */
export function prepareTools(
  tools: readonly ToolUnion[] | undefined,
  toolChoice: ToolChoice | undefined,
  historyHasTools: boolean,
  names: ToolNameMap,
  unsupported: UnsupportedFeatures,
): ConverseRequest['toolConfig'] {
  const specs: ConverseTool[] = [];
  for (const tool of tools ?? []) {
    if (isCustomTool(tool)) {
      specs.push({
        toolSpec: {
          name: names.toUpstream(tool.name),
          ...(tool.description ? { description: tool.description } : {}),
          inputSchema: { json: tool.input_schema },
        },
      });
    } else {
      unsupported.add(tool.type);
    }
  }
  if (specs.length === 0) return undefined;
  const choice = toolChoice ? asKnown(toolChoice) : undefined;
  switch (choice?.type) {
    case undefined:
      return { tools: specs };
    case 'auto':
      return { tools: specs, toolChoice: { auto: {} } };
    case 'any':
      return { tools: specs, toolChoice: { any: {} } };
    case 'tool': {
      const name = names.toUpstream(choice.name);
      return specs.some((s) => s.toolSpec.name === name) ? { tools: specs, toolChoice: { tool: { name } } } : { tools: specs };
    }
    case 'none':
      return historyHasTools ? { tools: specs } : undefined;
    default:
      unsupported.add(`tool_choice ${toolChoice!.type}`);
      return { tools: specs };
  }
}

/** A custom tool has no `type` (or `custom`); server tools carry a dated type such as web_search_20250305. */
function isCustomTool(tool: ToolUnion): tool is CustomTool {
  return tool.type === undefined || tool.type === null || tool.type === 'custom';
}
