"""What one run measures, shared constants and the log line."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
REPO = BENCH.parent
PAGE_BYTES = 2048
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


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
