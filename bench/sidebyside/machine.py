"""The machine and the tool versions, for the report's header."""

from __future__ import annotations

import os
import platform
import subprocess

from .settings import REPO


def cmd_output(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (out.stdout + out.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"


def machine_info() -> dict:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MiB"
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory": mem,
        "kernel": platform.release(),
        "loadavg_start": open("/proc/loadavg").read().strip(),
    }


def versions() -> dict:
    return {
        "dotnet": cmd_output(["dotnet", "--version"]),
        "nginx": cmd_output(["nginx", "-v"]).replace("nginx version: ", ""),
        "varnishd": cmd_output(["varnishd", "-V"]).splitlines()[0],
        "passenger": cmd_output(["passenger", "--version"]).splitlines()[0],
        "wrk": cmd_output(["wrk", "-v"]).splitlines()[0],
        "node": cmd_output(["node", "--version"]),
        "python": platform.python_version(),
        "porter_commit": cmd_output(["git", "-C", str(REPO), "log", "-1", "--format=%h %s"]),
    }
