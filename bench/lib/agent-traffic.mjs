// Request bodies shaped like agent traffic, generated here (no captured prompts): the same seed gives
// the same bytes, so every run and every target sends identical requests.
//
// - claudeCodeRequest(): one Claude Code turn. About 100 KB: a 26 KB system prompt in 3 blocks
//   (prompt-cached), 23 tools whose input schemas range from 0.3 KB to 12 KB, adaptive thinking,
//   context_management, metadata.user_id, and a short conversation. Every call gives the same system
//   prompt and tools, as a real session sends them on every turn.
// - conversationRequest(kb): a long session's history, `kb` KB of it in all: many turns of text,
//   tool_use and tool_result blocks (code and command output: quotes, backslashes, newlines, some
//   non-ASCII), and an image every 40 turns; a short system prompt and a few tools.
// In both, the last turn of the history (an assistant message and the tool result that answers it)
// holds ID, where the load generator writes a number of each request's own: like a session's turns,
// the requests repeat the same history and differ in the turn just taken.

/** A small seeded PRNG (mulberry32): deterministic bodies, no dependency. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'the a to of and in is for that with on as file function return value when this use tool call ' +
  'request response stream error test model token user assistant message content block type name ' +
  'path line code change run command output read write edit search result should must never always ' +
  'before after each every config server client gateway provider route schema field string number ' +
  'object array boolean optional required default limit timeout retry fallback cache key budget'
).split(' ');
const CODE = [
  'const x = await fetch(url, { method: "POST" });',
  'if (!res.ok) throw new Error(`HTTP ${res.status}`);',
  "import { readFile } from 'node:fs/promises';",
  'for (let i = 0; i < items.length; i++) total += items[i].size;',
  'return path.replace(/\\\\/g, "/").split("/").filter(Boolean);',
  'export function parse(text: string): Node[] {',
  '  // TODO: handle the \t tab and "quoted" cases',
  '}',
  '$ pnpm test -- --run src/routing',
  ' ✓ src/routing/plan.test.ts (12 tests) 18ms',
  'Ошибка: файл не найден — 文件未找到 (ENOENT)',
];

function words(next, bytes) {
  let out = '';
  while (out.length < bytes) {
    out += WORDS[Math.floor(next() * WORDS.length)];
    out += next() < 0.08 ? '.\n' : ' ';
  }
  return out.slice(0, bytes);
}

function code(next, bytes) {
  let out = '';
  let line = 1;
  while (out.length < bytes) out += `${String(line++).padStart(5)}\t${CODE[Math.floor(next() * CODE.length)]}\n`;
  return out.slice(0, bytes);
}

/** A JSON Schema of about `bytes` bytes, shaped like Claude Code's tool schemas. */
function schema(next, bytes, name) {
  const properties = {};
  const required = [];
  let i = 0;
  const size = () => JSON.stringify(properties).length;
  while (size() < bytes - 150) {
    const prop = `${name.toLowerCase()}_${['path', 'pattern', 'limit', 'mode', 'items', 'options'][i % 6]}_${i}`;
    const kind = i % 5;
    const description = words(next, 40 + Math.floor(next() * 200));
    properties[prop] =
      kind === 0
        ? { type: 'string', description }
        : kind === 1
          ? { type: 'number', description, minimum: 0 }
          : kind === 2
            ? { type: 'string', enum: ['content', 'files_with_matches', 'count'], description }
            : kind === 3
              ? { type: 'boolean', description }
              : {
                  type: 'array',
                  description,
                  items: {
                    type: 'object',
                    properties: { content: { type: 'string', minLength: 1 }, status: { type: 'string', enum: ['pending', 'in_progress', 'completed'] } },
                    required: ['content', 'status'],
                    additionalProperties: false,
                  },
                };
    if (i % 3 === 0) required.push(prop);
    i++;
  }
  return { type: 'object', properties, required, additionalProperties: false, $schema: 'http://json-schema.org/draft-07/schema#' };
}

const TOOL_NAMES = [
  'Task', 'Bash', 'Glob', 'Grep', 'ExitPlanMode', 'Read', 'Edit', 'MultiEdit', 'Write', 'NotebookEdit', 'WebFetch', 'TodoWrite',
  'WebSearch', 'BashOutput', 'KillShell', 'SlashCommand', 'ListMcpResources', 'ReadMcpResource', 'AskUserQuestion', 'Skill',
  'EnterPlanMode', 'LSP', 'ToolSearch',
];

/** 23 tools, input schemas from 0.3 KB to 12 KB (most small, a few large), descriptions of 0.1–0.9 KB. */
function claudeCodeTools() {
  const next = rng(23);
  return TOOL_NAMES.map((name, i) => {
    const schemaBytes = Math.round(300 + 11_700 * Math.pow(i / (TOOL_NAMES.length - 1), 5));
    return { name, description: words(next, 100 + Math.floor(next() * 800)), input_schema: schema(next, schemaBytes, name) };
  });
}

/** 26 KB in 3 blocks: the identity line, the long instructions, the environment. */
function claudeCodeSystem() {
  const next = rng(26);
  return [
    { type: 'text', text: "You are Claude Code, Anthropic's official CLI for Claude.", cache_control: { type: 'ephemeral' } },
    { type: 'text', text: words(next, 24_500), cache_control: { type: 'ephemeral' } },
    { type: 'text', text: `<env>\nWorking directory: /home/user/project\nIs directory a git repo: Yes\nPlatform: linux\n</env>\n${words(next, 1_200)}` },
  ];
}

let cached;
/** The parts a session sends unchanged on every turn (generated once). */
function session() {
  cached ??= { system: claudeCodeSystem(), tools: claudeCodeTools() };
  return cached;
}

/** A tiny PNG (1×1), as base64: the images are about the blocks around them, not their pixels. */
const PNG_1x1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

/** Turns of history: text, tool_use, tool_result, now and then an image; `bytes` of JSON or a little more. */
function history(next, bytes) {
  const messages = [];
  let size = 0;
  let turn = 0;
  while (size < bytes) {
    const id = `toolu_${String(turn).padStart(6, '0')}${Math.floor(next() * 1e9).toString(36)}`;
    const tool = TOOL_NAMES[1 + Math.floor(next() * 8)];
    const assistant = {
      role: 'assistant',
      content: [
        { type: 'text', text: words(next, 80 + Math.floor(next() * 600)) },
        { type: 'tool_use', id, name: tool, input: { file_path: `/home/user/project/src/file${turn}.ts`, pattern: 'fetch\\(', limit: 200 } },
      ],
    };
    const resultBytes = 300 + Math.floor(next() * 6_000);
    const result = { type: 'tool_result', tool_use_id: id, content: code(next, resultBytes) };
    if (turn % 40 === 39) result.content = [{ type: 'text', text: 'Screenshot:' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG_1x1 } }];
    const user = { role: 'user', content: [result, ...(next() < 0.3 ? [{ type: 'text', text: words(next, 40 + Math.floor(next() * 300)) }] : [])] };
    messages.push(assistant, user);
    size += JSON.stringify(assistant).length + JSON.stringify(user).length;
    turn++;
  }
  // The turn just taken is new on every request, as in a session (the earlier ones are sent again
  // byte for byte): the load generator writes a number of each request's own into ID.
  const [assistant, user] = messages.slice(-2);
  assistant.content[0].text = `${ID} ${assistant.content[0].text}`;
  const result = user.content[0];
  if (typeof result.content === 'string') result.content = `${ID}\n${result.content}`;
  else result.content[0].text = `${ID} ${result.content[0].text}`;
  return messages;
}

/** Where each request the benchmark sends gets a number of its own (bench/lib/harness.mjs: the ten zeros). */
export const ID = '~id-0000000000~';

/**
 * One Claude Code turn (about 100 KB), for `model` ("provider/model" through a gateway, the bare id
 * to the fake upstream directly).
 */
export function claudeCodeRequest(model, { stream = true } = {}) {
  const { system, tools } = session();
  const next = rng(7);
  return {
    model,
    max_tokens: 32_000,
    stream,
    system,
    tools,
    thinking: { type: 'adaptive' },
    context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
    metadata: { user_id: 'user_3f1c0e9a7b_account__session_7d2b9c1e-4a5f-4c3b-9e8d-1a2b3c4d5e6f' },
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: `<system-reminder>\n${words(next, 2_000)}\n</system-reminder>` },
          { type: 'text', text: 'Find where the retry budget is computed and explain it.', cache_control: { type: 'ephemeral' } },
        ],
      },
      ...history(next, 3_000),
      { role: 'user', content: 'Go on.' },
    ],
  };
}

/** A long session of about `kb` KB in all (history, a short system prompt, three tools). */
export function conversationRequest(model, kb, { stream = true } = {}) {
  const next = rng(kb);
  const tools = session().tools.slice(1, 4);
  const head = { model, max_tokens: 8_192, stream, system: 'You are a careful coding assistant.', tools };
  const base = JSON.stringify(head).length + 40;
  return { ...head, messages: [{ role: 'user', content: 'Start.' }, ...history(next, kb * 1024 - base), { role: 'user', content: 'Go on.' }] };
}
