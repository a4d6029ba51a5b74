"""``POST /dispatch``: the stateless contract of ``urbangrid dispatch`` over HTTP.

The tasks and teams tables arrive as JSON rows with the columns the command's files have
(see :mod:`urbangrid.optimizer.cli`); they are checked and turned into a problem by the
command's own :func:`~urbangrid.optimizer.cli.build_problem`, so both front ends accept
and refuse exactly the same input. The result rows have the command's output columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from urbangrid.grid.errors import InputError
from urbangrid.optimizer import DeferReason, Router, solve
from urbangrid.optimizer.cli import build_problem

__all__ = ["dispatch_tables"]


def _frame(rows: list[dict], what: str) -> pd.DataFrame:
    df = pd.DataFrame.from_records(rows)
    # the command lower-cases the header of the files it reads; do the same
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


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
        _frame(tasks, "tasks"), _frame(teams, "teams"), district, now=now, mode=mode,
        skills=skills, tasks_source="tasks", teams_source="teams", with_cell_travel=routes)
    a = solve(problem, method=method, time_limit=time_limit, seed=seed)
    if routes:
        a = Router("auto", seed=seed)(problem, a)
    assigned = a.team >= 0
    rows = []
    for i in range(problem.n_tasks):
        ok = bool(assigned[i])
        eta = None
        if ok:
            eta = (pd.Timestamp(round(float(a.eta[i])), unit="s").isoformat() if kind == "iso"
                   else float(a.eta[i]))
        rows.append({
            "id": int(problem.task_id[i]),
            "status": "assigned" if ok else "deferred",
            "team": int(problem.team_id[a.team[i]]) if ok else None,
            "order": int(a.order[i]) if ok and a.order is not None else None,
            "eta": eta,
            "cost": round(float(a.cost[i]), 3),
            "reason": DeferReason(int(a.reason[i])).name.lower() if a.reason[i] else "",
        })
        if a.crew_teams is not None:  # several crews per task (cpsat), as the command writes
            rows[-1]["crew_teams"] = ";".join(
                str(int(problem.team_id[k])) for k in a.crew_teams[i] if k >= 0)
    lb = float(a.lower_bound)
    return {"assignments": rows, "summary": {
        "tasks": problem.n_tasks, "teams": problem.n_teams, "assigned": a.n_assigned,
        "deferred": a.n_deferred, "objective": float(a.objective),
        "lower_bound": lb if np.isfinite(lb) else None, "method": a.method,
        "status": a.status, "solve_seconds": float(a.solve_seconds)}}
