"""Case 7: vary-by-cookie hits, the seed's Discourse case. Every request to `/vary` carries
`Cookie: _ga=…; user_id=<anonymous|member|staff>; _gid=…` with analytics values new on every request
(bench/lua/vary_cookie.lua). Porter and Passenger run a second instance with `--vary-turbocache-by-cookie user_id`;
nginx keys `/vary` on `$cookie_user_id`, Varnish on user_id's value extracted in vcl_recv (contenders.py). A cache
that keys on the whole Cookie header, or passes requests with cookies, would reach the origin on every request."""

from __future__ import annotations

from pathlib import Path

from ..contenders import Contender
from ..load import Script, interleaved, summarize
from ..settings import BENCH, Settings

SCRIPT = Script(BENCH / "lua" / "vary_cookie.lua")


def vary_case(settings: Settings, contenders: list[Contender], logdir: Path) -> dict:
    runs = interleaved(settings, contenders, "/vary", logdir, SCRIPT)
    return {name: summarize(r) for name, r in runs.items()}
