"""``urbangrid dispatch``: assign a batch of tasks to teams from files.

A thin layer over :func:`urbangrid.optimizer.solve` and :func:`urbangrid.optimizer.route`:
read and check the two files and build a :class:`DispatchProblem` on the district's cells
(:func:`~urbangrid.optimizer.build_problem`; :mod:`urbangrid.optimizer.tables` describes the
columns), solve, write one row per task (:func:`~urbangrid.optimizer.result_rows`) and print
a summary. ``--instance NAME`` takes a named reference instance instead of the two files
(:func:`~urbangrid.optimizer.load_instance`) and prints the objective next to its
best-known one. Malformed input raises :class:`InputError` naming the file, row and
column; a well-formed task no team can serve is deferred with its reason.

:func:`register` imports nothing beyond ``argparse``: the handler loads pandas, the
solvers, Numba and OR-Tools when it runs, so ``urbangrid --help`` loads none of them.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from urbangrid.errors import InputError

from ._methods import METHODS

__all__ = ["register", "run_dispatch"]

log = logging.getLogger("urbangrid.dispatch")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``dispatch`` to the ``urbangrid`` command line."""
    p = subparsers.add_parser(
        "dispatch", help="assign tasks to teams (min-cost flow) and write the plan",
        description="Assign a batch of tasks to field teams and write one row per task "
        "(team, order, ETA, cost, or deferred with the reason).")
    p.add_argument("--tasks", metavar="FILE", help="tasks (CSV/Parquet/GeoJSON)")
    p.add_argument("--teams", metavar="FILE", help="teams (CSV/Parquet/GeoJSON)")
    p.add_argument("--instance", metavar="NAME",
                   help="a named reference instance instead of --tasks and --teams (its "
                   "district, clock and weights; prints the gap to its best-known "
                   "objective); the set is in $URBANGRID_INSTANCES, else the source "
                   "checkout's benchmarks/instances")
    p.add_argument("--out", metavar="FILE",
                   help="result (.csv or .parquet); required with --tasks and --teams")
    p.add_argument("--allow-overdue", action="store_true",
                   help="accept tasks whose deadline is before now (a backlog)")
    p.add_argument("--district", default="jingan", metavar="jingan|FILE",
                   help="built-in 'jingan' (default) or a sub-district boundary file")
    p.add_argument("--resolution", type=int, default=10, help="H3 resolution (default 10)")
    p.add_argument("--method", choices=METHODS, default="mcf", help="solver (default mcf)")
    p.add_argument("--routes", action="store_true", help="also sequence each team's tasks")
    p.add_argument("--now", help="current time (ISO or seconds; default: earliest shift start)")
    p.add_argument("--mode", default="ebike", help="travel mode of teams without a 'mode'")
    p.add_argument("--skills", help="known skill names, ';'-separated (default: the teams')")
    p.add_argument("--time-limit", type=float, metavar="S", help="solver time limit, seconds")
    p.add_argument("--seed", type=int, default=0, help="random seed (CP-SAT, PyVRP)")
    p.set_defaults(func=run_dispatch)


def _district(args):
    from urbangrid.grid import District

    if args.district in (None, "", "jingan"):
        return District.jingan(args.resolution)
    if not Path(args.district).exists():
        raise InputError(f"--district: no such file {args.district!r} (or use 'jingan')")
    return District.from_files(args.district, resolution=args.resolution)


def _write(out, path: Path) -> None:
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        out.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        out.to_parquet(path, index=False)
    else:
        raise InputError(f"--out: unsupported file type {suffix!r} (use .csv or .parquet)")


def run_dispatch(args: argparse.Namespace) -> int:
    """The ``dispatch`` handler: read, solve, write, print the summary; returns 0."""
    import numpy as np

    from ._kernels import checked_time_limit
    from .routing import Router
    from .solver import solve
    from .tables import build_problem, read_table, result_rows

    t0 = time.perf_counter()
    instance = getattr(args, "instance", None)
    if instance is not None and (args.tasks or args.teams):
        raise InputError("--instance replaces --tasks and --teams: give one or the other")
    if instance is not None:
        # the instance fixes its district, clock, modes and skills: a different one
        # asked for here would silently not apply
        given = [flag for flag, value, default in (
            ("--now", args.now, None), ("--skills", args.skills, None),
            ("--district", args.district, "jingan"), ("--resolution", args.resolution, 10),
            ("--mode", args.mode, "ebike"), ("--allow-overdue", args.allow_overdue, False))
            if value != default]
        if given:
            raise InputError(f"--instance carries its own district, clock, travel modes and "
                             f"skills: drop {', '.join(given)}")
    if instance is None and not (args.tasks and args.teams and args.out):
        raise InputError("give --tasks, --teams and --out (or --instance NAME)")
    out_path = Path(args.out) if args.out else None
    if out_path is not None and out_path.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise InputError(f"--out: unsupported file type {out_path.suffix!r} (use .csv or "
                         ".parquet)")
    checked_time_limit(args.time_limit, "--time-limit")
    if instance is not None:
        from .instances import load_instance

        inst = load_instance(instance)
        problem, kind = inst.problem, "seconds"
        tasks_source = str(inst.folder / "tasks.csv")
    else:
        inst = None
        tasks, teams = read_table(args.tasks), read_table(args.teams)
        district = _district(args)
        problem, _, kind = build_problem(
            tasks, teams, district, now=args.now, mode=args.mode, skills=args.skills,
            tasks_source=str(args.tasks), teams_source=str(args.teams),
            with_cell_travel=args.routes, allow_overdue=args.allow_overdue)
        tasks_source = str(args.tasks)
    log.info("%d tasks, %d teams, %d cells", problem.n_tasks, problem.n_teams,
             problem.n_cells)
    several = np.flatnonzero(problem.task_crews > 1)
    if several.size and args.method != "cpsat":
        i = int(several[0])
        raise InputError(f"task {problem.task_id[i]} needs {problem.task_crews[i]} crews at "
                         f"once: only --method cpsat sends several teams to a task "
                         f"(--method {args.method} sends one)", source=tasks_source)
    a = solve(problem, method=args.method, time_limit=args.time_limit, seed=args.seed)
    if args.routes:
        a = Router("auto", seed=args.seed)(problem, a)
    if out_path is not None:
        _write(result_rows(problem, a, kind), out_path)
    _print_summary(a, problem, time.perf_counter() - t0, out_path, inst)
    return 0


def _print_summary(a, p, seconds, out_path, inst=None) -> None:
    import numpy as np
    import pandas as pd

    from .problem import DeferReason

    reasons = pd.Series(a.reason[a.team < 0]).map(lambda r: DeferReason(int(r)).name.lower())
    gap = ""
    if np.isfinite(a.lower_bound) and a.objective:
        gap = f"{max(a.objective - a.lower_bound, 0.0) / abs(a.objective):.4%}"
    lines = [
        f"tasks            {p.n_tasks:,}",
        f"teams            {p.n_teams:,}",
        f"assigned         {a.n_assigned:,}",
        f"deferred         {a.n_deferred:,}"
        + (f"  ({', '.join(f'{k}: {v}' for k, v in reasons.value_counts().items())})"
           if a.n_deferred else ""),
        f"objective        {a.objective:,.1f}",
        f"lower bound      {a.lower_bound:,.1f}" + (f"  (gap {gap})" if gap else "")
        if np.isfinite(a.lower_bound) else "lower bound      –",
        f"method / status  {a.method} / {a.status}",
        f"solve time       {a.solve_seconds:.3f} s (total {seconds:.2f} s)",
        f"written          {out_path if out_path is not None else '-'}",
    ]
    if inst is not None:
        from .evaluation import evaluate
        from .instances import gap

        best = inst.info.best_known
        objective = evaluate(p, a).objective  # the one public cost, as the best known's
        lines[:0] = [f"instance         {inst.name} (set version {inst.info.version})"]
        lines += [
            f"best known       {best.objective:,.3f}  ({best.proof}; {best.method})",
            f"this answer      {objective:,.3f}  (evaluate), gap to best known "
            f"{gap(objective, best.objective):.4%}",
        ]
    if "route_travel" in a.stats:
        lines.insert(6, f"route travel     {a.stats['route_travel'] / 3600:,.2f} h, lateness "
                        f"{a.stats['route_lateness'] / 3600:,.2f} h")
    print("\n".join(lines))
