import { asKnown } from '../../contract/open-unions.js';
import type { CustomTool, ToolChoice, ToolUnion } from '../../generated/types.gen.js';
import type { OpenAIFunctionTool, OpenAIToolChoice } from './openai-types.js';
import type { ToolNameMap } from './tool-names.js';
import type { UnsupportedFeatures } from './unsupported.js';

export interface PreparedTools {
  tools?: OpenAIFunctionTool[];
  tool_choice?: OpenAIToolChoice;
  parallel_tool_calls?: false;
}

/**
 * Anthropic tools and tool_choice → OpenAI function tools.
 * - custom tools → `{type: function, function: {name, description, parameters: input_schema, strict}}`,
 *   names over 64 characters shortened (see tool-names); `cache_control` dropped (no effect upstream);
 * - server tools (web_search_*, web_fetch_*, bash_*, code_execution_*, computer_*, text_editor_*,
 *   memory_*) are unsupported, named by their `type`;
 * - tool_choice auto → "auto", any → "required", tool → `{type: function, function: {name}}`,
 *   none → "none"; `disable_parallel_tool_use` → `parallel_tool_calls: false`. Without tools (none
 *   given, or all dropped) neither is sent: OpenAI rejects tool_choice without tools. A choice naming a
 *   dropped server tool is left out too.
 */
export function prepareTools(
  tools: readonly ToolUnion[] | undefined,
  toolChoice: ToolChoice | undefined,
  names: ToolNameMap,
  unsupported: UnsupportedFeatures,
): PreparedTools {
  const functions: OpenAIFunctionTool[] = [];
  const serverToolNames = new Set<string>();
  for (const tool of tools ?? []) {
    if (isCustomTool(tool)) {
      functions.push({
        type: 'function',
        function: {
          name: names.toUpstream(tool.name),
          ...(tool.description ? { description: tool.description } : {}),
          parameters: tool.input_schema,
          ...(tool.strict === true ? { strict: true } : {}),
        },
      });
    } else {
      if (typeof tool.name === 'string') serverToolNames.add(tool.name);
      unsupported.add(tool.type);
    }
  }
  if (functions.length === 0) return {};
  const out: PreparedTools = { tools: functions };
  if (!toolChoice) return out;
  const choice = asKnown(toolChoice);
  switch (choice.type) {
    case 'auto':
      out.tool_choice = 'auto';
      break;
    case 'any':
      out.tool_choice = 'required';
      break;
    case 'none':
      out.tool_choice = 'none';
      break;
    case 'tool':
      if (serverToolNames.has(choice.name)) return out;
      out.tool_choice = { type: 'function', function: { name: names.toUpstream(choice.name) } };
      break;
    default:
      // A kind of tool_choice this gateway does not know: no OpenAI equivalent to send.
      unsupported.add(`tool_choice ${toolChoice.type}`);
      return out;
  }
  if (choice.type !== 'none' && choice.disable_parallel_tool_use === true) out.parallel_tool_calls = false;
  return out;
}

/** A custom tool has no `type` (or `custom`); server tools carry a dated type such as web_search_20250305. */
function isCustomTool(tool: ToolUnion): tool is CustomTool {
  return tool.type === undefined || tool.type === null || tool.type === 'custom';
}
