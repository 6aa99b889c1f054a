#!/usr/bin/env node
// The stack floor: the cheapest Anthropic→Anthropic gateway the project's fixed stack allows, run
// beside Conduit so the benchmark can say how much of Conduit's cost per request is the stack's.
//
// An Express 5 app served the way Conduit serves its own (node:http building requests and responses
// on express's prototypes), express-openapi-validator with Conduit's openapi.yaml and options, and an
// undici keep-alive pool to the upstream. It validates the request, sends the body upstream as it
// is, and relays the answer's bytes untouched (JSON or SSE). No routing, retries, stream checks,
// logging or metrics: everything Conduit does on top is what the floor leaves out.
//
//   node bench/lib/floor.mjs --port N --upstream http://127.0.0.1:M
import { createRequire } from 'node:module';
import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import { parseArgs } from 'node:util';

const ROOT = new URL('../../', import.meta.url).pathname;
// The stack's packages are the server's dependencies, resolved from there.
const require = createRequire(`${ROOT}apps/server/package.json`);
const express = require('express');
const OpenApiValidator = require('express-openapi-validator');
const { Agent, request } = require('undici');

const { values } = parseArgs({ options: { port: { type: 'string' }, upstream: { type: 'string' } } });
const upstream = values.upstream.replace(/\/+$/, '');
const pool = new Agent({ connections: 256, keepAliveTimeout: 30_000 });

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
// The validator needs req.body: the cheapest JSON body read there is.
app.use((req, _res, next) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      req.body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      next();
    } catch (err) {
      next(Object.assign(err, { status: 400 }));
    }
  });
});
app.use(
  OpenApiValidator.middleware({
    apiSpec: `${ROOT}openapi.yaml`,
    validateRequests: { allowUnknownQueryParameters: false },
    validateResponses: false,
    validateSecurity: false,
    ignoreUndocumented: true,
    fileUploader: false,
    validateApiSpec: false,
  }),
);
app.get('/health', (_req, res) => res.json({ status: 'ok' }));
app.post('/anthropic/v1/messages', async (req, res, next) => {
  try {
    const body = { ...req.body, model: String(req.body.model).replace(/^[^/]+\//, '') };
    const up = await request(`${upstream}/v1/messages`, {
      method: 'POST',
      dispatcher: pool,
      headers: {
        'content-type': 'application/json',
        'anthropic-version': req.headers['anthropic-version'] ?? '2023-06-01',
        'x-api-key': req.headers['x-api-key'] ?? '',
      },
      body: JSON.stringify(body),
    });
    const type = String(up.headers['content-type'] ?? 'application/json');
    res.status(up.statusCode);
    res.setHeader('content-type', type);
    if (type.includes('text/event-stream')) {
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    } else {
      res.end(Buffer.from(await up.body.arrayBuffer()));
    }
  } catch (err) {
    next(err);
  }
});
app.use((err, _req, res, _next) => {
  res.status(err.status ?? 500).json({ type: 'error', error: { type: 'api_error', message: String(err.message) } });
});

function ExpressRequest(socket) {
  IncomingMessage.call(this, socket);
}
ExpressRequest.prototype = app.request;
function ExpressResponse(req, options) {
  ServerResponse.call(this, req, options);
}
ExpressResponse.prototype = app.response;
createServer({ IncomingMessage: ExpressRequest, ServerResponse: ExpressResponse }, app).listen(Number(values.port), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
