"""Small HTTP helpers: one-shot GETs, a keep-alive connection, readiness polls."""

from __future__ import annotations

import http.client
import time

from .processes import Proc


def http_get(port: int, path: str, timeout: float = 5.0,
             extra_headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}", **(extra_headers or {})})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


class KeepAlive:
    """One keep-alive connection for several GETs, as wrk's load sends them: Passenger keeps a turbocache per server
    thread, so two one-shot connections can meet two different caches."""

    def __init__(self, port: int, timeout: float = 5.0):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def get(self, path: str, extra_headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        self.conn.request("GET", path, headers={"Host": f"127.0.0.1:{self.port}", **(extra_headers or {})})
        resp = self.conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body

    def __enter__(self) -> "KeepAlive":
        return self

    def __exit__(self, *_exc) -> None:
        self.conn.close()


def wait_http(port: int, path: str, timeout: float, proc: Proc | None = None, interval: float = 0.05) -> float:
    """Polls until path answers 200; returns seconds waited."""
    start = time.monotonic()
    last = ""
    while time.monotonic() - start < timeout:
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}; see {proc.log_path}")
        try:
            status, _, _ = http_get(port, path, timeout=1.0)
            if status == 200:
                return time.monotonic() - start
            last = f"status {status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(interval)
    raise RuntimeError(f"127.0.0.1:{port}{path} not ready after {timeout}s ({last})")
