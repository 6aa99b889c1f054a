import type { Request, Response } from 'express';
import { GatewayError, invalidRequest, notFound } from '../errors.js';
import { callerOf } from '../governance/caller.js';
import type { CreateMessageRequest, Message } from '../generated/types.gen.js';
import { clientHeaders } from '../http/client-headers.js';
import { sendError, toGatewayError } from '../http/error-envelope.js';
import { closeIfUnread, stalledReaderError } from '../http/stalled-reader.js';
import { observationOf, type Observation } from '../observability/observation.js';
import { chooseKey } from '../routing/keys.js';
import type { RouteTarget } from '../routing/resolve.js';
import { isJobId, newJobId } from './ids.js';
import { requestOwner } from './owner.js';
import type { JobService } from './service.js';
import type { JobStatus } from './types.js';

/** A poll: `x-bf-async-id` is present. It wins over `x-bf-async`, and any body is ignored. */
export function isAsyncPoll(req: Request): boolean {
  return req.headers['x-bf-async-id'] !== undefined;
}

/** A submit (`x-bf-async: true`) or a poll. */
export function isAsyncRequest(req: Request): boolean {
  return isAsyncPoll(req) || req.headers['x-bf-async'] === 'true';
}

/**
 * POST /anthropic/v1/messages with x-bf-async: true or x-bf-async-id. A finished job's answer that
 * the client does not take within `stalledReaderMs` is dropped with the connection.
 */
export async function handleAsync(jobs: JobService, req: Request, res: Response, stalledReaderMs?: number): Promise<void> {
  try {
    if (isAsyncPoll(req)) await poll(jobs, req, res, stalledReaderMs);
    else await submit(jobs, req, res);
  } catch (err) {
    sendError(res, toGatewayError(err));
  }
}

async function submit(jobs: JobService, req: Request, res: Response): Promise<void> {
  const body = req.body as CreateMessageRequest;
  const obs = observationOf(res);
  obs.operation = 'async_submit';
  obs.requestedModel = body.model;
  if (body.stream === true) {
    throw invalidRequest('stream: true cannot be combined with x-bf-async: true; an async job is polled for one JSON Message');
  }
  const ttlS = resultTtl(req.headers['x-bf-async-job-result-ttl'], jobs.config.default_ttl_s, jobs.config.max_ttl_s);
  // Resolve like a sync call: a job that could never run is refused now, not at run time.
  const plan = jobs.router.plan(body);
  // Metrics name the provider/model the job goes to first (the submit itself calls none).
  obs.target(plan[0]!);
  const id = newJobId();
  const { credential, ...headers } = clientHeaders(req);
  const sealedCredential = credential && forwardsCredential(plan) ? jobs.sealer.seal(credential, id) : undefined;
  const keyId = callerOf(res)?.key.id;
  await jobs.submit({
    id,
    owner: requestOwner(req, res),
    model: body.model,
    ttlS,
    request: {
      body,
      clientHeaders: headers,
      ...(sealedCredential ? { sealedCredential } : {}),
      requestId: String(res.getHeader('request-id')),
      ...(keyId === undefined ? {} : { keyId }),
    },
    createdAt: Date.now(),
  });
  sendPending(res, id, body.model, 'queued');
}

async function poll(jobs: JobService, req: Request, res: Response, stalledReaderMs: number | undefined): Promise<void> {
  const obs = observationOf(res);
  obs.operation = 'async_poll';
  const id = String(req.headers['x-bf-async-id']);
  const job = isJobId(id) ? await jobs.get(id) : undefined;
  // Unknown, expired and someone else's all look the same: existence is not disclosed (and the
  // metrics of such a poll stay `_none`).
  if (!job || job.owner !== requestOwner(req, res)) {
    throw notFound('x-bf-async-id: no such async job (unknown, expired, or submitted with another credential)');
  }
  obs.requestedModel = job.model;
  labelWithJobTarget(jobs, job.model, obs);
  const outcome = job.outcome;
  if (!outcome) {
    sendPending(res, id, job.model, job.status);
    return;
  }
  res.setHeader('x-bf-async-id', id);
  res.setHeader('x-bf-async-status', outcome.status);
  if (outcome.status === 'completed') {
    for (const [k, v] of Object.entries(outcome.headers)) res.setHeader(k, v);
    res.setHeader('content-type', 'application/json');
    res.status(200).end(outcome.body);
    if (stalledReaderMs !== undefined) closeIfUnread(res, stalledReaderMs, () => obs.failed(stalledReaderError(stalledReaderMs)));
    return;
  }
  sendError(
    res,
    new GatewayError(outcome.httpStatus, outcome.message, {
      type: outcome.errorType,
      // Polling again returns this same answer: tell SDKs not to retry it.
      headers: { ...outcome.headers, 'x-should-retry': 'false' },
    }),
  );
}

/**
 * A poll's metrics name the provider/model its job's model resolves to, as the submit's did. A model
 * the current config no longer resolves (the job outlived a config change) leaves them `_none`.
 */
function labelWithJobTarget(jobs: JobService, model: string, obs: Observation): void {
  try {
    obs.target(jobs.router.resolve(model));
  } catch {
    // no target to name
  }
}

/** 202: the job exists and has no result yet. */
function sendPending(res: Response, id: string, model: string, status: JobStatus): void {
  const message: Message = {
    id,
    type: 'message',
    role: 'assistant',
    content: [],
    model,
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 0, output_tokens: 0 },
  };
  res.setHeader('x-bf-async-id', id);
  res.setHeader('x-bf-async-status', status);
  res.status(202).json(message);
}

/** x-bf-async-job-result-ttl: absent → the default; anything but 1..max whole seconds → 400. */
function resultTtl(header: string | string[] | undefined, defaultS: number, maxS: number): number {
  if (header === undefined) return defaultS;
  const text = Array.isArray(header) ? header.join(',') : header;
  const seconds = /^[1-9][0-9]*$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds > maxS) {
    throw invalidRequest(`x-bf-async-job-result-ttl: must be a whole number of seconds from 1 to ${maxS}, got "${text.slice(0, 40)}"`);
  }
  return seconds;
}

/** Whether some provider in the plan forwards the client's credential (has no keys of its own for the model). */
export function forwardsCredential(plan: RouteTarget[]): boolean {
  return plan.some((t) => chooseKey(t.provider.name, t.provider.config, t.model, () => 0).value === undefined);
}

/** A poll on the messages route: its (optional) body is not validated against CreateMessageRequest. */
export function skipsRequestValidation(req: Request): boolean {
  return req.method === 'POST' && req.path === '/anthropic/v1/messages' && isAsyncPoll(req);
}
