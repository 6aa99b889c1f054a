import { describe, expect, it } from 'vitest';
import { MAX_OPENAI_TOOL_NAME, ToolNameMap, shortenToolName } from './tool-names.js';

describe('shortenToolName', () => {
  it('leaves names of 64 characters or fewer alone', () => {
    expect(shortenToolName('get_weather')).toBe('get_weather');
    const exact = 'a'.repeat(64);
    expect(shortenToolName(exact)).toBe(exact);
  });

  it('shortens longer names to 64 characters, deterministically, keeping a readable prefix', () => {
    const long = `mcp__some_server__${'very_long_tool_name_'.repeat(5)}`;
    const short = shortenToolName(long);
    expect(short).toHaveLength(MAX_OPENAI_TOOL_NAME);
    expect(short.startsWith(long.slice(0, 53))).toBe(true);
    expect(short).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(shortenToolName(long)).toBe(short);
  });

  it('gives two long names with the same prefix different short names', () => {
    const prefix = 'x'.repeat(70);
    expect(shortenToolName(`${prefix}_read`)).not.toBe(shortenToolName(`${prefix}_write`));
  });
});

describe('ToolNameMap', () => {
  it('maps shortened names back and passes other names through', () => {
    const map = new ToolNameMap();
    const long = 'n'.repeat(100);
    const short = map.toUpstream(long);
    expect(map.toUpstream('short_one')).toBe('short_one');
    expect(map.fromUpstream(short)).toBe(long);
    expect(map.fromUpstream('short_one')).toBe('short_one');
    expect(map.fromUpstream('unknown_tool')).toBe('unknown_tool');
    expect(map.size).toBe(1);
  });
});
