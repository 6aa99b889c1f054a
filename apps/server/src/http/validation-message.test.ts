import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { buildTypeIndex, describeValidation } from './validation-message.js';

const types = buildTypeIndex(fileURLToPath(new URL('../../../../openapi.yaml', import.meta.url)));

describe('describeValidation', () => {
  it('keeps only the issues of the branch the client meant', () => {
    const body = { messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64' } }] }] };
    const issues = [
      { path: '/body/messages/0/content', message: 'must be string' },
      { path: '/body/messages/0/content/0/text', message: "must have required property 'text'" },
      { path: '/body/messages/0/content/0/source/media_type', message: "must have required property 'media_type'" },
      { path: '/body/messages/0/content/0/source/url', message: "must have required property 'url'" },
      { path: '/body/messages/0/content/0/source/file_id', message: "must have required property 'file_id'" },
    ];
    expect(describeValidation(issues, body, types)).toBe("messages.0.content.0.source.media_type: must have required property 'media_type'");
  });

  it('names an unknown type once', () => {
    const body = { messages: [{ role: 'user', content: [{ type: 'txt', text: 'x' }] }] };
    const issues = [
      { path: '/body/messages/0/content', message: 'must be string' },
      { path: '/body/messages/0/content/0/type', message: 'must be equal to constant' },
      { path: '/body/messages/0/content/0/source', message: "must have required property 'source'" },
    ];
    expect(describeValidation(issues, body, types)).toBe('messages.0.content.0.type: unknown type "txt"');
  });

  it('drops the oneOf summary and other branches for tool_choice', () => {
    const body = { tool_choice: { type: 'tool' } };
    const issues = [
      { path: '/body/tool_choice/type', message: 'must be equal to constant' },
      { path: '/body/tool_choice/name', message: "must have required property 'name'" },
      { path: '/body/tool_choice', message: 'must match exactly one schema in oneOf' },
    ];
    expect(describeValidation(issues, body, types)).toBe("tool_choice.name: must have required property 'name'");
  });

  it('passes plain issues through, headers included', () => {
    expect(describeValidation([{ path: '/body/max_tokens', message: "must have required property 'max_tokens'" }], {}, types)).toBe(
      "max_tokens: must have required property 'max_tokens'",
    );
    expect(describeValidation([{ path: '/headers/x-bf-async', message: 'must be equal to one of the allowed values: true, false' }], {}, types)).toBe(
      'headers.x-bf-async: must be equal to one of the allowed values: true, false',
    );
  });
});
