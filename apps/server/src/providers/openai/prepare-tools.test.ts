import { describe, expect, it } from 'vitest';
import type { ToolChoice, ToolUnion } from '../../generated/types.gen.js';
import { prepareTools } from './prepare-tools.js';
import { ToolNameMap } from './tool-names.js';
import { UnsupportedFeatures } from './unsupported.js';

const weather: ToolUnion = {
  name: 'get_weather',
  description: 'Weather for a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  cache_control: { type: 'ephemeral' },
};

function prepare(tools: ToolUnion[] | undefined, choice?: ToolChoice) {
  const unsupported = new UnsupportedFeatures();
  const names = new ToolNameMap();
  return { ...prepareTools(tools, choice, names, unsupported), unsupported: unsupported.list, names };
}

describe('prepareTools', () => {
  it('custom tools → function tools (cache_control dropped, strict kept)', () => {
    const { tools } = prepare([weather, { name: 'strict_one', input_schema: { type: 'object' }, strict: true }]);
    expect(tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      },
      { type: 'function', function: { name: 'strict_one', parameters: { type: 'object' }, strict: true } },
    ]);
  });

  it.each<[ToolChoice, unknown]>([
    [{ type: 'auto' }, 'auto'],
    [{ type: 'any' }, 'required'],
    [{ type: 'none' }, 'none'],
    [{ type: 'tool', name: 'get_weather' }, { type: 'function', function: { name: 'get_weather' } }],
  ])('tool_choice %j → %j', (choice, expected) => {
    expect(prepare([weather], choice).tool_choice).toEqual(expected);
  });

  it('disable_parallel_tool_use → parallel_tool_calls: false', () => {
    expect(prepare([weather], { type: 'auto', disable_parallel_tool_use: true }).parallel_tool_calls).toBe(false);
    expect(prepare([weather], { type: 'any', disable_parallel_tool_use: false }).parallel_tool_calls).toBeUndefined();
  });

  it('without tools neither tool_choice nor parallel_tool_calls is sent', () => {
    expect(prepare(undefined, { type: 'any', disable_parallel_tool_use: true })).toEqual({ unsupported: [], names: expect.any(ToolNameMap) });
    expect(prepare([], { type: 'none' }).tool_choice).toBeUndefined();
  });

  it('server tools are unsupported, named by type; a choice naming one is left out', () => {
    const out = prepare(
      [weather, { type: 'web_search_20250305', name: 'web_search', max_uses: 3 }, { type: 'bash_20250124', name: 'bash' }],
      { type: 'tool', name: 'web_search' },
    );
    expect(out.unsupported).toEqual(['web_search_20250305', 'bash_20250124']);
    expect(out.tools).toHaveLength(1);
    expect(out.tool_choice).toBeUndefined();
  });

  it('long names are shortened in tools and in tool_choice alike', () => {
    const long = 'mcp__github__'.padEnd(100, 'z');
    const out = prepare([{ name: long, input_schema: { type: 'object' } }], { type: 'tool', name: long });
    const sent = out.tools![0]!.function.name;
    expect(sent).toHaveLength(64);
    expect(out.tool_choice).toEqual({ type: 'function', function: { name: sent } });
    expect(out.names.fromUpstream(sent)).toBe(long);
  });
});
