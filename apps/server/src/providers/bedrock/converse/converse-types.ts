/** The Bedrock Converse API's wire types: only the parts the gateway sends and reads. */

export type ConverseImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

export type ConverseContentBlock =
  | { text: string }
  | { image: { format: ConverseImageFormat; source: { bytes: string } } }
  | { document: { format: string; name: string; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: ConverseToolResultContent[]; status?: 'success' | 'error' } }
  | { reasoningContent: { reasoningText: { text: string; signature?: string } } | { redactedContent: string } };

export type ConverseToolResultContent =
  | { text: string }
  | { json: unknown }
  | { image: { format: ConverseImageFormat; source: { bytes: string } } }
  | { document: { format: string; name: string; source: { bytes: string } } };

export interface ConverseMessage {
  role: 'user' | 'assistant';
  content: ConverseContentBlock[];
}

export interface ConverseTool {
  toolSpec: { name: string; description?: string; inputSchema: { json: unknown } };
}

export type ConverseToolChoice = { auto: Record<string, never> } | { any: Record<string, never> } | { tool: { name: string } };

export interface ConverseRequest {
  messages: ConverseMessage[];
  system?: Array<{ text: string }>;
  inferenceConfig?: { maxTokens?: number; temperature?: number; topP?: number; stopSequences?: string[] };
  toolConfig?: { tools: ConverseTool[]; toolChoice?: ConverseToolChoice };
}

export interface ConverseUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/** A Converse answer. */
export interface ConverseResponse {
  output?: { message?: { role?: string; content?: Array<Record<string, any>> } };
  stopReason?: string;
  usage?: ConverseUsage;
  additionalModelResponseFields?: Record<string, unknown> | null;
}

/** One ConverseStream event, by its `:event-type`. */
export type ConverseStreamEvent =
  | { type: 'messageStart'; role?: string }
  | { type: 'contentBlockStart'; contentBlockIndex?: number; start?: { toolUse?: { toolUseId?: string; name?: string } } }
  | {
      type: 'contentBlockDelta';
      contentBlockIndex?: number;
      delta?: {
        text?: string;
        toolUse?: { input?: string };
        reasoningContent?: { text?: string; signature?: string; redactedContent?: string };
      };
    }
  | { type: 'contentBlockStop'; contentBlockIndex?: number }
  | { type: 'messageStop'; stopReason?: string; additionalModelResponseFields?: Record<string, unknown> | null }
  | { type: 'metadata'; usage?: ConverseUsage };
