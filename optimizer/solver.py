"""``solve(problem, method=...)``: score, assign, and return an :class:`Assignment`.

Methods
-------
``"mcf"``
    Exact batch min-cost flow on candidate arcs with pricing (:func:`assign`); with at
    least as many candidates as teams, every feasible pair is a candidate.
``"mcf_dense"``
    The same flow with every feasible arc at once (the reference, for measurements).
``"greedy"``
    Global cheapest pair (:func:`greedy_assign`).
``"cpsat"``
    OR-Tools CP-SAT for side constraints the flow cannot express: tasks needing several
    crews at once (``task_crews > 1``). Started from the flow solution as a hint, on each
    task's ``candidates`` cheapest teams plus the flow's choice, with a time limit.

Small batches
-------------
A simulation calls ``mcf`` ~570 times a simulated day, half of the calls with one task,
where the Python glue between the steps (score, flow, record) costs as much as the
kernels. Without a time limit, ``mcf`` therefore solves a batch without pinned tasks
that its compiled small path takes (``FlowParams.max_tasks``, ``max_elements``) in one
compiled call (:func:`_solve_small`, the built-in policies' compiled round), running the
kernels of the step-by-step path (:func:`_solve_steps`) on the same arrays: the same
record and untimed statistics bit for bit (``tests/optimizer/test_opt_small.py``).
"""

from __future__ import annotations

import time

import numpy as np

from urbangrid.errors import InputError

from . import scoring
from ._common import _assignment, compiled_round, finish, pair_cost
from ._kernels import OPTIMAL, FlowParams, FlowResult, checked_time_limit
from ._methods import METHODS
from ._policy_kernels import KIND_MCF, NOT_SMALL, PINNED
from .assignment import OPTIMAL_ROUNDED, _assign, greedy_assign, rounding_gap
from .problem import Assignment, DeferReason, DispatchProblem

__all__ = ["METHODS", "solve"]

CPSAT_DEFAULT_LIMIT = 10.0


def solve(
    problem: DispatchProblem,
    method: str = "mcf",
    time_limit: float | None = None,
    seed: int = 0,
    *,
    params: FlowParams = FlowParams(),  # noqa: B008 (immutable)
    workers: int = 1,
    deterministic_time: float | None = None,
) -> Assignment:
    """Assign the problem's tasks to teams.

    Parameters
    ----------
    problem
        The snapshot.
    method
        ``"mcf"`` (default, exact), ``"mcf_dense"``, ``"greedy"`` or ``"cpsat"``.
    time_limit
        Seconds (> 0); ``mcf`` falls back as documented in :func:`assign` (status
        ``"time_limit"``), ``cpsat`` returns its best solution (default 10 s).
    seed
        Random seed (only CP-SAT uses randomness; flow and greedy are deterministic).
    params
        The flow's knobs (:class:`FlowParams`); ``params.candidates`` also sets the
        teams per task CP-SAT considers.
    workers
        CP-SAT search workers; 1 (default) keeps CP-SAT deterministic when it proves
        its optimum or stops at ``deterministic_time``.
    deterministic_time
        CP-SAT's limit in its own deterministic time units (about seconds of work on
        a current core, independent of the machine's load); with one worker, a search
        stopped by it gives the same answer on every run, which a wall-clock
        ``time_limit`` does not. ``None``: none.

    Returns
    -------
    Assignment
        With ``stats`` holding the scoring and solver timings, arc counts and rounds.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    time_limit = checked_time_limit(time_limit)
    if not isinstance(params, FlowParams):
        raise InputError(f"params must be a FlowParams, got {type(params).__name__}")
    if deterministic_time is not None:
        deterministic_time = checked_time_limit(deterministic_time, "deterministic_time")
    t0 = time.perf_counter()
    if method == "mcf" and time_limit is None:
        got = _solve_small(problem, params, t0)
        if isinstance(got, Assignment):
            return got
        # a pinned task or a batch beyond the small path: the general path; the compiled
        # flow stopped before a proven optimum or found bad costs: the Python loop at once
        return _solve_steps(problem, method, time_limit, seed, params, workers, t0,
                            compiled=got in (PINNED, NOT_SMALL))
    return _solve_steps(problem, method, time_limit, seed, params, workers, t0,
                        deterministic_time=deterministic_time)


def _solve_steps(p: DispatchProblem, method: str, time_limit: float | None, seed: int,
                 params: FlowParams, workers: int, t0: float, compiled: bool = True,
                 deterministic_time: float | None = None) -> Assignment:
    # solve() step by step: scores, flow (or greedy / CP-SAT), record; compiled=False
    # skips the compiled candidate flow (see _assign). The reference of _solve_small.
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
                pinned=p.task_pinned, column_offset=offset, dense=method == "mcf_dense",
                time_limit=flow_limit, params=params, internal=True, compiled=compiled)
    stats.update(r.stats)
    stats["flow_method"] = r.method
    if method == "cpsat":
        return _solve_cpsat(p, costs, r.team, t0, stats, time_limit, seed, params.candidates,
                            workers, deterministic_time)
    lb = float("nan")
    if r.status in ("optimal", OPTIMAL_ROUNDED):
        lb = _lower_bound(p, r)
    name = "greedy" if r.method == "greedy" else method
    return finish(p, r.team, method=name, status=r.status, t0=t0, stats=stats, lower_bound=lb)


def _solve_small(p: DispatchProblem, params: FlowParams, t0: float) -> Assignment | int:
    """``solve(p, "mcf")`` in one compiled call (:func:`._common.compiled_round`): the
    scores, the flow and the record that the steps of :func:`_solve_steps` compute one
    by one (``score_and_offset``, the compiled candidate flow of ``assign``, ``finish``),
    by the same kernels on the same arrays, so the same record and statistics. Not timed
    apart: ``seconds_flow`` holds the whole call, ``seconds_scoring`` and the other
    phases are 0. Without a record, the round's status (nothing done):
    ``_policy_kernels.NOT_SMALL`` or ``PINNED`` (the general path takes it), else the
    flow's (stopped before a proven optimum, bad costs: the Python loop does).
    """
    n, m = p.task_id.shape[0], p.team_id.shape[0]
    ts = time.perf_counter()
    status, (assigned, deferred, pairs), flow, out = compiled_round(p, KIND_MCF, params)
    if status != OPTIMAL:
        return int(status)
    t1 = time.perf_counter()
    f = FlowResult._make(flow)
    # the statistics of the general path, in its order (solve, assign, solve)
    stats = {"seconds_scoring": 0.0, "n_tasks": n, "n_teams": m, "n_free": n, "scale": f.scale}
    status = "optimal"
    if f.scale < params.scale:  # as _assign: the scale had to be lowered
        status = OPTIMAL_ROUNDED
        stats["gap_bound"] = rounding_gap(n, f.scale)
    stats |= {"flow_solver": "ssp", "arcs_initial": int(f.arcs_initial),
              "arcs_slots": int(f.arcs_slots), "seconds_setup": 0.0,
              "ssp_scans": int(f.ssp_scans), "flow_solves": int(f.flow_solves),
              "arcs_final": int(f.arcs_final), "pricing_rounds": int(f.pricing_rounds),
              "seconds_flow": t1 - ts, "seconds_potentials": 0.0, "seconds_pricing": 0.0,
              "seconds_incremental": 0.0,
              "negative_arcs_per_round": f.negative_arcs.tolist()}
    if f.incremental_rounds:
        stats["incremental_rounds"] = int(f.incremental_rounds)
    stats["seconds_total"] = t1 - t0
    stats["flow_method"] = "mcf"
    # _lower_bound without pinned tasks; finish's record
    return _assignment(out.team, out.reason, out.cost, out.eta, out.pos,
                       p.weights.balance * float(pairs), int(assigned), int(deferred),
                       method="mcf", status=status, t0=t0, stats=stats, order=None,
                       lower_bound=f.lower_bound + 0.0, crew_teams=None)


def _lower_bound(p: DispatchProblem, r) -> float:
    # the flow's bound covers free tasks; pinned ones add their fixed cost. Scores are
    # float32 (7 digits), so the bound holds up to that rounding.
    pinned = np.flatnonzero(p.task_pinned >= 0)
    if pinned.size == 0:  # the usual case; the sum below would be 0.0
        return r.lower_bound + 0.0
    fixed = float(pair_cost(p, pinned, p.task_pinned[pinned], feasible_only=False).sum())
    return r.lower_bound + fixed


def _solve_cpsat(p, costs, flow_team, t0, stats, time_limit, seed, candidates, workers,
                 deterministic_time=None):
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
    # tasks of several crews a team may take part in (DispatchProblem.team_joins)
    if p.team_joins is not None:
        joins: list[list] = [[] for _ in range(m)]
        for (i, j), v in x.items():
            if crews[i] > 1:
                joins[j].append(v)
        for j in range(m):
            if len(joins[j]) > p.team_joins[j]:
                model.add(sum(joins[j]) <= int(p.team_joins[j]))
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
    if deterministic_time is not None:
        solver.parameters.max_deterministic_time = float(deterministic_time)
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
