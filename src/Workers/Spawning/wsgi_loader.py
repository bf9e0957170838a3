#!/usr/bin/env python3
"""Porter's WSGI loader: serves one Python WSGI app on 127.0.0.1:$PORT.

Usage: PORT=NNNN python3 wsgi_loader.py APP_ROOT [STARTUP_FILE]

Standard library only, in the spirit of Passenger's own loader, so that a
Python app needs no pip packages to run under Porter. It changes into
APP_ROOT, puts APP_ROOT first on sys.path, loads STARTUP_FILE (default:
passenger_wsgi.py when present, else app.py) and serves its `application`
callable (or `app` when there is no `application`).

Server behaviour, and why:
- wsgiref's server and handler, threaded (ThreadingMixIn, daemon threads), but
  speaking HTTP/1.1 with keep-alive, because Porter's dispatcher keeps pooled
  connections to each process. The framing rules that keep-alive depends on are
  enforced here rather than trusted to the app: a response with no
  Content-Length is sent chunked to HTTP/1.1 clients and close-delimited to
  HTTP/1.0 ones; HEAD, 1xx, 204 and 304 responses never carry a body; a response
  that ends short of its Content-Length, or an app error after the headers went
  out, closes the connection instead of corrupting the next response.
- Request bodies stream: wsgi.input is bounded by Content-Length, or decodes a
  chunked body (wsgi.input_terminated is set, so frameworks may read to EOF).
  Whatever the app leaves unread is drained after the response when it is small,
  otherwise the connection is closed.
- Response iterables stream: each block is written and flushed as the app
  yields it; nothing buffers a whole body.
- Hop-by-hop headers set by the app (Connection, Transfer-Encoding, ...) are
  dropped rather than turned into a 500 as plain wsgiref does; the connection
  framing is the server's job. `Connection: close` from the app is honoured.
- wsgi.url_scheme is "https" when X-Forwarded-Proto says so: only Porter's
  gateway talks to this port, and it drops client-supplied X-Forwarded-*
  headers unless the peer is a trusted proxy. REMOTE_ADDR stays the real peer
  (the gateway); apps read X-Forwarded-For for the client address.
- Quiet: no line per request. An exception in the app gives a 500 and its
  traceback on stderr. Malformed HTTP gets wsgiref's 4xx and one stderr line.
- SIGTERM or SIGINT: stop accepting, let requests in flight finish (at most
  SHUTDOWN_GRACE seconds; Porter drains the process before signalling it, so
  normally there are none), then exit 0.

Out-of-band work (see Porter's OOB protocol): Porter sends
`POST /.porter/oob-work` to a process it has taken out of rotation. The loader
answers it itself by running gc.collect() and replying
200 {"ok":true,"collected":N}, so that every WSGI app supports OOB work
unchanged. An app that wants to do its own OOB work opts in by defining
`porter_handles_oob_work = True` at module level in its startup file; the
request is then passed to the app like any other. We chose an explicit opt-in
over "try the app first and fall back on 404" because the fallback would run
the app's routing (and its 404 logging) on every OOB run, and a framework that
answers 405 or a catch-all page would silently disable the garbage collection.
Either way the loader first checks that the call is Porter's: its
X-Porter-OOB-Token header must be "ID.MAC" with MAC the hex HMAC-SHA256 of ID
keyed with $PORTER_OOB_SECRET (a secret Porter gives each process). Anything
else on that path (any spelling of it, any method) gets 403 and never reaches
the app or the collector, so nobody but Porter can make the process collect.

Startup errors (no APP_ROOT, no startup file, no callable, no or bad $PORT,
port in use) print one line starting with "wsgi_loader:" on stderr and exit 1;
an exception while importing the startup file prints its traceback first.
"""

import gc
import hashlib
import hmac
import importlib.util
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
import wsgiref.handlers
import wsgiref.simple_server
from wsgiref.util import is_hop_by_hop

OOB_PATH = "/.porter/oob-work"
OOB_SECRET_ENV = "PORTER_OOB_SECRET"
LISTEN_HOST = "127.0.0.1"
# Idle keep-alive connections (and stalled reads/writes) are dropped after this
# many seconds. It must stay above the dispatcher's pooled-connection idle
# timeout (SocketsHttpHandler: 1 minute) so the server is not the side that
# closes a connection the client is about to reuse.
SOCKET_TIMEOUT = 300
# A response may be sent while the app left part of the request body unread; up
# to this many bytes are read and discarded to keep the connection reusable.
MAX_DRAIN = 64 * 1024
SHUTDOWN_GRACE = 5.0
SERVER_SOFTWARE = "Porter-WSGI/1 Python/" + sys.version.split()[0]


def fail(message):
    sys.stderr.write("wsgi_loader: " + message + "\n")
    sys.stderr.flush()
    sys.exit(1)


class BadRequestBody(ValueError):
    """The client's chunked request body is malformed."""


class BodyReader:
    """wsgi.input: a stream over one request body that never reads past it."""

    def __init__(self, rfile):
        self._rfile = rfile
        self.exhausted = False

    # Subclasses return up to `size` bytes (size > 0), or b"" at the end.
    def _read_some(self, size):
        raise NotImplementedError

    def read(self, size=-1):
        if size is None or size < 0:
            parts = []
            while True:
                part = self._read_some(64 * 1024)
                if not part:
                    return b"".join(parts)
                parts.append(part)
        if size == 0:
            return b""
        parts = []
        while size > 0:
            part = self._read_some(size)
            if not part:
                break
            parts.append(part)
            size -= len(part)
        return b"".join(parts)

    def readline(self, size=-1):
        line = bytearray()
        while size is None or size < 0 or len(line) < size:
            want = 8192 if size is None or size < 0 else min(8192, size - len(line))
            chunk = self._peek_line(want)
            if not chunk:
                break
            line += chunk
            if chunk.endswith(b"\n"):
                break
        return bytes(line)

    def _peek_line(self, size):
        raise NotImplementedError

    def readlines(self, hint=-1):
        lines, total = [], 0
        for line in self:
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readable(self):
        return True

    def can_drain(self, limit):
        """Whether drain(limit) can finish the body; unknown (False) for chunked bodies."""
        return self.exhausted

    def drain(self, limit):
        """Discards what the app left unread; True when the body is fully consumed."""
        while limit > 0:
            part = self._read_some(min(limit, 64 * 1024))
            if not part:
                return True
            limit -= len(part)
        return self.exhausted


class LengthReader(BodyReader):
    """A body framed by Content-Length (0 when the request has no body)."""

    def __init__(self, rfile, length):
        super().__init__(rfile)
        self._remaining = length
        self.exhausted = length == 0

    def can_drain(self, limit):
        return self._remaining <= limit

    def _read_some(self, size):
        if self._remaining <= 0:
            return b""
        data = self._rfile.read(min(size, self._remaining))
        if not data:
            raise ConnectionResetError("client closed the connection inside the request body")
        self._remaining -= len(data)
        self.exhausted = self._remaining == 0
        return data

    def _peek_line(self, size):
        if self._remaining <= 0:
            return b""
        data = self._rfile.readline(min(size, self._remaining))
        if not data:
            raise ConnectionResetError("client closed the connection inside the request body")
        self._remaining -= len(data)
        self.exhausted = self._remaining == 0
        return data


class ChunkedReader(BodyReader):
    """A body sent with Transfer-Encoding: chunked, decoded on the fly."""

    def __init__(self, rfile):
        super().__init__(rfile)
        self._left_in_chunk = 0

    def _next_chunk(self):
        # Returns False at the end of the body (after the trailers).
        if self._left_in_chunk > 0:
            return True
        if self.exhausted:
            return False
        line = self._rfile.readline(1026)
        if not line.endswith(b"\n"):
            raise BadRequestBody("bad chunk size line")
        size_text = line.split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadRequestBody("bad chunk size %r" % size_text) from None
        if size < 0:
            raise BadRequestBody("negative chunk size")
        if size == 0:
            # Trailers (ignored) up to the empty line.
            for _ in range(100):
                trailer = self._rfile.readline(8194)
                if not trailer.endswith(b"\n"):
                    raise BadRequestBody("bad chunked trailer")
                if trailer in (b"\r\n", b"\n"):
                    self.exhausted = True
                    return False
            raise BadRequestBody("too many trailers")
        self._left_in_chunk = size
        return True

    def _end_of_chunk(self):
        if self._left_in_chunk == 0:
            if self._rfile.readline(3) not in (b"\r\n", b"\n"):
                raise BadRequestBody("chunk not followed by CRLF")

    def _take(self, reader, size):
        if not self._next_chunk():
            return b""
        data = reader(min(size, self._left_in_chunk))
        if not data:
            raise ConnectionResetError("client closed the connection inside the request body")
        self._left_in_chunk -= len(data)
        self._end_of_chunk()
        return data

    def _read_some(self, size):
        return self._take(self._rfile.read, size)

    def _peek_line(self, size):
        return self._take(self._rfile.readline, size)


class PorterHandler(wsgiref.handlers.SimpleHandler):
    """wsgiref's WSGI handler with HTTP/1.1 framing (see the module docstring)."""

    http_version = "1.1"
    server_software = SERVER_SOFTWARE
    # Per-request environ carries the CGI/WSGI keys only, not the OS environment.
    os_environ = {}

    def __init__(self, request_handler, stdin, stdout, stderr, environ):
        super().__init__(stdin, stdout, stderr, environ, multithread=True, multiprocess=True)
        self.request_handler = request_handler
        self.completed = False      # the whole response went out, correctly framed
        self.must_close = False     # the connection cannot carry another request
        self._no_body = False
        self._chunked = False
        self._remaining = None      # bytes still owed under Content-Length

    def start_response(self, status, headers, exc_info=None):
        kept = []
        for name, value in headers:
            if isinstance(name, str) and is_hop_by_hop(name):
                if name.lower() == "connection" and "close" in str(value).lower():
                    self.must_close = True
                continue
            kept.append((name, value))
        return super().start_response(status, kept, exc_info)

    def cleanup_headers(self):
        # Called once, just before the status line and headers are written.
        code = int(self.status[:3])
        method = self.environ.get("REQUEST_METHOD", "GET")
        bodyless_status = code < 200 or code in (204, 304)
        self._no_body = bodyless_status or method == "HEAD"
        if bodyless_status:
            if code != 304:
                del self.headers["Content-Length"]
        else:
            length = self.headers.get("Content-Length")
            if length is not None:
                if length.strip().isdigit():
                    self._remaining = int(length)
                else:
                    self.log_message("app sent an invalid Content-Length %r; ignoring it" % length)
                    del self.headers["Content-Length"]
                    length = None
            if length is None:
                # wsgiref's rule: a one-block iterable gets an exact Content-Length.
                self.set_content_length()
                if "Content-Length" in self.headers:
                    self._remaining = int(self.headers["Content-Length"])
                elif method != "HEAD":
                    if self.environ.get("SERVER_PROTOCOL") == "HTTP/1.1":
                        self._chunked = True
                        self.headers["Transfer-Encoding"] = "chunked"
                    else:
                        self.must_close = True
            if self._no_body:
                self._remaining = None
        if not self.stdin.exhausted and not self.stdin.can_drain(MAX_DRAIN):
            # The app answered without reading the whole request body, and too much is
            # left to skip: announce the close now so the client does not reuse the connection.
            self.must_close = True
        if self.must_close or self.request_handler.close_connection or self.request_handler.server.stopping:
            self.must_close = True
            self.headers["Connection"] = "close"
        elif self.environ.get("SERVER_PROTOCOL") != "HTTP/1.1":
            self.headers["Connection"] = "keep-alive"

    def write(self, data):
        if type(data) is not bytes:
            raise AssertionError("write() argument must be a bytes instance, not %s" % type(data).__name__)
        if not self.status:
            raise AssertionError("write() before start_response()")
        if not self.headers_sent:
            if not data:
                return  # PEP 3333: headers wait for the first non-empty block
            self.bytes_sent = len(data)
            self.send_headers()
        else:
            self.bytes_sent += len(data)
        self._write_body(data)
        self._flush()

    def _write_body(self, data):
        if not data or self._no_body:
            return
        if self._chunked:
            if len(data) <= 256 * 1024:
                self._write(b"%x\r\n%s\r\n" % (len(data), data))
            else:
                self._write(b"%x\r\n" % len(data))
                self._write(data)
                self._write(b"\r\n")
            return
        if self._remaining is not None:
            if len(data) > self._remaining:
                self.log_message("app wrote more than its Content-Length; extra bytes dropped")
                data = data[: self._remaining]
                self.must_close = True
            self._remaining -= len(data)
        self._write(data)

    def finish_content(self):
        if not self.headers_sent:
            code = int(self.status[:3])
            if not (code < 200 or code in (204, 304)):
                self.headers.setdefault("Content-Length", "0")
            self.send_headers()
        if self._chunked:
            self._write(b"0\r\n\r\n")
        elif self._remaining:
            self.log_message("app wrote less than its Content-Length; closing the connection")
            self.must_close = True
        self._flush()
        self.completed = True

    def handle_error(self):
        error = sys.exc_info()[1]
        if isinstance(error, BadRequestBody) and not self.headers_sent:
            # The client's framing is broken, not the app: a 400 and one line, no traceback.
            self.log_message("bad request body: %s" % error)
            self.must_close = True
            self.start_response("400 Bad Request", [("Content-Type", "text/plain")], sys.exc_info())
            self.result = [b"Bad request body\n"]
            self.finish_response()
            return
        super().handle_error()

    def log_message(self, message):
        stderr = self.get_stderr()
        stderr.write("wsgi_loader: %s\n" % message)
        stderr.flush()


class PorterRequestHandler(wsgiref.simple_server.WSGIRequestHandler):
    """Reads requests off one connection (keep-alive) and runs each through PorterHandler."""

    protocol_version = "HTTP/1.1"
    server_version = SERVER_SOFTWARE
    timeout = SOCKET_TIMEOUT
    disable_nagle_algorithm = True
    # Buffered writes let the status line and headers leave with the first body block;
    # PorterHandler flushes after every block the app yields.
    wbufsize = 64 * 1024

    def handle(self):
        self.close_connection = True
        try:
            self.handle_one_request()
            while not self.close_connection and not self.server.stopping:
                self.handle_one_request()
        except (ConnectionError, TimeoutError):
            pass

    def handle_one_request(self):
        self.close_connection = True
        self.raw_requestline = self.rfile.readline(65537)
        if not self.raw_requestline:
            return
        if len(self.raw_requestline) > 65536:
            self.requestline = self.request_version = self.command = ""
            self.send_error(414)
            self.wfile.flush()
            return
        if not self.parse_request():
            self.wfile.flush()
            return
        body = self._body_reader()
        if body is None:
            self.wfile.flush()
            return

        environ = self.get_environ()
        environ["wsgi.input_terminated"] = True
        if isinstance(body, ChunkedReader):
            environ.pop("CONTENT_LENGTH", None)
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
        if proto == "https":
            environ["HTTPS"] = "on"

        server = self.server
        with server.active_lock:
            server.active += 1
        try:
            handler = PorterHandler(self, body, self.wfile, self.get_stderr(), environ)
            handler.run(server.get_app())
            self.wfile.flush()
        finally:
            with server.active_lock:
                server.active -= 1

        if not handler.completed or handler.must_close:
            self.close_connection = True
            return
        try:
            if not body.exhausted and not body.drain(MAX_DRAIN):
                self.close_connection = True
        except (BadRequestBody, OSError):
            self.close_connection = True

    def _body_reader(self):
        # Returns the wsgi.input for this request, or None after answering an error.
        transfer_encoding = self.headers.get("Transfer-Encoding")
        if transfer_encoding is not None:
            if transfer_encoding.split(",")[-1].strip().lower() != "chunked":
                self.send_error(501, "Unsupported Transfer-Encoding")
                return None
            if self.headers.get("Content-Length") is not None:
                # Both framings: chunked wins (RFC 9112), and the connection is not reused.
                self.close_connection = True
            return ChunkedReader(self.rfile)
        length = self.headers.get_all("Content-Length") or []
        values = {v.strip() for v in length}
        if not values:
            return LengthReader(self.rfile, 0)
        if len(values) != 1 or not next(iter(values)).isdigit():
            self.send_error(400, "Bad Content-Length")
            return None
        return LengthReader(self.rfile, int(next(iter(values))))

    def handle_expect_100(self):
        self.send_response_only(100)
        self.end_headers()
        self.wfile.flush()
        return True

    def log_request(self, code="-", size="-"):
        pass  # quiet: no line per request

    def log_message(self, format, *args):
        sys.stderr.write("wsgi_loader: %s - %s\n" % (self.address_string(), format % args))
        sys.stderr.flush()


class PorterServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, handler_class):
        self.stopping = False
        self.active = 0
        self.active_lock = threading.Lock()
        super().__init__(address, handler_class)

    def server_bind(self):
        # HTTPServer.server_bind resolves the FQDN of the address; skip the lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def is_oob_path(path):
    # Every spelling an app's router might take for the OOB path: any case, repeated slashes.
    if ".porter" not in path.lower():
        return False
    return "/" + "/".join(p for p in path.split("/") if p).lower() == OOB_PATH


def valid_oob_token(environ, secret):
    """True when X-Porter-OOB-Token is "ID.MAC" with MAC = hex HMAC-SHA256(secret, ID): only Porter knows the secret."""
    token_id, dot, mac = environ.get("HTTP_X_PORTER_OOB_TOKEN", "").partition(".")
    if not secret or not dot or not token_id.isdigit():
        return False
    expected = hmac.new(secret.encode("utf-8"), token_id.encode("ascii"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode("ascii"), mac.encode("latin-1"))


def with_oob_endpoint(app, collect):
    """Guards the OOB path (403 unless Porter's signed token) and, with `collect`, answers it with a full collection."""
    secret = os.environ.get(OOB_SECRET_ENV, "")

    def oob_aware_app(environ, start_response):
        if not is_oob_path(environ.get("PATH_INFO", "")):
            return app(environ, start_response)
        if not valid_oob_token(environ, secret):
            body = b"out-of-band work is called by Porter only\n"
            start_response("403 Forbidden", [
                ("Content-Type", "text/plain"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ])
            return [body]
        if not collect or environ.get("REQUEST_METHOD") != "POST":
            return app(environ, start_response)
        started = time.monotonic()
        collected = gc.collect()
        body = json.dumps({
            "ok": True,
            "collected": collected,
            "ms": round((time.monotonic() - started) * 1000, 3),
        }, separators=(",", ":")).encode("ascii")
        start_response("200 OK", [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
        ])
        return [body]

    return oob_aware_app


def load_app(app_root, startup_file):
    if not os.path.isdir(app_root):
        fail("app root %r is not a directory" % app_root)
    app_root = os.path.abspath(app_root)
    os.chdir(app_root)

    if startup_file is None:
        for candidate in ("passenger_wsgi.py", "app.py"):
            if os.path.isfile(candidate):
                startup_file = candidate
                break
        else:
            fail("no startup file in %s: expected passenger_wsgi.py or app.py" % app_root)
    path = os.path.abspath(startup_file)
    if not os.path.isfile(path):
        fail("startup file %s not found" % path)

    # The app root comes first on sys.path; the loader's own folder is not an import location.
    loader_dir = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != loader_dir]
    sys.path.insert(0, app_root)

    name = os.path.splitext(os.path.basename(path))[0]
    if not name.isidentifier() or name in sys.modules:
        name = "porter_wsgi_app"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        fail("cannot load %s as a Python module" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit:
        raise
    except BaseException:
        import traceback
        traceback.print_exc()
        error = sys.exc_info()[1]
        fail("loading %s raised %s: %s" % (path, type(error).__name__, error))

    for attr in ("application", "app"):
        candidate = getattr(module, attr, None)
        if candidate is not None:
            if not callable(candidate):
                fail("%s.%s in %s is not callable" % (name, attr, path))
            return with_oob_endpoint(candidate, collect=not getattr(module, "porter_handles_oob_work", False))
    fail("%s defines no WSGI callable named 'application' or 'app'" % path)


def main(argv):
    if len(argv) not in (2, 3):
        fail("usage: PORT=NNNN python3 wsgi_loader.py APP_ROOT [STARTUP_FILE]")
    port_text = os.environ.get("PORT", "")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        fail("environment variable PORT must be a TCP port number, got %r" % port_text)

    # Prints from the app reach Porter's log promptly, one line per event.
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass

    application = load_app(argv[1], argv[2] if len(argv) == 3 else None)

    try:
        server = PorterServer((LISTEN_HOST, int(port_text)), PorterRequestHandler)
    except OSError as e:
        fail("cannot listen on %s:%s: %s" % (LISTEN_HOST, port_text, e.strerror or e))
    server.set_app(application)

    def stop(signum, frame):
        if not server.stopping:
            server.stopping = True
            # shutdown() waits for serve_forever() to return, so it cannot run on this thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    try:
        server.serve_forever(poll_interval=0.25)
    finally:
        server.server_close()
    deadline = time.monotonic() + SHUTDOWN_GRACE
    while time.monotonic() < deadline:
        with server.active_lock:
            if server.active == 0:
                break
        time.sleep(0.05)
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
