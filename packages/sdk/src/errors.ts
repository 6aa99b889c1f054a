import type { ErrorResponse, ErrorType } from './generated/types.gen.js';

/** An error answer from the gateway, in the Anthropic envelope. */
export class ConduitError extends Error {
  readonly status: number;
  readonly type: ErrorType | 'unknown';
  readonly requestId?: string;

  constructor(status: number, body: unknown, requestId?: string | null) {
    const envelope = body as Partial<ErrorResponse> | undefined;
    const message = envelope?.error?.message ?? `HTTP ${status}`;
    super(message);
    this.name = 'ConduitError';
    this.status = status;
    this.type = envelope?.error?.type ?? 'unknown';
    this.requestId = requestId ?? envelope?.request_id ?? undefined;
  }
}
