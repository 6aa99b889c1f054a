import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { FALLBACK_MODEL_PATTERN, FALLBACK_MODEL_RULE, MAX_MODEL_ID, MODEL_ID_PATTERN, MODEL_ID_RULE } from '../routing/model-id.js';
import { describeValidation } from './validation-message.js';

const SPEC = fileURLToPath(new URL('../../../../openapi.yaml', import.meta.url));

describe('describeValidation', () => {
  it("names each field, dropping the dispatch chain's own verdicts", () => {
    const issues = [
      { path: '/body/messages/0/content/0/source/media_type', message: "must have required property 'media_type'" },
      { path: '/body/messages/0/content/0', message: 'must match "then" schema' },
      { path: '/body/messages/0/content/0', message: 'must match "else" schema' },
    ];
    expect(describeValidation(issues)).toBe("messages.0.content.0.source.media_type: must have required property 'media_type'");
  });

  it('drops the summary of a value whose own issues are listed', () => {
    const issues = [
      { path: '/body/messages/0/content', message: 'must be string' },
      { path: '/body/messages/0/content/0/text', message: "must have required property 'text'" },
      { path: '/body/messages/0/content', message: 'must match exactly one schema in oneOf' },
    ];
    expect(describeValidation(issues)).toBe("messages.0.content.0.text: must have required property 'text'");
  });

  it('keeps the alternatives of a union at one path, without the oneOf summary', () => {
    const issues = [
      { path: '/body/fallbacks', message: 'must be array' },
      { path: '/body/fallbacks', message: 'must match pattern "^[^/]+$"' },
      { path: '/body/fallbacks', message: 'must match exactly one schema in oneOf' },
    ];
    expect(describeValidation(issues)).toBe('fallbacks: must be array; fallbacks: must match pattern "^[^/]+$"');
  });

  it('names at most five issues', () => {
    const issues = Array.from({ length: 9 }, (_, i) => ({ path: `/body/f${i}`, message: 'must be string' }));
    expect(describeValidation(issues).split('; ')).toHaveLength(5);
  });

  it('passes plain issues through, headers included', () => {
    expect(describeValidation([{ path: '/body/max_tokens', message: "must have required property 'max_tokens'" }])).toBe(
      "max_tokens: must have required property 'max_tokens'",
    );
    expect(describeValidation([{ path: '/headers/x-bf-async', message: 'must be equal to one of the allowed values: true, false' }])).toBe(
      'headers.x-bf-async: must be equal to one of the allowed values: true, false',
    );
  });
});

describe('describeValidation on hostile input', () => {
  it('says what the model id patterns mean', () => {
    const issue = (path: string, pattern: string) => [{ path, message: `must match pattern "${pattern}"` }];
    expect(describeValidation(issue('/body/model', MODEL_ID_PATTERN))).toBe(`model: ${MODEL_ID_RULE}`);
    expect(describeValidation(issue('/body/fallbacks/0', FALLBACK_MODEL_PATTERN))).toBe(`fallbacks.0: ${FALLBACK_MODEL_RULE}`);
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
    const out = describeValidation(issues);
    expect(out).toMatch(/^f0: must be x+; f1: must be x+… \(\d+ characters\)$/);
    expect(out.length).toBeLessThan(2_100);
  });

  it('cuts a path made of a huge client key', () => {
    const out = describeValidation([{ path: `/body/metadata/${'k'.repeat(100_000)}`, message: 'is invalid' }]);
    expect(out.length).toBeLessThan(300);
  });

  it('names the body itself', () => {
    expect(describeValidation([{ path: '/body', message: 'must be object' }])).toBe('request body: must be object');
    expect(describeValidation([{ path: '', message: "must have required property 'body'" }])).toBe('request body: required (a JSON object)');
  });
});
