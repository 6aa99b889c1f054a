import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { outputLimitFromError } from './output-limit.js';

const fixture = (name: string) => readFileSync(new URL(`./__fixtures__/${name}`, import.meta.url), 'utf8');

describe('outputLimitFromError', () => {
  it("OpenAI's output limit is a fact about the model", () => {
    expect(outputLimitFromError(400, fixture('openai-max-tokens-too-large.json'), 32000)).toEqual({ limit: 16384, ofModel: true });
  });

  it("vLLM's context window less this prompt is a fact about this request only", () => {
    expect(outputLimitFromError(400, fixture('vllm-max-tokens-too-large.json'), 32000)).toEqual({ limit: 32768 - 1211, ofModel: false });
  });

  it('the older "maximum context length ... in the completion" form, for the completion it names', () => {
    const text = JSON.stringify({
      error: {
        message: "This model's maximum context length is 8192 tokens. However, you requested 8256 tokens (64 in the messages, 8192 in the completion). Please reduce the length of the messages or completion.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    });
    expect(outputLimitFromError(400, text, 8192)).toEqual({ limit: 8128, ofModel: false });
  });

  it('nothing when the prompt alone does not fit, or the answer is about something else', () => {
    const tooLong = JSON.stringify({ object: 'error', message: "This model's maximum context length is 4096 tokens. However, you requested 9000 tokens (5000 in the messages, 4000 in the completion).", code: 400 });
    expect(outputLimitFromError(400, tooLong, 4000)).toBeUndefined();
    expect(outputLimitFromError(400, fixture('openai-o3-stop-unsupported.json'), 32000)).toBeUndefined();
    expect(outputLimitFromError(500, fixture('openai-max-tokens-too-large.json'), 32000)).toBeUndefined();
    // a "limit" at or above what was asked would not help
    expect(outputLimitFromError(400, fixture('openai-max-tokens-too-large.json'), 16384)).toBeUndefined();
  });
});
