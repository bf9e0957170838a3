"""Case 5: memory per cached entry of a fresh Porter: RSS before and after filling N distinct 2 KB entries over
bounded keep-alive concurrency, then a sample (oldest first) to check that the entries were kept."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from pathlib import Path

from ..client import http_get
from ..contenders import Contender
from ..settings import PAGE_BYTES, Settings, log


async def _fill_async(port: int, paths: list[str], concurrency: int) -> tuple[int, int]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for p in paths:
        queue.put_nowait(p)
    ok = bad = 0

    async def worker():
        nonlocal ok, bad
        reader = writer = None
        while True:
            try:
                path = queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            for _attempt in range(3):
                try:
                    if writer is None:
                        reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                    status = int(head.split(b" ", 2)[1])
                    length = 0
                    close = False
                    for line in head.split(b"\r\n")[1:]:
                        name, _, value = line.partition(b":")
                        lname = name.strip().lower()
                        if lname == b"content-length":
                            length = int(value)
                        elif lname == b"connection" and b"close" in value.lower():
                            close = True
                    if length:
                        await reader.readexactly(length)
                    if status == 200:
                        ok += 1
                    else:
                        bad += 1
                    if close:
                        writer.close()
                        reader = writer = None
                    break
                except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError, ValueError):
                    if writer is not None:
                        writer.close()
                    reader = writer = None
            else:
                bad += 1
        if writer is not None:
            writer.close()

    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return ok, bad


def gc_snapshot(gcdump: str | None, pid: int, out: Path) -> dict | None:
    """Induces a full blocking GC in the process by taking a gcdump; returns the heap totals and top types."""
    if not gcdump:
        return None
    try:
        subprocess.run([gcdump, "collect", "-p", str(pid), "-o", str(out)], capture_output=True, text=True,
                       timeout=180, check=True)
        report = subprocess.run([gcdump, "report", str(out)], capture_output=True, text=True, timeout=180,
                                check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log(f"gcdump failed: {exc}")
        return None
    heap = re.search(r"([\d,]+)\s+GC Heap bytes", report)
    objects = re.search(r"([\d,]+)\s+GC Heap objects", report)
    # gcdump report rows: average bytes per object, object count, type (sizes over 1K/10K/... in their own rows).
    types = []
    for line in report.splitlines():
        m = re.match(r"\s*([\d,]+)\s+([\d,]+)\s+(.+?)\s+\[", line)
        if m:
            size, count = int(m.group(1).replace(",", "")), int(m.group(2).replace(",", ""))
            types.append({"bytes_each": size, "count": count, "approx_total": size * count, "type": m.group(3)})
    return {
        "heap_bytes": int(heap.group(1).replace(",", "")) if heap else None,
        "heap_objects": int(objects.group(1).replace(",", "")) if objects else None,
        "top_types_v2": sorted(types, key=lambda t: -t["approx_total"])[:25],
    }


def memory_case(settings: Settings, porter: Contender, run_id: str, gcdump: str | None, workdir: Path) -> dict:
    proc = porter.proc
    assert proc is not None
    # Warm the hit and miss paths first so JIT, Kestrel and pool buffers are not counted per entry.
    asyncio.run(_fill_async(porter.port, [f"/page?warm={run_id}-{i}" for i in range(2000)], 32))
    asyncio.run(_fill_async(porter.port, [f"/page?warm={run_id}-{i % 200}" for i in range(20000)], 32))
    time.sleep(3)
    gc_before = gc_snapshot(gcdump, proc.pid, workdir / "before.gcdump")
    time.sleep(1)
    rss_before = proc.rss_bytes()
    porter.reset_origin()
    n = settings.mem_entries
    log(f"memory: filling {n} distinct 2 KB entries through Porter (32 keep-alive connections)")
    t0 = time.monotonic()
    ok, bad = asyncio.run(_fill_async(porter.port, [f"/page?n={run_id}-{i}" for i in range(n)], 32))
    fill_s = time.monotonic() - t0
    origin_fills = porter.origin_hits()["total"]
    rss_after_fill = proc.rss_bytes()
    time.sleep(5)
    gc_after = gc_snapshot(gcdump, proc.pid, workdir / "after.gcdump")
    time.sleep(1)
    rss_after = proc.rss_bytes()
    # Are the entries still there? Sample some, earliest first (an evicting cache drops those).
    porter.reset_origin()
    step = max(1, n // 200)
    sample = [f"/page?n={run_id}-{i}" for i in range(0, n, step)]
    hits = 0
    for p in sample:
        _, headers, _ = http_get(porter.port, p)
        if headers.get("x-cache", "").upper().startswith("HIT"):
            hits += 1
    sample_origin = porter.origin_hits()["total"]
    delta = rss_after - rss_before
    per_entry = delta / n
    result = {
        "entries": n, "ok": ok, "bad": bad, "fill_seconds": fill_s, "origin_requests_during_fill": origin_fills,
        "rss_before": rss_before, "rss_after_fill": rss_after_fill, "rss_after": rss_after,
        "bytes_per_entry": per_entry, "bytes_per_entry_beyond_body": per_entry - PAGE_BYTES,
        "sampled": len(sample), "sample_hits_x_cache": hits, "sample_origin_requests": sample_origin,
        "induced_gc": gc_before is not None and gc_after is not None,
        "gc_before": gc_before, "gc_after": gc_after,
    }
    if gc_before and gc_after and gc_before["heap_bytes"] and gc_after["heap_bytes"]:
        result["heap_bytes_per_entry"] = (gc_after["heap_bytes"] - gc_before["heap_bytes"]) / n
        log(f"memory: managed heap (gcdump) {gc_before['heap_bytes'] / 2**20:.1f} MiB -> "
            f"{gc_after['heap_bytes'] / 2**20:.1f} MiB: {result['heap_bytes_per_entry']:.0f} B/entry")
    log(f"memory: RSS {rss_before / 2**20:.1f} MiB -> {rss_after / 2**20:.1f} MiB for {n} entries:"
        f" {per_entry:.0f} B/entry, {per_entry - PAGE_BYTES:.0f} B beyond the body; sample: {hits}/{len(sample)}"
        f" X-Cache HIT, {sample_origin} went to the origin")
    return result
