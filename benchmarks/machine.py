"""What every speed benchmark records next to its numbers: the machine, versions, peak memory.

Imported by the scripts in this folder (run as `python benchmarks/<script>.py`, which puts this
folder on `sys.path`). Nothing here imports torch: `machine_info` reports torch only when the
script has already loaded it.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import sqlite3
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SHARED_DATA = REPO.parent / "shared" / "data"
CACHE = Path(os.environ.get("DOCSEARCH_BENCH_CACHE", "~/.cache/docsearch/bench")).expanduser()
_LOAD_AT_START = round(os.getloadavg()[0], 2)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# CPU features that decide how fast bf16 and int8 inference can be.
_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_flags() -> list[str]:
    """Which of the SIMD features that matter for inference this CPU has (Linux only)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    present = set(line.split(":", 1)[1].split())
                    return [flag for flag in _FLAGS if flag in present]
    except OSError:
        pass
    return []


def memory_total_gib() -> float | None:
    """Physical memory from /proc/meminfo, in GiB (None when unknown)."""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


_ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "DOCSEARCH_THREADS", "DOCSEARCH_FAISS")


def machine_info() -> dict[str, Any]:
    """CPU, cores, memory, load, thread settings and library versions, as a JSON-ready dict."""
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": memory_total_gib(),
        # The machine is shared: a load average near the core count means the numbers are slow.
        "load_average_1m_start": _LOAD_AT_START,
        "load_average_1m_end": round(os.getloadavg()[0], 2),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "versions": {
            name: _version(name)
            for name in ("numpy", "faiss-cpu", "torch", "sentencepiece", "sqlalchemy")
        },
        "env": {name: os.environ[name] for name in _ENV_VARS if name in os.environ},
    }
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        info["torch_threads"] = torch.get_num_threads()
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    if "faiss" in sys.modules:
        info["faiss_omp_threads"] = sys.modules["faiss"].omp_get_max_threads()
    return info


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    Linux: VmHWM from /proc/self/status. Not ru_maxrss: a child process inherits its parent's
    peak at fork and keeps it through exec, so ru_maxrss of a small child started by a large
    parent reports the parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def percentile_ms(seconds: list[float], q: float) -> float:
    """The q-th percentile (0..100) of durations given in seconds, in milliseconds."""
    ordered = sorted(seconds)
    if not ordered:
        return float("nan")
    # Nearest rank: p99 of 200 samples is the 198th value, never an interpolation.
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return round(1000 * ordered[rank - 1], 3)


def write_result(name: str, result: dict[str, Any], out: Path | None = None) -> Path:
    """Write `result`, the date and the machine to `results/<name>.json`; return the path."""
    path = out or RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(),
        **result,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path
