import type { Request } from 'express';
import { GatewayError } from '../errors.js';
import type { Governance } from '../governance/index.js';

/** The routes the dashboard reads besides the keys and teams API: set-up, traffic, providers, jobs, request log. */
export function isDashboardApi(path: string): boolean {
  return path === '/admin/v1/dashboard' || path === '/admin/v1/requests' || path.startsWith('/admin/v1/stats/');
}

/** Whether a socket address is this machine (127.0.0.0/8 or ::1, also IPv4-mapped). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return v4.startsWith('127.') || address === '::1';
}

/**
 * Who may read the dashboard's routes. With gateway auth: the admin key, as on the rest of the
 * admin API. With auth off the gateway serves anyone who reaches it, but what it serves them is
 * their own answers: the request log and the traffic figures show every client's requests, so
 * without auth they answer only a client on this machine (the connection's own address, which
 * no header can change).
 */
export function dashboardAccess(governance: Governance | undefined): (req: Request) => GatewayError | undefined {
  if (governance) return (req) => governance.authenticateAdmin(req);
  return (req) =>
    isLoopback(req.socket.remoteAddress)
      ? undefined
      : new GatewayError(
          403,
          'the dashboard API answers only this machine while gateway auth is off: configure auth with an admin_key to reach it from elsewhere',
          { type: 'permission_error' },
        );
}
