'use strict';
// hello-node: Porter's Node.js example, plain `http` module, no dependencies.
// Porter starts it as `node --expose-gc app.js` with PORT set; it listens on 127.0.0.1 only.
// Run it without Porter: PORT=8000 node --expose-gc examples/hello-node/app.js

const crypto = require('crypto');
const http = require('http');

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`hello-node: environment variable PORT must be a TCP port number, got ${JSON.stringify(process.env.PORT ?? '')}`);
  process.exit(1);
}

let requests = 0;

// Porter gives each process its own secret and signs its out-of-band work calls with it:
// X-Porter-OOB-Token is "ID.MAC", MAC the hex HMAC-SHA256 of ID. Nobody else can make this process collect.
const oobSecret = process.env.PORTER_OOB_SECRET ?? '';

function isPorterOobCall(req) {
  const [id, mac] = String(req.headers['x-porter-oob-token'] ?? '').split('.');
  if (!oobSecret || !/^[0-9]+$/.test(id ?? '') || mac === undefined) return false;
  const expected = crypto.createHmac('sha256', oobSecret).update(id).digest();
  const given = Buffer.from(mac, 'hex');
  return given.length === expected.length && mac.length === expected.length * 2 && crypto.timingSafeEqual(given, expected);
}

function send(res, status, body, headers = {}) {
  const data = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': data.length, ...headers });
  res.end(data);
}

const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://localhost').pathname;

  if (path.toLowerCase() === '/.porter/oob-work') {
    if (req.method !== 'POST' || !isPorterOobCall(req)) {
      req.resume();
      send(res, 403, 'out-of-band work is called by Porter only\n', { 'Cache-Control': 'no-store' });
      return;
    }
    // Out-of-band work: Porter has taken this process out of rotation, so a full,
    // blocking collection here delays no visitor. global.gc exists with --expose-gc.
    req.resume();
    req.on('end', () => {
      const started = process.hrtime.bigint();
      const collected = typeof global.gc === 'function';
      if (collected) global.gc();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const body = JSON.stringify({ ok: true, gc: collected, ms });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(body);
    });
    return;
  }
  const number = ++requests; // visitor requests only; OOB runs are not counted
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  switch (path) {
    case '/':
      // No caching headers: every request reaches the app, so the counter visibly moves.
      send(res, 200, `Hello from hello-node, pid ${process.pid}, request #${number}\n`);
      return;
    case '/pid':
      send(res, 200, String(process.pid));
      return;
    case '/cached':
      // Cacheable for 10 s: Porter's turbocache answers repeats, so the number stays put until it expires.
      send(res, 200, `Cached hello from hello-node, pid ${process.pid}, request #${number}\n`, { 'Cache-Control': 'public, max-age=10' });
      return;
    default:
      send(res, 404, `not found: ${path}\n`);
  }
});

// Porter's dispatcher keeps pooled keep-alive connections for up to a minute; stay above that.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;

server.listen(port, '127.0.0.1', () => {
  console.log(`hello-node listening on 127.0.0.1:${port}, pid ${process.pid}`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  // In-flight requests get a short grace; Porter drains the process before signalling it.
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
