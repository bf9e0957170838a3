'use strict';
// Porter benchmark origin: Node.js standard library only. Listens on 127.0.0.1:$PORT.
//   GET /            sleeps 10 ms, then a 2 KB page, Cache-Control: public, max-age=60   (the "slow app")
//   GET /fast        the same page at once, Cache-Control: private                          (uncacheable)
//   GET /slow        sleeps 100 ms, then the page, public, max-age=60                      (the slow-app case)
//   GET /vary        sleeps 10 ms, then the page, public, max-age=60, with X-User-Level: the request's user_id
//                    cookie (or "none"): the vary-by-cookie case checks that each level gets its own entry
//   GET /page?n=...  the page at once, public, max-age=3600 (the memory and many-keys cases; one entry per query)
//   GET /herd?gen=N  sleeps 100 ms, then the page, public, max-age=1 (expires fast; the herd case)
//   GET /hits        origin hit counters as JSON: {"total":N,"herd":{"<gen>":n,...}}  (not counted, no-store)
//   GET /reset       zeroes the counters (not counted, no-store)
// Every counted request increments "total"; /herd also counts per gen.

const http = require('http');

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`bench origin: PORT must be a TCP port, got ${JSON.stringify(process.env.PORT ?? '')}`);
  process.exit(1);
}

const PAGE_SIZE = 2048;
function makePage() {
  const head = '<!doctype html>\n<html><head><title>Porter bench page</title></head><body>\n<p>';
  const tail = '</p>\n</body></html>\n';
  const filler = 'The quick brown fox jumps over the lazy dog. ';
  let middle = '';
  while (head.length + middle.length + tail.length < PAGE_SIZE) middle += filler;
  middle = middle.slice(0, PAGE_SIZE - head.length - tail.length);
  return Buffer.from(head + middle + tail, 'ascii');
}
const PAGE = makePage();
if (PAGE.length !== PAGE_SIZE) throw new Error(`page is ${PAGE.length} bytes`);

let total = 0;
let herd = Object.create(null);

function sendPage(res, cacheControl, head, extraHeaders) {
  res.writeHead(200, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': PAGE.length,
    'Cache-Control': cacheControl,
    ...extraHeaders,
  });
  res.end(head ? undefined : PAGE);
}

// The value of one cookie in the request's Cookie header, or null.
function cookie(req, name) {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

function sendJson(res, value) {
  const body = JSON.stringify(value);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const head = req.method === 'HEAD';
  if (path === '/hits') return sendJson(res, { total, herd });
  if (path === '/reset') { total = 0; herd = Object.create(null); return sendJson(res, { ok: true }); }
  if (req.method !== 'GET' && !head) {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
    return res.end();
  }
  total++;
  switch (path) {
    case '/':
      setTimeout(() => sendPage(res, 'public, max-age=60', head), 10);
      return;
    case '/fast':
      sendPage(res, 'private', head);
      return;
    case '/slow':
      setTimeout(() => sendPage(res, 'public, max-age=60', head), 100);
      return;
    case '/vary': {
      const raw = cookie(req, 'user_id');
      const level = raw === null ? 'none' : /^[\w.-]{1,64}$/.test(raw) ? raw : 'other';
      setTimeout(() => sendPage(res, 'public, max-age=60', head, { 'X-User-Level': level }), 10);
      return;
    }
    case '/page':
      sendPage(res, 'public, max-age=3600', head);
      return;
    case '/herd': {
      const gen = new URLSearchParams(req.url.slice(q + 1)).get('gen') ?? '';
      herd[gen] = (herd[gen] ?? 0) + 1;
      setTimeout(() => sendPage(res, 'public, max-age=1', head), 100);
      return;
    }
    default:
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10, 'Cache-Control': 'no-store' });
      res.end('not found\n');
  }
});
// Longer than any proxy's upstream keep-alive so a pooled connection is never closed under it.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;
server.maxRequestsPerSocket = 0;
server.listen(port, '127.0.0.1', () => console.log(`bench origin listening on 127.0.0.1:${port}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
