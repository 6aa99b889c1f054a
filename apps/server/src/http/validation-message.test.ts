import { describe, expect, it } from 'vitest';
import { describeValidation } from './validation-message.js';

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
