"""Profile of Porter under load, in separate runs after the measured ones (never in the tables): runtime counters
(dotnet-counters) and a sampled CPU profile (dotnet-trace), reduced to the hottest managed frames."""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import time
from pathlib import Path

from .contenders import Contender
from .load import run_wrk
from .settings import Settings, log

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
