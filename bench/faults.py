#!/usr/bin/env python3
"""Porter fault-injection benchmark (Python 3 standard library only).

Runs a Porter cluster of real processes on loopback (gateways on 127.0.0.2 and .3, workers on .4, .5, .6 serving
tests/apps/testapp), puts load on it and injects one fault per scenario:

  kill-oldest    kill -9 of the oldest gateway (it hosts the turbocache's shard coordinator), load through the other
  kill-younger   kill -9 of the other gateway, load through the oldest
  stop           SIGTERM of a gateway while its own keep-alive clients keep sending (and the other gateway's too)
  raw            read-after-write: POST through one gateway, GET through the other after the reply, readers on both
  oob-kill       kill -9 of the worker hosting the OOB coordinator, 3 workers x 2 processes asking for OOB work on
                 every response (the OOB side is i14-oob's; this scenario measures it)

and reports per scenario: requests sent, failed, slower than 1 s, max latency, seconds until hits resume (the hit
ratio of page requests back to 90 % of what it was before the fault; while the lost shards are skipped the near cache
keeps answering, see README), seconds until the lost shards answer again (the survivor's /cache lists no skipped
shard), OOB overlaps and stale reads. Every process it starts gets its own process group inside this session (os.setpgid, see
shared/PLATFORM-NOTES.md) and is stopped by PID; every load is bounded in time. Writes bench/faults.json and prints
a Markdown table (bench/RESULTS.md keeps the recorded figures).

    python3 bench/faults.py [--quick] [--scenarios kill-oldest,kill-younger,stop,raw,oob-kill] [--porter DIR]

DIR holds porter.dll and porter-worker.dll (default: the Release publish folder bench/run.sh makes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TESTAPP = REPO / "tests" / "apps" / "testapp"
GATEWAYS = ["127.0.0.2", "127.0.0.3"]
WORKERS = ["127.0.0.4", "127.0.0.5", "127.0.0.6"]
HOST = "shop.test"  # every gateway sees the site's own host name, as behind a load balancer
SLOW = 1.0  # seconds: a request slower than this counts as slow


def log(message: str) -> None:
    print(f"[faults {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port(addresses: list[str]) -> int:
    """A port free on every address (each simulated pod uses the same port on its own address)."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sockets = []
        try:
            for address in addresses:
                s = socket.socket()
                s.bind((address, port))
                sockets.append(s)
            return port
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free port on " + ", ".join(addresses))


# ----------------------------------------------------------------------------------------------------------------
# Nodes: real processes, each in its own process group, stopped by PID.


class Node:
    def __init__(self, kind: str, address: str, args: list[str], work: Path, env: dict[str, str] | None = None):
        self.kind = kind
        self.address = address
        self.log_path = work / f"{kind}-{address}.log"
        self.data_dir = work / f"data-{kind}-{address}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")
        environment = dict(os.environ)
        environment.update(env or {})
        self.process = subprocess.Popen(args + ["--data-dir", str(self.data_dir)], stdout=self._log, stderr=subprocess.STDOUT,
                                        env=environment, process_group=0)
        self.pid = self.process.pid

    def app_pids(self) -> list[int]:
        pids_dir = self.data_dir / "pids"
        return [int(p.name) for p in pids_dir.iterdir()] if pids_dir.is_dir() else []

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill_hard(self) -> None:
        """kill -9 of the node's process (its app processes, on workers, are orphaned as a crashed pod's would be)."""
        self.orphans = self.app_pids()
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 60) -> float:
        """SIGTERM and wait; returns the seconds the stop took."""
        started = time.monotonic()
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.process.wait()
        return time.monotonic() - started

    def close(self) -> None:
        if self.alive():
            self.stop(30)
        for pid in getattr(self, "orphans", []):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()


class Cluster:
    """Gateways then workers, joined through the first gateway; all with the same ports on their own address."""

    def __init__(self, porter: Path, work: Path, gateways: int, workers: int, worker_args: list[str] | None = None,
                 worker_env: dict[str, str] | None = None):
        self.porter = porter
        self.work = work
        addresses = GATEWAYS[:gateways] + WORKERS[:workers]
        self.port = free_port(addresses)
        self.management = free_port(addresses)
        self.remoting = free_port(addresses)
        self.gateways: list[Node] = []
        self.workers: list[Node] = []
        self._worker_args = worker_args or []
        self._worker_env = worker_env or {}
        self._wanted = (gateways, workers)

    def common(self, address: str) -> list[str]:
        return [str(TESTAPP), "--app-name", "testapp", "--hostname", address, "--address", address,
                "--port", str(self.port), "--management-port", str(self.management), "--remoting-port", str(self.remoting),
                "--seed-nodes", f"akka.tcp://porter@{GATEWAYS[0]}:{self.remoting}", "--management-token", "bench-token"]

    def start(self) -> None:
        gateways, workers = self._wanted
        dotnet = "dotnet"
        for i, address in enumerate(GATEWAYS[:gateways]):
            self.gateways.append(Node("gateway", address, [dotnet, str(self.porter / "porter.dll"), "gateway"] + self.common(address), self.work))
            if i == 0:
                wait_until(lambda: self.members(GATEWAYS[0]) is not None, 60, "the first gateway's management API")
        wait_until(lambda: len(self.up(GATEWAYS[0])) == gateways, 120, f"{gateways} Up gateways")
        # Workers one at a time, so the first is the oldest worker (it hosts the OOB coordinator singleton).
        for address in WORKERS[:workers]:
            self.workers.append(Node("worker", address, [dotnet, str(self.porter / "porter-worker.dll"), "worker"] + self.common(address)
                                     + ["--min-instances", "2"] + self._worker_args, self.work, self._worker_env))
            count = gateways + len(self.workers)
            wait_until(lambda: len(self.up(GATEWAYS[0])) == count, 120, f"{count} Up members")
        # Every worker serves: requests through the first gateway reach all of them.
        wait_until(lambda: all(set(w.app_pids()) & self._served_pids() for w in self.workers), 120, "requests to reach every worker")

    def _served_pids(self) -> set[int]:
        pids = set()
        for _ in range(20):
            status, _, body = http_get(GATEWAYS[0], self.port, "/pid")
            if status == 200:
                pids.add(int(body))
        return pids

    def members(self, via: str):
        try:
            with urllib.request.urlopen(f"http://{via}:{self.management}/cluster/members", timeout=5) as response:
                return json.load(response)
        except OSError:
            return None

    def up(self, via: str) -> list[str]:
        members = self.members(via)
        return [m["node"] for m in members["members"] if m["status"] == "Up"] if members else []

    def node_address(self, address: str) -> str:
        return f"akka.tcp://porter@{address}:{self.remoting}"

    def shards_by_region(self, via: str) -> dict[str, int]:
        try:
            with urllib.request.urlopen(f"http://{via}:{self.management}/cluster/shards/turbocache", timeout=10) as response:
                return {r["address"]: len(r["shards"]) for r in json.load(response)["regions"]}
        except OSError:
            return {}

    def close(self) -> None:
        for node in reversed(self.gateways + self.workers):
            node.close()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def http_get(address: str, port: int, path: str, method: str = "GET", timeout: float = 30) -> tuple[int, dict[str, str], str]:
    """One request on a new connection: (status, headers, body); status 0 on a connection error."""
    import http.client
    connection = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        connection.request(method, path, body=b"change" if method == "POST" else None, headers={"Host": HOST})
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    except OSError:
        return 0, {}, ""
    finally:
        connection.close()


def pages_and_pids(pages: list[str]):
    """Every page in turn, and an uncacheable /pid after every fourth."""
    def path(n: int) -> str:
        i = n % (len(pages) + len(pages) // 4)
        return pages[i] if i < len(pages) else "/pid"
    return path


def page(i: int, test: str) -> str:
    query = urllib.parse.urlencode([("t", f"{test}{i}"), ("h", "Cache-Control:public, max-age=600"), ("body", f"page {i} v{{hit}} pid {{pid}}")])
    return "/headers?" + query


# ----------------------------------------------------------------------------------------------------------------
# Load: keep-alive HTTP/1.1 clients on asyncio streams, every outcome recorded.


@dataclass
class Outcome:
    started: float  # time.monotonic()
    elapsed: float
    status: int
    cache: str | None
    path: str
    body: str = ""
    error: str | None = None


class Load:
    """`clients` keep-alive connections to one gateway, each sending the paths from `paths(n)` until stopped."""

    def __init__(self, address: str, port: int, paths, clients: int, keep_bodies: bool = False):
        self.address = address
        self.port = port
        self.paths = paths
        self.clients = clients
        self.keep_bodies = keep_bodies
        self.outcomes: list[Outcome] = []
        self._sent = 0
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._client()) for _ in range(self.clients)]

    async def stop(self) -> list[Outcome]:
        self._stop.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        return self.outcomes

    async def _client(self) -> None:
        reader = writer = None
        while not self._stop.is_set():
            path = self.paths(self._sent)
            self._sent += 1
            started = time.monotonic()
            retried = False
            while True:
                fresh = writer is None
                try:
                    if writer is None:
                        reader, writer = await asyncio.wait_for(asyncio.open_connection(self.address, self.port), 10)
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
                    status, headers, body = await asyncio.wait_for(read_response(reader), 60)
                    self.outcomes.append(Outcome(started, time.monotonic() - started, status, headers.get("x-cache"), path,
                                                 body if self.keep_bodies else ""))
                    if headers.get("connection", "").lower() == "close":
                        writer.close()
                        reader = writer = None
                    break
                except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    if not fresh and not retried and isinstance(e, (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError)):
                        # The server closed an idle keep-alive connection: sent again on a new one, as HTTP clients do.
                        retried = True
                        continue
                    self.outcomes.append(Outcome(started, time.monotonic() - started, 0, None, path, error=type(e).__name__ + ": " + str(e)))
                    await asyncio.sleep(0.05)
                    break
        if writer is not None:
            writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], str]:
    status_line = await reader.readline()
    if not status_line:
        raise asyncio.IncompleteReadError(b"", None)
    status = int(status_line.split()[1])
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            if size == 0:
                await reader.readline()
                break
            chunks.append(await reader.readexactly(size))
            await reader.readline()
        body = b"".join(chunks)
    else:
        body = b""
    return status, headers, body.decode("utf-8", "replace")


# ----------------------------------------------------------------------------------------------------------------
# Figures


@dataclass
class Result:
    scenario: str
    sent: int = 0
    failed: int = 0
    slow: int = 0
    max_latency: float = 0.0
    hits_resume: float | None = None
    shards_back: float | None = None
    oob_overlaps: int | None = None
    stale_reads: int | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, outcomes: list[Outcome], failed_ok=lambda o: False) -> None:
        self.sent += len(outcomes)
        self.failed += sum(1 for o in outcomes if o.status != 200 and not failed_ok(o))
        self.slow += sum(1 for o in outcomes if o.elapsed > SLOW)
        if outcomes:
            self.max_latency = max(self.max_latency, max(o.elapsed for o in outcomes))


def slow_note(outcomes: list[Outcome], fault_at: float) -> str:
    """Where the slow requests were: before or after the fault (seconds from it), with their cache status."""
    slow = [o for o in outcomes if o.elapsed > SLOW]
    if not slow:
        return "no request over 1 s"
    before = sum(1 for o in slow if o.started < fault_at)
    shown = ", ".join(f"{o.started - fault_at:+.1f} s {o.cache or o.error or o.status} {o.elapsed:.1f} s" for o in slow[:6])
    return f"over 1 s: {before} before the fault, {len(slow) - before} after ({shown})"


async def skipped_shards(cluster: "Cluster", via: str, stop: asyncio.Event) -> list[tuple[float, int]]:
    """(time, shards the gateway skips) from its /cache every half second until `stop`."""
    samples: list[tuple[float, int]] = []
    own = cluster.node_address(via)
    def read() -> int | None:
        try:
            with urllib.request.urlopen(f"http://{via}:{cluster.management}/cache", timeout=15) as response:
                nodes = json.load(response)["nodes"]
            return next((len(n.get("skippedShards", [])) for n in nodes if n.get("node") == own), None)
        except (OSError, ValueError):
            return None
    while not stop.is_set():
        count = await asyncio.to_thread(read)
        if count is not None:
            samples.append((time.monotonic(), count))
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass
    return samples


def shards_back_after(samples: list[tuple[float, int]], since: float) -> float | None:
    """Seconds from `since` until the gateway skips no shard any more (after it skipped some), or None."""
    skipped = False
    for at, count in samples:
        if at < since:
            continue
        if count > 0:
            skipped = True
        elif skipped:
            return at - since
    return None if skipped else 0.0


def hits_resume_after(outcomes: list[Outcome], pages: list[str], since: float) -> float | None:
    """Seconds from `since` until the hit ratio of page requests, over one-second windows, is back to at least 90 % of
    what it was in the 5 s before and stays there; None if it never is."""
    wanted = set(pages)
    answers = sorted((o for o in outcomes if o.path in wanted), key=lambda o: o.started)
    before = [o for o in answers if since - 5 <= o.started < since]
    if not before:
        return None
    target = 0.9 * sum(o.cache == "HIT" for o in before) / len(before)
    after = [o for o in answers if o.started >= since]
    if not after:
        return None
    windows = int(after[-1].started - since)
    ratios = []
    for w in range(windows):
        window = [o for o in after if since + w <= o.started < since + w + 1]
        ratios.append(sum(o.cache == "HIT" for o in window) / len(window) if window else 0.0)
    for w in range(len(ratios)):
        if all(r >= target for r in ratios[w:]):
            return float(w)
    return None


def oob_overlaps(log_path: Path) -> int:
    """Pairs of OOB runs (from testapp's OOB_LOG) whose [start, end] intervals overlap."""
    if not log_path.exists():
        return 0
    runs = sorted((int(parts[1]), int(parts[2])) for parts in (line.split() for line in log_path.read_text().splitlines()) if len(parts) >= 3)
    overlaps = 0
    for i, (start, end) in enumerate(runs):
        for other_start, _ in runs[i + 1:]:
            if other_start >= end:
                break
            overlaps += 1
    return overlaps


# ----------------------------------------------------------------------------------------------------------------
# Scenarios


async def warm(address: str, port: int, pages: list[str]) -> None:
    for p in pages:
        deadline = time.monotonic() + 60
        while True:
            status, headers, _ = await asyncio.to_thread(http_get, address, port, p)
            if status == 200 and headers.get("x-cache") == "HIT":
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"no hit on {p}")


async def scenario_kill(settings, porter: Path, work: Path, oldest: bool) -> Result:
    name = "kill-oldest" if oldest else "kill-younger"
    result = Result(f"gateway kill -9 ({'oldest, hosts the shard coordinator' if oldest else 'not the oldest'})")
    cluster = Cluster(porter, work / name, gateways=2, workers=2)
    try:
        cluster.start()
        killed, survivor = (cluster.gateways[0], cluster.gateways[1]) if oldest else (cluster.gateways[1], cluster.gateways[0])
        pages = [page(i, name) for i in range(settings.pages)]
        await warm(survivor.address, cluster.port, pages)
        wait_until(lambda: sum(1 for n in cluster.shards_by_region(survivor.address).values() if n > 0) >= 2, 60,
                   "both gateways to host shards")
        shards = cluster.shards_by_region(survivor.address)
        result.notes.append(f"shards before: {shards.get(cluster.node_address(killed.address), 0)} on the killed gateway, "
                            f"{shards.get(cluster.node_address(survivor.address), 0)} on the survivor")
        load = Load(survivor.address, cluster.port, pages_and_pids(pages), settings.clients)
        load.start()
        stop_watch = asyncio.Event()
        watch = asyncio.create_task(skipped_shards(cluster, survivor.address, stop_watch))
        await asyncio.sleep(settings.before)
        killed_at = time.monotonic()
        killed.kill_hard()
        log(f"{name}: killed {killed.address} (pid {killed.pid})")
        await asyncio.sleep(settings.after)
        outcomes = await load.stop()
        stop_watch.set()
        result.add(outcomes)
        result.hits_resume = hits_resume_after(outcomes, pages, killed_at)
        result.shards_back = shards_back_after(await watch, killed_at)
        bypass = sum(1 for o in outcomes if o.started >= killed_at and o.cache == "BYPASS")
        result.notes.append(f"{bypass} BYPASS answers after the kill")
        removed = [o for o in outcomes if o.started >= killed_at]
        if removed:
            result.notes.append(f"p99 after the kill {1000 * quantile([o.elapsed for o in removed], 0.99):.0f} ms")
        result.notes.append(slow_note(outcomes, killed_at))
    finally:
        cluster.close()
    return result


async def scenario_stop(settings, porter: Path, work: Path) -> Result:
    result = Result("graceful gateway stop (SIGTERM, the oldest) under load on its keep-alive connections")
    cluster = Cluster(porter, work / "stop", gateways=2, workers=2)
    try:
        cluster.start()
        leaving, staying = cluster.gateways
        pages = [page(i, "stop") for i in range(settings.pages)]
        await warm(leaving.address, cluster.port, pages)
        await warm(staying.address, cluster.port, pages)
        own = Load(leaving.address, cluster.port, pages_and_pids(pages), settings.clients)
        other = Load(staying.address, cluster.port, lambda n: pages[n % len(pages)], settings.clients // 2 or 1)
        own.start()
        other.start()
        await asyncio.sleep(settings.before)
        stopped_at = time.monotonic()
        took = await asyncio.to_thread(leaving.stop, 60)
        log(f"stop: {leaving.address} stopped in {took:.1f} s")
        await asyncio.sleep(settings.after / 2)
        mine, others = await own.stop(), await other.stop()
        refused = lambda o: o.status == 0 and o.error is not None and "ConnectionRefused" in o.error and o.started >= stopped_at
        result.add(mine, failed_ok=refused)
        result.add(others)
        result.notes.append(f"stop took {took:.1f} s (grace 10 s); {sum(1 for o in mine if refused(o))} new connections refused after it")
        result.notes.append(slow_note(mine + others, stopped_at))
    finally:
        cluster.close()
    return result


async def scenario_raw(settings, porter: Path, work: Path) -> Result:
    result = Result("read-after-write: POST through one gateway, GET through the other after the reply")
    cluster = Cluster(porter, work / "raw", gateways=2, workers=2)
    try:
        cluster.start()
        writer, reader = cluster.gateways
        url = page(0, "raw")
        await warm(reader.address, cluster.port, [url])
        readers = Load(reader.address, cluster.port, lambda n: url, settings.clients, keep_bodies=True)
        readers.start()
        stale = 0
        writes: list[tuple[float, str]] = []  # (reply time, body of the entry it replaced)
        post_latency = []
        for _ in range(settings.rounds):
            # The entry the reader's gateway serves now is the one the write must replace.
            status, headers, before = await asyncio.to_thread(http_get, reader.address, cluster.port, url)
            started = time.monotonic()
            status, _, _ = await asyncio.to_thread(http_get, writer.address, cluster.port, url, "POST")
            replied = time.monotonic()
            post_latency.append(replied - started)
            result.sent += 1
            result.failed += status != 200
            writes.append((replied, before))
            status, headers, after = await asyncio.to_thread(http_get, reader.address, cluster.port, url)
            result.sent += 1
            # The body names the app process and its hit count for the URL: the same body is the same stored entry.
            stale += after == before
            await asyncio.sleep(0.05)
        outcomes = await readers.stop()
        result.add(outcomes)
        # A reader's request sent after a write's reply must not get the entry any write replaced (each body is unique).
        replaced: set[str] = set()
        pending = sorted(writes)
        for o in sorted(outcomes, key=lambda o: o.started):
            while pending and pending[0][0] < o.started:
                replaced.add(pending.pop(0)[1])
            if o.status == 200 and o.body in replaced:
                stale += 1
        result.stale_reads = stale
        result.max_latency = max(result.max_latency, max(post_latency))
        result.notes.append(f"{settings.rounds} writes, POST median {1000 * statistics.median(post_latency):.1f} ms, "
                            f"max {1000 * max(post_latency):.1f} ms")
    finally:
        cluster.close()
    return result


async def scenario_oob_kill(settings, porter: Path, work: Path) -> Result:
    result = Result("kill -9 of the worker hosting the OOB coordinator, OOB work asked on every response (3 workers x 2)")
    oob_log = work / "oob-kill" / "oob.log"
    (work / "oob-kill").mkdir(parents=True, exist_ok=True)
    cluster = Cluster(porter, work / "oob-kill", gateways=1, workers=3, worker_args=["--oob-work-every", "1"],
                      worker_env={"OOB_LOG": str(oob_log), "OOB_MS": "50"})
    try:
        cluster.start()
        victim = cluster.workers[0]  # the oldest worker: it hosts the OOB coordinator
        load = Load(GATEWAYS[0], cluster.port, lambda n: "/pid", settings.clients)
        load.start()
        await asyncio.sleep(settings.before)
        killed_at = time.monotonic()
        victim.kill_hard()
        log(f"oob-kill: killed worker {victim.address} (pid {victim.pid})")
        await asyncio.sleep(settings.after)
        outcomes = await load.stop()
        result.add(outcomes)
        result.oob_overlaps = oob_overlaps(oob_log)
        after = [o for o in outcomes if o.started >= killed_at]
        gaps = longest_gap(after)
        result.notes.append(f"longest time without a finished request after the kill: {gaps:.1f} s")
        result.notes.append(slow_note(outcomes, killed_at))
    finally:
        cluster.close()
    return result


def longest_gap(outcomes: list[Outcome]) -> float:
    ends = sorted(o.started + o.elapsed for o in outcomes if o.status == 200)
    return max((b - a for a, b in zip(ends, ends[1:])), default=0.0)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# ----------------------------------------------------------------------------------------------------------------


@dataclass
class Settings:
    before: float  # seconds of load before the fault
    after: float  # seconds of load after it
    clients: int
    pages: int
    rounds: int


SCENARIOS = {
    "kill-oldest": lambda s, p, w: scenario_kill(s, p, w, oldest=True),
    "kill-younger": lambda s, p, w: scenario_kill(s, p, w, oldest=False),
    "stop": scenario_stop,
    "raw": scenario_raw,
    "oob-kill": scenario_oob_kill,
}


def table(results: list[Result]) -> str:
    def fmt(value, unit=""):
        return "–" if value is None else f"{value:.1f}{unit}" if isinstance(value, float) else str(value)
    lines = ["| scenario | sent | failed | slower than 1 s | max latency | hits resume after | lost shards back after | OOB overlaps | stale reads |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.scenario} | {r.sent} | {r.failed} | {r.slow} | {r.max_latency * 1000:.0f} ms | "
                     f"{fmt(r.hits_resume, ' s')} | {fmt(r.shards_back, ' s')} | {fmt(r.oob_overlaps)} | {fmt(r.stale_reads)} |")
    notes = [f"- {r.scenario}: " + "; ".join(r.notes) for r in results if r.notes]
    return "\n".join(lines + ([""] + notes if notes else []))


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter loads (10 s before, 25 s after), fewer rounds")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    parser.add_argument("--porter", type=Path, default=REPO / "src" / "Gateway" / "bin" / "Release" / "net10.0" / "publish",
                        help="folder with porter.dll and porter-worker.dll")
    parser.add_argument("--json", type=Path, default=HERE / "faults.json")
    args = parser.parse_args()
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        print(f"faults.py: unknown scenario {', '.join(unknown)} (known: {', '.join(SCENARIOS)})", file=sys.stderr)
        return 2
    for dll in ("porter.dll", "porter-worker.dll"):
        if not (args.porter / dll).exists():
            print(f"faults.py: {args.porter / dll} not found (publish Porter first: bench/run.sh --cases faults)", file=sys.stderr)
            return 1
    settings = Settings(before=10, after=25, clients=8, pages=64, rounds=50) if args.quick else Settings(before=15, after=40, clients=8, pages=128, rounds=200)
    work = Path(tempfile.mkdtemp(prefix="porter-faults-"))
    log(f"work directory {work} (node logs kept there)")
    results = []
    for name in names:
        log(f"scenario {name}")
        try:
            results.append(await SCENARIOS[name](settings, args.porter, work))
        except Exception as e:  # one broken scenario is reported, the others still run
            log(f"scenario {name} failed: {e}")
            results.append(Result(name, notes=[f"did not complete: {e}"]))
        log(table(results[-1:]).splitlines()[2])
    report = table(results)
    print(report)
    args.json.write_text(json.dumps([r.__dict__ for r in results], indent=2))
    log(f"raw figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
