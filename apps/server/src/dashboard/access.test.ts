import { describe, expect, it } from 'vitest';
import { dashboardAccess, isDashboardApi, isLoopback } from './access.js';

describe('dashboard access', () => {
  it('knows loopback addresses, IPv4-mapped ones too', () => {
    for (const a of ['127.0.0.1', '127.5.6.7', '::1', '::ffff:127.0.0.1']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['10.0.0.1', '192.168.1.2', '::ffff:10.1.1.1', 'fe80::1', '::', undefined]) expect(isLoopback(a), String(a)).toBe(false);
  });

  it('with auth off, answers this machine and refuses others with a 403 that says what to do', () => {
    const check = dashboardAccess(undefined);
    const req = (remoteAddress: string) => ({ socket: { remoteAddress } }) as never;
    expect(check(req('127.0.0.1'))).toBeUndefined();
    const refused = check(req('192.168.0.7'));
    expect(refused?.status).toBe(403);
    expect(refused?.type).toBe('permission_error');
    expect(refused?.message).toMatch(/admin_key/);
  });

  it('covers the set-up, stats and request-log routes, not the keys API', () => {
    expect(isDashboardApi('/admin/v1/dashboard')).toBe(true);
    expect(isDashboardApi('/admin/v1/stats/traffic')).toBe(true);
    expect(isDashboardApi('/admin/v1/requests')).toBe(true);
    expect(isDashboardApi('/admin/v1/keys')).toBe(false);
    expect(isDashboardApi('/admin/v1/requestsX')).toBe(false);
  });
});
