"""The servers under test: how each is configured and started (on 127.0.0.1 only, free ports), how its CPU and its
origin's request count are read, and the check that each cache really caches."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from .client import KeepAlive, http_get
from .processes import Proc, Procs
from .settings import BENCH, log

ORIGIN_APP = BENCH / "origin"
CEILING = "Kestrel ceiling"  # the contender name of bench/Ceiling in every table


@dataclass
class Contender:
    name: str
    port: int
    proc: Proc | None  # the server process (None: not ours to account)
    hits_port: int | None  # where /hits and /reset of *its* origin answer (None: it has no origin, the ceiling)
    app_comm: str | None = None  # comm of app processes inside the contender's tree (Porter's and Passenger's node)
    origin_proc: Proc | None = None  # the separate origin process whose CPU is the app's (nginx, Varnish, direct)
    notes: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def origin_hits(self) -> dict:
        if self.hits_port is None:
            raise RuntimeError(f"{self.name} has no origin to count requests")
        _, _, body = http_get(self.hits_port, "/hits")
        return json.loads(body)

    def origin_requests(self) -> int | None:
        return self.origin_hits()["total"] if self.hits_port is not None else None

    def reset_origin(self) -> None:
        if self.hits_port is not None:
            http_get(self.hits_port, "/reset")

    def server_ticks(self) -> int:
        if self.proc is None:
            return 0
        return self.proc.cpu_ticks(exclude_comm=self.app_comm)

    def app_ticks(self) -> int:
        if self.app_comm is not None and self.proc is not None:
            return self.proc.cpu_ticks(only_comm=self.app_comm)
        if self.origin_proc is not None:
            return self.origin_proc.cpu_ticks()
        return 0


# ----------------------------------------------------------------------------------------------------------------
# Starting each server


def start_origin(procs: Procs, logdir: Path, port: int, env: dict[str, str]) -> Proc:
    """The origin app (bench/origin/app.js) that nginx and Varnish proxy to."""
    return procs.start("origin", ["node", str(ORIGIN_APP / "app.js")], logdir, env=dict(env, PORT=str(port)))


def start_nginx(procs: Procs, workdir: Path, logdir: Path, port: int, origin_port: int) -> Proc:
    ndir = workdir / "nginx"
    ndir.mkdir()
    (ndir / "nginx.conf").write_text(nginx_conf(ndir, port, origin_port))
    return procs.start("nginx", ["nginx", "-p", str(ndir), "-c", str(ndir / "nginx.conf"), "-g", "daemon off;"], logdir)


def start_varnish(procs: Procs, workdir: Path, logdir: Path, port: int, origin_port: int) -> Proc:
    """Varnish with its built-in VCL, preceded by varnish_vcl()'s cookie rule for the vary-by-cookie case."""
    vdir = workdir / "varnish"
    vdir.mkdir()
    (vdir / "bench.vcl").write_text(varnish_vcl(origin_port))
    return procs.start("varnish", ["varnishd", "-F", "-n", str(vdir), "-a", f"127.0.0.1:{port}",
                                   "-f", str(vdir / "bench.vcl"), "-s", "malloc,512m", "-T", "none",
                                   "-P", str(vdir / "varnishd.pid")], logdir)


def porter_start_argv(porter_cmd: list[str], app_dir: Path, port: int, data_dir: Path) -> list[str]:
    """`porter start APP` on 127.0.0.1 with one app process, like the others' one origin process."""
    return porter_cmd + ["start", str(app_dir), "--port", str(port), "--address", "127.0.0.1",
                         "--data-dir", str(data_dir), "--max-pool-size", "1", "--min-instances", "1",
                         "--shutdown-grace", "2", "--management-port", "0"]


def start_porter(procs: Procs, name: str, porter_cmd: list[str], port: int, data_dir: Path, workdir: Path,
                 logdir: Path, vary_cookie: str | None = None) -> Proc:
    """Porter serving the origin as its own app (its own copy of the origin process)."""
    argv = porter_start_argv(porter_cmd, ORIGIN_APP, port, data_dir)
    if vary_cookie:
        argv += ["--vary-turbocache-by-cookie", vary_cookie]
    return procs.start(name, argv, logdir, cwd=workdir)


def start_ceiling(procs: Procs, name: str, ceiling_dll: Path, port: int, logdir: Path) -> Proc:
    """The Kestrel ceiling (bench/Ceiling): the stored 2 KB response with a Porter hit's headers, for every request."""
    return procs.start(name, ["dotnet", str(ceiling_dll), "--port", str(port), "--address", "127.0.0.1"], logdir)


def start_passenger(procs: Procs, name: str, port: int, workdir: Path, logdir: Path, app_dir: Path = ORIGIN_APP,
                    app_command: str | None = None, vary_cookie: str | None = None) -> Proc:
    """Phusion Passenger Standalone on its own C++ engine (`--engine=builtin`, turbocache on) serving the origin as its
    app, one process like the others. It must never call outside hosts (update check, telemetry). Its watchdog and
    core daemonize into sessions of their own: they are found by PID (their pid files) and adopted, so that their
    CPU counts and they are stopped even if `passenger stop` fails."""
    pdir = workdir / name
    (pdir / "tmp").mkdir(parents=True)
    (pdir / "registry").mkdir()
    pid_file = pdir / "passenger.pid"
    argv = ["passenger", "start", str(app_dir), "--engine=builtin", "--port", str(port), "--address", "127.0.0.1",
            "--app-start-command", app_command or f"node {app_dir / 'app.js'}", "--max-pool-size", "1",
            "--min-instances", "1", "--environment", "production", "--disable-security-update-check", "--disable-anonymous-telemetry",
            "--instance-registry-dir", str(pdir / "registry"), "--pid-file", str(pid_file),
            "--log-file", str(logdir / f"{name}-core.log")]
    if vary_cookie:
        argv += ["--vary-turbocache-by-cookie", vary_cookie]
    # TMPDIR: its temp dir (and the temp-dir toucher's pid file) under the work dir, not in /tmp at large.
    env = dict(os.environ, TMPDIR=str(pdir / "tmp"))

    def daemon_pid_files() -> list[Path]:
        """The watchdog's (--pid-file), the core's (instance registry) and the temp-dir toucher's, which appears a
        little later."""
        return [pid_file, *sorted((pdir / "registry").glob("passenger.*/core.pid")),
                *sorted((pdir / "tmp").glob("passenger-standalone.*/temp_dir_toucher.pid"))]

    proc = procs.start(name, argv, logdir, env=env, cwd=pdir,
                       stop_argv=["passenger", "stop", "--pid-file", str(pid_file)], daemon_pid_files=daemon_pid_files)
    # The watchdog and the core at least (the app process is a child of the core, so it is in the core's tree).
    deadline = time.monotonic() + 60
    while proc.adopt_daemons() < 2:
        if not proc.alive():
            raise RuntimeError(f"{name} exited with {proc.popen.returncode}; see {proc.log_path}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name}: no watchdog and core pid files after 60 s; see {proc.log_path}")
        time.sleep(0.05)
    return proc


def nginx_conf(ndir: Path, port: int, origin_port: int) -> str:
    return f"""# Generated by bench/harness.py: nginx at its best for a cache hit.
worker_processes auto;
error_log {ndir}/error.log warn;
pid {ndir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  client_body_temp_path {ndir}/client_body;
  proxy_temp_path {ndir}/proxy_temp;
  fastcgi_temp_path {ndir}/fastcgi;
  uwsgi_temp_path {ndir}/uwsgi;
  scgi_temp_path {ndir}/scgi;
  proxy_cache_path {ndir}/cache levels=1:2 keys_zone=bench:64m max_size=2g inactive=10m use_temp_path=off;
  upstream origin {{
    server 127.0.0.1:{origin_port};
    keepalive 64;
    keepalive_requests 1000000;
  }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    # The cache: only here (proxy_cache_lock in a location that also serves uncacheable paths serialises them).
    location / {{
      proxy_cache bench;
      proxy_cache_lock on;
      proxy_cache_use_stale updating;
      proxy_cache_background_update on;
      add_header X-Cache $upstream_cache_status;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://origin;
    }}
    # The vary-by-cookie case: the key is the URL plus the value of the user_id cookie alone, so the analytics
    # cookies around it do not split the entries (nginx passes the whole Cookie header on to the origin).
    location = /vary {{
      proxy_cache bench;
      proxy_cache_key $scheme$proxy_host$request_uri$cookie_user_id;
      proxy_cache_lock on;
      proxy_cache_use_stale updating;
      proxy_cache_background_update on;
      add_header X-Cache $upstream_cache_status;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://origin;
    }}
    # Plain proxying, no cache.
    location = /fast {{
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://origin;
    }}
  }}
}}
"""


def varnish_vcl(origin_port: int) -> str:
    return f"""# Generated by bench/harness.py. Varnish's built-in VCL runs after these subroutines (none returns),
# except for requests with a user_id cookie (the vary-by-cookie case): the built-in VCL passes every request with
# a Cookie, so here the key becomes the URL plus user_id's value, the Cookie header is dropped for the lookup, and
# the fetch sends the origin user_id alone.
vcl 4.1;

backend origin {{
  .host = "127.0.0.1";
  .port = "{origin_port}";
}}

sub vcl_recv {{
  if (req.http.Cookie ~ "(^|;\\s*)user_id=") {{
    set req.http.X-Bench-User-Id = regsub(req.http.Cookie, "^(.*;\\s*)?user_id=([^;]*).*$", "\\2");
    unset req.http.Cookie;
  }}
}}

sub vcl_hash {{
  if (req.http.X-Bench-User-Id) {{
    hash_data(req.http.X-Bench-User-Id);
  }}
}}

sub vcl_backend_fetch {{
  if (bereq.http.X-Bench-User-Id) {{
    set bereq.http.Cookie = "user_id=" + bereq.http.X-Bench-User-Id;
    unset bereq.http.X-Bench-User-Id;
  }}
}}
"""


# ----------------------------------------------------------------------------------------------------------------
# Does each cache cache?


def check_caching(caches: list[Contender]) -> dict[str, dict]:
    """Two GETs of `/` per cache on one keep-alive connection; the second should be a hit and not reach the origin."""
    verify = {}
    for c in caches:
        c.reset_origin()
        with KeepAlive(c.port) as conn:
            first = conn.get("/")
            second = conn.get("/")
        hits = c.origin_hits()["total"]
        info = {k: second[1].get(k) for k in ("x-cache", "age", "x-varnish") if second[1].get(k) is not None}
        verify[c.name] = {"status": [first[0], second[0]], "second": info, "origin_requests": hits,
                          "body_bytes": len(second[2])}
        log(f"verify {c.name}: statuses {first[0]},{second[0]}; second response {info}; origin requests {hits}")
    return verify


VARY_COOKIE = "user_id"
VARY_LEVELS = ("anonymous", "member", "staff")  # bench/lua/vary_cookie.lua sends the same three


def vary_cookie_header(level: str, i: int) -> str:
    """The case's Cookie header: analytics cookies that differ on every request around user_id."""
    return (f"_ga=GA1.2.{100000000 + i * 7919}.{1700000000 + i}; {VARY_COOKIE}={level}; "
            f"_gid=GA1.2.{200000000 + i * 104729}.1")


def check_vary(caches: list[Contender]) -> dict[str, dict]:
    """Two GETs of `/vary` per level on one keep-alive connection, each with other analytics cookies: a cache that keys
    on user_id's value fills one entry per level (3 origin requests) and answers each level with its own (the
    origin's X-User-Level)."""
    verify = {}
    for c in caches:
        c.reset_origin()
        wrong = []
        statuses = []
        with KeepAlive(c.port) as conn:
            for n, level in enumerate(VARY_LEVELS):
                for attempt in range(2):
                    cookie = vary_cookie_header(level, 2 * n + attempt)
                    status, headers, _ = conn.get("/vary", extra_headers={"Cookie": cookie})
                    statuses.append(status)
                    if headers.get("x-user-level") != level:
                        wrong.append(f"{level} got {headers.get('x-user-level')}")
        hits = c.origin_hits()["total"]
        verify[c.name] = {"statuses": sorted(set(statuses)), "origin_requests": hits, "wrong_level": wrong,
                          "requests": 2 * len(VARY_LEVELS)}
        log(f"verify vary {c.name}: statuses {sorted(set(statuses))}; origin requests {hits} for "
            f"{2 * len(VARY_LEVELS)} requests over {len(VARY_LEVELS)} levels; wrong level {wrong or 'none'}")
    return verify
