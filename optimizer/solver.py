"""``solve(problem, method=...)``: score, assign, and return an :class:`Assignment`.

Methods
-------
``"mcf"``
    Exact batch min-cost flow on candidate arcs with pricing (:func:`assign`); with at
    least as many candidates as teams, every feasible pair is a candidate.
``"mcf_dense"``
    The same flow with every feasible arc at once (reference for measurements).
``"greedy"``
    Global cheapest pair (:func:`greedy_assign`).
``"cpsat"``
    OR-Tools CP-SAT for side constraints the flow cannot express: tasks needing several
    crews at once (``task_crews > 1``). Started from the flow solution as a hint, on each
    task's ``candidates`` cheapest teams plus the flow's choice, with a time limit.

Small batches
-------------
A simulation calls ``mcf`` ~570 times a simulated day, half of the calls with one task,
where the Python glue between the steps (score, flow, record) cost as much as the
kernels (the simulation's compiled loop now calls the one-call kernel itself, through
:mod:`.compiled`). Without a time limit and without pinned tasks, a batch that :func:`assign`
would solve by its compiled small paths is solved by one compiled call
(:func:`_solve_small`; ``mcf_dense`` by two around OR-Tools, :func:`_solve_dense_small`)
running the same kernels on the same arrays: the same record and untimed statistics bit
for bit (``tests/optimizer/test_opt_small.py``). Measured on 2,805 snapshots of a 5-day
Jing'an run, us per call (min of 3 passes): one task 39 -> 23, 2-9 tasks 54 -> 34, 10+
tasks 266 -> 220.
"""

from __future__ import annotations

import time

import numpy as np

from urbangrid.errors import InputError

from . import _kernels, _policy_kernels, scoring
from ._common import _NO_CELL_TRAVEL, _assignment, finish, pair_cost
from ._methods import METHODS
from .assignment import (
    _INT_BUDGET,
    DEFAULT_SCALE,
    SSP_BUDGET_PER_ARC,
    SSP_MAX_TASKS,
    _assign,
    _dense_flows,
    greedy_assign,
)
from .problem import Assignment, DeferReason, DispatchProblem

__all__ = ["METHODS", "solve"]

CPSAT_DEFAULT_LIMIT = 10.0
# assign()'s default max_rounds, which solve() leaves as it is
_MAX_ROUNDS = 25


def solve(
    problem: DispatchProblem,
    method: str = "mcf",
    time_limit: float | None = None,
    seed: int = 0,
    *,
    candidates: int = 8,
    workers: int = 1,
) -> Assignment:
    """Assign the problem's tasks to teams.

    Parameters
    ----------
    problem
        The snapshot.
    method
        ``"mcf"`` (default, exact), ``"mcf_dense"``, ``"greedy"`` or ``"cpsat"``.
    time_limit
        Seconds; ``mcf`` falls back as documented in :func:`assign` (status
        ``"time_limit"``), ``cpsat`` returns its best solution (default 10 s).
    seed
        Random seed (only CP-SAT uses randomness; flow and greedy are deterministic).
    candidates
        Candidate teams per task for ``mcf`` and ``cpsat``.
    workers
        CP-SAT search workers; 1 (default) keeps CP-SAT deterministic.

    Returns
    -------
    Assignment
        With ``stats`` holding the scoring and solver timings, arc counts and rounds.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if time_limit is not None and not (time_limit > 0):
        raise InputError(f"time_limit must be > 0 seconds, got {time_limit!r}")
    t0 = time.perf_counter()
    p = problem
    n, m = p.task_id.shape[0], p.team_id.shape[0]
    # the batches _assign solves by its compiled small paths (_assign_dense_small,
    # _assign_small: at most SSP_MAX_TASKS tasks, serial kernels); their scores come from
    # score_small, bitwise those of the streaming kernel score() uses above SMALL_BATCH
    small = time_limit is None and 0 < n <= SSP_MAX_TASKS and 0 < m and (
        n * m < _kernels.PARALLEL_MIN_ELEMENTS)
    if small and method == "mcf_dense":
        # the dense solve in two compiled calls around OR-Tools
        got = _solve_dense_small(p, method, t0)
        if got is not None:
            return got
    elif small and method == "mcf":
        # the candidate flow with pricing on successive shortest paths, one call
        got = _solve_small(p, candidates, t0)
        if isinstance(got, Assignment):
            return got
        # a pinned task (4): the general path; the compiled flow stopped before a
        # proven optimum (1, 2) or found bad costs (3): the Python loop at once
        return _solve_steps(p, method, time_limit, seed, candidates, workers, t0,
                            compiled=got == 4)
    return _solve_steps(p, method, time_limit, seed, candidates, workers, t0)


def _solve_steps(p: DispatchProblem, method: str, time_limit: float | None, seed: int,
                 candidates: int, workers: int, t0: float, compiled: bool = True
                 ) -> Assignment:
    # solve() step by step: scores, flow (or greedy / CP-SAT), record; compiled=False
    # skips the compiled candidate flow (see _assign)
    costs, offset = scoring.score_and_offset(p)
    stats = {"seconds_scoring": time.perf_counter() - t0}
    if method == "greedy":
        team = greedy_assign(costs, p.team_capacity, p.defer_cost(), balance=p.weights.balance,
                             pinned=p.task_pinned)
        return finish(p, team, method="greedy", status="feasible", t0=t0, stats=stats)
    remaining = None if time_limit is None else max(time_limit - stats["seconds_scoring"], 0.0)
    flow_limit = remaining if method != "cpsat" else None
    # the problem is validated: assign skips its own checks and the objective and
    # reasons that finish() computes anyway
    r = _assign(costs, p.team_capacity, p.defer_cost(), balance=p.weights.balance,
                pinned=p.task_pinned, candidates=candidates, dense=method == "mcf_dense",
                time_limit=flow_limit, column_offset=offset, internal=True,
                compiled=compiled)
    stats.update(r.stats)
    stats["flow_method"] = r.method
    if method == "cpsat":
        return _solve_cpsat(p, costs, r.team, t0, stats, time_limit, seed, candidates, workers)
    lb = float("nan")
    if r.status == "optimal":
        lb = _lower_bound(p, r)
    name = "greedy" if r.method == "greedy" else method
    return finish(p, r.team, method=name, status=r.status, t0=t0, stats=stats, lower_bound=lb)


# the mcf_batch arguments a mode does not read
_NONE32 = np.zeros(0, np.int32)
_NONE64 = np.zeros(0, np.int64)


def _batch(p: DispatchProblem, mode: int, k: int = 1, flows=_NONE64, tails=_NONE32,
           heads=_NONE32, arc_costs=_NONE64, n_pairs: int = 0):
    """:func:`_policy_kernels.mcf_batch` on the problem's arrays; returns the kernel's
    tuple and the record's arrays ``(team, cost, reason, eta, pos)``."""
    n = p.task_id.shape[0]
    w = p.weights
    ct = p.cell_travel
    out = (np.empty(n, np.int32), np.empty(n, np.float64), np.empty(n, np.int8),
           np.empty(n, np.float64), np.empty(n, np.int32))
    got = _policy_kernels.mcf_batch(
        mode, p.travel, p.task_cell, p.now, p.team_free_at, p.team_shift_start,
        p.team_shift_end, p.team_load, p.team_skills, p.task_skill, p.task_work,
        p.task_deadline, p.task_priority, p.task_current, p.task_pinned, p.team_capacity,
        _NO_CELL_TRAVEL if ct is None else ct, ct is not None, w.travel, w.wait, w.lateness,
        w.balance, w.reassignment, w.defer, k, DEFAULT_SCALE, _MAX_ROUNDS, k, 0.0,
        max(64, n // 40), SSP_BUDGET_PER_ARC, _INT_BUDGET, flows, tails, heads, arc_costs,
        n_pairs, *out)
    return got, out


def _solve_small(p: DispatchProblem, candidates: int, t0: float) -> Assignment | int:
    """``solve(p, "mcf")`` of a small batch in one compiled call
    (:func:`_policy_kernels.mcf_small` through ``mcf_batch``): the scores, the flow and
    the record that the steps of :func:`_solve_steps` compute one by one
    (``score_and_offset``, ``_assign_small``, ``finish``), by the same kernels on the same
    arrays, so the same record and statistics; on the simulation's batches (half of them
    one task) the steps' Python glue cost as much as the kernels. Not timed apart: ``seconds_flow``
    holds the whole call, ``seconds_scoring`` and the other phases are 0. Without a
    record, the kernel's status (nothing done): 4 = a task is pinned, 1 = the compiled
    flow stopped before a proven optimum (out of pricing rounds, over its scan budget),
    2 = a task without a path to the sink (cannot happen), 3 = NaN or -inf costs; the
    caller then takes the general path.
    """
    n, m = p.task_id.shape[0], p.team_id.shape[0]
    ts = time.perf_counter()
    got, (team, cost, reason, eta, pos) = _batch(p, _policy_kernels.MODE_FLOW,
                                                 max(candidates, 1))
    (status, bound, arcs_initial, arcs_slots, arcs_final, scans, solves, rounds, incremental,
     negative, scale, n_assigned, n_deferred, pairs) = got[:14]
    if status != 0:
        return int(status)
    t1 = time.perf_counter()
    # the statistics of the general path, in its order (solve, _assign_small, solve)
    stats = {"seconds_scoring": 0.0, "n_tasks": n, "n_teams": m, "n_free": n, "scale": scale,
             "flow_solver": "ssp", "arcs_initial": int(arcs_initial),
             "arcs_slots": int(arcs_slots), "seconds_setup": 0.0, "ssp_scans": int(scans),
             "flow_solves": int(solves), "arcs_final": int(arcs_final),
             "pricing_rounds": int(rounds), "seconds_flow": t1 - ts,
             "seconds_potentials": 0.0, "seconds_pricing": 0.0, "seconds_incremental": 0.0,
             "negative_arcs_per_round": negative.tolist()}
    if incremental:
        stats["incremental_rounds"] = int(incremental)
    stats["seconds_total"] = t1 - t0
    stats["flow_method"] = "mcf"
    # _lower_bound without pinned tasks; finish's record
    return _assignment(team, reason, cost, eta, pos, p.weights.balance * float(pairs),
                       int(n_assigned), int(n_deferred), method="mcf", status="optimal",
                       t0=t0, stats=stats, order=None, lower_bound=bound + 0.0,
                       crew_teams=None)


def _solve_dense_small(p: DispatchProblem, method: str, t0: float) -> Assignment | None:
    """The dense flow of a small batch without pinned tasks as :func:`_solve_steps`
    computes it (``score_and_offset``, ``_assign_dense_small``, ``finish``), in two
    compiled calls around OR-Tools (:func:`_policy_kernels.mcf_dense_arcs`,
    :func:`_policy_kernels.mcf_dense_record` through ``mcf_batch``, whose library the
    candidate flow loads anyway) by the same kernels on the same arrays: the
    same record and statistics. ``seconds_scoring`` is 0 (the scores are part of
    ``seconds_setup``). None (nothing done) for a pinned task or bad costs: the caller
    then takes the general path."""
    n, m = p.task_id.shape[0], p.team_id.shape[0]
    got, _ = _batch(p, _policy_kernels.MODE_DENSE_ARCS)
    status, _, n_pairs, n_slots = got[:4]
    scale = got[10]
    tails, heads, caps, arc_costs = got[15:]
    if status != 0:
        return None
    ts = time.perf_counter()
    flows = _dense_flows(n, m, tails, heads, caps, arc_costs)
    got, (team, cost, reason, eta, pos) = _batch(
        p, _policy_kernels.MODE_DENSE_RECORD, flows=flows, tails=tails, heads=heads,
        arc_costs=arc_costs, n_pairs=n_pairs)
    n_assigned, n_deferred, pairs, opt = got[11:15]
    t1 = time.perf_counter()
    # the statistics of the general path, in its order (solve, _assign_dense_small, solve)
    stats = {"seconds_scoring": 0.0, "n_tasks": n, "n_teams": m, "n_free": n, "scale": scale,
             "flow_solver": "ortools", "arcs_initial": int(n_pairs),
             "arcs_slots": int(n_slots), "seconds_setup": ts - t0, "flow_solves": 1,
             "arcs_final": int(n_pairs), "pricing_rounds": 0, "seconds_flow": t1 - ts,
             "seconds_potentials": 0.0, "seconds_pricing": 0.0, "seconds_incremental": 0.0,
             "seconds_total": t1 - t0, "flow_method": "mcf_dense"}
    return _assignment(team, reason, cost, eta, pos, p.weights.balance * float(pairs),
                       int(n_assigned), int(n_deferred), method=method, status="optimal",
                       t0=t0, stats=stats, order=None,
                       lower_bound=(int(opt) - n) / scale + 0.0, crew_teams=None)


def _lower_bound(p: DispatchProblem, r) -> float:
    # the flow's bound covers free tasks; pinned ones add their fixed cost. Scores are
    # float32 (7 digits), so the bound holds up to that rounding.
    pinned = np.flatnonzero(p.task_pinned >= 0)
    if pinned.size == 0:  # the usual case; the sum below would be 0.0
        return r.lower_bound + 0.0
    fixed = float(pair_cost(p, pinned, p.task_pinned[pinned], feasible_only=False).sum())
    return r.lower_bound + fixed


def _solve_cpsat(p, costs, flow_team, t0, stats, time_limit, seed, candidates, workers):
    from ortools.sat.python import cp_model

    n, m = costs.shape
    crews = p.task_crews
    free = np.flatnonzero(p.task_pinned < 0)
    scale = 1.0  # CP-SAT works on whole seconds-equivalent: small coefficients solve faster
    k = min(m, max(candidates, int(crews.max(initial=1)) * 2))
    order = np.argsort(costs[free], axis=1, kind="stable")[:, :k]
    model = cp_model.CpModel()
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    y = {}
    objective = []
    team_vars: list[list] = [[] for _ in range(m)]
    for row, i in enumerate(free):
        cand = [int(j) for j in order[row] if np.isfinite(costs[i, j])]
        if flow_team[i] >= 0 and int(flow_team[i]) not in cand:
            cand.append(int(flow_team[i]))
        y[i] = model.new_bool_var(f"y{i}")
        xs = []
        for j in cand:
            v = model.new_bool_var(f"x{i}_{j}")
            x[i, j] = v
            xs.append(v)
            team_vars[j].append(v)
            objective.append(int(round(float(costs[i, j]) * scale)) * v)
        model.add(sum(xs) == int(crews[i]) * y[i])
        objective.append(int(round(float(p.defer_cost()[i]) * scale)) * (1 - y[i]))
    bal = p.weights.balance
    for j in range(m):
        if not team_vars[j]:
            continue
        cap = min(int(p.team_capacity[j]), len(team_vars[j]))
        model.add(sum(team_vars[j]) <= cap)
        if bal > 0 and cap > 1:
            # convex balancing: ordered slot indicators, slot s costs balance * s
            z = [model.new_bool_var(f"z{j}_{s}") for s in range(1, cap)]
            for a, b in zip(z, z[1:], strict=False):
                model.add_implication(b, a)
            model.add(sum(team_vars[j]) <= 1 + sum(z))
            objective += [int(round(bal * s * scale)) * zs for s, zs in enumerate(z, 1)]
    model.minimize(sum(objective))
    # hint: the flow solution, with multi-crew tasks (which the flow cannot staff) deferred
    for (i, j), v in x.items():
        model.add_hint(v, int(flow_team[i] == j and crews[i] == 1))
    for i, v in y.items():
        model.add_hint(v, int(flow_team[i] >= 0 and crews[i] == 1))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit or CPSAT_DEFAULT_LIMIT)
    solver.parameters.random_seed = int(seed)
    solver.parameters.num_workers = int(workers)
    ts = time.perf_counter()
    status = solver.solve(model)
    stats["seconds_cpsat"] = time.perf_counter() - ts
    stats["cpsat_status"] = solver.status_name(status)
    team = p.task_pinned.astype(np.int32).copy()
    width = max(int(crews.max(initial=1)), 1)
    crew_teams = np.full((n, width), -1, np.int32)
    crew_teams[:, 0] = team
    reason = np.zeros(n, np.int8)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        chosen: dict[int, list[int]] = {}
        for (i, j), v in x.items():
            if solver.boolean_value(v):
                chosen.setdefault(i, []).append(j)
        for i, js in chosen.items():
            js = sorted(js, key=lambda j: (costs[i, j], j))
            crew_teams[i, : len(js)] = js
            team[i] = js[0]
        state = "optimal" if status == cp_model.OPTIMAL else "time_limit"
        lb = float("nan")
        if status == cp_model.OPTIMAL:  # exact for whole-unit rounded costs
            lb = solver.best_objective_bound / scale - 0.5 * free.size / scale
    else:
        # no CP-SAT solution in time: keep the flow answer for one-crew tasks
        one = free[crews[free] == 1]
        team[one] = flow_team[one]
        crew_teams[:, 0] = team
        state, lb = "time_limit", float("nan")
    multi = free[(crews[free] > 1) & (team[free] < 0)]
    reason[multi] = DeferReason.CREWS_UNAVAILABLE
    # a multi-crew task is only unservable for lack of crews if it had feasible teams
    fin = np.isfinite(costs[multi]).sum(1) if multi.size else np.zeros(0)
    reason[multi[fin == 0]] = 0  # derived in finish (no qualified team, off shift, ...)
    stats["cpsat_variables"] = len(x)
    return finish(p, team, method="cpsat", status=state, t0=t0, stats=stats, reason=reason,
                  crew_teams=crew_teams if width > 1 else None, lower_bound=lb)
