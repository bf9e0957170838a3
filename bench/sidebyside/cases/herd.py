"""Case 4: thundering herd. N clients open their connections first, then all send at once: to a key never seen
(cold fill) and, 2.5 s later, to the same key after its max-age=1 ran out. Counts requests that reached the origin."""

from __future__ import annotations

import asyncio
import time

from ..contenders import Contender
from ..settings import Settings, log


async def _herd_async(port: int, path: str, clients: int, timeout: float,
                      cookies: list[str] | None) -> list[tuple[int, str]]:
    conns = await asyncio.wait_for(
        asyncio.gather(*[asyncio.open_connection("127.0.0.1", port) for _ in range(clients)]), timeout)
    for i, (_, writer) in enumerate(conns):
        cookie = f"Cookie: {cookies[i % len(cookies)]}\r\n" if cookies else ""
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{cookie}Connection: close\r\n\r\n".encode())
    await asyncio.gather(*[writer.drain() for _, writer in conns])

    async def read(reader: asyncio.StreamReader) -> tuple[int, str]:
        data = await reader.read(-1)
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        status = int(head.split(" ", 2)[1]) if head.startswith("HTTP/") else 0
        cache = ""
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() in ("x-cache", "age"):
                cache += f"{name.strip().lower()}={value.strip()} "
        return status, cache.strip()

    try:
        return await asyncio.wait_for(asyncio.gather(*[read(r) for r, _ in conns]), timeout)
    finally:
        for _, writer in conns:
            writer.close()


def herd(port: int, path: str, clients: int, timeout: float = 20.0,
         cookies: list[str] | None = None) -> list[tuple[int, str]]:
    """Connects all clients, then sends one GET on each at once (client i with cookies[i % n], if given)."""
    return asyncio.run(_herd_async(port, path, clients, timeout, cookies))


def herd_case(settings: Settings, contenders: list[Contender], run_id: str) -> dict:
    results: dict[str, dict] = {c.name: {"expired": [], "cold": [], "statuses": []} for c in contenders}
    for r in range(settings.herd_rounds):
        for c in contenders:
            gen = f"{run_id}-{c.name}-{r}"
            path = f"/herd?gen={gen}"
            # Cold: nothing cached yet, 64 clients at once.
            replies = herd(c.port, path, settings.herd_clients)
            time.sleep(0.5)
            cold = c.origin_hits()["herd"].get(gen, 0)
            # Expired: the entry (max-age=1) is now stale; 64 clients at once again.
            time.sleep(2.5)
            before = c.origin_hits()["herd"].get(gen, 0)
            replies2 = herd(c.port, path, settings.herd_clients)
            time.sleep(1.0)  # let a background refresh finish
            after = c.origin_hits()["herd"].get(gen, 0)
            expired = after - before
            statuses = sorted({s for s, _ in replies + replies2})
            results[c.name]["cold"].append(cold)
            results[c.name]["expired"].append(expired)
            results[c.name]["statuses"].append(statuses)
            bad = sum(1 for s, _ in replies + replies2 if s != 200)
            log(f"herd round {r + 1} {c.name:<10} cold fill: {cold} origin reqs; after expiry: {expired} origin reqs;"
                f" non-200 replies {bad}; sample {replies2[0][1]!r}")
    return results
