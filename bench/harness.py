#!/usr/bin/env python3
"""Porter side-by-side benchmark driver (Python 3 standard library only).

Started by bench/run.sh after the Release builds. It starts, on 127.0.0.1 only and each in its own process group
(os.setpgid, never setsid: see shared/PLATFORM-NOTES.md), the origin app, Porter and Phusion Passenger each serving
that origin as their app, nginx with proxy_cache, Varnish with its built-in VCL and the Kestrel ceiling; runs the
cases with wrk, contenders interleaved; stops every process it started by PID; and writes bench/RESULTS.md and
bench/results.json. The parts live in bench/sidebyside/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from sidebyside.cases.cold_start import cold_start_case
from sidebyside.cases.fast import fast_case
from sidebyside.cases.herd import herd_case
from sidebyside.cases.hit import hit_case
from sidebyside.cases.many_keys import KEYS, ZIPF_S, many_keys_case
from sidebyside.cases.memory import memory_case
from sidebyside.cases.slow import slow_case
from sidebyside.cases.vary import vary_case, vary_herd
from sidebyside.client import wait_http
from sidebyside.contenders import (CEILING, VARY_COOKIE, Contender, check_caching, check_vary, start_ceiling,
                                   start_nginx, start_origin, start_passenger, start_porter, start_varnish)
from sidebyside.machine import machine_info, versions
from sidebyside.processes import Procs, free_port
from sidebyside.profile import profile_porter
from sidebyside.report import targets, write_results
from sidebyside.settings import BENCH, REPO, Settings, log


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--porter-dll", default=str(REPO / "src/Gateway/bin/Release/net10.0/publish/porter.dll"))
    ap.add_argument("--ceiling-dll",
                    default=str(BENCH / "Ceiling/bin/Release/net10.0/publish/porter-bench-ceiling.dll"))
    ap.add_argument("--out", default=str(BENCH / "RESULTS.md"))
    ap.add_argument("--json", default=str(BENCH / "results.json"))
    ap.add_argument("--micro-report", default=None, help="BenchmarkDotNet github-markdown report to include")
    ap.add_argument("--history", default=str(BENCH / "NOTES.md"), help="notes (before/after, profiling) to include if present")
    ap.add_argument("--cases", default=ALL_CASES, help=f"comma-separated, of {ALL_CASES}")
    ap.add_argument("--dotnet-trace", default=shutil.which("dotnet-trace"))
    ap.add_argument("--dotnet-counters", default=shutil.which("dotnet-counters"))
    ap.add_argument("--no-profile", action="store_true", help="skip the profile of Porter (counters, trace)")
    ap.add_argument("--gcdump", default=shutil.which("dotnet-gcdump"),
                    help="dotnet-gcdump, used to induce a full GC before each RSS reading of the memory case")
    ap.add_argument("--from-json", default=None, help="only rewrite --out from a results.json of an earlier run")
    return ap.parse_args()


def add_notes(data: dict, args: argparse.Namespace) -> None:
    """The micro-benchmarks' report and bench/NOTES.md, included in RESULTS.md as they are."""
    if args.micro_report and Path(args.micro_report).exists():
        data["micro"] = Path(args.micro_report).read_text()
    if args.history and Path(args.history).exists():
        data["history"] = Path(args.history).read_text()


def rewrite_from_json(args: argparse.Namespace) -> int:
    data = json.loads(Path(args.from_json).read_text())
    add_notes(data, args)
    data["targets"] = targets(data)
    write_results(Path(args.out), data)
    log(f"wrote {args.out} from {args.from_json}")
    return 0


ALL_CASES = "hit,fast,slow,vary,keys,herd,memory,cold"


def run_cases(args: argparse.Namespace, settings: Settings, cases: set[str], procs: Procs, workdir: Path,
              logdir: Path, data: dict) -> None:
    """Starts the contenders, runs the selected cases in order and stops what it started."""
    run_id = f"{int(time.time())}"
    porter_cmd = ["dotnet", args.porter_dll]
    ceiling_dll = Path(args.ceiling_dll)
    origin_port, porter_port, passenger_port, nginx_port, varnish_port, ceiling_port = (free_port() for _ in range(6))
    origin = start_origin(procs, logdir, origin_port, dict(os.environ))
    wait_http(origin_port, "/hits", 20, origin)
    nginx = start_nginx(procs, workdir, logdir, nginx_port, origin_port)
    varnish = start_varnish(procs, workdir, logdir, varnish_port, origin_port)
    porter = start_porter(procs, "porter", porter_cmd, porter_port, workdir / "porter-data", workdir, logdir)
    passenger = start_passenger(procs, "passenger", passenger_port, workdir, logdir)
    ceiling = start_ceiling(procs, "ceiling", ceiling_dll, ceiling_port, logdir)
    wait_http(nginx_port, "/fast", 20, nginx)
    wait_http(varnish_port, "/fast", 30, varnish)
    wait_http(porter_port, "/fast", 90, porter)
    wait_http(passenger_port, "/fast", 60, passenger)
    wait_http(ceiling_port, "/", 30, ceiling)

    c_origin = Contender("origin (no cache)", origin_port, None, origin_port, origin_proc=origin)
    c_direct = Contender("origin (direct)", origin_port, None, origin_port, origin_proc=origin)
    c_porter = Contender("Porter", porter_port, porter, porter_port, app_comm="node")
    c_passenger = Contender("Passenger", passenger_port, passenger, passenger_port, app_comm="node")
    c_nginx = Contender("nginx", nginx_port, nginx, origin_port, origin_proc=origin)
    c_varnish = Contender("Varnish", varnish_port, varnish, origin_port, origin_proc=origin)
    c_ceiling = Contender(CEILING, ceiling_port, ceiling, None)
    caches = [c_porter, c_passenger, c_nginx, c_varnish]

    data["verify"] = verify = check_caching(caches)
    if verify["Porter"]["origin_requests"] != 1:
        data["porter_caching_note"] = (
            "Porter did not cache `/` in this build (the second request reached the app: "
            f"{verify['Porter']['origin_requests']} origin requests for 2 client requests, "
            f"X-Cache {verify['Porter']['second'].get('x-cache')}). Its case 1 and 3 figures are "
            "uncached proxying to the 10 ms app, not cache hits.")
        log("WARNING: " + data["porter_caching_note"])

    if "hit" in cases:
        log("case 1: cache hit on / (with the origin as the no-cache reference)")
        data["cases"]["hit"] = hit_case(settings, c_origin, caches + [c_ceiling], logdir)
    if "fast" in cases:
        log("case 2: uncacheable /fast")
        data["cases"]["fast"] = fast_case(settings, c_direct, caches + [c_ceiling], logdir)
    if "slow" in cases:
        log("case 3: slow app (/slow sleeps 100 ms) without and with each cache")
        data["cases"]["slow"] = slow_case(settings, c_origin, caches + [c_ceiling], logdir)
    if "keys" in cases:
        log(f"case 8: many keys ({KEYS:,} URLs, Zipf {ZIPF_S})")
        data["cases"]["keys"] = many_keys_case(settings, caches + [c_ceiling], run_id, logdir)
    if "herd" in cases:
        log("case 4: thundering herd")
        data["cases"]["herd"] = herd_case(settings, caches, run_id)

    if not args.no_profile and (args.dotnet_trace or args.dotnet_counters):
        log("profile of Porter under load (separate runs: counters, then sampled CPU)")
        data["profile"] = profile_porter(settings, c_porter, {"trace": args.dotnet_trace,
                                                              "counters": args.dotnet_counters}, workdir, logdir)

    if "vary" in cases:
        # Porter and Passenger vary by a cookie per app: a second instance of each, while the first ones stop.
        for proc in (porter, passenger):
            procs.stop(proc)
        log("case 7: vary-by-cookie hits (Porter and Passenger with --vary-turbocache-by-cookie user_id)")
        vary_porter_port, vary_passenger_port = free_port(), free_port()
        porter_vary = start_porter(procs, "porter-vary", porter_cmd, vary_porter_port, workdir / "porter-vary-data",
                                   workdir, logdir, vary_cookie=VARY_COOKIE)
        passenger_vary = start_passenger(procs, "passenger-vary", vary_passenger_port, workdir, logdir,
                                         vary_cookie=VARY_COOKIE)
        wait_http(vary_porter_port, "/fast", 90, porter_vary)
        wait_http(vary_passenger_port, "/fast", 60, passenger_vary)
        vary_caches = [Contender("Porter", vary_porter_port, porter_vary, vary_porter_port, app_comm="node"),
                       Contender("Passenger", vary_passenger_port, passenger_vary, vary_passenger_port,
                                 app_comm="node"),
                       c_nginx, c_varnish]
        data["verify_vary"] = check_vary(vary_caches)
        data["cases"]["vary"] = vary_case(settings, vary_caches + [c_ceiling], logdir)
        data["vary_herd"] = vary_herd(settings, vary_caches, run_id)
        for proc in (porter_vary, passenger_vary):
            procs.stop(proc)

    # The rest needs the machine to itself as much as possible.
    for proc in (ceiling, varnish, nginx, passenger, porter):
        procs.stop(proc)

    if "memory" in cases:
        log("case 5: memory per entry (fresh Porter)")
        mem_port = free_port()
        porter_mem = start_porter(procs, "porter-mem", porter_cmd, mem_port, workdir / "porter-mem-data", workdir,
                                  logdir)
        wait_http(mem_port, "/fast", 90, porter_mem)
        c_mem = Contender("Porter", mem_port, porter_mem, mem_port, app_comm="node")
        data["cases"]["memory"] = memory_case(settings, c_mem, run_id, args.gcdump, workdir)
        procs.stop(porter_mem)

    if "cold" in cases:
        log("case 6: cold start (Porter, Passenger, the ceiling)")
        data["cases"]["cold"] = cold_start_case(settings, procs, porter_cmd, ceiling_dll, workdir, logdir)


def clean_workdir(workdir: Path) -> None:
    """Keeps the logs (and configs) for inspection; drops caches, data dirs and heap dumps."""
    for pattern in ("*.gcdump", "*.nettrace", "*.speedscope.json"):
        for dump in workdir.glob(pattern):
            dump.unlink()
    for child in workdir.iterdir():
        if child.is_dir() and child.name != "logs":
            for sub in ("cache", "proxy_temp", "client_body"):
                shutil.rmtree(child / sub, ignore_errors=True)
            if child.name.startswith(("porter-", "cold-", "passenger")):
                shutil.rmtree(child, ignore_errors=True)


def main() -> int:
    args = parse_args()
    if args.from_json:
        return rewrite_from_json(args)
    settings = Settings.make(args.quick)
    cases = set(args.cases.split(","))
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t_start = time.monotonic()

    unknown = cases - set(ALL_CASES.split(","))
    if unknown:
        raise SystemExit(f"harness.py: unknown case(s) {', '.join(sorted(unknown))}; the cases are {ALL_CASES}")
    for tool in ("wrk", "nginx", "varnishd", "passenger", "node", "dotnet"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (bench/run.sh installs nginx, varnish, passenger and wrk)")
    for dll in (args.porter_dll, args.ceiling_dll):
        if not Path(dll).exists():
            raise SystemExit(f"{dll} missing: run bench/run.sh, which publishes it")

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
    try:
        run_cases(args, settings, cases, procs, workdir, logdir, data)
    finally:
        procs.stop_all()
        clean_workdir(workdir)
        log(f"logs kept in {logdir}")

    data["machine"]["loadavg_end"] = open("/proc/loadavg").read().strip()
    data["elapsed_s"] = time.monotonic() - t_start
    complete = {"hit", "fast", "herd"} <= set(data["cases"])
    data["targets"] = targets(data) if complete else []
    add_notes(data, args)
    Path(args.json).write_text(json.dumps(data, indent=2, default=str) + "\n")
    if complete:
        write_results(Path(args.out), data)
        log(f"wrote {args.out} and {args.json}")
    else:
        log(f"partial case selection: wrote only {args.json}")
    for row in data["targets"]:
        log(f"target: {row[0]}: {row[1]} -> {row[2]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
