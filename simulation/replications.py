"""Replications: independent runs from one root seed, in parallel, summarised with CIs.

Also the process pool every parallel run of the project goes through (:class:`TaskPool`,
:func:`run_tasks`): replications here, sweeps in :mod:`urbangrid.study` and the
validation's replications in :mod:`urbangrid.calibration`. It starts its workers so
that they survive a parent that has run Numba's parallel code, and returns results in
task order, so that a result never depends on the number of processes.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np
from scipy import stats

from urbangrid.catalogue import CHANNELS

from .kpis import FAIRNESS, OFFICE_PREFIX, SUBDISTRICT_PREFIX, compute_kpis
from .run import RunResult, simulate
from .scenario import Scenario

__all__ = ["ReplicationSummary", "TaskPool", "json_safe", "kpis_document", "pool_context",
           "process_count", "run_replications", "run_tasks", "summarise", "t_interval"]

T = TypeVar("T")
R = TypeVar("R")


def process_count(processes: int | None, default: int = 0) -> int:
    """Worker processes to use: ``processes`` (``default`` when None), where 0 or less
    means one per core. The one rule of every parallel run (replications, sweeps,
    validation, the services hall)."""
    n = default if processes is None else int(processes)
    return n if n > 0 else (os.cpu_count() or 1)


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


def pool_context():
    """The multiprocessing context of worker pools.

    Fork starts workers in milliseconds and shares the loaded district, but forking a
    process whose Numba threads run (GNU OpenMP) kills the children; then (and off
    Linux) a fork server, whose workers import the package afresh (scripts calling this
    need the usual ``if __name__ == "__main__":`` guard), else spawn.
    """
    if sys.platform.startswith("linux") and not _numba_threads_started():
        return mp.get_context("fork")
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["urbangrid.simulation"])
        return ctx
    return mp.get_context("spawn")


class TaskPool(Generic[T, R]):
    """``fn(task)`` for every task, in ``workers`` processes or (``workers`` < 1) here.

    A context manager: entering submits every task (workers start at once, so a caller
    can run other work in this process meanwhile); :meth:`results` waits for them and
    returns the results in task order; leaving cancels what has not started. Without
    workers, the tasks run in this process, in order, inside :meth:`results`.

    Parameters
    ----------
    fn
        A module-level function (workers receive it by reference).
    tasks
        Its arguments, one per call (picklable).
    workers
        Worker processes; 0 runs everything in this process.
    districts
        Scenarios whose districts are built in this process before the workers start,
        so that forked workers inherit them instead of each building its own.
    """

    def __init__(self, fn: Callable[[T], R], tasks: Sequence[T], *, workers: int,
                 districts: Iterable[Scenario] = ()) -> None:
        self.fn = fn
        self.tasks = list(tasks)
        self.workers = int(workers)
        self._districts = list(districts) if self.workers >= 1 else []
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Future] = []

    def __enter__(self) -> TaskPool[T, R]:
        if self.workers >= 1 and self.tasks:
            from .run import _space

            for sc in {s.district.model_dump_json(): s for s in self._districts}.values():
                _space(sc)
            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=pool_context())
            self._futures = [self._pool.submit(self.fn, t) for t in self.tasks]
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def results(self, on_done: Callable[[int], None] | None = None) -> list[R]:
        """Every task's result, in task order; ``on_done(k)`` after the k-th finishes."""
        out: list[Any] = [None] * len(self.tasks)
        if self._pool is None:
            for i, t in enumerate(self.tasks):
                out[i] = self.fn(t)
                if on_done:
                    on_done(i + 1)
            return out
        index = {f: i for i, f in enumerate(self._futures)}
        for k, fut in enumerate(as_completed(self._futures), start=1):
            out[index[fut]] = fut.result()
            if on_done:
                on_done(k)
        return out


def run_tasks(fn: Callable[[T], R], tasks: Sequence[T], *, workers: int,
              districts: Iterable[Scenario] = (),
              on_done: Callable[[int], None] | None = None) -> list[R]:
    """``[fn(t) for t in tasks]`` in a :class:`TaskPool` of ``workers`` processes."""
    with TaskPool(fn, tasks, workers=workers, districts=districts) as pool:
        return pool.results(on_done)


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

    Replication 0 runs in this process (its full records are kept when ``keep_first``)
    while the others run beside it in a :class:`TaskPool`, ``processes`` processes in
    all (default ``scenario.run.processes``, 0 = one per core). Results do not depend on
    the number of processes.

    Parameters
    ----------
    progress
        Receives the fraction of replication 0's simulated time done.
    on_done
        Called with the number of replications finished so far.
    """
    reps = scenario.run.replications if replications is None else int(replications)
    seed = scenario.run.seed if seed is None else int(seed)
    procs = process_count(processes, scenario.run.processes)
    # every core runs replications (replication 0 in this process shares one with a
    # worker while it lasts: the others would otherwise run one core short)
    workers = min(procs, reps - 1) if reps > 1 and procs > 1 else 0
    others = [(scenario, seed, r) for r in range(1, reps)]
    with TaskPool(_worker, others, workers=workers, districts=[scenario]) as pool:
        res0 = simulate(scenario, seed=seed, replication=0, progress=progress)
        kpis0 = compute_kpis(res0)
        if on_done:
            on_done(1)
        rest = pool.results(on_done=(lambda k: on_done(1 + k)) if on_done else None)
    return ReplicationSummary(per_replication=[kpis0, *rest],
                              first=res0 if keep_first else None)


def kpis_document(scenario: Scenario, seed: int, summary: ReplicationSummary,
                  extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``kpis.json`` document (NaN written as null)."""
    s = summary.summary()
    doc = {
        "kpis": s["all"],
        "by_channel": {ch: s[ch] for ch in CHANNELS},
        "by_subdistrict": {g[len(SUBDISTRICT_PREFIX):]: v for g, v in s.items()
                           if g.startswith(SUBDISTRICT_PREFIX)},
        "by_office": {g[len(OFFICE_PREFIX):]: v for g, v in s.items()
                      if g.startswith(OFFICE_PREFIX)},
        "fairness": s.get(FAIRNESS, {}),
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
    return json_safe(doc)


def json_safe(x: Any) -> Any:
    """Plain JSON values: NaN and infinities as None, NumPy scalars and arrays as Python
    ones, mapping keys as strings. Shared by every JSON document the project writes
    (``kpis.json``, ``comparison.json``, the calibration and validation files)."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return json_safe(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, np.integer):
        return int(x)
    return x
