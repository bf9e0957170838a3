"""Case 7: vary-by-cookie hits, the seed's Discourse case. Every request to `/vary` carries
`Cookie: _ga=…; user_id=<anonymous|member|staff>; _gid=…` with analytics values new on every request
(bench/lua/vary_cookie.lua). Porter and Passenger run a second instance with `--vary-turbocache-by-cookie user_id`;
nginx keys `/vary` on `$cookie_user_id`, Varnish on user_id's value extracted in vcl_recv (contenders.py). A cache
that keys on the whole Cookie header, or passes requests with cookies, would reach the origin on every request."""

from __future__ import annotations

import time
from pathlib import Path

from ..contenders import VARY_LEVELS, Contender, vary_cookie_header
from ..load import Script, interleaved, summarize
from ..settings import BENCH, Settings, log
from .herd import herd

SCRIPT = Script(BENCH / "lua" / "vary_cookie.lua")


def vary_case(settings: Settings, contenders: list[Contender], logdir: Path) -> dict:
    runs = interleaved(settings, contenders, "/vary", logdir, SCRIPT)
    return {name: summarize(r) for name, r in runs.items()}


def vary_herd(settings: Settings, caches: list[Contender], run_id: str) -> dict[str, list[int]]:
    """The herd case across variants: 64 clients at once on a key never seen (`/vary?gen=…`), their levels in turn,
    per round. A cache that coalesces per variant reaches the origin once per level (3)."""
    cookies = [vary_cookie_header(VARY_LEVELS[i % len(VARY_LEVELS)], i) for i in range(settings.herd_clients)]
    out: dict[str, list[int]] = {c.name: [] for c in caches}
    for r in range(settings.herd_rounds):
        for c in caches:
            c.reset_origin()
            replies = herd(c.port, f"/vary?gen={run_id}-{r}", settings.herd_clients, cookies=cookies)
            time.sleep(0.5)
            origin = c.origin_hits()["total"]
            out[c.name].append(origin)
            log(f"vary herd round {r + 1} {c.name:<10} {origin} origin requests for {settings.herd_clients} clients "
                f"over {len(VARY_LEVELS)} levels; non-200 replies {sum(1 for s, _ in replies if s != 200)}")
    return out
