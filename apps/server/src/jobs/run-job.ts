import type { Logger } from 'pino';
import type { CreateMessageRequest } from '../generated/types.gen.js';
import { toGatewayError } from '../http/error-envelope.js';
import { setServedHeaders } from '../http/messages.js';
import type { Router } from '../routing/router.js';
import type { ClaimedJob, JobGate, JobOutcome, JobRunner } from './types.js';

/** Headers that would mislead on a replayed failure: polling again gives the same stored answer. */
const NOT_REPLAYED = new Set(['retry-after', 'retry-after-ms', 'x-should-retry']);

/**
 * The worker's job: the stored request through Router.createMessage, exactly like a sync call
 * (fallbacks, retries, timeouts), turned into the answer polls will replay.
 */
export function jobRunner(router: Router, opts: { maxAttempts: number; logger: Logger; gate?: JobGate }): JobRunner {
  return async (job: ClaimedJob, signal: AbortSignal): Promise<JobOutcome> => {
    if (job.attempts > opts.maxAttempts) {
      opts.logger.warn({ jobId: job.id, attempts: job.attempts }, 'async job given up: its runs kept being interrupted');
      return {
        status: 'failed',
        httpStatus: 500,
        errorType: 'api_error',
        message: `async job was interrupted ${opts.maxAttempts} times (the gateway stopped while running it) and was given up`,
        headers: {},
      };
    }
    const body = job.request.body as CreateMessageRequest;
    const keyId = opts.gate ? job.request.keyId : undefined;
    try {
      if (keyId !== undefined) await opts.gate!.admit(keyId);
      const result = await router.createMessage(body, {
        clientHeaders: job.request.clientHeaders,
        signal,
        requestId: job.request.requestId,
      });
      if (keyId !== undefined) {
        const { target } = result.served;
        await opts.gate!.settle(keyId, { provider: target.provider.name, model: target.model, usage: result.message.usage });
      }
      const headers: Record<string, string> = {};
      setServedHeaders({ setHeader: (name, value) => (headers[name.toLowerCase()] = String(value)) }, result.served, result.headers);
      return { status: 'completed', headers, body: result.raw ?? JSON.stringify(result.message) };
    } catch (err) {
      if (signal.aborted) throw err;
      const error = toGatewayError(err);
      if (keyId !== undefined && error.upstream) {
        await opts.gate!.settle(keyId, { provider: error.upstream.provider, model: error.upstream.model, usage: {} }).catch(() => undefined);
      }
      if (error.status >= 500 && error.origin === 'gateway') opts.logger.error({ err, jobId: job.id }, 'async job failed unexpectedly');
      const headers = Object.fromEntries(Object.entries(error.headers).filter(([k]) => !NOT_REPLAYED.has(k.toLowerCase())));
      return { status: 'failed', httpStatus: error.status, errorType: error.type, message: error.message, headers };
    }
  };
}
