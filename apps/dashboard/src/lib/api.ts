import {
  createConduitClient,
  createKey,
  createTeam,
  getDashboardAuth,
  getDashboardInfo,
  getJobStats,
  getProviderStats,
  getTrafficStats,
  getUsage,
  listKeys,
  listRequests,
  listTeams,
  revokeKey,
  revokeTeam,
  updateKey,
  type Client,
  type KeyCreateRequest,
  type KeyUpdateRequest,
  type TeamCreateRequest,
} from '@conduit/sdk';
import type { RequestsQuery } from './filters.js';

/** An answer that was not a success, with the gateway's message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

interface SdkResult<T> {
  data?: T;
  error?: unknown;
  response?: Response;
}

/** The data of a successful SDK call, else an ApiError with the envelope's message. */
export async function unwrap<T>(call: Promise<SdkResult<T>>): Promise<T> {
  let result: SdkResult<T>;
  try {
    result = await call;
  } catch (err) {
    throw new ApiError(0, `the gateway did not answer (${(err as Error).message})`);
  }
  const status = result.response?.status ?? 0;
  if (result.error !== undefined || result.data === undefined || status >= 400) {
    const envelope = result.error as { error?: { message?: string } } | undefined;
    throw new ApiError(status, envelope?.error?.message ?? `HTTP ${status}`);
  }
  return result.data;
}

/**
 * Everything the dashboard asks the gateway, through the generated SDK and nothing else. `key` is
 * the admin key (null with auth off).
 */
export class Api {
  private readonly client: Client;

  constructor(
    readonly key: string | null,
    baseUrl: string = globalThis.location?.origin ?? 'http://127.0.0.1:8080',
  ) {
    this.client = createConduitClient({ baseUrl, ...(key === null ? {} : { apiKey: key }) });
  }

  auth() {
    return unwrap(getDashboardAuth({ client: this.client }));
  }
  info() {
    return unwrap(getDashboardInfo({ client: this.client }));
  }
  traffic(window: 'hour' | 'day') {
    return unwrap(getTrafficStats({ client: this.client, query: { window } }));
  }
  providers() {
    return unwrap(getProviderStats({ client: this.client }));
  }
  jobs() {
    return unwrap(getJobStats({ client: this.client }));
  }
  requests(query: RequestsQuery) {
    return unwrap(listRequests({ client: this.client, query }));
  }
  keys() {
    return unwrap(listKeys({ client: this.client, query: { limit: 1000 } }));
  }
  teams() {
    return unwrap(listTeams({ client: this.client, query: { limit: 1000 } }));
  }
  /** The ledger of the month so far (the default range). */
  usage() {
    return unwrap(getUsage({ client: this.client }));
  }
  createKey(body: KeyCreateRequest) {
    return unwrap(createKey({ client: this.client, body }));
  }
  updateKey(id: string, body: KeyUpdateRequest) {
    return unwrap(updateKey({ client: this.client, path: { key_id: id }, body }));
  }
  revokeKey(id: string) {
    return unwrap(revokeKey({ client: this.client, path: { key_id: id } }));
  }
  createTeam(body: TeamCreateRequest) {
    return unwrap(createTeam({ client: this.client, body }));
  }
  revokeTeam(id: string) {
    return unwrap(revokeTeam({ client: this.client, path: { team_id: id } }));
  }
}
