import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { FALLBACK_MODEL_PATTERN, FALLBACK_MODEL_RULE, MAX_MODEL_ID, MODEL_ID_PATTERN, MODEL_ID_RULE } from '../routing/model-id.js';
import { buildTypeIndex, describeValidation } from './validation-message.js';

const SPEC = fileURLToPath(new URL('../../../../openapi.yaml', import.meta.url));
const types = buildTypeIndex(SPEC);

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

describe('describeValidation on hostile input', () => {
  it('names a huge unknown type by a short prefix', () => {
    const kind = 'x'.repeat(4 * 1024 * 1024);
    const body = { messages: [{ role: 'user', content: [{ type: kind }] }] };
    const issues = [{ path: '/body/messages/0/content/0/type', message: 'must be equal to constant' }];
    expect(describeValidation(issues, body, types)).toBe(`messages.0.content.0.type: unknown type "${'x'.repeat(64)}…" (4194304 characters)`);
  });

  it('says what the model id patterns mean', () => {
    const issue = (path: string, pattern: string) => [{ path, message: `must match pattern "${pattern}"` }];
    expect(describeValidation(issue('/body/model', MODEL_ID_PATTERN), {}, types)).toBe(`model: ${MODEL_ID_RULE}`);
    expect(describeValidation(issue('/body/fallbacks/0', FALLBACK_MODEL_PATTERN), {}, types)).toBe(`fallbacks.0: ${FALLBACK_MODEL_RULE}`);
  });

  it('the contract uses the patterns the router checks', () => {
    const spec = parseYaml(readFileSync(SPEC, 'utf8'));
    const schemas = spec.components.schemas;
    expect(schemas.CreateMessageRequest.properties.model.pattern).toBe(MODEL_ID_PATTERN);
    expect(schemas.CountTokensRequest.properties.model.pattern).toBe(MODEL_ID_PATTERN);
    expect(schemas.CreateMessageRequest.properties.model.maxLength).toBe(MAX_MODEL_ID);
    expect(schemas.CountTokensRequest.properties.model.maxLength).toBe(MAX_MODEL_ID);
    expect(schemas.FallbackModel.pattern).toBe(FALLBACK_MODEL_PATTERN);
    expect(schemas.FallbackModel.maxLength).toBe(MAX_MODEL_ID);
  });

  it('cuts the whole message at 2,000 characters', () => {
    const issues = Array.from({ length: 5 }, (_, i) => ({ path: `/body/f${i}`, message: `must be ${'x'.repeat(1_000)}` }));
    const out = describeValidation(issues, {}, types);
    expect(out).toMatch(/^f0: must be x+; f1: must be x+… \(\d+ characters\)$/);
    expect(out.length).toBeLessThan(2_100);
  });

  it('cuts a path made of a huge client key', () => {
    const out = describeValidation([{ path: `/body/metadata/${'k'.repeat(100_000)}`, message: 'is invalid' }], {}, types);
    expect(out.length).toBeLessThan(300);
  });

  it('names the place when every issue belongs to another branch', () => {
    const body = { tool_choice: { type: 'text', text: 'x' } };
    const issues = [{ path: '/body/tool_choice/type', message: 'must be equal to constant' }];
    expect(describeValidation(issues, body, types)).toBe('tool_choice.type: must be equal to constant');
  });

  it('names the body itself', () => {
    expect(describeValidation([{ path: '/body', message: 'must be object' }], [], types)).toBe('request body: must be object');
    expect(describeValidation([{ path: '', message: "must have required property 'body'" }], undefined, types)).toBe('request body: required (a JSON object)');
  });
});
