import type { KeyCreateRequest, KeyUpdateRequest } from '@conduit/sdk';

/** What the key form holds: text as typed. */
export interface KeyForm {
  name: string;
  team_id: string;
  models: string;
  rpm: string;
  tpm: string;
  max_concurrent: string;
  budget_usd: string;
  budget_period: 'day' | 'month';
  expires_at: string;
}

export const EMPTY_KEY_FORM: KeyForm = { name: '', team_id: '', models: '', rpm: '', tpm: '', max_concurrent: '', budget_usd: '', budget_period: 'month', expires_at: '' };

const LIMITS = ['rpm', 'tpm', 'max_concurrent'] as const;

/**
 * The create request for the form, or the first problem found (the gateway checks again and names
 * the field). Empty fields are left out.
 */
export function createRequest(f: KeyForm): { body: KeyCreateRequest } | { problem: string } {
  const name = f.name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) return { problem: 'name: 1 to 64 letters, digits, _ . - (starting with a letter or digit)' };
  const body: KeyCreateRequest = { name, budget_period: f.budget_period };
  if (f.team_id.trim()) body.team_id = f.team_id.trim();
  const models = f.models.split(',').map((m) => m.trim()).filter(Boolean);
  if (models.length > 0) body.models = models;
  for (const field of LIMITS) {
    const v = f[field].trim();
    if (v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) return { problem: `${field}: a whole number of at least 1` };
    body[field] = n;
  }
  if (f.budget_usd.trim() !== '') {
    const n = Number(f.budget_usd);
    if (!(n > 0)) return { problem: 'budget_usd: an amount above 0' };
    body.budget_usd = n;
  }
  if (f.expires_at.trim() !== '') {
    const t = Date.parse(f.expires_at);
    if (!Number.isFinite(t)) return { problem: 'expires_at: a date and time' };
    body.expires_at = new Date(t).toISOString();
  }
  return { body };
}

/** The change for an edit of limits: an emptied field removes the limit (null). */
export function updateRequest(f: Pick<KeyForm, 'rpm' | 'tpm' | 'max_concurrent' | 'budget_usd' | 'budget_period'>): { body: KeyUpdateRequest } | { problem: string } {
  const body: KeyUpdateRequest = { budget_period: f.budget_period };
  for (const field of LIMITS) {
    const v = f[field].trim();
    if (v === '') {
      body[field] = null;
      continue;
    }
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) return { problem: `${field}: a whole number of at least 1` };
    body[field] = n;
  }
  const b = f.budget_usd.trim();
  if (b === '') body.budget_usd = null;
  else if (!(Number(b) > 0)) return { problem: 'budget_usd: an amount above 0' };
  else body.budget_usd = Number(b);
  return { body };
}
