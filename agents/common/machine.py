"""The machine a run or a benchmark ran on, named beside its wall times (torch-free, so that the
environment's own benchmarks can use it too)."""

from __future__ import annotations

import functools
import platform
from pathlib import Path


@functools.cache
def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name (Linux: ``cpuinfo``'s "model name" line), else what ``platform``
    knows (e.g. "arm"): speed figures depend on it, so runs, cards and benchmarks print it."""
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or "unknown"
