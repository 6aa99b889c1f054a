/**
 * The parts of the OpenAI Chat Completions wire format Conduit reads and writes. Written from the
 * public API reference; fields some compatible servers add (DeepSeek's `reasoning_content`,
 * OpenRouter's `reasoning`, vLLM's `stop_reason`, Groq's `x_groq.usage`) are typed as optional.
 */

export type OpenAIContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: 'auto' | 'low' | 'high' } }
  | { type: 'file'; file: { filename: string; file_data: string } };

export interface OpenAIToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type OpenAIMessage =
  | { role: 'system' | 'developer'; content: string }
  | { role: 'user'; content: string | OpenAIContentPart[] }
  | {
      role: 'assistant';
      content: string | null;
      tool_calls?: OpenAIToolCall[];
      reasoning_content?: string;
      /** DeepSeek, Mistral: the model continues this (final) message instead of answering after it. */
      prefix?: boolean;
    }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface OpenAIFunctionTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown>; strict?: boolean };
}

export type OpenAIToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export type OpenAIReasoningEffort = 'low' | 'medium' | 'high';

export interface OpenAIChatRequest {
  model: string;
  messages: OpenAIMessage[];
  max_completion_tokens?: number;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  stop?: string[];
  tools?: OpenAIFunctionTool[];
  tool_choice?: OpenAIToolChoice;
  parallel_tool_calls?: boolean;
  reasoning_effort?: OpenAIReasoningEffort;
  response_format?: { type: 'json_schema'; json_schema: { name: string; schema: Record<string, unknown>; strict: boolean } };
  user?: string;
  stream?: boolean;
  stream_options?: { include_usage: boolean };
  /** vLLM: continue the final assistant message (with add_generation_prompt false) instead of answering after it. */
  continue_final_message?: boolean;
  add_generation_prompt?: boolean;
}

export interface OpenAIUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
  /** DeepSeek reports its cache this way; prompt_tokens = hit + miss. */
  prompt_cache_hit_tokens?: number;
  prompt_cache_miss_tokens?: number;
}

/** A tool call as it appears in a streamed delta: fields arrive in pieces, `index` keys them. */
export interface OpenAIToolCallDelta {
  /** Missing on some servers (Gemini's and Ollama's compatible endpoints). */
  index?: number;
  id?: string | null;
  type?: 'function';
  /** `arguments` is a JSON text piece; llama.cpp's server sends the object itself. */
  function?: { name?: string | null; arguments?: unknown };
}

/** A tool call in a whole answer: `arguments` as a JSON text, or (llama.cpp's server) the object itself. */
export interface OpenAIResponseToolCall {
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: unknown };
}

export interface OpenAIResponseMessage {
  role?: 'assistant';
  /** Some servers answer with content parts instead of a string. */
  content?: string | Array<{ type?: string; text?: string }> | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: OpenAIResponseToolCall[] | null;
  /** The legacy single-function form. */
  function_call?: { name: string; arguments?: unknown } | null;
}

export interface OpenAIChoice {
  index?: number;
  message?: OpenAIResponseMessage;
  finish_reason?: string | null;
  /** vLLM (and some others): the stop string that ended generation, or the stop token id. */
  stop_reason?: string | number | null;
}

export interface OpenAIChatCompletion {
  id?: string;
  object?: string;
  model?: string;
  choices?: OpenAIChoice[];
  usage?: OpenAIUsage | null;
  /** A failure reported in the body of a 200 (OpenRouter). */
  error?: OpenAIErrorBody['error'];
}

export interface OpenAIChunkDelta {
  role?: string;
  content?: string | null;
  refusal?: string | null;
  reasoning_content?: string | null;
  reasoning?: string | null;
  tool_calls?: OpenAIToolCallDelta[] | null;
  function_call?: { name?: string; arguments?: unknown } | null;
}

export interface OpenAIChunkChoice {
  index?: number;
  delta?: OpenAIChunkDelta;
  finish_reason?: string | null;
  stop_reason?: string | number | null;
}

export interface OpenAIChatChunk {
  id?: string;
  object?: string;
  model?: string;
  choices?: OpenAIChunkChoice[];
  usage?: OpenAIUsage | null;
  /** Groq puts the stream's usage here. */
  x_groq?: { usage?: OpenAIUsage | null } | null;
  /** Some servers report a failure inside the stream. */
  error?: OpenAIErrorBody['error'];
}

export interface OpenAIErrorBody {
  error?: { message?: string; type?: string | null; code?: string | number | null; param?: string | null } | string;
}
