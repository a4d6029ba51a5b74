"""Benchmark harness: measurements as ratios against a reference timed in the same run.

Machines here are noisy, so a benchmark never asserts an absolute time. Each
:class:`Measurement` records the measured time, the time of a reference measured in the
same process (a floor or a slower baseline implementation), and their ratio; the stored
baseline (``baseline.json``) holds ratios only, and ``check`` compares ratios.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "Measurement", "calibration_seconds", "check", "machine_info", "peak_rss_mb_of", "timeit",
    "write_results",
]


@dataclasses.dataclass
class Measurement:
    """One benchmark figure.

    ``ratio`` is ``seconds / reference_seconds`` unless the benchmark defines it
    otherwise (``ratio_kind`` says what it means); the regression check compares it to
    the baseline, where a larger ratio is worse.
    """

    name: str
    seconds: float
    reference: str | None = None
    reference_seconds: float | None = None
    ratio: float | None = None
    ratio_kind: str = "time / reference time (lower is better)"
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ratio is None and self.reference_seconds:
            self.ratio = self.seconds / self.reference_seconds


def timeit(fn: Callable[[], Any], *, repeat: int = 5, number: int = 1) -> float:
    """Median wall time of ``number`` calls of ``fn`` over ``repeat`` rounds, in seconds.

    The garbage collector is disabled while timing (and collected before), as in
    :mod:`timeit`, so a collection triggered by earlier work does not land in a round.
    """
    times = []
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            start = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - start) / number)
    finally:
        if was_enabled:
            gc.enable()
    return statistics.median(times)


def peak_rss_mb_of(code: str, timeout: float = 900) -> tuple[float, float, str]:
    """Run ``code`` in a fresh interpreter; return (peak RSS MB, wall seconds, stdout).

    A fresh process is the only honest way to attribute peak memory to one piece of work.
    """
    wrapper = (
        "import resource, time\n_t0 = time.perf_counter()\n"
        + code
        + "\nprint('__PEAK_KB__', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        + "\nprint('__WALL__', time.perf_counter() - _t0)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark subprocess failed:\n{proc.stderr[-2000:]}")
    peak_kb = wall = None
    lines = []
    for line in proc.stdout.splitlines():
        if line.startswith("__PEAK_KB__"):
            peak_kb = float(line.split()[1])
        elif line.startswith("__WALL__"):
            wall = float(line.split()[1])
        else:
            lines.append(line)
    return peak_kb / 1024.0, wall, "\n".join(lines)


def machine_info() -> dict[str, Any]:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
    }


def write_results(measurements: list[Measurement], out_dir: Path, *, quick: bool) -> dict:
    """Write ``results.json`` and ``RESULTS.md`` into ``out_dir``; return the JSON dict."""
    doc = {
        "machine": machine_info(),
        "quick": quick,
        "measurements": [dataclasses.asdict(m) for m in measurements],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(doc, indent=2) + "\n")
    rows = [
        "| benchmark | time | reference | ratio | notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in measurements:
        ref = (
            f"{m.reference} {_fmt_seconds(m.reference_seconds)}"
            if m.reference and m.reference_seconds is not None
            else (m.reference or "")
        )
        ratio = f"{m.ratio:.3g}" if m.ratio is not None else ""
        notes = ", ".join(f"{k} {_fmt(v)}" for k, v in m.extra.items())
        rows.append(f"| {m.name} | {_fmt_seconds(m.seconds)} | {ref} | {ratio} | {notes} |")
    info = doc["machine"]
    header = (
        f"# Benchmark results\n\nRun {info['date']} on {info['cpu']} ({info['cores']} cores), "
        f"Python {info['python']}; {'quick' if quick else 'full'} suite "
        f"(`make {'bench-quick' if quick else 'bench'}`).\n\n"
    )
    (out_dir / "RESULTS.md").write_text(header + "\n".join(rows) + "\n")
    return doc


# A reference whose time moved by this factor since the baseline marks a changed
# environment, not a changed engine.
REFERENCE_MOVED = 1.5


def check(measurements: list[Measurement], baseline: dict,
          default_tolerance: float) -> list[str]:
    """Compare ratios with the baseline; return one message per regression.

    A ratio regresses when it exceeds ``baseline × (1 + tolerance)``, with the tolerance
    stored beside each baseline ratio (``default_tolerance`` where none is). Benchmarks
    absent from the baseline are skipped, not failed.
    """
    failures = []
    base = {m["name"]: m for m in baseline.get("measurements", [])}
    for m in measurements:
        if m.ratio is None or m.name not in base or base[m.name].get("ratio") is None:
            continue
        tol = base[m.name].get("tolerance", default_tolerance)
        limit = base[m.name]["ratio"] * (1.0 + tol)
        if m.ratio > limit:
            failures.append(
                f"{m.name}: ratio {m.ratio:.3g} > baseline {base[m.name]['ratio']:.3g} "
                f"× (1 + {tol:.0%}) = {limit:.3g}" + _reference_moved(m, base[m.name])
            )
    return failures


def _reference_moved(m: Measurement, stored: dict) -> str:
    """A note when the reference itself ran at another speed than when the baseline was
    written (a new NumPy or CPU moves a reference workload as much as the engine): the
    ratio then says nothing about the engine, and the baseline needs rewriting here."""
    then, now = stored.get("reference_seconds"), m.reference_seconds
    if not then or not now or max(then, now) / min(then, now) < REFERENCE_MOVED:
        return ""
    return (f" (its reference, {m.reference}, took {_fmt_seconds(now)} against "
            f"{_fmt_seconds(then)} when the baseline was written: if the engine's own "
            f"time, {_fmt_seconds(m.seconds)}, has not moved, rewrite the baseline on "
            "this machine)")


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return ""
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _calibration_work() -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.random(200_000)
    np.sort(a)
    total = 0
    for i in range(50_000):  # the interpreter's share: dispatch code is part Python
        total += i & 7


def calibration_seconds(repeat: int = 9) -> float:
    """A fixed mixed NumPy + interpreter workload: the reference for benchmarks with no
    natural floor, so that their ratio cancels the machine's speed."""
    return timeit(_calibration_work, repeat=repeat)
