import type { ListRequestsData } from '@conduit/sdk';

export interface RequestFilters {
  /** '' (all), 'ok', 'error', or an HTTP status code as typed. */
  status: string;
  provider: string;
  model: string;
  key: string;
}

export const NO_FILTERS: RequestFilters = { status: '', provider: '', model: '', key: '' };

export type RequestsQuery = NonNullable<ListRequestsData['query']>;

/** The request-log query for the filters: empty fields left out, text trimmed. Null when the status is not valid. */
export function toQuery(f: RequestFilters, limit: number, before?: string): RequestsQuery | null {
  const q: RequestsQuery = { limit };
  const status = f.status.trim();
  if (status !== '') {
    if (!/^(ok|error|[1-5][0-9][0-9])$/.test(status)) return null;
    q.status = status;
  }
  const provider = f.provider.trim();
  if (provider) q.provider = provider;
  const model = f.model.trim();
  if (model) q.model = model;
  const key = f.key.trim();
  if (key) q.key = key;
  if (before) q.before = before;
  return q;
}

/** Whether any filter is set. */
export function filtering(f: RequestFilters): boolean {
  return Object.values(f).some((v) => v.trim() !== '');
}
