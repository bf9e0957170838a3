"""Case 6: cold start, from spawning the server to the first 200 on `/` (polled every 10 ms): `porter start
examples/hello-node` with a fresh data dir, Passenger Standalone serving the same app, and the Kestrel ceiling
(a .NET program that does nothing but answer). The three alternate, run by run."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from ..client import http_get
from ..contenders import CEILING, start_ceiling, start_passenger
from ..processes import Proc, Procs, free_port
from ..settings import REPO, Settings, log

HELLO_NODE = REPO / "examples" / "hello-node"


def time_to_first_200(procs: Procs, start: Callable[[int], Proc], limit: float = 60) -> float:
    port = free_port()
    proc = start(port)
    t0 = proc.started
    try:
        while True:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited during cold start; see {proc.log_path}")
            if time.monotonic() - t0 > limit:
                raise RuntimeError(f"{proc.name}: cold start took over {limit:.0f} s")
            try:
                status, _, _ = http_get(port, "/", timeout=2.0)
                if status == 200:
                    return time.monotonic() - t0
            except OSError:
                pass
            time.sleep(0.01)
    finally:
        procs.stop(proc)


def cold_start_case(settings: Settings, procs: Procs, porter_cmd: list[str], ceiling_dll: Path, workdir: Path,
                    logdir: Path) -> dict:
    starters: dict[str, Callable[[int, int], Proc]] = {
        "Porter": lambda i, port: procs.start(f"porter-cold-{i}", porter_cmd + [
            "start", str(HELLO_NODE), "--port", str(port), "--address", "127.0.0.1", "--data-dir",
            str(workdir / f"cold-{i}"), "--shutdown-grace", "2", "--management-port", "0"], logdir, cwd=workdir),
        "Passenger": lambda i, port: start_passenger(
            procs, f"passenger-cold-{i}", port, workdir, logdir, app_dir=HELLO_NODE,
            app_command=f"node --expose-gc {HELLO_NODE / 'app.js'}"),
        CEILING: lambda i, port: start_ceiling(procs, f"ceiling-cold-{i}", ceiling_dll, port, logdir),
    }
    times: dict[str, list[float]] = {name: [] for name in starters}
    for i in range(settings.cold_runs):
        for name, start in starters.items():
            elapsed = time_to_first_200(procs, lambda port: start(i, port))
            times[name].append(elapsed)
            log(f"cold start {i + 1}/{settings.cold_runs} {name}: {elapsed:.3f} s to the first 200")
            time.sleep(1)
    return {name: {"seconds": t, "median": statistics.median(t)} for name, t in times.items()}
