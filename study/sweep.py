"""Parameter sweeps: the cross product of scenario values × replications, on any executor.

A sweep point is one combination of the ``--grid key=v1,v2,…`` values applied to a base
scenario with :meth:`Scenario.replace`. Every point runs replications ``0..R-1`` of the
base scenario's root seed, so runs are independent of where they execute: the ``local``
process pool (:func:`urbangrid.simulation.run_tasks`, the one the replications use), a
Dask ``LocalCluster`` or an existing Dask cluster give the same rows, and points compare
under common random numbers.

Outputs: :func:`run_sweep` returns one row per run (a :class:`pandas.DataFrame`),
:func:`summarise_sweep` one row per point and KPI with the mean and 95 % t-interval, and
:func:`plot_sweep` draws KPI against parameter with CI bands.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.catalogue import CHANNELS
from urbangrid.errors import InputError
from urbangrid.simulation import Scenario, process_count

__all__ = [
    "SWEEP_KPIS",
    "SweepPlan",
    "parse_grid",
    "plan_sweep",
    "plot_sweep",
    "run_sweep",
    "summarise_sweep",
]

#: KPIs summarised and plotted by default (``channel.kpi`` for a channel's value).
SWEEP_KPIS = ("handling_days_calendar_mean", "hotline.handling_days_calendar_mean",
              "hotline.handling_days_working_mean", "on_time_rate", "backlog_mean",
              "utilisation_mean")

#: Seconds to wait for a Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S = 5.0


def _split_values(raw: str) -> list[str]:
    """Split on commas outside brackets, braces and quotes (so lists stay whole)."""
    out, buf, depth, quote = [], [], 0, ""
    for ch in raw:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            out.append("".join(buf).strip())
            buf = []
            continue
        buf.append(ch)
    out.append("".join(buf).strip())
    return out


def _value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def parse_grid(items: Sequence[str], base: Scenario) -> dict[str, list[Any]]:
    """Parse ``key.path=v1,v2,…`` items and check every value against ``base``.

    Values are read as TOML (``3``, ``0.5``, ``true``, ``"mcf"``, ``[1, 2]``), else as
    plain strings. Each value is applied alone to ``base`` and validated, so an unknown
    key or a value of the wrong type fails here, before any run.

    Raises
    ------
    InputError
        Naming the ``--grid`` item, the key and the offending value.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key or not raw.strip():
            raise InputError(f"--grid {item!r}: expected key.path=value1,value2,...")
        if key in grid:
            raise InputError(f"--grid {key}: given twice")
        values = [_value(v) for v in _split_values(raw)]
        if any(v == "" for v in values):
            raise InputError(f"--grid {item!r}: empty value")
        for v in values:
            try:
                base.replace({key: v})
            except InputError as exc:
                msg = str(exc)
                if exc.source:
                    msg = msg.removeprefix(f"{exc.source}: ")
                raise InputError(f"--grid {key}={v!r}: {msg}") from None
        grid[key] = values
    if not grid:
        raise InputError("a sweep needs at least one --grid key=values")
    return grid


@dataclass(frozen=True)
class SweepPlan:
    """The runs of a sweep: points (value combinations) × replications."""

    base: Scenario
    grid: dict[str, list[Any]]
    replications: int
    seed: int

    @property
    def points(self) -> list[dict[str, Any]]:
        """Every combination of the grid values, first key varying slowest."""
        keys = list(self.grid)
        return [dict(zip(keys, combo, strict=True))
                for combo in itertools.product(*self.grid.values())]

    def tasks(self) -> list[tuple[int, int, Scenario, int]]:
        """``(point, replication, scenario, seed)`` for every run, in row order."""
        out = []
        for p, values in enumerate(self.points):
            sc = self.base.replace(values)
            for r in range(self.replications):
                out.append((p, r, sc, self.seed))
        return out


def plan_sweep(base: Scenario, grid: dict[str, list[Any]], *, replications: int | None = None,
               seed: int | None = None) -> SweepPlan:
    """A :class:`SweepPlan` over ``grid`` (see :func:`parse_grid`)."""
    reps = base.run.replications if replications is None else int(replications)
    if reps < 1:
        raise InputError(f"--replications = {reps}: must be at least 1")
    return SweepPlan(base=base, grid=grid, replications=reps,
                     seed=base.run.seed if seed is None else int(seed))


def _run_one(task: tuple[int, int, Scenario, int]) -> dict[str, Any]:
    """One run to one flat row (module level so that process pools and Dask can ship it)."""
    from urbangrid.simulation import compute_kpis, simulate

    p, r, scenario, seed = task
    res = simulate(scenario, seed=seed, replication=r)
    k = compute_kpis(res)
    row: dict[str, Any] = {"point": p, "replication": r, "seed": seed,
                           "wall_seconds": res.wall_seconds}
    for name, v in k["all"].items():
        row[name] = v
    for ch in CHANNELS:
        for name, v in k[ch].items():
            row[f"{ch}.{name}"] = v
    return row


def _local(tasks, processes: int, on_done) -> list[dict[str, Any]]:
    from urbangrid.simulation import run_tasks

    workers = min(processes, len(tasks)) if processes > 1 and len(tasks) > 1 else 0
    return run_tasks(_run_one, tasks, workers=workers, districts=[t[2] for t in tasks],
                     on_done=on_done)


def _dask_client(scheduler: str | None, workers: int, processes: bool):
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:
        raise InputError("--executor dask needs Dask distributed: pip install "
                         "'urbangrid[dask]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S, set_as_default=False), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} within "
                             f"{SCHEDULER_TIMEOUT_S:g} s ({type(exc).__name__}: {exc})",
                             source="--scheduler") from None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None)
    return Client(cluster, set_as_default=False), cluster


def _dask(tasks, scheduler, workers, processes, on_done) -> list[dict[str, Any]]:
    from distributed import as_completed

    client, cluster = _dask_client(scheduler, workers, processes)
    try:
        with client.as_current():
            futs = client.map(_run_one, tasks, pure=False)
            rows = []
            for fut in as_completed(futs):
                rows.append(fut.result())
                on_done(len(rows))
        return rows
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(
    plan: SweepPlan,
    *,
    executor: str = "local",
    processes: int | None = None,
    scheduler: str | None = None,
    dask_processes: bool = True,
    on_done: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """Run every point × replication of ``plan``; one row per run, in plan order.

    Parameters
    ----------
    executor
        ``"local"`` (a process pool) or ``"dask"`` (Dask distributed: a ``LocalCluster``
        when ``scheduler`` is None, else the cluster at that address).
    processes
        Local worker processes, or the Dask ``LocalCluster``'s workers (default
        ``base.run.processes``, 0 = one per core).
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``).
    dask_processes
        Whether a Dask ``LocalCluster`` runs its workers as processes (threads otherwise).
    on_done
        Called with the number of runs finished so far.

    Returns
    -------
    pandas.DataFrame
        Columns: ``point``, one per grid key (its value), ``replication``, ``seed``,
        ``wall_seconds``, every KPI of all cases, and ``channel.kpi`` per channel.

    Raises
    ------
    InputError
        An unknown executor, Dask not installed, or an unreachable scheduler.
    """
    if executor not in ("local", "dask"):
        raise InputError(f"--executor {executor!r}: choose local or dask")
    if scheduler and executor != "dask":
        raise InputError("--scheduler needs --executor dask")
    procs = process_count(processes, plan.base.run.processes)
    tasks = plan.tasks()
    cb = on_done or (lambda k: None)
    if executor == "local":
        rows = _local(tasks, procs, cb)
    else:
        rows = _dask(tasks, scheduler, procs, dask_processes, cb)
    rows.sort(key=lambda r: (r["point"], r["replication"]))
    points = plan.points
    df = pd.DataFrame(rows)
    for j, key in enumerate(plan.grid):
        vals = [_cell(points[p][key]) for p in df["point"]]
        df.insert(1 + j, key, vals)
    return df


def _cell(v: Any) -> Any:
    # Parquet columns need one type; lists and tables are stored as their TOML-ish text.
    return v if isinstance(v, (bool, int, float, str)) else repr(v)


def summarise_sweep(df: pd.DataFrame, keys: Sequence[str],
                    kpis: Sequence[str] = SWEEP_KPIS) -> pd.DataFrame:
    """Mean, 95 % t half-width and n per point and KPI (long format)."""
    from urbangrid.simulation import t_interval

    missing = [k for k in kpis if k not in df.columns]
    if missing:
        raise InputError(f"unknown KPI(s) {missing}: use a KPI name, or channel.kpi with a "
                         f"channel of {', '.join(CHANNELS)}")
    rows = []
    for p, g in df.groupby("point", sort=True):
        for k in kpis:
            mean, half, n = t_interval(g[k].to_numpy(dtype=float))
            rows.append({"point": p, **{key: g[key].iloc[0] for key in keys}, "kpi": k,
                         "mean": mean, "ci95": half, "n": n})
    return pd.DataFrame(rows)


def plot_sweep(summary: pd.DataFrame, keys: Sequence[str], path: str | Path) -> Path:
    """KPI against the first grid key with 95 % CI bands; a line per value of the others.

    Non-numeric values (policy names …) are placed at equal spacing and labelled.
    """
    from matplotlib.figure import Figure

    kpis = list(dict.fromkeys(summary["kpi"]))
    x_key = keys[0]
    others = list(keys[1:])
    xs = list(dict.fromkeys(summary[x_key]))
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in xs)
    pos = {v: (float(v) if numeric else i) for i, v in enumerate(xs)}
    ncol = 2
    nrow = math.ceil(len(kpis) / ncol)
    fig = Figure(figsize=(11, 3.2 * nrow))
    axes = fig.subplots(nrow, ncol, squeeze=False)
    for i, k in enumerate(kpis):
        ax = axes[i // ncol, i % ncol]
        sub = summary[summary["kpi"] == k]
        groups = sub.groupby(others, sort=False) if others else [((), sub)]
        for gkey, g in groups:
            g = g.sort_values(x_key, key=lambda s: s.map(pos))
            x = np.array([pos[v] for v in g[x_key]])
            m = g["mean"].to_numpy(dtype=float)
            h = np.nan_to_num(g["ci95"].to_numpy(dtype=float))
            gk = gkey if isinstance(gkey, tuple) else (gkey,)
            label = ", ".join(f"{o}={v}" for o, v in zip(others, gk, strict=True)) or None
            (line,) = ax.plot(x, m, marker="o", label=label)
            ax.fill_between(x, m - h, m + h, color=line.get_color(), alpha=0.2)
        if not numeric:
            ax.set_xticks(list(pos.values()))
            ax.set_xticklabels([str(v) for v in xs])
        ax.set_title(k, fontsize=9)
        ax.set_xlabel(x_key, fontsize=8)
        ax.grid(alpha=0.3)
        if others:
            ax.legend(fontsize=7)
    for i in range(len(kpis), nrow * ncol):
        axes[i // ncol, i % ncol].set_visible(False)
    fig.suptitle("Sweep: mean over replications with 95 % CI band")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    return path
