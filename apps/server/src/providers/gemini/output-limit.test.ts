import { describe, expect, it } from 'vitest';
import { geminiOutputLimit } from './output-limit.js';

const refusal = (requested: number, exclusive: number) =>
  JSON.stringify({ error: { code: 400, status: 'INVALID_ARGUMENT', message: `Unable to submit request because it has a maxOutputTokens value of ${requested} but the supported range is from 1 (inclusive) to ${exclusive} (exclusive). Update the value and try again.` } });

describe('the output limit in a Gemini refusal', () => {
  it('reads the top of the supported range', () => {
    expect(geminiOutputLimit(400, refusal(32_000, 8193), 32_000)).toBe(8192);
    expect(geminiOutputLimit(400, refusal(100_000, 65_537), 100_000)).toBe(65_536);
  });

  it('nothing for other answers, other statuses, or a limit that would not lower the request', () => {
    expect(geminiOutputLimit(400, JSON.stringify({ error: { code: 400, status: 'INVALID_ARGUMENT', message: 'Request contains an invalid argument.' } }), 32_000)).toBeUndefined();
    expect(geminiOutputLimit(429, refusal(32_000, 8193), 32_000)).toBeUndefined();
    expect(geminiOutputLimit(400, refusal(8000, 8193), 8000)).toBeUndefined();
  });
});
