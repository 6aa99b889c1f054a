import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { SseWriter } from './sse-writer.js';

/** Decodes HTTP/1.1 responses with chunked bodies from raw bytes, strictly: a bad size line or chunk end throws. */
function responses(raw: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd === -1) throw new Error(`no header end at ${at}`);
    const head = raw.slice(at, headEnd);
    expect(head.toLowerCase()).toContain('transfer-encoding: chunked');
    at = headEnd + 4;
    let body = '';
    for (;;) {
      const lineEnd = raw.indexOf('\r\n', at);
      const sizeLine = raw.slice(at, lineEnd);
      if (!/^[0-9a-f]+$/.test(sizeLine)) throw new Error(`bad chunk size line ${JSON.stringify(sizeLine)}`);
      const size = parseInt(sizeLine, 16);
      at = lineEnd + 2;
      const chunk = Buffer.from(raw.slice(at), 'latin1').subarray(0, size);
      body += chunk.toString('utf8');
      at += chunk.toString('latin1').length;
      if (raw.slice(at, at + 2) !== '\r\n') throw new Error(`chunk of ${size} bytes not followed by CRLF`);
      at += 2;
      if (size === 0) break;
    }
    out.push({ head, body });
  }
  return out;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

/** A server whose every answer is an event stream of three frames written in three different ticks. */
async function streamingServer(): Promise<{ port: number; resWrites: Map<string, number> }> {
  const resWrites = new Map<string, number>();
  const app = express();
  app.get('/:tag', (req, res) => {
    const write = res.write.bind(res) as (...args: unknown[]) => boolean;
    res.write = ((...args: unknown[]) => {
      resWrites.set(req.params.tag, (resWrites.get(req.params.tag) ?? 0) + 1);
      return write(...args);
    }) as typeof res.write;
    const writer = new SseWriter(res, 60_000, 10_000);
    const tag = req.url!.slice(1);
    let n = 0;
    const next = (): void => {
      if (n === 3) {
        writer.end();
        return;
      }
      writer.write({ event: 'content_block_delta', data: JSON.stringify({ tag, n: n++, text: 'żółw 🐢' }) });
      setTimeout(next, 5);
    };
    next();
  });
  server = createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { port: (server.address() as AddressInfo).port, resWrites };
}

describe('SseWriter on a real socket', () => {
  it('queues no pings while a client that stopped reading has not taken what went to its socket', async () => {
    let socketOf: (() => Socket) | undefined;
    let writes = 0;
    const app = express();
    app.get('/', (_req, res) => {
      const write = res.write.bind(res) as (...args: unknown[]) => boolean;
      res.write = ((...args: unknown[]) => {
        writes++;
        return write(...args);
      }) as typeof res.write;
      const writer = new SseWriter(res, 20, 60_000);
      socketOf = () => res.socket!;
      writer.write({ event: 'message_start', data: '{}' });
      // Next, once the headers are out (so straight to the socket): far more than the socket and the
      // kernel take from a client that reads nothing.
      setTimeout(() => {
        const big = 'x'.repeat(1 << 20);
        for (let i = 0; i < 32; i++) writer.write({ event: 'content_block_delta', data: JSON.stringify({ text: big }) });
      }, 20);
    });
    server = createServer(app);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    await once(client, 'connect');
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await once(client, 'data');
    client.pause();
    await new Promise((r) => setTimeout(r, 200));
    const socket = socketOf!();
    expect(socket.writableNeedDrain).toBe(true);
    expect(writes).toBe(1); // the big frames went to the socket itself
    const queued = socket.writableLength;
    // Ten ping intervals later nothing more is queued: a ping would add its 31 bytes each time.
    await new Promise((r) => setTimeout(r, 200));
    expect(socket.writableLength).toBe(queued);
    client.destroy();
  });

  it('frames every write as a chunk of the response, also for requests pipelined on one connection', async () => {
    const { port, resWrites } = await streamingServer();
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    // Both requests in one packet: the second answer must wait for the first, not mix into it.
    socket.write('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    let raw = '';
    socket.setEncoding('latin1');
    await new Promise<void>((resolve, reject) => {
      socket.on('data', (d: string) => {
        raw += d;
        if (raw.split('\r\n0\r\n\r\n').length === 3) resolve();
      });
      socket.on('close', () => reject(new Error(`closed with ${JSON.stringify(raw)}`)));
    });
    socket.destroy();
    // The first answer's headers left with its first frame; the other frames went to the socket itself.
    expect(resWrites.get('a')).toBe(1);
    const got = responses(raw);
    expect(got).toHaveLength(2);
    got.forEach((r, i) => {
      const tag = ['a', 'b'][i];
      expect(r.head).toMatch(/^HTTP\/1\.1 200/);
      const frames = r.body.split('\n\n').filter(Boolean);
      expect(frames).toEqual([0, 1, 2].map((n) => `event: content_block_delta\ndata: ${JSON.stringify({ tag, n, text: 'żółw 🐢' })}`));
    });
  });
});
