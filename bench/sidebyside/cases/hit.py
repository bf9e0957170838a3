"""Case 1: cache hits on `/` (a fresh 2 KB entry, `public, max-age=60`), with the origin without a cache in the same
rotation as the reference of the slow-app case."""

from __future__ import annotations

from pathlib import Path

from ..contenders import Contender
from ..load import interleaved, summarize
from ..settings import Settings


def hit_case(settings: Settings, origin: Contender, caches: list[Contender], logdir: Path) -> dict:
    runs = interleaved(settings, [origin] + caches, "/", logdir)
    return {name: summarize(r) for name, r in runs.items()}
