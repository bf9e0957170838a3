"""Processes started by the benchmark: each in its own process group inside this session, accounted from /proc,
stopped by PID.

Not setsid: on this kind of machine a new session lands in its own scheduler group, which alone cost an identical
Varnish about 10% of its throughput (shared/PLATFORM-NOTES.md). A server that daemonizes parts of itself out of that
group (Passenger's watchdog and core) has those parts adopted by PID: they count in its CPU and are stopped with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .settings import log

Stat = tuple[int, int, int, str]  # (ppid, pgrp, utime+stime ticks, comm)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_stat(pid: int) -> Stat | None:
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


def all_stats() -> dict[int, Stat]:
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = proc_stat(int(name))
            if st is not None:
                stats[int(name)] = st
    return stats


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot, field 22 of /proc/PID/stat): with the PID, its identity."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode("ascii", "replace")
    except OSError:
        return None
    return int(data[data.rfind(")") + 2 :].split()[19])


@dataclass(frozen=True)
class Adopted:
    """A process some started process daemonized out of its group, known by PID and start time, so that a PID the
    kernel has since given to another process is never counted or signalled."""

    pid: int
    started: int

    @staticmethod
    def of(pid: int) -> "Adopted | None":
        started = start_time(pid)
        return Adopted(pid, started) if started is not None else None

    def alive(self) -> bool:
        return start_time(self.pid) == self.started

    def kill(self) -> None:
        if self.alive():
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def tree_pids(root: int, stats: dict[int, Stat]) -> set[int]:
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
    """A process started by the benchmark in a new process group (its PGID is its PID) of this session.

    stop_argv, if given, is the server's own way to stop (run before SIGTERM); daemon_pid_files, if given, lists the
    pid files of the processes it daemonizes, which adopt_daemons() adopts (again before stopping: some appear late).
    """

    def __init__(self, name: str, argv: list[str], logdir: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None, stop_argv: list[str] | None = None,
                 daemon_pid_files: Callable[[], list[Path]] | None = None):
        self.name = name
        self.argv = argv
        self.stop_argv = stop_argv
        self.daemon_pid_files = daemon_pid_files
        self.adopted: list[Adopted] = []
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

    def adopt_daemons(self) -> int:
        """Adopts every process named in the daemon pid files that exist now; returns how many are adopted so far."""
        for path in self.daemon_pid_files() if self.daemon_pid_files else []:
            try:
                text = path.read_text().strip()
            except OSError:
                continue
            adopted = Adopted.of(int(text)) if text.isdigit() else None
            if adopted is not None and adopted not in self.adopted:
                self.adopted.append(adopted)
                log(f"{self.name}: adopted pid {adopted.pid} from {path.name} (outside its process group)")
        return len(self.adopted)

    def pids(self, stats: dict[int, Stat]) -> set[int]:
        """The process's tree and process group, and the trees of the processes it daemonized."""
        pids = tree_pids(self.pid, stats)
        for a in self.adopted:
            if a.alive():
                pids |= tree_pids(a.pid, stats)
        return pids

    def cpu_ticks(self, exclude_comm: str | None = None, only_comm: str | None = None) -> int:
        """CPU ticks of the process tree (descendants and process group, adopted trees included)."""
        stats = all_stats()
        total = 0
        for pid in self.pids(stats):
            comm = stats[pid][3]
            if exclude_comm is not None and comm == exclude_comm:
                continue
            if only_comm is not None and comm != only_comm:
                continue
            total += stats[pid][2]
        return total

    def stop(self, grace: float = 15.0) -> None:
        """The server's own stop command if it has one, then SIGTERM to the PID, then SIGKILL to it; leftovers in its
        own process group get SIGKILL, and so does every adopted process (and its tree) still there after the grace."""
        self.adopt_daemons()
        # Snapshot before stopping: once a daemon is gone its children are reparented out of its tree.
        adopted_trees = [Adopted.of(pid) for pid in self.pids(all_stats()) if pid != self.pid]
        if self.stop_argv is not None:
            try:
                subprocess.run(self.stop_argv, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                               timeout=grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name}: {' '.join(self.stop_argv)} did not finish in {grace:.0f} s")
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
        self._stop_adopted([a for a in adopted_trees if a is not None], grace)
        self._log.close()

    def _stop_adopted(self, processes: list[Adopted], grace: float) -> None:
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(a.alive() for a in processes):
            time.sleep(0.1)
        for a in processes:
            if a.alive():
                log(f"{self.name}: pid {a.pid} still there after the stop; SIGKILL")
                a.kill()


class Procs:
    """Every process this run started, so that all of them are stopped, also on Ctrl-C."""

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
