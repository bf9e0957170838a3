"""Case 6: cold start of `porter start examples/hello-node` with a fresh data dir, to the first 200 on `/`."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from ..client import http_get
from ..processes import Procs, free_port
from ..settings import REPO, Settings, log


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
