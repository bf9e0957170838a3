"""Load: wrk runs (bounded in time, killed by PID if they overrun), their parsing, contenders interleaved over
rounds, and the summary of a case's rounds."""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .contenders import Contender
from .settings import CLK_TCK, Settings, log

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_SIZE = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"bad latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass
class WrkRun:
    contender: str
    url: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    bytes_read: float
    non2xx: int
    socket_errors: int
    wrk_cpu_s: float
    wall_s: float
    server_cpu_s: float | None = None
    app_cpu_s: float | None = None
    origin_requests: int | None = None

    @property
    def wrk_cores(self) -> float:
        return self.wrk_cpu_s / self.wall_s if self.wall_s else 0.0


@dataclass(frozen=True)
class Script:
    """A wrk Lua script (bench/lua/) and its arguments: requests that differ from one another."""

    path: Path
    args: tuple[str, ...] = ()

    def argv(self) -> list[str]:
        return ["-s", str(self.path)]

    def trailing_argv(self) -> list[str]:
        return ["--", *self.args] if self.args else []


def run_wrk(settings: Settings, contender: str, url: str, duration: int, logdir: Path,
            script: Script | None = None) -> WrkRun:
    argv = ["wrk", f"-t{settings.threads}", f"-c{settings.connections}", f"-d{duration}s", "--latency",
            "--timeout", "5s", *(script.argv() if script else []), url, *(script.trailing_argv() if script else [])]
    start = time.monotonic()
    with open(logdir / "wrk.log", "ab") as wlog:
        wlog.write(f"\n### {contender} {' '.join(argv)}\n".encode())
        wlog.flush()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = start + duration + 20
        # Bounded: wrk ends itself after -d; if it hangs, it is killed by PID.
        out = b""
        while True:
            pid, status, rusage = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                break
            if time.monotonic() > deadline:
                os.kill(p.pid, signal.SIGKILL)
                pid, status, rusage = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        wall = time.monotonic() - start
        out = p.stdout.read() if p.stdout else b""
        p.returncode = os.waitstatus_to_exitcode(status)
        wlog.write(out)
    text = out.decode("utf-8", "replace")
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed ({p.returncode}) for {contender} {url}:\n{text}")
    return parse_wrk(text, contender, url, rusage.ru_utime + rusage.ru_stime, wall)


def parse_wrk(text: str, contender: str, url: str, cpu_s: float, wall_s: float) -> WrkRun:
    def find(pattern: str) -> re.Match:
        m = re.search(pattern, text)
        if not m:
            raise RuntimeError(f"wrk output without {pattern!r}:\n{text}")
        return m

    p50 = _ms(find(r"\n\s+50%\s+(\S+)").group(1))
    p99 = _ms(find(r"\n\s+99%\s+(\S+)").group(1))
    m = find(r"(\d+) requests in ([\d.]+)(\w+), ([\d.]+)(\w+) read")
    requests = int(m.group(1))
    bytes_read = float(m.group(4)) * _SIZE[m.group(5)]
    rps = float(find(r"Requests/sec:\s+([\d.]+)").group(1))
    non2xx = int(re.search(r"Non-2xx or 3xx responses: (\d+)", text).group(1)) if "Non-2xx" in text else 0
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    socket_errors = sum(int(g) for g in sock.groups()) if sock else 0
    return WrkRun(contender, url, rps, p50, p99, requests, bytes_read, non2xx, socket_errors, cpu_s, wall_s)


def measured_run(settings: Settings, c: Contender, path: str, duration: int, logdir: Path,
                 script: Script | None = None) -> WrkRun:
    """One wrk run with the contender's server and app CPU and the requests that reached its origin."""
    c.reset_origin()
    s0, a0 = c.server_ticks(), c.app_ticks()
    run = run_wrk(settings, c.name, c.url(path), duration, logdir, script)
    run.server_cpu_s = (c.server_ticks() - s0) / CLK_TCK if c.proc is not None else None
    run.app_cpu_s = (c.app_ticks() - a0) / CLK_TCK
    run.origin_requests = c.origin_requests()
    return run


def interleaved(settings: Settings, contenders: list[Contender], path: str, logdir: Path,
                script: Script | None = None) -> dict[str, list[WrkRun]]:
    """A warm-up per contender, then rounds of A B C D, A B C D, … so that load from other tenants of the machine
    falls on every contender alike."""
    for c in contenders:
        log(f"warm-up {c.name} {path} ({settings.warmup}s)")
        run_wrk(settings, c.name + " (warm-up)", c.url(path), settings.warmup, logdir, script)
    runs: dict[str, list[WrkRun]] = {c.name: [] for c in contenders}
    for r in range(settings.rounds):
        for c in contenders:
            run = measured_run(settings, c, path, settings.duration, logdir, script)
            runs[c.name].append(run)
            log(f"round {r + 1}/{settings.rounds} {c.name:<18} {path:<6} {run.rps:>10.0f} req/s"
                f"  p50 {run.p50_ms:.2f} ms"
                f"  p99 {run.p99_ms:.2f} ms  non2xx {run.non2xx}  sockerr {run.socket_errors}"
                f"  origin reqs {run.origin_requests}  wrk cpu {run.wrk_cores:.2f} cores")
    return runs


def summarize(runs: list[WrkRun]) -> dict:
    """Medians over rounds (req/s with its range), sums of errors and origin requests, and the rounds themselves."""
    def med(values):
        return statistics.median(values)

    return {
        "rps": med([r.rps for r in runs]),
        "rps_min": min(r.rps for r in runs),
        "rps_max": max(r.rps for r in runs),
        "p50_ms": med([r.p50_ms for r in runs]),
        "p99_ms": med([r.p99_ms for r in runs]),
        "non2xx": sum(r.non2xx for r in runs),
        "socket_errors": sum(r.socket_errors for r in runs),
        # None: the contender has no origin (the ceiling).
        "origin_requests": (sum(r.origin_requests for r in runs) if all(r.origin_requests is not None for r in runs)
                            else None),
        "requests": sum(r.requests for r in runs),
        "bytes_per_response": med([r.bytes_read / r.requests for r in runs if r.requests]),
        "wrk_cores": med([r.wrk_cores for r in runs]),
        "server_cores": med([r.server_cpu_s / r.wall_s for r in runs]) if runs[0].server_cpu_s is not None else None,
        "app_cores": med([(r.app_cpu_s or 0) / r.wall_s for r in runs]),
        "server_cpu_us_per_req": (med([r.server_cpu_s / r.requests * 1e6 for r in runs if r.requests])
                                  if runs[0].server_cpu_s is not None else None),
        "rounds": [r.__dict__ for r in runs],
    }
