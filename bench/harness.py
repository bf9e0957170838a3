#!/usr/bin/env python3
"""Porter side-by-side benchmark driver (Python 3 standard library only).

Started by bench/run.sh after the Release build. It starts, on 127.0.0.1 only and each in its own process group
(os.setpgid, never setsid: see shared/PLATFORM-NOTES.md), the origin app, Porter serving that origin, nginx with
proxy_cache and Varnish with its built-in VCL; runs the cases with wrk, contenders interleaved; stops every
process it started by PID; and writes bench/RESULTS.md and bench/results.json.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PAGE_BYTES = 2048
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------------------------------------------
# Settings


@dataclass
class Settings:
    quick: bool
    duration: int  # seconds per wrk run
    warmup: int  # seconds of wrk warm-up per contender before a case
    rounds: int
    herd_rounds: int
    mem_entries: int
    cold_runs: int
    threads: int = 2
    connections: int = 64
    herd_clients: int = 64

    @staticmethod
    def make(quick: bool) -> "Settings":
        if quick:
            return Settings(quick=True, duration=3, warmup=1, rounds=3, herd_rounds=2, mem_entries=20_000, cold_runs=2)
        # Warm-up 10 s: .NET tiers its JIT under load (perf: 18% of Porter's CPU in the JIT 6 s into a /fast load, none
        # after 20 s, bench/NOTES.md). Every contender gets the same warm-up.
        return Settings(quick=False, duration=10, warmup=10, rounds=3, herd_rounds=3, mem_entries=100_000, cold_runs=5)


# ----------------------------------------------------------------------------------------------------------------
# Processes: each contender in its own process group inside this session; stopped by PID.


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid: int) -> tuple[int, int, int, str] | None:
    """(ppid, pgrp, utime+stime ticks, comm) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    rparen = data.rfind(")")
    comm = data[data.find("(") + 1 : rparen]
    fields = data[rparen + 2 :].split()
    # fields[0] is state (field 3); ppid is field 4, pgrp 5, utime 14, stime 15.
    return int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12]), comm


def all_stats() -> dict[int, tuple[int, int, int, str]]:
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                stats[int(name)] = st
    return stats


def tree_pids(root: int, stats: dict[int, tuple[int, int, int, str]]) -> set[int]:
    """root, its descendants, and anything in root's process group (live processes only)."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    found = {pid for pid, st in stats.items() if st[1] == root}
    if root in stats:
        found.add(root)
    stack = list(found)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


class Proc:
    """A process started by the benchmark in a new process group (its PGID is its PID) of this session."""

    def __init__(self, name: str, argv: list[str], logdir: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None):
        self.name = name
        self.argv = argv
        self.log_path = logdir / f"{name}.log"
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                      env=env, cwd=cwd, process_group=0)
        self.pid = self.popen.pid
        self.started = time.monotonic()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.name}")

    def cpu_ticks(self, exclude_comm: str | None = None, only_comm: str | None = None) -> int:
        """CPU ticks of the process tree (descendants and process group)."""
        stats = all_stats()
        total = 0
        for pid in tree_pids(self.pid, stats):
            comm = stats[pid][3]
            if exclude_comm is not None and comm == exclude_comm:
                continue
            if only_comm is not None and comm != only_comm:
                continue
            total += stats[pid][2]
        return total

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the PID, then SIGKILL to it; leftovers in its own process group get SIGKILL."""
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name} (pid {self.pid}) did not stop after SIGTERM; SIGKILL")
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait(timeout=10)
        # Children left in the group this benchmark created for the process (e.g. nginx or varnish workers).
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = [pid for pid, st in all_stats().items() if st[1] == self.pid]
            if not left:
                break
            time.sleep(0.1)
        else:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()


class Procs:
    def __init__(self) -> None:
        self.items: list[Proc] = []

    def start(self, *args, **kwargs) -> Proc:
        proc = Proc(*args, **kwargs)
        self.items.append(proc)
        log(f"started {proc.name} (pid {proc.pid}): {' '.join(proc.argv)}")
        return proc

    def stop(self, proc: Proc) -> None:
        if proc in self.items:
            self.items.remove(proc)
            proc.stop()
            log(f"stopped {proc.name} (pid {proc.pid})")

    def stop_all(self) -> None:
        for proc in reversed(list(self.items)):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                log(f"stopping {proc.name}: {exc}")


# ----------------------------------------------------------------------------------------------------------------
# Small HTTP helpers (one connection per call).


def http_get(port: int, path: str, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


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


# ----------------------------------------------------------------------------------------------------------------
# wrk


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


def run_wrk(settings: Settings, contender: str, url: str, duration: int, logdir: Path) -> WrkRun:
    argv = ["wrk", f"-t{settings.threads}", f"-c{settings.connections}", f"-d{duration}s", "--latency",
            "--timeout", "5s", url]
    start = time.monotonic()
    with open(logdir / "wrk.log", "ab") as wlog:
        wlog.write(f"\n### {contender} {url}\n".encode())
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
    cpu = rusage.ru_utime + rusage.ru_stime
    return WrkRun(contender, url, rps, p50, p99, requests, bytes_read, non2xx, socket_errors, cpu, wall)


# ----------------------------------------------------------------------------------------------------------------
# Contenders


@dataclass
class Contender:
    name: str
    port: int
    proc: Proc | None  # the server process (None: not ours to account)
    hits_port: int  # where /hits and /reset of *its* origin answer
    app_comm: str | None = None  # comm of app processes inside the contender's tree (Porter's node)
    origin_proc: Proc | None = None  # the separate origin process whose CPU is the app's (nginx, Varnish, direct)
    notes: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def origin_hits(self) -> dict:
        _, _, body = http_get(self.hits_port, "/hits")
        return json.loads(body)

    def reset_origin(self) -> None:
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


def measured_run(settings: Settings, c: Contender, path: str, duration: int, logdir: Path) -> WrkRun:
    c.reset_origin()
    s0, a0 = c.server_ticks(), c.app_ticks()
    run = run_wrk(settings, c.name, c.url(path), duration, logdir)
    run.server_cpu_s = (c.server_ticks() - s0) / CLK_TCK if c.proc is not None else None
    run.app_cpu_s = (c.app_ticks() - a0) / CLK_TCK
    run.origin_requests = c.origin_hits()["total"]
    return run


def interleaved(settings: Settings, contenders: list[Contender], path: str, logdir: Path) -> dict[str, list[WrkRun]]:
    for c in contenders:
        log(f"warm-up {c.name} {path} ({settings.warmup}s)")
        run_wrk(settings, c.name + " (warm-up)", c.url(path), settings.warmup, logdir)
    runs: dict[str, list[WrkRun]] = {c.name: [] for c in contenders}
    for r in range(settings.rounds):
        for c in contenders:
            run = measured_run(settings, c, path, settings.duration, logdir)
            runs[c.name].append(run)
            log(f"round {r + 1}/{settings.rounds} {c.name:<16} {path:<6} {run.rps:>10.0f} req/s  p50 {run.p50_ms:.2f} ms"
                f"  p99 {run.p99_ms:.2f} ms  non2xx {run.non2xx}  sockerr {run.socket_errors}"
                f"  origin reqs {run.origin_requests}  wrk cpu {run.wrk_cores:.2f} cores")
    return runs


def summarize(runs: list[WrkRun]) -> dict:
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
        "origin_requests": sum(r.origin_requests or 0 for r in runs),
        "requests": sum(r.requests for r in runs),
        "bytes_per_response": med([r.bytes_read / r.requests for r in runs if r.requests]),
        "wrk_cores": med([r.wrk_cores for r in runs]),
        "server_cores": med([r.server_cpu_s / r.wall_s for r in runs]) if runs[0].server_cpu_s is not None else None,
        "app_cores": med([(r.app_cpu_s or 0) / r.wall_s for r in runs]),
        "server_cpu_us_per_req": (med([r.server_cpu_s / r.requests * 1e6 for r in runs if r.requests])
                                  if runs[0].server_cpu_s is not None else None),
        "rounds": [r.__dict__ for r in runs],
    }


# ----------------------------------------------------------------------------------------------------------------
# Thundering herd: N clients connect first, then all send at once.


async def _herd_async(port: int, path: str, clients: int, timeout: float) -> list[tuple[int, str]]:
    conns = await asyncio.wait_for(
        asyncio.gather(*[asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]), timeout)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode()
    for _, writer in conns:
        writer.write(request)
    await asyncio.gather(*[writer.drain() for _, writer in conns])

    async def read(reader: asyncio.StreamReader) -> tuple[int, str]:
        data = await reader.read(-1)
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status = int(head.split(" ", 2)[1]) if head.startswith("HTTP/") else 0
        cache = ""
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() in ("x-cache", "age"):
                cache += f"{name.strip().lower()}={value.strip()} "
        return status, cache.strip()

    try:
        return await asyncio.wait_for(asyncio.gather(*[read(r) for r, _ in conns]), timeout)
    finally:
        for _, writer in conns:
            writer.close()


def herd(port: int, path: str, clients: int, timeout: float = 20.0) -> list[tuple[int, str]]:
    return asyncio.run(_herd_async(port, path, clients, timeout))


def herd_case(settings: Settings, contenders: list[Contender], run_id: str) -> dict:
    results: dict[str, dict] = {c.name: {"expired": [], "cold": [], "statuses": []} for c in contenders}
    for r in range(settings.herd_rounds):
        for c in contenders:
            gen = f"{run_id}-{c.name}-{r}"
            path = f"/herd?gen={gen}"
            # Cold: nothing cached yet, 64 clients at once.
            replies = herd(c.port, path, settings.herd_clients)
            time.sleep(0.5)
            cold = c.origin_hits()["herd"].get(gen, 0)
            # Expired: the entry (max-age=1) is now stale; 64 clients at once again.
            time.sleep(2.5)
            before = c.origin_hits()["herd"].get(gen, 0)
            replies2 = herd(c.port, path, settings.herd_clients)
            time.sleep(1.0)  # let a background refresh finish
            after = c.origin_hits()["herd"].get(gen, 0)
            expired = after - before
            statuses = sorted({s for s, _ in replies + replies2})
            results[c.name]["cold"].append(cold)
            results[c.name]["expired"].append(expired)
            results[c.name]["statuses"].append(statuses)
            bad = sum(1 for s, _ in replies + replies2 if s != 200)
            log(f"herd round {r + 1} {c.name:<10} cold fill: {cold} origin reqs; after expiry: {expired} origin reqs;"
                f" non-200 replies {bad}; sample {replies2[0][1]!r}")
    return results


# ----------------------------------------------------------------------------------------------------------------
# Memory: fill Porter with N distinct entries over keep-alive connections, bounded concurrency.


async def _fill_async(port: int, paths: list[str], concurrency: int) -> tuple[int, int]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    ok = bad = 0

    async def worker():
        nonlocal ok, bad
        reader = writer = None
        while True:
            try:
                path = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            for _attempt in range(3):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                    status = int(head.split(b" ", 2)[1])
                    length = 0
                    close = False
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        lname = name.strip().lower()
                        if lname == b"content-length":
                            length = int(value)
                        elif lname == b"connection" and b"close" in value.lower():
                            close = True
                    if length:
                        await reader.readexactly(length)
                    if status == 200:
                        ok += 1
                    else:
                        bad += 1
                    if close:
                        writer.close()
                        reader = writer = None
                    break
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
            else:
                bad += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return ok, bad


def gc_snapshot(gcdump: str | None, pid: int, out: Path) -> dict | None:
    """Induces a full blocking GC in the process by taking a gcdump; returns the heap totals and top types."""
    if not gcdump:
        return None
    try:
        subprocess.run([gcdump, "collect", "-p", str(pid), "-o", str(out)], capture_output=True, text=True,
                       timeout=180, check=True)
        report = subprocess.run([gcdump, "report", str(out)], capture_output=True, text=True, timeout=180,
                                check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"gcdump failed: {exc}")
        return None
    heap = re.search(r"([\d,]+)\s+GC Heap bytes", report)
    objects = re.search(r"([\d,]+)\s+GC Heap objects", report)
    # gcdump report rows: average bytes per object, object count, type (sizes over 1K/10K/... in their own rows).
    types = []
    for line in report.splitlines():
        m = re.match(r"\s*([\d,]+)\s+([\d,]+)\s+(.+?)\s+\[", line)
        if m:
            size, count = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
            types.append({"bytes_each": size, "count": count, "approx_total": size * count, "type": m.group(3)})
    return {
        "heap_bytes": int(heap.group(1).replace(",", "")) if heap else None,
        "heap_objects": int(objects.group(1).replace(",", "")) if objects else None,
        "top_types_v2": sorted(types, key=lambda t: -t["approx_total"])[:25],
    }


def memory_case(settings: Settings, porter: Contender, run_id: str, gcdump: str | None, workdir: Path) -> dict:
    proc = porter.proc
    assert proc is not None
    # Warm the hit and miss paths first so JIT, Kestrel and pool buffers are not counted per entry.
    asyncio.run(_fill_async(porter.port, [f"/page?warm={run_id}-{i}" for i in range(2000)], 32))
    asyncio.run(_fill_async(porter.port, [f"/page?warm={run_id}-{i % 200}" for i in range(20000)], 32))
    time.sleep(3)
    gc_before = gc_snapshot(gcdump, proc.pid, workdir / "before.gcdump")
    time.sleep(1)
    rss_before = proc.rss_bytes()
    porter.reset_origin()
    n = settings.mem_entries
    log(f"memory: filling {n} distinct 2 KB entries through Porter (32 keep-alive connections)")
    t0 = time.monotonic()
    ok, bad = asyncio.run(_fill_async(porter.port, [f"/page?n={run_id}-{i}" for i in range(n)], 32))
    fill_s = time.monotonic() - t0
    origin_fills = porter.origin_hits()["total"]
    rss_after_fill = proc.rss_bytes()
    time.sleep(5)
    gc_after = gc_snapshot(gcdump, proc.pid, workdir / "after.gcdump")
    time.sleep(1)
    rss_after = proc.rss_bytes()
    # Are the entries still there? Sample some, earliest first (an evicting cache drops those).
    porter.reset_origin()
    step = max(1, n // 200)
    sample = [f"/page?n={run_id}-{i}" for i in range(0, n, step)]
    hits = 0
    for p in sample:
        _, headers, _ = http_get(porter.port, p)
        if headers.get("x-cache", "").upper().startswith("HIT"):
            hits += 1
    sample_origin = porter.origin_hits()["total"]
    delta = rss_after - rss_before
    per_entry = delta / n
    result = {
        "entries": n, "ok": ok, "bad": bad, "fill_seconds": fill_s, "origin_requests_during_fill": origin_fills,
        "rss_before": rss_before, "rss_after_fill": rss_after_fill, "rss_after": rss_after,
        "bytes_per_entry": per_entry, "bytes_per_entry_beyond_body": per_entry - PAGE_BYTES,
        "sampled": len(sample), "sample_hits_x_cache": hits, "sample_origin_requests": sample_origin,
        "induced_gc": gc_before is not None and gc_after is not None,
        "gc_before": gc_before, "gc_after": gc_after,
    }
    if gc_before and gc_after and gc_before["heap_bytes"] and gc_after["heap_bytes"]:
        result["heap_bytes_per_entry"] = (gc_after["heap_bytes"] - gc_before["heap_bytes"]) / n
        log(f"memory: managed heap (gcdump) {gc_before['heap_bytes'] / 2**20:.1f} MiB -> "
            f"{gc_after['heap_bytes'] / 2**20:.1f} MiB: {result['heap_bytes_per_entry']:.0f} B/entry")
    log(f"memory: RSS {rss_before / 2**20:.1f} MiB -> {rss_after / 2**20:.1f} MiB for {n} entries:"
        f" {per_entry:.0f} B/entry, {per_entry - PAGE_BYTES:.0f} B beyond the body; sample: {hits}/{len(sample)}"
        f" X-Cache HIT, {sample_origin} went to the origin")
    return result


# ----------------------------------------------------------------------------------------------------------------
# Profile of Porter under load (separate runs, never in the tables): runtime counters and a sampled CPU profile.

_GENERIC = re.compile(r"^Process64 |^(Threads|\(Non-Activities\)|Thread |CPU_TIME|UNMANAGED_CODE_TIME|\??)$|"
                      r"Thread\.StartCallback|WorkerThreadStart|ThreadPoolWorkQueue\.Dispatch|ExecutionContext\.Run|"
                      r"AsyncStateMachineBox|AsyncMethodBuilderCore\.Start|MethodBuilder`?1?\.Start|"
                      r"RunFromThreadPoolDispatchLoop|IThreadPoolWorkItem\.Execute|Task\.RunContinuations|"
                      r"AwaitTaskContinuation|SetExistingTaskResult|TrySetResult|ExecuteWithThreadLocal")


def _short(frame: str) -> str:
    frame = re.sub(r"\(.*\)$", "", frame)  # drop the parameter list
    return frame.split("!", 1)[-1][:140]


def speedscope_cpu_profile(path: Path, top: int = 25) -> dict:
    """From dotnet-trace's thread-time sampling (speedscope, evented): time on CPU in managed code (stacks whose
    leaf is CPU_TIME), by self frame and by inclusive frame."""
    d = json.loads(path.read_text())
    frames = [f["name"] for f in d["shared"]["frames"]]
    cpu_frame = frames.index("CPU_TIME") if "CPU_TIME" in frames else -1
    self_t: dict[str, float] = {}
    incl_t: dict[str, float] = {}
    total_cpu = total_all = 0.0
    for prof in d["profiles"]:
        if not prof["name"].startswith("Thread"):
            continue
        stack: list[int] = []
        last = None
        for e in prof.get("events", []):
            t = e["at"]
            if last is not None and stack and t > last:
                dt = t - last
                total_all += dt
                if stack[-1] == cpu_frame and len(stack) > 1:
                    total_cpu += dt
                    leaf = _short(frames[stack[-2]])
                    self_t[leaf] = self_t.get(leaf, 0.0) + dt
                    for name in {_short(frames[i]) for i in stack}:
                        incl_t[name] = incl_t.get(name, 0.0) + dt
            last = t
            if e["type"] == "O":
                stack.append(e["frame"])
            elif stack and stack[-1] == e["frame"]:
                stack.pop()
            elif e["frame"] in stack:
                del stack[len(stack) - 1 - stack[::-1].index(e["frame"])]
    if not total_cpu:
        return {"cpu_ms": 0, "self": [], "inclusive": []}

    def table(src: dict[str, float], generic_ok: bool) -> list[tuple[str, float]]:
        rows = sorted(src.items(), key=lambda kv: -kv[1])
        return [(n, round(100 * v / total_cpu, 1)) for n, v in rows if generic_ok or not _GENERIC.search(n)][:top]

    return {"cpu_ms": round(total_cpu), "sampled_ms": round(total_all), "self": table(self_t, True),
            "inclusive": table(incl_t, False)}


def counters_summary(path: Path, rps: float) -> dict:
    d = json.loads(path.read_text())
    # Per name and second, summed over tags (e.g. GC collections per generation).
    by_second: dict[str, dict[str, float]] = {}
    for e in d.get("Events", []):
        per = by_second.setdefault(e["name"], {})
        stamp = e["timestamp"][:19]
        per[stamp] = per.get(stamp, 0.0) + float(e["value"])
    series = {name: list(per.values()) for name, per in by_second.items()}
    def busy_median(name: str) -> float | None:
        values = [v for v in series.get(name, []) if v > 0]
        return statistics.median(values) if values else None
    alloc = busy_median("dotnet.gc.heap.total_allocated (By / 1 sec)")
    out = {
        "alloc_bytes_per_s": alloc,
        "alloc_bytes_per_request": alloc / rps if alloc and rps else None,
        "gc_collections_per_s": busy_median("dotnet.gc.collections ({collection} / 1 sec)"),
        "gc_pause_s_per_s": busy_median("dotnet.gc.pause.time (s / 1 sec)"),
        "lock_contentions_per_s": busy_median("dotnet.monitor.lock_contentions ({contention} / 1 sec)"),
        "work_items_per_s": busy_median("dotnet.thread_pool.work_item.count ({work_item} / 1 sec)"),
        "cpu_s_per_s": busy_median("dotnet.process.cpu.time (s / 1 sec)"),
        # wrk aborts its in-flight requests when it stops: up to 64 exceptions per run are expected.
        "exceptions_total": sum(series.get("dotnet.exceptions ({exception} / 1 sec)", [])),
        "working_set": max(series.get("dotnet.process.memory.working_set (By)", [0])),
    }
    if out["work_items_per_s"] and rps:
        out["work_items_per_request"] = out["work_items_per_s"] / rps
    if out["lock_contentions_per_s"] and rps:
        out["lock_contentions_per_request"] = out["lock_contentions_per_s"] / rps
    return out


def profile_porter(settings: Settings, c: Contender, tools: dict[str, str | None], workdir: Path,
                   logdir: Path) -> dict:
    out: dict[str, dict] = {}
    duration = max(3, settings.duration // 2)
    for path in ("/", "/fast"):
        entry: dict = {}
        if tools.get("counters"):
            cfile = workdir / f"counters{path.replace('/', '_')}.json"
            cproc = subprocess.Popen([tools["counters"], "collect", "-p", str(c.proc.pid), "--format", "json",
                                      "-o", str(cfile), "--refresh-interval", "1", "--counters", "System.Runtime",
                                      "--duration", f"00:00:00:{duration + 2:02d}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0)
            time.sleep(1.0)
            run = run_wrk(settings, "Porter (counters)", c.url(path), duration, logdir)
            try:
                cproc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cproc.kill()
                cproc.wait()
            if cfile.exists():
                entry["counters"] = counters_summary(cfile, run.rps)
                entry["counters_rps"] = run.rps
        if tools.get("trace"):
            tfile = workdir / f"trace{path.replace('/', '_')}.nettrace"
            tproc = subprocess.Popen([tools["trace"], "collect", "-p", str(c.proc.pid), "--profile",
                                      "dotnet-sampled-thread-time", "--format", "Speedscope", "-o", str(tfile),
                                      "--duration", f"00:00:00:{duration + 1:02d}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, process_group=0)
            time.sleep(1.0)
            run = run_wrk(settings, "Porter (trace)", c.url(path), duration, logdir)
            try:
                tproc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                tproc.kill()
                tproc.wait()
            speedscope = tfile.with_suffix(".speedscope.json")
            if speedscope.exists():
                entry["cpu_profile"] = speedscope_cpu_profile(speedscope)
                entry["trace_rps"] = run.rps
        out[path] = entry
        log(f"profile {path}: {json.dumps(entry.get('counters', {}))[:300]}")
    return out


# ----------------------------------------------------------------------------------------------------------------
# Cold start


def cold_start_case(settings: Settings, procs: Procs, porter_cmd: list[str], workdir: Path, logdir: Path) -> dict:
    times = []
    for i in range(settings.cold_runs):
        port = free_port()
        data = workdir / f"cold-{i}"
        argv = porter_cmd + ["start", str(REPO / "examples" / "hello-node"), "--port", str(port), "--address",
                             "127.0.0.1", "--data-dir", str(data), "--shutdown-grace", "2", "--management-port", "0"]
        proc = procs.start(f"porter-cold-{i}", argv, logdir, cwd=workdir)
        t0 = proc.started
        try:
            while True:
                if not proc.alive():
                    raise RuntimeError(f"porter exited during cold start; see {proc.log_path}")
                if time.monotonic() - t0 > 60:
                    raise RuntimeError("cold start took over 60 s")
                try:
                    status, _, _ = http_get(port, "/", timeout=2.0)
                    if status == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.01)
            elapsed = time.monotonic() - t0
        finally:
            procs.stop(proc)
        times.append(elapsed)
        log(f"cold start {i + 1}/{settings.cold_runs}: {elapsed:.3f} s to the first 200")
        time.sleep(1)
    return {"seconds": times, "median": statistics.median(times)}


# ----------------------------------------------------------------------------------------------------------------
# Machine and versions


def cmd_output(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"


def machine_info() -> dict:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MiB"
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory": mem,
        "kernel": platform.release(),
        "loadavg_start": open("/proc/loadavg").read().strip(),
    }


def versions() -> dict:
    return {
        "dotnet": cmd_output(["dotnet", "--version"]),
        "nginx": cmd_output(["nginx", "-v"]).replace("nginx version: ", ""),
        "varnishd": cmd_output(["varnishd", "-V"]).splitlines()[0],
        "wrk": cmd_output(["wrk", "-v"]).splitlines()[0],
        "node": cmd_output(["node", "--version"]),
        "python": platform.python_version(),
        "porter_commit": cmd_output(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"]),
    }


# ----------------------------------------------------------------------------------------------------------------
# Configs


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
    # Plain proxying, no cache.
    location = /fast {{
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass http://origin;
    }}
  }}
}}
"""


# ----------------------------------------------------------------------------------------------------------------
# Report


def fmt_ms(v: float) -> str:
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


def write_results(path: Path, data: dict) -> None:
    s = data["settings"]
    m = data["machine"]
    v = data["versions"]
    lines: list[str] = []
    add = lines.append
    title = "Porter benchmark results"
    if s["quick"]:
        title += " — QUICK RUN (--quick: short runs, fewer rounds/entries; indicative only)"
    add(f"# {title}\n")
    add(f"Generated by `bench/run.sh{' --quick' if s['quick'] else ''}` on {data['started']}"
        f" (took {data['elapsed_s'] / 60:.1f} min). Porter at `{v['porter_commit']}`.\n")
    if data.get("porter_caching_note"):
        add(f"> **{data['porter_caching_note']}**\n")
    add("> Absolute figures vary from run to run and machine to machine (this machine is shared with other "
        "builds and tests); the ratios between contenders measured within one run are what counts.\n")
    add("## Machine and versions\n")
    add("| | |\n|---|---|")
    add(f"| CPU | {m['cpu_model']}, {m['cores']} cores |")
    add(f"| memory | {m['memory']} |")
    add(f"| kernel | {m['kernel']} |")
    add(f"| load average at start / end | {m['loadavg_start']} / {m.get('loadavg_end', '?')} |")
    for k in ("dotnet", "nginx", "varnishd", "wrk", "node", "python"):
        add(f"| {k} | {v[k]} |")
    add("")
    add(f"Load: `wrk -t{s['threads']} -c{s['connections']} -d{s['duration']}s --latency` after a {s['warmup']} s "
        f"warm-up per contender; contenders interleaved (A B C D, A B C D, …) for {s['rounds']} rounds; medians "
        "shown (req/s range over rounds in brackets). Porter runs the origin as its app with one process "
        "(`--max-pool-size 1`); nginx and Varnish proxy to one origin process of the same app. "
        "*origin reqs* counts requests that reached the origin during the measured runs.\n")

    if data.get("verify"):
        add("Cache check before the load (two GETs of `/` per cache; the second must not reach the origin):\n")
        add("| contender | statuses | second response | origin requests for the two |\n|---|---|---|---:|")
        for name, ver in data["verify"].items():
            headers = ", ".join(f"`{k}: {v}`" for k, v in ver["second"].items()) or "(no cache header)"
            add(f"| {name} | {', '.join(map(str, ver['status']))} | {headers} | {ver['origin_requests']} |")
        add("")

    def case_table(key: str, heading: str, path: str, blurb: str) -> None:
        case = data["cases"][key]
        add(f"## {heading}\n")
        add(blurb + "\n")
        add("| contender | req/s (median) | [min – max] | p50 ms | p99 ms | non-2xx | origin reqs | "
            "B/response | server CPU (cores) | µs server CPU / req | wrk CPU (cores) |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for name, r in case.items():
            sc = f"{r['server_cores']:.2f}" if r["server_cores"] is not None else "–"
            us = f"{r['server_cpu_us_per_req']:.0f}" if r["server_cpu_us_per_req"] is not None else "–"
            add(f"| {name} | {r['rps']:,.0f} | {r['rps_min']:,.0f} – {r['rps_max']:,.0f} | {fmt_ms(r['p50_ms'])} | "
                f"{fmt_ms(r['p99_ms'])} | {r['non2xx'] + r['socket_errors']} | {r['origin_requests']} | "
                f"{r['bytes_per_response']:.0f} | {sc} | {us} | {r['wrk_cores']:.2f} |")
        add("")
        p = case.get("Porter")
        if p:
            rows = []
            for other in ("nginx", "Varnish"):
                o = case.get(other)
                if o:
                    rows.append(f"| Porter / {other} | {ratio(p['rps'], o['rps'])} | {ratio(p['p50_ms'], o['p50_ms'])} | "
                                f"{ratio(p['p99_ms'], o['p99_ms'])} |")
            add("| ratio | req/s | p50 | p99 |\n|---|---:|---:|---:|")
            lines.extend(rows)
            add("")

    case_table("hit", "1. Cache hit on `/`", "/",
               "A fresh entry of the 2 KB page (`Cache-Control: public, max-age=60`), served from each cache. "
               "*origin (no cache)* is the same request straight to the app, which sleeps 10 ms per request "
               "(the reference of case 3).")
    case_table("fast", "2. Uncacheable proxying on `/fast`", "/fast",
               "`Cache-Control: private`, answered at once: Porter forwards it, nginx from a plain `proxy_pass` "
               "location without the cache, Varnish passes it (built-in VCL: hit-for-miss on `private`). "
               "*origin (direct)* is the app without a proxy.")

    hit = data["cases"]["hit"]
    fast = data["cases"]["fast"]
    add("## 3. Slow app without and with the cache\n")
    add("The origin sleeps 10 ms per `/`; speed-up = cache-hit req/s ÷ origin-direct req/s (same run, case 1).\n")
    add("| contender | req/s | speed-up vs origin | p99 ms (origin " + fmt_ms(hit["origin (no cache)"]["p99_ms"]) + ") |")
    add("|---|---:|---:|---:|")
    base = hit["origin (no cache)"]["rps"]
    for name in ("Porter", "nginx", "Varnish"):
        if name in hit:
            add(f"| {name} | {hit[name]['rps']:,.0f} | {hit[name]['rps'] / base:.1f}× | {fmt_ms(hit[name]['p99_ms'])} |")
    add("")

    hd = data["cases"]["herd"]
    add("## 4. Thundering herd\n")
    add(f"`/herd?gen=N` sleeps 100 ms and answers `Cache-Control: public, max-age=1`. Per round and contender: "
        f"{s['herd_clients']} clients connect, then send at once to a key never seen (*cold fill*); 2.5 s later the "
        f"entry has expired and {s['herd_clients']} clients send at once again (*after expiry*). The numbers are "
        "requests that reached the origin, one per round. Target: exactly 1 per expiry.\n")
    add("| contender | after expiry (per round) | cold fill (per round) | reply statuses |")
    add("|---|---|---|---|")
    for name, r in hd.items():
        statuses = sorted({st for group in r["statuses"] for st in group})
        add(f"| {name} | {', '.join(map(str, r['expired']))} | {', '.join(map(str, r['cold']))} | "
            f"{', '.join(map(str, statuses))} |")
    add("")

    mem = data["cases"].get("memory")
    add("## 5. Memory per cached entry (Porter)\n")
    if mem:
        gc_note = ("after a full blocking GC induced with `dotnet-gcdump collect`" if mem.get("induced_gc")
                   else "without an induced GC (dotnet-gcdump unavailable)")
        add(f"A fresh Porter; after warming its hit and miss paths, RSS (`VmRSS` of the porter process) is read "
            f"{gc_note}; {mem['entries']:,} distinct 2 KB entries (`/page?n=…`, `public, max-age=3600`) are filled "
            "over 32 keep-alive connections, and 5 s later RSS is read again the same way.\n")
        add("| | |\n|---|---:|")
        add(f"| RSS before | {mem['rss_before'] / 2**20:,.1f} MiB |")
        add(f"| RSS right after the fill / 5 s later | {mem['rss_after_fill'] / 2**20:,.1f} MiB / "
            f"{mem['rss_after'] / 2**20:,.1f} MiB |")
        add(f"| fill | {mem['ok']:,} × 200, {mem['bad']} other, {mem['fill_seconds']:.1f} s, "
            f"{mem['origin_requests_during_fill']:,} origin requests |")
        add(f"| per entry | {mem['bytes_per_entry']:,.0f} B |")
        add(f"| **per entry beyond the 2,048 B body** | **{mem['bytes_per_entry_beyond_body']:,.0f} B** |")
        if mem.get("heap_bytes_per_entry") is not None:
            add(f"| managed heap (gcdump) before / after | {mem['gc_before']['heap_bytes'] / 2**20:,.1f} MiB / "
                f"{mem['gc_after']['heap_bytes'] / 2**20:,.1f} MiB: {mem['heap_bytes_per_entry']:,.0f} B per entry, "
                f"{mem['heap_bytes_per_entry'] - PAGE_BYTES:,.0f} B beyond the body |")
        add(f"| still cached? (sample of {mem['sampled']}, oldest first) | {mem['sample_hits_x_cache']} answered "
            f"`X-Cache: HIT`, {mem['sample_origin_requests']} reached the origin |")
        add("")
        add("RSS also holds the GC's free space and budget headroom, so it tends to overstate the steady-state "
            "cost; if the sample shows entries were not kept, the figure is not a per-entry cost. gcdump's heap "
            "total can be incomplete on very large heaps (its own warning before .NET 11).\n")
        if mem.get("gc_after") and mem["gc_after"].get("top_types_v2"):
            n = mem["entries"]
            add("<details><summary>Largest types on the heap after the fill (gcdump)</summary>\n")
            add("| ≈ total | per entry | B each | count | type |\n|---:|---:|---:|---:|---|")
            for t in mem["gc_after"]["top_types_v2"]:
                add(f"| {t['approx_total']:,} | {t['approx_total'] / n:,.0f} | {t['bytes_each']:,} | {t['count']:,} | "
                    f"`{t['type']}` |")
            add("\n</details>\n")
    cold = data["cases"].get("cold")
    add("## 6. Cold start\n")
    if cold:
        add("`dotnet src/Gateway/bin/Release/net10.0/publish/porter.dll start examples/hello-node` with a fresh data dir, "
            "to the first `200` on `/` (polled every 10 ms).\n")
        add(f"Median **{cold['median']:.2f} s** over {len(cold['seconds'])} runs: "
            + ", ".join(f"{t:.2f}" for t in cold["seconds"]) + " s.\n")

    add("## Targets\n")
    add("| target | result | met? |\n|---|---|---|")
    for row in data["targets"]:
        add(f"| {row[0]} | {row[1]} | {row[2]} |")
    add("")

    prof = data.get("profile")
    if prof:
        add("## Profile of Porter under the same load (separate runs, not in the tables)\n")
        add("`dotnet-counters collect --counters System.Runtime` during one wrk run per path, then "
            "`dotnet-trace collect --profile dotnet-sampled-thread-time` during another; the CPU profile counts "
            "only samples of threads running managed code (leaf `CPU_TIME`), as a share of those samples. Native "
            "time (socket syscalls, the GC) is not in it. Tracing slows Porter down; shares, not speeds, count.\n")
        for ppath, entry in prof.items():
            cnt = entry.get("counters") or {}
            add(f"### `{ppath}`\n")
            if cnt:
                def f(v, fmt="{:,.0f}"):
                    return fmt.format(v) if v is not None else "–"
                add("| counter | value |\n|---|---:|")
                add(f"| req/s during the counters run | {f(entry.get('counters_rps'))} |")
                add(f"| allocated per request | {f(cnt.get('alloc_bytes_per_request'))} B |")
                add(f"| GCs per second | {f(cnt.get('gc_collections_per_s'), '{:.1f}')} |")
                add(f"| GC pause (s per s) | {f(cnt.get('gc_pause_s_per_s'), '{:.3f}')} |")
                add(f"| lock contentions per request | {f(cnt.get('lock_contentions_per_request'), '{:.3f}')} |")
                add(f"| thread-pool work items per request | {f(cnt.get('work_items_per_request'), '{:.2f}')} |")
                add(f"| CPU (cores) | {f(cnt.get('cpu_s_per_s'), '{:.2f}')} |")
                add(f"| exceptions during the run (wrk's abort of in-flight requests at its end gives up to 64) | "
                    f"{f(cnt.get('exceptions_total'), '{:.0f}')} |")
                add("")
            cpu = entry.get("cpu_profile")
            if cpu and cpu.get("self"):
                add(f"Managed CPU samples: {cpu['cpu_ms']:,} ms of {cpu['sampled_ms']:,} ms sampled thread time "
                    f"(req/s while tracing: {entry.get('trace_rps', 0):,.0f}).\n")
                add("<details><summary>Hottest frames (self, % of managed CPU)</summary>\n")
                add("| % | frame |\n|---:|---|")
                for name, pct in cpu["self"][:20]:
                    add(f"| {pct} | `{name}` |")
                add("\n</details>\n")
                add("<details><summary>Hottest frames (inclusive, % of managed CPU)</summary>\n")
                add("| % | frame |\n|---:|---|")
                for name, pct in cpu["inclusive"][:25]:
                    add(f"| {pct} | `{name}` |")
                add("\n</details>\n")

    add("## Load generator CPU\n")
    add("wrk's own CPU time (user + system from `wait4` rusage) divided by the run's wall time, median per "
        "case and contender, is in the *wrk CPU* column above. On 2 cores wrk takes a large share of the "
        "machine, equally for every contender.\n")

    micro = data.get("micro")
    add("## Micro-benchmarks (`bench/Micro`, BenchmarkDotNet)\n")
    if micro:
        add(micro.strip() + "\n")
    else:
        add("Not run in this invocation (run `bench/run.sh --micro-only` or see bench/README.md).\n")

    if data.get("history"):
        add(data["history"].strip() + "\n")

    path.write_text("\n".join(lines) + "\n")


def targets(data: dict) -> list[tuple[str, str, str]]:
    out = []
    hit = data["cases"]["hit"]
    p, n, vn = hit.get("Porter"), hit.get("nginx"), hit.get("Varnish")
    ok = p["rps"] >= n["rps"] and p["rps"] >= vn["rps"] and p["p99_ms"] <= n["p99_ms"] and p["p99_ms"] <= vn["p99_ms"]
    out.append(("cache hit req/s ≥ nginx and ≥ Varnish, p99 no worse",
                f"{p['rps']:,.0f} vs {n['rps']:,.0f} / {vn['rps']:,.0f} req/s ({ratio(p['rps'], n['rps'])} / "
                f"{ratio(p['rps'], vn['rps'])}); p99 {fmt_ms(p['p99_ms'])} vs {fmt_ms(n['p99_ms'])} / "
                f"{fmt_ms(vn['p99_ms'])} ms", "yes" if ok else "**no**"))
    fast = data["cases"]["fast"]
    pf, nf = fast["Porter"], fast["nginx"]
    out.append(("uncacheable ≥ 0.8 × nginx proxy_pass",
                f"{pf['rps']:,.0f} vs {nf['rps']:,.0f} req/s ({ratio(pf['rps'], nf['rps'])})",
                "yes" if pf["rps"] >= 0.8 * nf["rps"] else "**no**"))
    hp = data["cases"]["herd"]["Porter"]["expired"]
    out.append(("herd: exactly 1 origin request per expiry", f"{', '.join(map(str, hp))} per expiry",
                "yes" if all(x == 1 for x in hp) else "**no**"))
    mem = data["cases"].get("memory")
    if mem:
        kept = mem["sample_hits_x_cache"] == mem["sampled"]
        out.append(("≤ 1 KiB per entry beyond the body",
                    f"{mem['bytes_per_entry_beyond_body']:,.0f} B"
                    + ("" if kept else f" (only {mem['sample_hits_x_cache']}/{mem['sampled']} sampled entries still HIT)"),
                    "yes" if mem["bytes_per_entry_beyond_body"] <= 1024 and kept else "**no**"))
    cold = data["cases"].get("cold")
    if cold:
        out.append(("cold start < 2 s", f"{cold['median']:.2f} s", "yes" if cold["median"] < 2 else "**no**"))
    return out


# ----------------------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--porter-dll", default=str(REPO / "src/Gateway/bin/Release/net10.0/publish/porter.dll"))
    ap.add_argument("--out", default=str(HERE / "RESULTS.md"))
    ap.add_argument("--json", default=str(HERE / "results.json"))
    ap.add_argument("--micro-report", default=None, help="BenchmarkDotNet github-markdown report to include")
    ap.add_argument("--history", default=str(HERE / "NOTES.md"), help="notes (before/after, profiling) to include if present")
    ap.add_argument("--cases", default="hit,fast,herd,memory,cold")
    ap.add_argument("--dotnet-trace", default=shutil.which("dotnet-trace"))
    ap.add_argument("--dotnet-counters", default=shutil.which("dotnet-counters"))
    ap.add_argument("--no-profile", action="store_true", help="skip the profile of Porter (counters, trace)")
    ap.add_argument("--gcdump", default=shutil.which("dotnet-gcdump"),
                    help="dotnet-gcdump, used to induce a full GC before each RSS reading of the memory case")
    ap.add_argument("--from-json", default=None, help="only rewrite --out from a results.json of an earlier run")
    args = ap.parse_args()
    if args.from_json:
        data = json.loads(Path(args.from_json).read_text())
        if args.micro_report and Path(args.micro_report).exists():
            data["micro"] = Path(args.micro_report).read_text()
        if args.history and Path(args.history).exists():
            data["history"] = Path(args.history).read_text()
        data["targets"] = targets(data)
        write_results(Path(args.out), data)
        log(f"wrote {args.out} from {args.from_json}")
        return 0
    settings = Settings.make(args.quick)
    cases = set(args.cases.split(","))
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t_start = time.monotonic()
    run_id = f"{int(time.time())}"

    for tool in ("wrk", "nginx", "varnishd", "node", "dotnet"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (bench/run.sh installs nginx, varnish and wrk)")
    if not Path(args.porter_dll).exists():
        raise SystemExit(f"{args.porter_dll} missing: run bench/run.sh, which publishes it")

    workdir = Path(tempfile.mkdtemp(prefix="porter-bench-", dir="/tmp"))
    os.chmod(workdir, 0o755)  # nginx workers (nobody) and varnish (vcache) read their dirs below
    logdir = workdir / "logs"
    logdir.mkdir()
    log(f"work dir {workdir} (logs in {logdir})")
    procs = Procs()

    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    data: dict = {"started": started, "settings": settings.__dict__, "machine": machine_info(),
                  "versions": versions(), "cases": {}, "workdir": str(workdir)}
    porter_cmd = ["dotnet", args.porter_dll]
    try:
        origin_port, porter_port, nginx_port, varnish_port = free_port(), free_port(), free_port(), free_port()
        env = dict(os.environ, PORT=str(origin_port))
        origin = procs.start("origin", ["node", str(HERE / "origin" / "app.js")], logdir, env=env)
        wait_http(origin_port, "/hits", 20, origin)

        ndir = workdir / "nginx"
        ndir.mkdir()
        (ndir / "nginx.conf").write_text(nginx_conf(ndir, nginx_port, origin_port))
        nginx = procs.start("nginx", ["nginx", "-p", str(ndir), "-c", str(ndir / "nginx.conf"), "-g", "daemon off;"],
                            logdir)

        vdir = workdir / "varnish"
        vdir.mkdir()
        varnish = procs.start("varnish", ["varnishd", "-F", "-n", str(vdir), "-a", f"127.0.0.1:{varnish_port}",
                                          "-b", f"127.0.0.1:{origin_port}", "-s", "malloc,512m", "-T", "none",
                                          "-P", str(vdir / "varnishd.pid")], logdir)

        porter_data = workdir / "porter-data"
        porter = procs.start("porter", porter_cmd + [
            "start", str(HERE / "origin"), "--port", str(porter_port), "--address", "127.0.0.1",
            "--data-dir", str(porter_data), "--max-pool-size", "1", "--min-instances", "1",
            "--shutdown-grace", "2", "--management-port", "0"], logdir, cwd=workdir)

        wait_http(nginx_port, "/fast", 20, nginx)
        wait_http(varnish_port, "/fast", 30, varnish)
        wait_http(porter_port, "/fast", 90, porter)

        c_origin = Contender("origin (no cache)", origin_port, None, origin_port, origin_proc=origin)
        c_porter = Contender("Porter", porter_port, porter, porter_port, app_comm="node")
        c_nginx = Contender("nginx", nginx_port, nginx, origin_port, origin_proc=origin)
        c_varnish = Contender("Varnish", varnish_port, varnish, origin_port, origin_proc=origin)
        caches = [c_porter, c_nginx, c_varnish]

        # Does each cache cache `/`? Two requests; the second should be a hit and not reach the origin.
        verify = {}
        for c in caches:
            c.reset_origin()
            first = http_get(c.port, "/")
            second = http_get(c.port, "/")
            hits = c.origin_hits()["total"]
            info = {k: second[1].get(k) for k in ("x-cache", "age", "x-varnish") if second[1].get(k) is not None}
            verify[c.name] = {"status": [first[0], second[0]], "second": info, "origin_requests": hits,
                              "body_bytes": len(second[2])}
            log(f"verify {c.name}: statuses {first[0]},{second[0]}; second response {info}; origin requests {hits}")
        data["verify"] = verify
        if verify["Porter"]["origin_requests"] != 1:
            data["porter_caching_note"] = (
                "Porter did not cache `/` in this build (the second request reached the app: "
                f"{verify['Porter']['origin_requests']} origin requests for 2 client requests, "
                f"X-Cache {verify['Porter']['second'].get('x-cache')}). Its case 1 and 3 figures are "
                "uncached proxying to the 10 ms app, not cache hits.")
            log("WARNING: " + data["porter_caching_note"])

        if "hit" in cases or "fast" in cases:
            if "hit" in cases:
                log("case 1/3: cache hit on / (with the origin as the no-cache reference)")
                runs = interleaved(settings, [c_origin] + caches, "/", logdir)
                data["cases"]["hit"] = {k: summarize(v) for k, v in runs.items()}
            if "fast" in cases:
                log("case 2: uncacheable /fast")
                c_direct = Contender("origin (direct)", origin_port, None, origin_port, origin_proc=origin)
                runs = interleaved(settings, [c_direct] + caches, "/fast", logdir)
                data["cases"]["fast"] = {k: summarize(v) for k, v in runs.items()}

        if "herd" in cases:
            log("case 4: thundering herd")
            data["cases"]["herd"] = herd_case(settings, caches, run_id)

        if not args.no_profile and (args.dotnet_trace or args.dotnet_counters):
            log("profile of Porter under load (separate runs: counters, then sampled CPU)")
            data["profile"] = profile_porter(settings, c_porter, {"trace": args.dotnet_trace,
                                                                  "counters": args.dotnet_counters}, workdir, logdir)

        # The rest needs the machine to itself as much as possible.
        for proc in (varnish, nginx, porter):
            procs.stop(proc)

        if "memory" in cases:
            log("case 5: memory per entry (fresh Porter)")
            mem_port = free_port()
            porter_mem = procs.start("porter-mem", porter_cmd + [
                "start", str(HERE / "origin"), "--port", str(mem_port), "--address", "127.0.0.1",
                "--data-dir", str(workdir / "porter-mem-data"), "--max-pool-size", "1", "--min-instances", "1",
                "--shutdown-grace", "2", "--management-port", "0"], logdir, cwd=workdir)
            wait_http(mem_port, "/fast", 90, porter_mem)
            c_mem = Contender("Porter", mem_port, porter_mem, mem_port, app_comm="node")
            data["cases"]["memory"] = memory_case(settings, c_mem, run_id, args.gcdump, workdir)
            procs.stop(porter_mem)

        if "cold" in cases:
            log("case 6: cold start")
            data["cases"]["cold"] = cold_start_case(settings, procs, porter_cmd, workdir, logdir)
    finally:
        procs.stop_all()
        # Keep the logs (and configs) for inspection; drop caches, data dirs and heap dumps.
        for pattern in ("*.gcdump", "*.nettrace", "*.speedscope.json"):
            for dump in workdir.glob(pattern):
                dump.unlink()
        for child in workdir.iterdir():
            if child.is_dir() and child.name != "logs":
                for sub in ("cache", "proxy_temp", "client_body"):
                    shutil.rmtree(child / sub, ignore_errors=True)
                if child.name.startswith(("porter-", "cold-")):
                    shutil.rmtree(child, ignore_errors=True)
        log(f"logs kept in {logdir}")

    data["machine"]["loadavg_end"] = open("/proc/loadavg").read().strip()
    data["elapsed_s"] = time.monotonic() - t_start
    if {"hit", "fast", "herd"} <= set(data["cases"]):
        data["targets"] = targets(data)
    else:
        data["targets"] = []
    if args.micro_report and Path(args.micro_report).exists():
        data["micro"] = Path(args.micro_report).read_text()
    if args.history and Path(args.history).exists():
        data["history"] = Path(args.history).read_text()
    Path(args.json).write_text(json.dumps(data, indent=2, default=str) + "\n")
    if {"hit", "fast", "herd"} <= set(data["cases"]):
        write_results(Path(args.out), data)
        log(f"wrote {args.out} and {args.json}")
    else:
        log(f"partial case selection: wrote only {args.json}")
    for row in data["targets"]:
        log(f"target: {row[0]}: {row[1]} -> {row[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
