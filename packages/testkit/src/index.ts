export type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest, ReplyProgress, Responder } from './types.js';
export { startFakeAnthropic, FAKE_ANTHROPIC_MODELS } from './anthropic/fake.js';
export type { FakeAnthropicOptions } from './anthropic/fake.js';
export {
  DEFAULT_ANTHROPIC_MODEL,
  DEFAULT_ANTHROPIC_TEXT,
  anthropicError,
  anthropicErrorEvent,
  anthropicErrorType,
  anthropicMessage,
  anthropicSseEvents,
} from './anthropic/builders.js';
export type { AnthropicMessage, AnthropicMessageOptions, AnthropicSseOptions, AnthropicUsage } from './anthropic/builders.js';
export { startFakeOpenAI, FAKE_OPENAI_MODELS } from './openai/fake.js';
export type { FakeOpenAIOptions } from './openai/fake.js';
export {
  DEFAULT_OPENAI_MODEL,
  DEFAULT_OPENAI_TEXT,
  openaiChunks,
  openaiCompletion,
  openaiError,
  openaiErrorType,
  openaiUsage,
} from './openai/builders.js';
export type { OpenAIChunkOptions, OpenAIReplyOptions, OpenAIToolCallSpec, OpenAIUsageSpec } from './openai/builders.js';
export { checkOpenAIRequest, openaiStrictRules } from './openai/strict.js';
export type { StrictContext, StrictRule, StrictViolation } from './openai/strict.js';
export { checkEventOrder, contractFromSpec, loadContract } from './contract.js';
export type { Contract } from './contract.js';
export { dataFrame, parseSse, sseFrame } from './sse.js';
export type { SseEvent } from './sse.js';
export { countInputTokens } from './text.js';
