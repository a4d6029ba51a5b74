"""``POST /dispatch``: the stateless contract of ``urbangrid dispatch`` over HTTP.

The tasks and teams tables arrive as JSON rows with the columns the command's files have
(see :mod:`urbangrid.optimizer.tables`); they are checked and turned into a problem by
:func:`urbangrid.optimizer.build_problem` and the answer rows are built by
:func:`urbangrid.optimizer.result_rows`, the two functions the command uses, so both front
ends accept, refuse and answer exactly alike.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from urbangrid.errors import InputError
from urbangrid.optimizer import Router, build_problem, result_rows, solve

__all__ = ["dispatch_tables"]


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows)
    # the command lower-cases the header of the files it reads; do the same
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


def _json_rows(df: pd.DataFrame) -> list[dict]:
    """Records with JSON-native values: Python ints/floats/strings, ``None`` when missing."""
    cols = {c: [None if pd.isna(v) else v.item() if isinstance(v, np.generic) else v
                for v in df[c].tolist()] for c in df.columns}
    return [dict(zip(cols, vals, strict=True)) for vals in zip(*cols.values(), strict=True)]


def dispatch_tables(district, tasks: list[dict], teams: list[dict], *, now=None,
                    method: str = "mcf", mode: str = "ebike", skills: str | None = None,
                    time_limit: float | None = None, seed: int = 0,
                    routes: bool = False) -> dict:
    """Solve one batch; returns ``{"assignments": rows, "summary": {...}}``.

    Raises
    ------
    InputError
        Malformed tables, naming the table (``tasks``/``teams``), row and column.
    """
    if time_limit is not None and not time_limit > 0:
        raise InputError(f"time_limit must be > 0, got {time_limit}")
    problem, _, kind = build_problem(
        _frame(tasks), _frame(teams), district, now=now, mode=mode,
        skills=skills, tasks_source="tasks", teams_source="teams", with_cell_travel=routes)
    a = solve(problem, method=method, time_limit=time_limit, seed=seed)
    if routes:
        a = Router("auto", seed=seed)(problem, a)
    lb = float(a.lower_bound)
    return {"assignments": _json_rows(result_rows(problem, a, kind)), "summary": {
        "tasks": problem.n_tasks, "teams": problem.n_teams, "assigned": a.n_assigned,
        "deferred": a.n_deferred, "objective": float(a.objective),
        "lower_bound": lb if np.isfinite(lb) else None, "method": a.method,
        "status": a.status, "solve_seconds": float(a.solve_seconds)}}
