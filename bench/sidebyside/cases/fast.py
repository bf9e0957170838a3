"""Case 2: uncacheable `/fast` (`Cache-Control: private`, answered at once): each cache forwards it; the origin
without a proxy is the reference."""

from __future__ import annotations

from pathlib import Path

from ..contenders import Contender
from ..load import interleaved, summarize
from ..settings import Settings


def fast_case(settings: Settings, direct: Contender, caches: list[Contender], logdir: Path) -> dict:
    runs = interleaved(settings, [direct] + caches, "/fast", logdir)
    return {name: summarize(r) for name, r in runs.items()}
