"""Replications: independent runs from one root seed, in parallel, summarised with CIs."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from urbangrid.catalogue import CHANNELS

from .kpis import SUBDISTRICT_PREFIX, compute_kpis
from .run import RunResult, simulate
from .scenario import Scenario

__all__ = ["ReplicationSummary", "run_replications", "summarise", "t_interval"]


def t_interval(values: np.ndarray | list[float]) -> tuple[float, float, int]:
    """Mean and half-width of the 95 % Student-t interval over the finite values.

    Returns ``(mean, half_width, n)``; the half-width is NaN for fewer than 2 values.
    """
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = int(x.size)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = float(x.mean())
    if n < 2:
        return mean, float("nan"), n
    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, half, n


@dataclass
class ReplicationSummary:
    """KPIs of every replication and their summary."""

    per_replication: list[dict[str, dict[str, float]]]
    first: RunResult | None

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """``{"all" | channel: {kpi: {"mean", "ci95", "n"}}}``."""
        return summarise(self.per_replication)


def summarise(per_rep: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, Any]]:
    """Mean, 95 % t half-width and count per KPI and group over replications."""
    out: dict[str, dict[str, Any]] = {}
    for group in per_rep[0]:
        out[group] = {}
        for name in per_rep[0][group]:
            mean, half, n = t_interval([r[group][name] for r in per_rep])
            out[group][name] = {"mean": mean, "ci95": half, "n": n}
    return out


def _worker(args: tuple[Scenario, int, int]) -> dict[str, dict[str, float]]:
    scenario, seed, rep = args
    return compute_kpis(simulate(scenario, seed=seed, replication=rep))


def _numba_threads_started() -> bool:
    """Whether this process has started Numba's parallel threading layer."""
    try:
        import numba

        numba.threading_layer()
    except (ImportError, ValueError):  # ValueError: "Threading layer is not initialized"
        return False
    return True


def _context():
    # fork starts workers in milliseconds and shares the loaded district, but forking a
    # process whose Numba threads run (GNU OpenMP) kills the children; then (and off
    # Linux) a fork server, whose workers import the package afresh (scripts calling this
    # need the usual `if __name__ == "__main__":` guard).
    if sys.platform.startswith("linux") and not _numba_threads_started():
        return mp.get_context("fork")
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["urbangrid.simulation"])
        return ctx
    return mp.get_context("spawn")


def run_replications(
    scenario: Scenario,
    *,
    replications: int | None = None,
    seed: int | None = None,
    processes: int | None = None,
    keep_first: bool = True,
    progress: Callable[[float], None] | None = None,
    on_done: Callable[[int], None] | None = None,
) -> ReplicationSummary:
    """Run ``replications`` independent replications (common random numbers per index).

    Replication 0 runs in this process (its full records are kept when ``keep_first``);
    the others run in a process pool of ``processes`` workers (default
    ``scenario.run.processes``, 0 = one per core). Results do not depend on the number
    of processes.

    Parameters
    ----------
    progress
        Receives the fraction of replication 0's simulated time done.
    on_done
        Called with the number of replications finished so far.
    """
    reps = scenario.run.replications if replications is None else int(replications)
    seed = scenario.run.seed if seed is None else int(seed)
    procs = scenario.run.processes if processes is None else int(processes)
    if procs <= 0:
        procs = os.cpu_count() or 1
    results: list[dict[str, dict[str, float]] | None] = [None] * reps
    first = None
    done = 0
    pool = None
    futures = []
    if reps > 1 and procs > 1:
        # Load the district before forking so that workers share it.
        from .run import _space

        _space(scenario)
        pool = ProcessPoolExecutor(max_workers=min(procs - 1, reps - 1) or 1,
                                   mp_context=_context())
        futures = [(r, pool.submit(_worker, (scenario, seed, r))) for r in range(1, reps)]
    try:
        res0 = simulate(scenario, seed=seed, replication=0, progress=progress)
        results[0] = compute_kpis(res0)
        first = res0 if keep_first else None
        done += 1
        if on_done:
            on_done(done)
        if pool is None:
            for r in range(1, reps):
                results[r] = _worker((scenario, seed, r))
                done += 1
                if on_done:
                    on_done(done)
        else:
            for r, fut in futures:
                results[r] = fut.result()
                done += 1
                if on_done:
                    on_done(done)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return ReplicationSummary(per_replication=[r for r in results if r is not None],
                              first=first)


def kpis_document(scenario: Scenario, seed: int, summary: ReplicationSummary,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``kpis.json`` document (NaN written as null)."""
    s = summary.summary()
    doc = {
        "kpis": s["all"],
        "by_channel": {ch: s[ch] for ch in CHANNELS},
        "by_subdistrict": {g[len(SUBDISTRICT_PREFIX):]: v for g, v in s.items()
                           if g.startswith(SUBDISTRICT_PREFIX)},
        "scenario": scenario.to_dict(),
        "seed": seed,
        "replications": len(summary.per_replication),
        "warmup": {
            "method": "discard",
            "days": scenario.run.warmup_days,
            "note": "the first run.warmup_days are simulated and discarded: case KPIs "
                    "cover cases reported after the warm-up; backlog and utilisation are "
                    "measured over the post-warm-up window only",
        },
    }
    if extra:
        doc.update(extra)
    return _json_safe(doc)


def _json_safe(x: Any) -> Any:
    """Plain JSON values: NaN and infinities as None, NumPy scalars and arrays as Python
    ones, mapping keys as strings. Shared by every JSON document the package writes."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return _json_safe(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x
