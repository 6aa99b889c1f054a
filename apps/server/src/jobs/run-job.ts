import type { Logger } from 'pino';
import type { ClientCredential } from '../client-credential.js';
import type { CreateMessageRequest } from '../generated/types.gen.js';
import { toGatewayError } from '../http/error-envelope.js';
import { setServedHeaders } from '../http/messages.js';
import type { Redactor } from '../redaction.js';
import type { Router } from '../routing/router.js';
import type { CredentialSealer } from './credential-seal.js';
import type { ClaimedJob, JobGate, JobOutcome, JobRunner } from './types.js';

/** Headers that would mislead on a replayed failure: polling again gives the same stored answer. */
const NOT_REPLAYED = new Set(['retry-after', 'retry-after-ms', 'x-should-retry']);

export interface JobRunnerOptions {
  maxAttempts: number;
  logger: Logger;
  sealer: CredentialSealer;
  redactor: Redactor;
  /** With gateway auth: checks a job's key when it starts and debits its usage. */
  gate?: JobGate;
  /** What a job is called in failures and logs: "async job" (default) or "batch request". */
  kind?: string;
}

/**
 * The worker's job: the stored request through Router.createMessage, exactly like a sync call
 * (fallbacks, retries, timeouts), turned into the answer polls will replay. A failure's message and
 * headers are stored without any configured secret or the job's own credential. (A completed job's
 * body is the model's answer, stored as it came.)
 */
export function jobRunner(router: Router, opts: JobRunnerOptions): JobRunner {
  const kind = opts.kind ?? 'async job';
  return async (job: ClaimedJob, signal: AbortSignal): Promise<JobOutcome> => {
    if (job.attempts > opts.maxAttempts) {
      opts.logger.warn({ jobId: job.id, attempts: job.attempts }, `${kind} given up: its runs kept being interrupted`);
      return failed(500, 'api_error', `${kind} was interrupted ${opts.maxAttempts} times (the gateway stopped while running it) and was given up`);
    }
    let credential: ClientCredential | undefined;
    if (job.request.sealedCredential !== undefined) {
      credential = opts.sealer.open(job.request.sealedCredential, job.credentialScope ?? job.id);
      if (!credential) {
        return failed(
          500,
          'api_error',
          opts.sealer.shared
            ? `${kind} could not run: its forwarded credential cannot be read with this instance's async.credential_key; submit it again`
            : `${kind} could not run: it forwards the client's credential, which only the gateway process that accepted it could read ` +
                '(that process stopped, or another instance took the job; set async.credential_key to share it); submit it again',
        );
      }
    }
    const body = job.request.body as CreateMessageRequest;
    const keyId = opts.gate ? job.request.keyId : undefined;
    try {
      if (keyId !== undefined) await opts.gate!.admit(keyId);
      const result = await router.createMessage(body, {
        clientHeaders: { ...job.request.clientHeaders, credential },
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
      if (error.status >= 500 && error.origin === 'gateway') opts.logger.error({ err, jobId: job.id }, `${kind} failed unexpectedly`);
      const own = credential?.secret;
      const headers = Object.fromEntries(
        Object.entries(error.headers)
          .filter(([k]) => !NOT_REPLAYED.has(k.toLowerCase()))
          .map(([k, v]) => [k, opts.redactor.redact(v, own)]),
      );
      return { status: 'failed', httpStatus: error.status, errorType: error.type, message: opts.redactor.redact(error.message, own), headers };
    }
  };
}

function failed(httpStatus: number, errorType: 'api_error', message: string): JobOutcome {
  return { status: 'failed', httpStatus, errorType, message, headers: {} };
}
