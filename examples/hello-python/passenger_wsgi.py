"""hello-python: a WSGI app for Porter's example set, standard library only.

Porter starts it through its WSGI loader (src/Workers/Spawning/wsgi_loader.py),
which also answers POST /.porter/oob-work with gc.collect() on the app's behalf,
after checking the call's X-Porter-OOB-Token against the process's secret
($PORTER_OOB_SECRET): anyone but Porter gets 403 there, and this app never sees it.
Run it without Porter:  PORT=8000 python3 src/Workers/Spawning/wsgi_loader.py examples/hello-python
"""

import itertools
import os
import threading

_counter = itertools.count(1)
_counter_lock = threading.Lock()


def _next_request_number():
    # itertools.count is atomic under the GIL in CPython; the lock keeps it correct elsewhere.
    with _counter_lock:
        return next(_counter)


def _text(start_response, status, body, extra_headers=()):
    data = body.encode("utf-8")
    start_response(status, [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(data))),
        *extra_headers,
    ])
    return [data]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    method = environ.get("REQUEST_METHOD", "GET")
    number = _next_request_number()
    pid = os.getpid()

    if method not in ("GET", "HEAD"):
        return _text(start_response, "405 Method Not Allowed", "method not allowed\n", [("Allow", "GET, HEAD")])
    if path == "/":
        # No caching headers: every request reaches the app, so the counter visibly moves.
        return _text(start_response, "200 OK", "Hello from hello-python, pid %d, request #%d\n" % (pid, number))
    if path == "/pid":
        return _text(start_response, "200 OK", str(pid))
    if path == "/cached":
        # Cacheable for 10 s: repeated requests are served by Porter's turbocache, so the
        # request number stays the same until the entry expires.
        return _text(start_response, "200 OK",
                     "Cached hello from hello-python, pid %d, request #%d\n" % (pid, number),
                     [("Cache-Control", "public, max-age=10")])
    return _text(start_response, "404 Not Found", "not found: %s\n" % path)
