"""Case 3: the slow app. `/slow` sleeps 100 ms in the origin (`public, max-age=60`): the origin alone manages about
64 connections ÷ 100 ms; with a cache in front every request after the first is a hit. The speed-up of each cache is
its req/s ÷ the origin's (the seed's claim: 97 → 19,000 req/s with the turbocache)."""

from __future__ import annotations

from pathlib import Path

from ..contenders import Contender
from ..load import interleaved, summarize
from ..settings import Settings


def slow_case(settings: Settings, origin: Contender, others: list[Contender], logdir: Path) -> dict:
    runs = interleaved(settings, [origin] + others, "/slow", logdir)
    out = {name: summarize(r) for name, r in runs.items()}
    base = out[origin.name]["rps"]
    for summary in out.values():
        summary["speedup"] = summary["rps"] / base if base else None
    return out
