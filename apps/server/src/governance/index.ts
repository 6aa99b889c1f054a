import type { Config } from '../config/schema.js';
import { authEnabled } from './config.js';
import { Governance, type GovernanceOptions } from './service.js';

export { mountAdminApi } from './admin-api.js';
export { authEnabled, authSchema, type AuthConfig } from './config.js';
export { callerOf } from './caller.js';
export { Governance, type GuardedRoute } from './service.js';

/** Gateway auth, limits and the ledger, or undefined when the config has no `auth` (or `mode: open`). */
export function createGovernance(config: Pick<Config, 'auth' | 'store' | 'async'>, deps: Omit<GovernanceOptions, 'store' | 'redisPrefix'>): Governance | undefined {
  if (!authEnabled(config.auth)) return undefined;
  return new Governance(config.auth, { ...deps, store: config.store, redisPrefix: config.async.redis_prefix });
}
