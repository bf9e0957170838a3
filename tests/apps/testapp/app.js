'use strict';
// Porter's integration-test app: one Node.js file, no packages, listening on 127.0.0.1:$PORT.
// Endpoints and environment switches are listed in tests/apps/README.md.
// Quiet on purpose: one line at start, nothing per request, so tests can read the log.

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');

const MiB = 1024 * 1024;

// ---- start-up switches (failure tests) ---------------------------------------------------

if (process.env.EXIT_AT_START === '1') {
  console.error('testapp: EXIT_AT_START=1, exiting with code 3');
  process.exit(3);
}

// A crash that can be fixed from outside: exits while the marker file exists (crash-loop recovery tests).
if (process.env.EXIT_AT_START_IF_EXISTS && fs.existsSync(process.env.EXIT_AT_START_IF_EXISTS)) {
  console.error(`testapp: ${process.env.EXIT_AT_START_IF_EXISTS} exists (EXIT_AT_START_IF_EXISTS), exiting with code 4`);
  process.exit(4);
}

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`testapp: environment variable PORT must be a TCP port number, got ${JSON.stringify(process.env.PORT ?? '')}`);
  process.exit(1);
}

// ---- per-process state -------------------------------------------------------------------

let served = 0;          // requests (and WebSocket upgrades) received, including the current one; OOB calls excluded
let inflight = 0;        // requests being handled right now (excluding the OOB request itself)
const failNext = { count: 0, status: 500 }; // set by /fail-next: the next /headers answers fail
const hits = new Map();  // request URL as received (path + query) -> times it reached the app
let hitsTotal = 0;
const leaked = [];       // buffers retained on purpose by /leak
let leakedBytes = 0;

// Deterministic download bytes: byte i of a body is i % 251. The pattern repeats every 251
// bytes, so one block a little longer than a chunk serves every offset without copying.
const CHUNK = 64 * 1024;
const PATTERN = Buffer.alloc(CHUNK + 251);
for (let i = 0; i < PATTERN.length; i++) PATTERN[i] = i % 251;

// ---- helpers -----------------------------------------------------------------------------

function sendText(res, status, text, headers = {}) {
  const body = Buffer.from(String(text), 'utf8');
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, ...headers });
  res.end(body);
}

function sendJson(res, status, value, headers = {}) {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...headers });
  res.end(body);
}

// Every "Name:Value" of the query parameter `param`, as lower-case name -> { name, values }; the bad one as a string.
function headerParams(url, param) {
  const headers = new Map();
  for (const h of url.searchParams.getAll(param)) {
    const colon = h.indexOf(':');
    if (colon <= 0) return h;
    const name = h.slice(0, colon).trim();
    const value = h.slice(colon + 1).trim();
    const entry = headers.get(name.toLowerCase()) ?? { name, values: [] };
    entry.values.push(value);
    headers.set(name.toLowerCase(), entry);
  }
  return headers;
}

function intParam(url, name, fallback) {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : fallback;
}

// Blocks the whole process (the event loop too) without burning a core: a stand-in for a
// stop-the-world GC pause during out-of-band work.
function blockFor(ms) {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function drain(req, done) {
  let bytes = 0;
  req.on('data', (d) => { bytes += d.length; });
  req.on('end', () => done(bytes));
}

// ---- endpoints ---------------------------------------------------------------------------

const routes = {
  '/pid': (req, res) => sendText(res, 200, String(process.pid)),

  '/count': (req, res) => sendText(res, 200, String(served)),

  // /headers?h=Name:Value&h=Name2:Value2&status=200&body=text&delay=ms
  // The body may use {hit} (hits of this exact URL so far), {pid} and {count}.
  '/headers': (req, res, url, hit) => {
    let status = intParam(url, 'status', 200);
    if (failNext.count > 0) { failNext.count--; status = failNext.status; }
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      sendText(res, 400, 'status must be an integer from 200 to 599\n');
      return;
    }
    const headers = headerParams(url, 'h');
    const headers304 = headerParams(url, 'h304'); // sent instead on a 304: a misbehaving origin's changed ETag, a Set-Cookie
    if (typeof headers === 'string' || typeof headers304 === 'string') {
      sendText(res, 400, `h and h304 must be Name:Value, got ${JSON.stringify(typeof headers === 'string' ? headers : headers304)}\n`);
      return;
    }
    const template = url.searchParams.has('body') ? url.searchParams.get('body') : 'hit {hit} pid {pid}\n';
    const body = Buffer.from(template
      .replaceAll('{hit}', String(hit))
      .replaceAll('{pid}', String(process.pid))
      .replaceAll('{count}', String(served)), 'utf8');
    const answer = () => {
      if (res.destroyed) return;
      try {
        for (const { name, values } of headers.values()) res.setHeader(name, values.length === 1 ? values[0] : values);
      } catch (e) {
        for (const name of res.getHeaderNames()) res.removeHeader(name);
        sendText(res, 400, `bad header: ${e.message}\n`);
        return;
      }
      // A request whose If-None-Match names this response's ETag gets 304, as a real origin would.
      const etag = res.getHeader('etag');
      const inm = req.headers['if-none-match'];
      if (etag && inm && status === 200 && inm.split(',').map(t => t.trim()).includes(String(etag))) {
        status = 304;
        for (const { name, values } of headers304.values()) res.setHeader(name, values.length === 1 ? values[0] : values);
      }
      const bodyless = status === 204 || status === 304; // these never carry a body or an implied length
      if (!bodyless && !headers.has('content-length') && !headers.has('transfer-encoding')) res.setHeader('Content-Length', body.length);
      res.writeHead(status);
      res.end(bodyless ? undefined : body);
    };
    const delay = intParam(url, 'delay', 0);
    if (delay > 0) setTimeout(answer, delay); else answer();
  },

  // /hits?path=/headers?h=... -> how many times that exact URL reached this process.
  '/hits': (req, res, url) => sendText(res, 200, String(hits.get(url.searchParams.get('path') ?? '') ?? 0)),

  '/hits-total': (req, res) => sendText(res, 200, String(hitsTotal)),

  // POST /fail-next?n=N&status=S -> the next N /headers answers use status S (default 500), whatever their query says.
  '/fail-next': (req, res, url) => {
    failNext.count = intParam(url, 'n', 1);
    failNext.status = intParam(url, 'status', 500);
    sendText(res, 200, 'ok\n');
  },

  '/reset-hits': (req, res) => {
    hits.clear();
    hitsTotal = 0;
    sendText(res, 200, 'ok\n');
  },

  // Any method; the body (if any) is read and counted, never echoed.
  '/echo-request': (req, res) => drain(req, (bodyBytes) => sendJson(res, 200, {
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    headers: req.headers,        // lower-case names, repeated headers joined as Node does
    rawHeaders: req.rawHeaders,  // exactly as received: [name, value, name, value, ...]
    remoteAddress: req.socket.remoteAddress,
    bodyBytes,
    pid: process.pid,
  })),

  // Streams the body through sha256; memory stays flat whatever the size.
  '/upload': (req, res) => {
    if (req.method !== 'POST' && req.method !== 'PUT') { sendText(res, 405, 'use POST or PUT\n', { Allow: 'POST, PUT' }); return; }
    const hash = crypto.createHash('sha256');
    let bytes = 0;
    req.on('data', (d) => { bytes += d.length; hash.update(d); });
    req.on('end', () => sendJson(res, 200, { bytes, sha256: hash.digest('hex') }));
  },

  // /download?mb=N (or bytes=N)&h=Name:Value: N MiB of i % 251, with Content-Length, written chunk by chunk
  // as the client reads (backpressure), never held in memory at once.
  '/download': (req, res, url) => {
    const total = url.searchParams.has('bytes') ? Math.floor(intParam(url, 'bytes', 0)) : Math.floor(intParam(url, 'mb', 1) * MiB);
    const extra = headerParams(url, 'h');
    if (typeof extra !== 'string') for (const { name, values } of extra.values()) res.setHeader(name, values);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': total });
    if (req.method === 'HEAD') { res.end(); return; }
    let offset = 0;
    const pump = () => {
      while (offset < total) {
        if (res.destroyed) return;
        const n = Math.min(CHUNK, total - offset);
        const start = offset % 251;
        offset += n;
        if (!res.write(PATTERN.subarray(start, start + n))) { res.once('drain', pump); return; }
      }
      res.end();
    };
    pump();
  },

  // /stream?chunks=N&ms=M&size=B&type=T&h=Name:Value: a chunked body (no Content-Length) of N pieces, M ms apart,
  // of Content-Type T (default text/plain).
  '/stream': (req, res, url) => {
    const chunks = intParam(url, 'chunks', 5);
    const ms = intParam(url, 'ms', 100);
    const size = intParam(url, 'size', 0);
    const extra = headerParams(url, 'h');
    if (typeof extra !== 'string') for (const { name, values } of extra.values()) res.setHeader(name, values);
    res.writeHead(200, { 'Content-Type': url.searchParams.get('type') ?? 'text/plain; charset=utf-8' });
    let i = 0;
    const next = () => {
      if (res.destroyed) return;
      if (i >= chunks) { res.end(); return; }
      const line = `chunk ${i++} pid ${process.pid}\n`;
      res.write(size > line.length ? line.padStart(size, '.') : line);
      setTimeout(next, ms);
    };
    next();
  },

  '/slow': (req, res, url) => {
    const ms = intParam(url, 'ms', 1000);
    setTimeout(() => { if (!res.destroyed) sendText(res, 200, `slept ${ms} ms, pid ${process.pid}\n`); }, ms);
  },

  // Dies without answering: the caller sees the connection close before any response byte.
  '/crash': (req, res, url) => process.exit(intParam(url, 'code', 1)),

  // Allocates and keeps N MiB (pages are touched, so the RSS really grows).
  '/leak': (req, res, url) => {
    const bytes = Math.floor(intParam(url, 'mb', 10) * MiB);
    if (bytes > 0) { leaked.push(Buffer.alloc(bytes, 1)); leakedBytes += bytes; }
    sendJson(res, 200, { leakedMB: leakedBytes / MiB, rss: process.memoryUsage.rss(), pid: process.pid });
  },

  '/memory': (req, res) => sendJson(res, 200, { ...process.memoryUsage(), leakedMB: leakedBytes / MiB, pid: process.pid }),

  // Selected environment variables (null when unset), every PORTER_* one, and ?name=X on request.
  '/env': (req, res, url) => {
    const env = {};
    for (const name of ['PORT', 'NODE_ENV', 'PORTER_ENV', 'PORTER_APP']) env[name] = process.env[name] ?? null;
    for (const [name, value] of Object.entries(process.env)) if (name.startsWith('PORTER_')) env[name] = value;
    for (const name of url.searchParams.getAll('name')) env[name] = process.env[name] ?? null;
    sendJson(res, 200, env);
  },
};

// POST /.porter/oob-work: Porter's out-of-band work call, checked as apps should check it: X-Porter-OOB-Token
// must be "ID.MAC" with MAC the hex HMAC-SHA256 of ID keyed with $PORTER_OOB_SECRET (403 otherwise). Records the
// run's start and end on the monotonic clock (process.hrtime.bigint is CLOCK_MONOTONIC, comparable across processes
// on one machine) by appending "pid start_ns end_ns token inflight\n" to $OOB_LOG (token: the token id; inflight:
// other requests in flight at the start), and blocks the process for $OOB_MS ms (default 50) in between, as a
// stop-the-world collection would.
function oobTokenId(req) {
  const secret = process.env.PORTER_OOB_SECRET ?? '';
  const [id, mac] = String(req.headers['x-porter-oob-token'] ?? '').split('.');
  if (!secret || !/^[0-9]+$/.test(id ?? '') || mac === undefined || mac.length !== 64) return null;
  const expected = crypto.createHmac('sha256', secret).update(id).digest();
  const given = Buffer.from(mac, 'hex');
  return given.length === expected.length && crypto.timingSafeEqual(given, expected) ? id : null;
}

function oobWork(req, res) {
  const token = oobTokenId(req);
  if (token === null || req.method !== 'POST') {
    drain(req, () => sendText(res, 403, 'testapp: out-of-band work is called by Porter only\n', { 'Cache-Control': 'no-store' }));
    return;
  }
  drain(req, () => {
    const inflightAtStart = inflight;
    const startNs = process.hrtime.bigint();
    const startMs = Date.now();
    if (typeof global.gc === 'function') global.gc();
    const ms = process.env.OOB_MS === undefined ? 50 : Number(process.env.OOB_MS);
    blockFor(Number.isFinite(ms) ? ms : 50);
    const endNs = process.hrtime.bigint();
    const endMs = Date.now();
    if (process.env.OOB_LOG) {
      // One small O_APPEND write per run: lines from several processes never interleave.
      fs.appendFileSync(process.env.OOB_LOG, `${process.pid} ${startNs} ${endNs} ${token} ${inflightAtStart}\n`);
    }
    sendJson(res, 200, {
      ok: true,
      pid: process.pid,
      startNs: String(startNs),
      endNs: String(endNs),
      startMs,
      endMs,
      inflightAtStart,
      token,
    }, { 'Cache-Control': 'no-store' });
  });
}

const UNCOUNTED_HITS = new Set(['/hits', '/hits-total', '/reset-hits', '/fail-next']);

const server = http.createServer((req, res) => {
  let url;
  try {
    url = new URL(req.url, 'http://testapp.invalid');
  } catch {
    sendText(res, 400, 'bad request target\n');
    return;
  }
  if (url.pathname.toLowerCase() === '/.porter/oob-work') { oobWork(req, res); return; }
  served++; // OOB runs are not counted: /count is what visitors sent

  inflight++;
  res.on('close', () => { inflight--; });

  let hit = 0;
  if (!UNCOUNTED_HITS.has(url.pathname)) {
    hit = (hits.get(req.url) ?? 0) + 1;
    hits.set(req.url, hit);
    hitsTotal++;
  }

  const oob = url.searchParams.get('oob');
  if (oob === '1') res.setHeader('X-Porter-Request-OOB-Work', 'true');
  else if (oob === 'passenger') res.setHeader('!~Request-OOB-Work', 'true');

  // /headers/<anything> is /headers too, so tests can pick paths that look like files (/headers/page.txt).
  const route = routes[url.pathname]
    ?? (url.pathname.startsWith('/headers/') ? routes['/headers'] : url.pathname.startsWith('/echo-request/') ? routes['/echo-request'] : undefined);
  if (route) route(req, res, url, hit);
  else sendText(res, 404, `testapp: no route ${url.pathname}\n`);
});

// ---- WebSocket echo on /ws (RFC 6455, minimal) -------------------------------------------

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const WS_MAX_PAYLOAD = 16 * MiB;

function wsFrame(opcode, payload, fin = true) {
  const len = payload.length;
  let header;
  if (len < 126) {
    header = Buffer.from([(fin ? 0x80 : 0) | opcode, len]);
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[0] = (fin ? 0x80 : 0) | opcode; header[1] = 126; header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = (fin ? 0x80 : 0) | opcode; header[1] = 127; header.writeBigUInt64BE(BigInt(len), 2);
  }
  return Buffer.concat([header, payload]); // server frames are never masked
}

server.on('upgrade', (req, socket, head) => {
  served++;
  socket.on('error', () => socket.destroy());
  const path = req.url.split('?')[0];
  const key = req.headers['sec-websocket-key'];
  if (path !== '/ws' || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket' || !key) {
    socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const accept = crypto.createHash('sha1').update(key + WS_GUID).digest('base64');
  const protocol = (req.headers['sec-websocket-protocol'] ?? '').split(',')[0].trim();
  socket.setNoDelay(true);
  socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${accept}\r\n` + (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') + '\r\n');

  let buffered = head && head.length ? Buffer.from(head) : Buffer.alloc(0);
  let closeSent = false;

  const fail = (code) => {
    if (!closeSent) {
      closeSent = true;
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code, 0);
      socket.end(wsFrame(0x8, payload));
    } else {
      socket.destroy();
    }
  };

  const parse = () => {
    while (buffered.length >= 2) {
      const fin = (buffered[0] & 0x80) !== 0;
      const rsv = buffered[0] & 0x70;
      const opcode = buffered[0] & 0x0f;
      const masked = (buffered[1] & 0x80) !== 0;
      let length = buffered[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        const big = buffered.readBigUInt64BE(2);
        if (big > BigInt(WS_MAX_PAYLOAD)) { fail(1009); return; }
        length = Number(big);
        offset = 10;
      }
      if (rsv !== 0 || !masked) { fail(1002); return; }      // clients must mask; no extensions
      if (length > WS_MAX_PAYLOAD) { fail(1009); return; }
      if (opcode >= 0x8 && (!fin || length > 125)) { fail(1002); return; }
      if (buffered.length < offset + 4 + length) return;     // wait for the rest of the frame
      const mask = buffered.subarray(offset, offset + 4);
      const payload = Buffer.from(buffered.subarray(offset + 4, offset + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buffered = buffered.subarray(offset + 4 + length);

      switch (opcode) {
        case 0x0: case 0x1: case 0x2:                        // continuation, text, binary: echo as framed
          if (!closeSent) socket.write(wsFrame(opcode, payload, fin));
          break;
        case 0x8:                                            // close: answer with the same code, then end
          if (!closeSent) { closeSent = true; socket.end(wsFrame(0x8, payload.subarray(0, 2))); }
          else socket.end();
          return;
        case 0x9:                                            // ping -> pong
          if (!closeSent) socket.write(wsFrame(0xA, payload));
          break;
        case 0xA:                                            // pong: nothing to do
          break;
        default:
          fail(1002);
          return;
      }
    }
  };

  socket.on('data', (data) => {
    buffered = buffered.length ? Buffer.concat([buffered, data]) : data;
    parse();
  });
  parse();
});

// ---- listening and stopping --------------------------------------------------------------

// Porter's dispatcher keeps pooled keep-alive connections for up to a minute; stay above that.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 80_000;
server.requestTimeout = 0; // long uploads and slow endpoints are the point of this app

server.on('error', (e) => {
  console.error(`testapp: cannot listen on 127.0.0.1:${port}: ${e.message}`);
  process.exit(1);
});

function listen() {
  server.listen(port, '127.0.0.1', () => {
    console.log(`testapp listening on ${port} pid ${process.pid}`);
  });
}

if (process.env.GARBAGE === '1') {
  // Binary noise on stdout (NULs, invalid UTF-8, escape sequences, a long line without a newline).
  process.stdout.write(Buffer.concat([
    Buffer.from([0x00, 0xff, 0xfe, 0xc3, 0x28, 0x1b, 0x5b, 0x32, 0x4a, 0x07, 0x08, 0x0d]),
    crypto.randomBytes(16 * 1024),
    Buffer.alloc(64 * 1024, 0x41),
    Buffer.from('\n'),
  ]));
}

if (process.env.NEVER_LISTEN === '1') {
  console.log(`testapp: NEVER_LISTEN=1, pid ${process.pid} stays up without listening`);
  setInterval(() => {}, 1 << 30);
} else {
  const delay = Number(process.env.START_DELAY_MS ?? 0);
  if (Number.isFinite(delay) && delay > 0) setTimeout(listen, delay); else listen();
}

function stop(signal) {
  if (process.env.IGNORE_SIGTERM === '1' && signal === 'SIGTERM') {
    console.log(`testapp: IGNORE_SIGTERM=1, ignoring SIGTERM (pid ${process.pid})`);
    return;
  }
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 5000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));
