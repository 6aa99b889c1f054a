import { checkOpenAIRequest } from '@conduit/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shareForTests as share } from '../../contract/share-for-tests.js';
import type { InputMessage, SystemPrompt } from '../../generated/types.gen.js';
import { convertMessages, isSharedTranslation } from './convert-messages.js';
import type { OpenAIMessage } from './openai-types.js';
import { ToolNameMap } from './tool-names.js';
import { UnsupportedFeatures } from './unsupported.js';

const PNG = 'iVBORw0KGgo=';

function convert(messages: InputMessage[], system?: SystemPrompt, opts: { pdfFiles?: boolean; reasoningContent?: boolean } = {}) {
  const unsupported = new UnsupportedFeatures();
  const names = new ToolNameMap();
  const out = convertMessages(system, messages, names, unsupported, opts);
  return { out, unsupported: unsupported.list, names };
}

/** The real API's checks (testkit) must accept every conversion. */
function expectAccepted(messages: OpenAIMessage[]): void {
  expect(checkOpenAIRequest({ model: 'gpt-4o', messages })).toBeNull();
}

describe('convertMessages: system', () => {
  it('a string system → a leading system message', () => {
    const { out } = convert([{ role: 'user', content: 'Hi' }], 'Be brief.');
    expect(out).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ]);
  });

  it('system blocks → one system message; cache_control dropped', () => {
    const { out } = convert(
      [{ role: 'user', content: 'Hi' }],
      [
        { type: 'text', text: 'You are Claude Code.' },
        { type: 'text', text: 'Project rules.', cache_control: { type: 'ephemeral' } },
      ],
    );
    expect(out[0]).toEqual({ role: 'system', content: 'You are Claude Code.\nProject rules.' });
  });

  it('an empty system sends no system message', () => {
    expect(convert([{ role: 'user', content: 'Hi' }], '').out).toEqual([{ role: 'user', content: 'Hi' }]);
    expect(convert([{ role: 'user', content: 'Hi' }], []).out).toEqual([{ role: 'user', content: 'Hi' }]);
  });
});

describe('convertMessages: user content', () => {
  it('text blocks → one string; empty text blocks are not sent', () => {
    const { out } = convert([{ role: 'user', content: [{ type: 'text', text: '<reminder/>' }, { type: 'text', text: '' }, { type: 'text', text: 'Question?' }] }]);
    expect(out).toEqual([{ role: 'user', content: '<reminder/>\nQuestion?' }]);
  });

  it('images: base64 → data: URL, url → url, as parts next to the text', () => {
    const { out } = convert([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these.' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } },
          { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
    expect(out).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these.' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
        ],
      },
    ]);
    expectAccepted(out);
  });

  it('plain-text documents become text; PDFs and search results are unsupported', () => {
    const { out, unsupported } = convert([
      {
        role: 'user',
        content: [
          { type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'Clause 1.' }, title: 'Contract' },
          { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } },
          { type: 'search_result', source: 'https://x', title: 't', content: [{ type: 'text', text: 'r' }] },
          { type: 'text', text: 'Summarise.' },
        ],
      },
    ]);
    expect(out).toEqual([{ role: 'user', content: 'Contract\nClause 1.\nSummarise.' }]);
    expect(unsupported).toEqual(['document', 'search_result']);
  });

  it('with pdf_files, a base64 PDF becomes a file part named after its title; by URL it stays unsupported', () => {
    const { out, unsupported } = convert(
      [
        {
          role: 'user',
          content: [
            { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'Q3/report', context: 'Finance pack' },
            { type: 'text', text: 'Summarise.' },
          ],
        },
      ],
      undefined,
      { pdfFiles: true },
    );
    expect(out).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Finance pack' },
          { type: 'file', file: { filename: 'Q3_report.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
          { type: 'text', text: 'Summarise.' },
        ],
      },
    ]);
    expect(unsupported).toEqual([]);
    expectAccepted(out);
    const byUrl = convert([{ role: 'user', content: [{ type: 'document', source: { type: 'url', url: 'https://x/a.pdf' } }, { type: 'text', text: 'x' }] }], undefined, { pdfFiles: true });
    expect(byUrl.unsupported).toEqual(['document']);
  });

  it('with pdf_files, a PDF a tool returned follows the tool message in a user message, and the result says so', () => {
    const { out } = convert(
      [
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'read', input: { path: 'a.pdf' } }] },
        {
          role: 'user',
          content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' } }] }],
        },
      ],
      undefined,
      { pdfFiles: true },
    );
    expect(out.slice(1)).toEqual([
      { role: 'tool', tool_call_id: 'toolu_1', content: '[1 file attached in the next user message]' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'File returned by tool call toolu_1:' },
          { type: 'file', file: { filename: 'document.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } },
        ],
      },
    ]);
    expectAccepted(out);
  });

  it('an image from the Files API is unsupported', () => {
    expect(convert([{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }, { type: 'text', text: 'x' }] }]).unsupported).toEqual(['image_file']);
  });
});

describe('convertMessages: tool use round trip', () => {
  const assistantTurn: InputMessage = {
    role: 'assistant',
    content: [
      { type: 'thinking', thinking: 'I should look both up.', signature: 'sig' },
      { type: 'redacted_thinking', data: 'xyz' },
      { type: 'text', text: 'Looking up both.' },
      { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'toolu_2', name: 'get_weather', input: { city: 'Tokyo' } },
    ],
  };

  it('assistant tool_use → tool_calls with JSON string arguments; thinking blocks dropped', () => {
    const { out } = convert([{ role: 'user', content: 'Weather?' }, assistantTurn, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' }, { type: 'tool_result', tool_use_id: 'toolu_2', content: '25C' }] }]);
    expect(out[1]).toEqual({
      role: 'assistant',
      content: 'Looking up both.',
      tool_calls: [
        { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
        { id: 'toolu_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Tokyo"}' } },
      ],
    });
    expect(out.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 'toolu_1', content: '18C' },
      { role: 'tool', tool_call_id: 'toolu_2', content: '25C' },
    ]);
    expectAccepted(out);
  });

  it('with reasoningContent (DeepSeek), thinking goes back as reasoning_content on its turn; "" on a turn without thinking', () => {
    const { out } = convert(
      [
        { role: 'user', content: 'Weather?' },
        assistantTurn,
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18C' }, { type: 'tool_result', tool_use_id: 'toolu_2', content: '25C' }] },
        { role: 'assistant', content: 'Paris 18C, Tokyo 25C.' },
        { role: 'user', content: 'Thanks' },
      ],
      undefined,
      { reasoningContent: true },
    );
    expect(out[1]).toMatchObject({ role: 'assistant', content: 'Looking up both.', reasoning_content: 'I should look both up.' });
    expect(out[4]).toEqual({ role: 'assistant', content: 'Paris 18C, Tokyo 25C.', reasoning_content: '' });
    // off by default: OpenAI refuses the field
    expect(convert([{ role: 'user', content: 'Weather?' }, assistantTurn]).out[1]).not.toHaveProperty('reasoning_content');
  });

  it('an assistant turn with only tool calls has content null; one with only thinking is left out', () => {
    const { out } = convert([
      { role: 'user', content: 'a' },
      { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 's' }] },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
    ]);
    expect(out).toEqual([
      { role: 'user', content: 'a' },
      { role: 'user', content: 'b' },
      { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 't1', content: 'ok' },
    ]);
    expectAccepted(out);
  });

  it('tool_result block arrays → joined text (not stringified JSON)', () => {
    const { out } = convert([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'ls', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'a.ts' }, { type: 'text', text: 'b.ts' }] }] },
    ]);
    expect(out[2]).toEqual({ role: 'tool', tool_call_id: 't1', content: 'a.ts\nb.ts' });
  });

  it('is_error prefixes the content with "Error: "', () => {
    const { out } = convert([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'rm', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'permission denied', is_error: true }] },
    ]);
    expect(out[2]).toEqual({ role: 'tool', tool_call_id: 't1', content: 'Error: permission denied' });
  });

  it('a result without content is an empty tool message (or "Error:" when it failed)', () => {
    const { out } = convert([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'a', input: {} }, { type: 'tool_use', id: 't2', name: 'b', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1' }, { type: 'tool_result', tool_use_id: 't2', is_error: true }] },
    ]);
    expect(out.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 't1', content: '' },
      { role: 'tool', tool_call_id: 't2', content: 'Error:' },
    ]);
    expectAccepted(out);
  });

  it('images in tool results and the user text of that message go into a user message AFTER all tool messages', () => {
    const { out } = convert([
      { role: 'user', content: 'Screenshot both pages.' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'shot', input: { page: 1 } }, { type: 'tool_use', id: 't2', name: 'shot', input: { page: 2 } }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: [{ type: 'text', text: 'page 1' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }] },
          { type: 'tool_result', tool_use_id: 't2', content: 'page 2 failed', is_error: true },
          { type: 'text', text: 'Which looks better?' },
        ],
      },
    ]);
    expect(out.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 't1', content: 'page 1\n[1 image attached in the next user message]' },
      { role: 'tool', tool_call_id: 't2', content: 'Error: page 2 failed' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Image returned by tool call t1:' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } },
          { type: 'text', text: 'Which looks better?' },
        ],
      },
    ]);
    expectAccepted(out);
  });

  it('text after tool results in the same user message follows the tool messages', () => {
    const { out } = convert([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'f', input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'done' }, { type: 'text', text: 'Now explain.' }] },
    ]);
    expect(out.slice(2)).toEqual([
      { role: 'tool', tool_call_id: 't1', content: 'done' },
      { role: 'user', content: 'Now explain.' },
    ]);
    expectAccepted(out);
  });

  it('server tool blocks in the history are unsupported', () => {
    const { unsupported } = convert([
      { role: 'user', content: 'search' },
      {
        role: 'assistant',
        content: [
          { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'x' } },
          { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [] },
          { type: 'text', text: 'found' },
        ],
      },
    ]);
    expect(unsupported).toEqual(['server_tool_use', 'web_search_tool_result']);
  });

  it('tool names over 64 characters are shortened the same way in tool_calls', () => {
    const long = 'mcp__filesystem__'.padEnd(80, 'x');
    const { out, names } = convert([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: long, input: {} }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'ok' }] },
    ]);
    const sent = (out[1] as any).tool_calls[0].function.name as string;
    expect(sent).toHaveLength(64);
    expect(names.fromUpstream(sent)).toBe(long);
  });
});

describe('convertMessages: messages a session repeats', () => {
  const longName = `mcp__${'server'.repeat(12)}__read`;
  const text = fc.string({ maxLength: 12 });
  const userBlock = fc.oneof(
    text.map((t) => ({ type: 'text', text: t })),
    fc.constant({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }),
    fc.constant({ type: 'image', source: { type: 'file', file_id: 'file_1' } }),
    fc.constant({ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBERi0=' }, title: 'a/b' }),
    fc.constant({ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'doc' }, context: 'ctx' }),
    fc.record({ type: fc.constant('tool_result'), tool_use_id: fc.constantFrom('t1', 't2'), is_error: fc.boolean(), content: fc.oneof(text, fc.array(fc.oneof(text.map((t) => ({ type: 'text', text: t })), fc.constant({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } })), { maxLength: 2 })) }),
    fc.constant({ type: 'search_result', source: 's', title: 't', content: [] }),
  );
  const assistantBlock = fc.oneof(
    text.map((t) => ({ type: 'text', text: t })),
    fc.record({ type: fc.constant('tool_use'), id: fc.constantFrom('t1', 't2'), name: fc.constantFrom('read', longName), input: fc.dictionary(fc.string({ maxLength: 3 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }) }),
    text.map((t) => ({ type: 'thinking', thinking: t, signature: 'sig' })),
    fc.constant({ type: 'redacted_thinking', data: 'x' }),
    fc.constant({ type: 'server_tool_use', id: 's1', name: 'web_search', input: {} }),
  );
  const message = fc.oneof(
    fc.record({ role: fc.constant('user'), content: fc.oneof(text, fc.array(userBlock, { minLength: 1, maxLength: 3 })) }),
    fc.record({ role: fc.constant('assistant'), content: fc.oneof(text, fc.array(assistantBlock, { minLength: 1, maxLength: 3 })) }),
  ) as fc.Arbitrary<InputMessage>;

  it('translates a shared message as it translates its copy, reusing the translation, with the same names and unsupported features (property)', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 5 }), fc.option(fc.array(text.map((t) => ({ type: 'text' as const, text: t })), { maxLength: 2 }), { nil: undefined }), fc.boolean(), fc.boolean(), (messages, system, pdfFiles, reasoningContent) => {
        const opts = { pdfFiles, reasoningContent };
        const plain = convert(structuredClone(messages), structuredClone(system), opts);
        const shared = messages.map(share);
        const sharedSystem = system && share(system);
        for (let turn = 0; turn < 2; turn++) {
          const got = convert(shared, sharedSystem, opts);
          expect(got.out).toEqual(plain.out);
          expect(JSON.stringify(got.out)).toBe(JSON.stringify(plain.out));
          expect(got.unsupported).toEqual(plain.unsupported);
          expect([...got.names.originalNames()]).toEqual([...plain.names.originalNames()]);
        }
        // The same translation each time (its bytes are kept beside it: request-bytes.ts).
        const [a, b] = [convert(shared, sharedSystem, opts).out, convert(shared, sharedSystem, opts).out];
        a.forEach((m, i) => expect(m).toBe(b[i]));
        a.forEach((m) => expect(isSharedTranslation(m)).toBe(true));
      }),
      { numRuns: 300 },
    );
  });

  it('leaves messages that are not shared to be translated anew each time', () => {
    const messages: InputMessage[] = [{ role: 'user', content: 'hi' }];
    const [a, b] = [convert(messages).out, convert(messages).out];
    expect(a[0]).not.toBe(b[0]);
    expect(isSharedTranslation(a[0]!)).toBe(false);
  });
});
