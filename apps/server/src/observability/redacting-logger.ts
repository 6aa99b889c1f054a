import type { Logger } from 'pino';
import type { Redactor } from '../redaction.js';

/**
 * The gateway's logger: every record passes through the redactor before it is written, so no
 * configured secret reaches a log line, whoever logs (the per-request line, job and store errors,
 * unexpected failures with their causes).
 */
export function redactingLogger(logger: Logger, redactor: Redactor): Logger {
  if (redactor.empty) return logger;
  return logger.child({}, { formatters: { log: (record) => redactor.redactRecord(record) as Record<string, unknown> } });
}
