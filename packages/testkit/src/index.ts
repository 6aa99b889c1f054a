export type { FakeOptions, FakeReply, FakeUpstream, RecordedRequest, ReplyProgress, Responder } from './types.js';
export { startFakeAnthropic, FAKE_ANTHROPIC_MODELS } from './anthropic/fake.js';
export type { FakeAnthropicOptions } from './anthropic/fake.js';
export { FakeBatchesApi } from './anthropic/batches.js';
export type { FakeBatchesOptions } from './anthropic/batches.js';
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
export { startFakeBedrock, FAKE_BEDROCK_API_KEY, FAKE_BEDROCK_CREDENTIALS } from './bedrock/fake.js';
export type { FakeBedrockOptions } from './bedrock/fake.js';
export {
  DEFAULT_BEDROCK_TEXT,
  bedrockClaudeMessage,
  bedrockError,
  bedrockInvokeFrames,
  bedrockReportedModel,
  bedrockStreamReply,
  converseResponse,
  converseStreamFrames,
} from './bedrock/builders.js';
export type { ConverseReplyOptions, ConverseToolUseSpec } from './bedrock/builders.js';
export {
  EVENT_STREAM_CONTENT_TYPE,
  bedrockChunkFrame,
  bedrockExceptionFrame,
  converseEventFrame,
  decodeEventStreamFrame,
  eventStreamFrame,
} from './bedrock/eventstream.js';
export { BEDROCK_KNOWN_BETAS, checkConverseBody, checkInvokeBody } from './bedrock/strict.js';
export { canonicalRequest, verifySigV4 } from './bedrock/sigv4.js';
export type { AwsCredentials, SigV4Failure } from './bedrock/sigv4.js';
export { startFakeVertex, vertexError, DEFAULT_VERTEX_TEXT } from './vertex/fake.js';
export type { FakeVertex, FakeVertexOptions } from './vertex/fake.js';
export { createFakeServiceAccount } from './vertex/service-account.js';
export type { FakeServiceAccount } from './vertex/service-account.js';
export { startFakeGemini, countGeminiTokens, geminiOutputLimit, FAKE_GEMINI_API_KEY } from './gemini/fake.js';
export type { FakeGemini, FakeGeminiOptions } from './gemini/fake.js';
export {
  DEFAULT_GEMINI_TEXT,
  geminiBadKey,
  geminiError,
  geminiQuotaError,
  geminiReplies,
  geminiResponse,
  geminiSseFrames,
  geminiStreamChunks,
  geminiStreamReply,
  resolveGeminiSignatures,
} from './gemini/builders.js';
export type { GeminiFunctionCallSpec, GeminiReplyOptions } from './gemini/builders.js';
export { checkGeminiRequest, checkSchema as checkGeminiSchema } from './gemini/strict.js';
export type { GeminiCheckOptions, GeminiViolation } from './gemini/strict.js';
export { SKIP_THOUGHT_SIGNATURE, geminiThoughtSignature, isValidThoughtSignature } from './gemini/signatures.js';
export { createTokenEndpoint } from './vertex/token-endpoint.js';
export type { TokenEndpoint, TokenEndpointOptions } from './vertex/token-endpoint.js';
export { anthropicAnswer, assistantPrefix, openaiAnswer, PREFILL_REFUSAL, restOfAnswer } from './continuation.js';
export type { AnswerFaults } from './continuation.js';
