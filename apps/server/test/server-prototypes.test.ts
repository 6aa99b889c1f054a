import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from './helpers/gateway.js';

// The gateway's server builds requests and responses on express's own prototypes, so express's
// Object.setPrototypeOf on each of them changes nothing (changing an object's prototype after it was
// built costs V8's fast property access for the rest of the request).

let gw: RunningGateway;
beforeAll(async () => {
  gw = await startGateway({ providers: { a: { type: 'anthropic', base_url: 'http://127.0.0.1:9', keys: [{ value: 'k' }] } } });
});
afterAll(async () => {
  await gw?.close();
});

describe('the server’s requests and responses', () => {
  it('are born with the prototypes express gives them, and keep them', async () => {
    const seen: Array<{ req: IncomingMessage; res: ServerResponse; reqProto: object; resProto: object }> = [];
    gw.server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      seen.push({ req, res, reqProto: Object.getPrototypeOf(req) as object, resProto: Object.getPrototypeOf(res) as object });
    });
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    const [first] = seen;
    expect(first!.reqProto).toBe(gw.gateway.app.request);
    expect(first!.resProto).toBe(gw.gateway.app.response);
    expect(Object.getPrototypeOf(first!.req)).toBe(first!.reqProto);
    expect(Object.getPrototypeOf(first!.res)).toBe(first!.resProto);
    // Still express's request and response (its methods), and node's.
    expect(typeof (first!.req as unknown as { get: unknown }).get).toBe('function');
    expect(typeof (first!.res as unknown as { json: unknown }).json).toBe('function');
    expect((first!.req as unknown as { app: unknown }).app).toBe(gw.gateway.app);
  });
});
