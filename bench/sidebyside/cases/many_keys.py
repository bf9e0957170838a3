"""Case 8: many keys. 10,000 distinct cacheable URLs (`/page?n=…`, `public, max-age=3600`) requested with a Zipf(1.0)
distribution (bench/lua/zipf.lua), the same keys in the warm-up and every round. Reports req/s and the hit ratio,
1 − origin requests ÷ client requests per run (median over rounds): a cache that holds every key nears 1; Passenger's
turbocache holds 8 entries."""

from __future__ import annotations

import statistics
from pathlib import Path

from ..contenders import Contender
from ..load import Script, interleaved, summarize
from ..settings import BENCH, Settings

KEYS = 10_000
ZIPF_S = 1.0


def many_keys_case(settings: Settings, contenders: list[Contender], run_id: str, logdir: Path) -> dict:
    script = Script(BENCH / "lua" / "zipf.lua", (str(KEYS), str(ZIPF_S), f"zipf{run_id}"))
    runs = interleaved(settings, contenders, "/", logdir, script)
    out = {}
    for name, rounds in runs.items():
        summary = summarize(rounds)
        ratios = [1 - r.origin_requests / r.requests for r in rounds if r.origin_requests is not None and r.requests]
        summary["hit_ratio"] = statistics.median(ratios) if ratios else None
        out[name] = summary
    return out
