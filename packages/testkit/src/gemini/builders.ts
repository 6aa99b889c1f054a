/**
 * Pure builders for Gemini answers, in the shapes Google documents: a generateContent answer, the
 * same answer as streamGenerateContent's SSE (`data: <GenerateContentResponse>\r\n\r\n` per chunk,
 * each chunk a whole response object), and Google's error bodies.
 */
import { splitText, tokensForChars } from '../text.js';
import type { FakeReply } from '../types.js';
import { geminiThoughtSignature } from './signatures.js';

export const DEFAULT_GEMINI_TEXT = 'Hello from the fake Gemini upstream.';

export interface GeminiFunctionCallSpec {
  name: string;
  args?: Record<string, unknown>;
  /** Gemini's own call id (Vertex and newer models send one). */
  id?: string;
  /** A thought signature on this call's part: a given one, or `true` for a new valid one. */
  signature?: string | boolean;
}

export interface GeminiReplyOptions {
  /** The answer's text; default DEFAULT_GEMINI_TEXT unless there are function calls. '' for none. */
  text?: string;
  /** A thought summary before the answer (what `includeThoughts` brings). */
  thoughts?: string;
  /** A signature on the last thought part (Gemini 2.5 with thought summaries). */
  thoughtsSignature?: string | boolean;
  /** A signature on the text (Gemini 3): on the last text part, or, streamed, on a final empty text part. */
  textSignature?: string | boolean;
  functionCalls?: GeminiFunctionCallSpec[];
  /** Default STOP. */
  finishReason?: string;
  finishMessage?: string;
  usage?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number; cachedContentTokenCount?: number };
  /** The prompt was blocked: no candidates, `promptFeedback.blockReason`. */
  blockReason?: string;
  responseId?: string;
  modelVersion?: string;
  /** Characters of text per stream chunk. Default 12. */
  chunkSize?: number;
}

/** A Google API error: `{"error": {"code", "message", "status", "details"?}}`. */
export function geminiError(code: number, status: string, message: string, details?: unknown[]): FakeReply {
  return { kind: 'json', status: code, body: { error: { code, message, status, ...(details ? { details } : {}) } } };
}

/** The Gemini API's answer to a key it does not take: 400 INVALID_ARGUMENT with reason API_KEY_INVALID. */
export function geminiBadKey(): FakeReply {
  return geminiError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
  ]);
}

/** A quota error as the Gemini API sends it, with RetryInfo's delay. */
export function geminiQuotaError(retryDelaySeconds: number): FakeReply {
  return geminiError(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details.', [
    { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryDelaySeconds}s` },
  ]);
}

function sign(value: string | boolean | undefined): string | undefined {
  return value === true ? geminiThoughtSignature() : typeof value === 'string' ? value : undefined;
}

/** Signatures resolved once, so a JSON answer and a stream built from the same spec carry the same ones. */
export function resolveGeminiSignatures(spec: GeminiReplyOptions): GeminiReplyOptions {
  return {
    ...spec,
    thoughtsSignature: sign(spec.thoughtsSignature),
    textSignature: sign(spec.textSignature),
    functionCalls: spec.functionCalls?.map((c) => ({ ...c, signature: sign(c.signature) })),
  };
}

function answerText(spec: GeminiReplyOptions): string {
  return spec.text ?? (spec.functionCalls?.length ? '' : DEFAULT_GEMINI_TEXT);
}

function usage(spec: GeminiReplyOptions, final: boolean): Record<string, number> {
  const prompt = spec.usage?.promptTokenCount ?? 10;
  const out: Record<string, number> = { promptTokenCount: prompt };
  const cached = spec.usage?.cachedContentTokenCount;
  if (cached !== undefined) out.cachedContentTokenCount = cached;
  if (!final) return { ...out, totalTokenCount: prompt };
  const candidates = spec.usage?.candidatesTokenCount ?? tokensForChars(answerText(spec).length + JSON.stringify(spec.functionCalls ?? []).length - 2);
  const thoughts = spec.usage?.thoughtsTokenCount ?? (spec.thoughts ? tokensForChars(spec.thoughts.length) : undefined);
  out.candidatesTokenCount = candidates;
  if (thoughts !== undefined) out.thoughtsTokenCount = thoughts;
  out.totalTokenCount = prompt + candidates + (thoughts ?? 0);
  return out;
}

function callPart(c: GeminiFunctionCallSpec): Record<string, unknown> {
  const signature = sign(c.signature);
  return { functionCall: { ...(c.id ? { id: c.id } : {}), name: c.name, args: c.args ?? {} }, ...(signature ? { thoughtSignature: signature } : {}) };
}

function envelope(spec: GeminiReplyOptions, candidate: Record<string, unknown> | undefined, final: boolean): Record<string, unknown> {
  return {
    ...(candidate ? { candidates: [{ ...candidate, index: 0 }] } : {}),
    ...(spec.blockReason ? { promptFeedback: { blockReason: spec.blockReason } } : {}),
    usageMetadata: usage(spec, final),
    modelVersion: spec.modelVersion ?? 'gemini-2.5-flash',
    responseId: spec.responseId ?? 'fakeGeminiResponse01',
  };
}

/** A generateContent answer. Signatures given as `true` are new on every call: resolve them first (resolveGeminiSignatures) to compare with a stream. */
export function geminiResponse(spec: GeminiReplyOptions = {}): Record<string, unknown> {
  if (spec.blockReason) return envelope(spec, undefined, true);
  const parts: Array<Record<string, unknown>> = [];
  const thoughtsSignature = sign(spec.thoughtsSignature);
  if (spec.thoughts) parts.push({ text: spec.thoughts, thought: true, ...(thoughtsSignature ? { thoughtSignature: thoughtsSignature } : {}) });
  const text = answerText(spec);
  const textSignature = sign(spec.textSignature);
  if (text) parts.push({ text, ...(textSignature ? { thoughtSignature: textSignature } : {}) });
  for (const c of spec.functionCalls ?? []) parts.push(callPart(c));
  const candidate = {
    content: { role: 'model', parts },
    finishReason: spec.finishReason ?? 'STOP',
    ...(spec.finishMessage ? { finishMessage: spec.finishMessage } : {}),
  };
  return envelope(spec, candidate, true);
}

/**
 * The same answer as streamGenerateContent sends it: thought pieces, text pieces, the function
 * calls (each part whole, as Gemini never splits a call), and a last chunk with the finishReason
 * and the whole usage; a text signature comes on an empty text part in that last chunk.
 */
export function geminiStreamChunks(spec: GeminiReplyOptions = {}): Array<Record<string, unknown>> {
  if (spec.blockReason) return [envelope(spec, undefined, true)];
  const size = spec.chunkSize ?? 12;
  const chunks: Array<Record<string, unknown>> = [];
  const content = (parts: unknown[]) => ({ content: { role: 'model', parts } });
  const thoughtPieces = spec.thoughts ? splitText(spec.thoughts, { size }) : [];
  const thoughtsSignature = sign(spec.thoughtsSignature);
  thoughtPieces.forEach((piece, i) => {
    const last = i === thoughtPieces.length - 1;
    chunks.push(envelope(spec, content([{ text: piece, thought: true, ...(last && thoughtsSignature ? { thoughtSignature: thoughtsSignature } : {}) }]), false));
  });
  for (const piece of splitText(answerText(spec), { size })) chunks.push(envelope(spec, content([{ text: piece }]), false));
  if (spec.functionCalls?.length) chunks.push(envelope(spec, content(spec.functionCalls.map(callPart)), false));
  const textSignature = sign(spec.textSignature);
  const finalParts = textSignature ? [{ text: '', thoughtSignature: textSignature }] : [{ text: '' }];
  chunks.push(envelope(spec, { ...content(finalParts), finishReason: spec.finishReason ?? 'STOP', ...(spec.finishMessage ? { finishMessage: spec.finishMessage } : {}) }, true));
  return chunks;
}

/** Chunks as Gemini's SSE frames (`data: ...` ended by CRLF CRLF). */
export function geminiSseFrames(chunks: ReadonlyArray<unknown>): string[] {
  return chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`);
}

/** An `sse` reply of the stream for `spec`, with the `sse` timing and fault options. */
export function geminiStreamReply(spec: GeminiReplyOptions = {}, opts: Omit<Extract<FakeReply, { kind: 'sse' }>, 'kind' | 'events'> = {}): FakeReply {
  return { kind: 'sse', events: geminiSseFrames(geminiStreamChunks(spec)), ...opts };
}

/** A JSON reply and the matching stream reply for `spec`, with the same signatures. */
export function geminiReplies(spec: GeminiReplyOptions = {}): { json: FakeReply; stream: FakeReply } {
  const resolved = resolveGeminiSignatures(spec);
  return { json: { kind: 'json', body: geminiResponse(resolved) }, stream: geminiStreamReply(resolved) };
}
