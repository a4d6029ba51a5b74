"""Sequencing each team's tasks (day-ahead plans and the ``mcf_route`` policy).

Given an :class:`Assignment`, each team works its tasks one after another from its
current cell, starting at ``max(now, free_at, shift_start)``; a task takes its travel leg
(``problem.cell_travel``) and its work time. The order minimises

    w.travel * total travel + sum_i w.lateness * priority_i * max(0, finish_i - deadline_i)

(an open-route single-vehicle TSP with soft deadlines). Solvers:

``"exact"``
    Enumeration of all orders, used automatically for up to ``EXACT_MAX`` tasks (the
    usual case at a dispatch tick); asked for explicitly it handles up to 8 tasks and
    hands larger teams to OR-Tools.
``"ortools"``
    OR-Tools routing: cheapest-arc first solution, then local search to a local optimum
    (deterministic); with ``time_limit`` guided local search runs for that long instead
    (better, but no longer byte-for-byte reproducible).
``"pyvrp"``
    PyVRP's iterated local search (optional extra ``urbangrid[routing]``) with a fixed
    iteration budget and seed; deadlines become time windows whose violations PyVRP
    penalises, and the order is then scored with the formula above. PyVRP has no soft
    priority-weighted lateness, so on this objective it is not always better than
    OR-Tools (see the tests and the measurement script).
``"best"``
    Both OR-Tools and PyVRP (if installed) per team, keeping the better order.

``"auto"`` (the default) is ``"exact"`` up to ``EXACT_MAX`` tasks and ``"ortools"`` above.

Without ``cell_travel`` a team's later legs are approximated by its row of ``travel``;
the plan reports this in ``stats["legs"]``.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from urbangrid.errors import InputError

from ._common import priority_order
from .problem import Assignment, DispatchProblem

__all__ = ["EXACT_MAX", "RoutePlan", "Router", "route"]

EXACT_MAX = 6
SOLVERS = ("auto", "exact", "ortools", "pyvrp", "best", "priority")


@dataclass(frozen=True, eq=False)
class RoutePlan:
    """Per-task sequence and per-team totals.

    Attributes
    ----------
    order
        int32[n], 0-based position of each task in its team's sequence, -1 if deferred.
    eta
        float64[n], expected arrival (absolute seconds), NaN if deferred.
    finish
        float64[n], expected end of work, NaN if deferred.
    team_travel
        float64[m], total travel seconds of each team's sequence.
    team_lateness
        float64[m], total seconds past deadlines (not priority-weighted).
    objective
        ``w.travel * travel + w.lateness * priority-weighted lateness`` over all teams.
    solve_seconds
        Wall time.
    stats
        Teams routed, reused from cache, solver per team count.
    """

    order: np.ndarray
    eta: np.ndarray
    finish: np.ndarray
    team_travel: np.ndarray
    team_lateness: np.ndarray
    objective: float
    solve_seconds: float
    stats: dict = field(default_factory=dict)


def _legs(p: DispatchProblem, j: int, cells: np.ndarray) -> np.ndarray:
    """(k+1, k) matrix: row 0 = from the team's cell, row a+1 = from task a's cell."""
    first = p.travel[j, cells].astype(np.float64)
    if p.cell_travel is not None:
        between = p.cell_travel[np.ix_(cells, cells)].astype(np.float64)
    else:
        between = np.repeat(first[None, :], cells.size, axis=0)
    return np.vstack([first[None, :], between])


def _evaluate(seq, legs, work, deadline_rel, wlate, w_travel):
    """Travel, lateness and cost of visiting local tasks in ``seq`` (relative times)."""
    t = 0.0
    prev = 0
    travel = late = cost = 0.0
    arrivals = np.empty(len(seq))
    for pos, a in enumerate(seq):
        leg = legs[prev, a]
        t += leg
        arrivals[pos] = t
        t += work[a]
        over = max(0.0, t - deadline_rel[a])
        travel += leg
        late += over
        cost += w_travel * leg + wlate[a] * over
        prev = a + 1
    return travel, late, cost, arrivals


def _exact(legs, work, deadline_rel, wlate, w_travel):
    k = work.size
    perms = np.array(list(itertools.permutations(range(k))), dtype=np.int64)
    # vectorised over all k! orders
    prev = np.concatenate([np.zeros((perms.shape[0], 1), np.int64), perms[:, :-1] + 1], 1)
    leg = legs[prev, perms]
    t = np.cumsum(leg + work[perms], axis=1)
    over = np.maximum(t - deadline_rel[perms], 0.0)
    cost = w_travel * leg.sum(1) + (wlate[perms] * over).sum(1)
    best = int(np.argmin(cost))  # first minimum: lexicographically smallest order
    return perms[best].tolist()


def _ortools(legs, work, deadline_rel, wlate, w_travel, time_limit):
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    k = work.size
    # nodes: 0 = team start, 1..k = tasks, k+1 = free end (open route)
    res = 10.0  # cost units of 0.1 s so that fractional weights survive integer costs
    travel = np.zeros((k + 2, k + 2))
    travel[: k + 1, 1: k + 1] = legs
    np.fill_diagonal(travel, 0.0)
    transit = travel.copy()
    transit[1: k + 1, :] += work[:, None]
    transit[:, 0] = 0
    manager = pywrapcp.RoutingIndexManager(k + 2, 1, [0], [k + 1])
    model = pywrapcp.RoutingModel(manager)
    cost_idx = model.RegisterTransitMatrix(np.rint(travel * w_travel * res).astype(int).tolist())
    model.SetArcCostEvaluatorOfAllVehicles(cost_idx)
    time_idx = model.RegisterTransitMatrix(np.rint(transit).astype(int).tolist())
    horizon = int(transit.sum()) + 1
    model.AddDimension(time_idx, 0, horizon, True, "time")
    dim = model.GetDimensionOrDie("time")
    for a in range(k):
        # arrival by deadline - work finishes on time; lateness costs wlate per second
        ub = int(max(np.floor(deadline_rel[a] - work[a]), 0))
        coef = int(round(wlate[a] * res))
        if coef > 0 and ub < horizon:
            dim.SetCumulVarSoftUpperBound(manager.NodeToIndex(a + 1), ub, coef)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    if time_limit:
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
        params.time_limit.FromMilliseconds(int(time_limit * 1000))
    else:
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT)
    sol = model.SolveWithParameters(params)
    if sol is None:
        return None
    seq = []
    idx = model.Start(0)
    while not model.IsEnd(idx):
        node = manager.IndexToNode(idx)
        if 1 <= node <= k:
            seq.append(node - 1)
        idx = sol.Value(model.NextVar(idx))
    return seq


def _pyvrp(legs, work, deadline_rel, seed, iterations):
    from pyvrp import Model
    from pyvrp.stop import MaxIterations

    k = work.size
    m = Model()
    locs = [m.add_location(0, 0)] + [m.add_location(0, 0) for _ in range(k)]
    depot = m.add_depot(locs[0])
    m.add_vehicle_type(1, start_depot=depot, end_depot=depot)
    for a in range(k):
        late = max(int(deadline_rel[a] - work[a]), int(np.ceil(legs[0, a])))
        m.add_client(locs[a + 1], service_duration=int(round(work[a])), tw_late=late)
    for u in range(k + 1):
        for v in range(k + 1):
            if u == v:
                continue
            d = 0 if v == 0 else int(round(legs[u, v - 1]))  # open route: free return
            m.add_edge(locs[u], locs[v], distance=d, duration=d)
    result = m.solve(stop=MaxIterations(iterations), seed=seed, display=False)
    routes = result.best.routes()
    if not routes:
        return None
    # activity.idx numbers clients from 0 in the order they were added
    return [int(act.idx) for act in routes[0].schedule() if act.is_client()]


def _has_pyvrp() -> bool:
    try:
        import pyvrp  # noqa: F401
    except ImportError:
        return False
    return True


class Router:
    """Sequences teams' tasks, re-planning only teams whose task set changed.

    Parameters
    ----------
    solver
        ``"auto"`` (exact for small teams, else OR-Tools), ``"exact"``, ``"ortools"``,
        ``"pyvrp"``, ``"best"`` (OR-Tools and PyVRP, the better order) or
        ``"priority"`` (no optimisation: priority-then-deadline order).
    time_limit
        Per-team seconds for OR-Tools guided local search (``None``: deterministic
        local search to a local optimum).
    seed
        PyVRP seed.
    pyvrp_iterations
        PyVRP iteration budget per team.
    cache_size
        Team plans remembered (least recently used dropped), so that a long simulation
        calling the router every tick keeps bounded memory.
    """

    def __init__(self, solver: str = "auto", *, time_limit: float | None = None, seed: int = 0,
                 pyvrp_iterations: int = 200, cache_size: int = 4096) -> None:
        if solver not in SOLVERS:
            raise InputError(f"unknown routing solver {solver!r}; choose one of {SOLVERS}")
        if solver in ("pyvrp", "best") and not _has_pyvrp():
            raise InputError("routing solver 'pyvrp' needs the extra: pip install "
                             "'urbangrid[routing]'")
        self.solver = solver
        self.time_limit = time_limit
        self.seed = seed
        self.pyvrp_iterations = pyvrp_iterations
        self.cache_size = int(cache_size)
        self._cache: collections.OrderedDict[tuple, list[int]] = collections.OrderedDict()

    def _sequence(self, p, j, tasks, stats):
        cells = p.task_cell[tasks]
        legs = _legs(p, j, cells)
        start = float(p.team_start()[j])
        work = p.task_work[tasks].astype(np.float64)
        deadline_rel = p.task_deadline[tasks] - start
        wlate = p.weights.lateness * p.task_priority[tasks]
        key = (int(p.team_id[j]), int(p.team_cell[j]), tuple(p.task_id[tasks].tolist()),
               round(start), self.solver)
        if key in self._cache:
            stats["teams_reused"] += 1
            self._cache.move_to_end(key)
            return self._cache[key], legs, work, deadline_rel, wlate
        k = tasks.size
        solver = self.solver
        if solver == "auto":
            solver = "exact" if k <= EXACT_MAX else "ortools"
        if k == 1 or solver == "priority":
            seq = list(range(k))
            solver = "priority" if k > 1 else "single"
        elif solver == "exact" and k <= 8:
            seq = _exact(legs, work, deadline_rel, wlate, p.weights.travel)
        elif solver == "pyvrp":
            seq = _pyvrp(legs, work, deadline_rel, self.seed, self.pyvrp_iterations)
        elif solver == "best":
            tries = [_ortools(legs, work, deadline_rel, wlate, p.weights.travel, self.time_limit),
                     _pyvrp(legs, work, deadline_rel, self.seed, self.pyvrp_iterations)]
            tries = [t for t in tries if t is not None and sorted(t) == list(range(k))]
            costs = [_evaluate(t, legs, work, deadline_rel, wlate, p.weights.travel)[2]
                     for t in tries]
            seq = tries[int(np.argmin(costs))] if tries else None
        else:  # "ortools", or "exact" beyond 8 tasks (8! orders is the enumeration limit)
            solver = "ortools"
            seq = _ortools(legs, work, deadline_rel, wlate, p.weights.travel, self.time_limit)
        if seq is None or sorted(seq) != list(range(k)):
            seq, solver = list(range(k)), "priority"  # solver gave nothing usable
        stats["solvers"][solver] = stats["solvers"].get(solver, 0) + 1
        stats["teams_routed"] += 1
        self._cache[key] = seq
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return seq, legs, work, deadline_rel, wlate

    def plan(self, p: DispatchProblem, a: Assignment) -> RoutePlan:
        """Sequence every team of ``a`` (pinned tasks first: they are under way)."""
        t0 = time.perf_counter()
        n, m = p.n_tasks, p.n_teams
        team = np.asarray(a.team)
        if team.shape != (n,):
            raise InputError(f"assignment has {team.shape[0]} tasks, problem has {n}")
        order = np.full(n, -1, np.int32)
        eta = np.full(n, np.nan)
        finish = np.full(n, np.nan)
        tt = np.zeros(m)
        tl = np.zeros(m)
        objective = 0.0
        stats = {"teams_routed": 0, "teams_reused": 0, "solvers": {},
                 "legs": "cell_travel" if p.cell_travel is not None else "team_row"}
        rank = np.empty(n, np.int64)
        rank[priority_order(p)] = np.arange(n)
        idx = np.flatnonzero(team >= 0)
        # pinned first, then priority order: a canonical task order per team
        idx = idx[np.lexsort((rank[idx], p.task_pinned[idx] < 0, team[idx]))]
        bounds = np.flatnonzero(np.r_[True, team[idx][1:] != team[idx][:-1], True])
        if idx.size == 0:
            bounds = bounds[:1]
        starts = p.team_start()
        for s, e in zip(bounds[:-1], bounds[1:], strict=True):
            tasks = idx[s:e]
            j = int(team[tasks[0]])
            pinned = tasks[p.task_pinned[tasks] >= 0]
            free = tasks[p.task_pinned[tasks] < 0]
            # pinned tasks are under way: they stay in front, only the rest is sequenced
            if free.size > 1:
                seq, *_ = self._sequence(p, j, free, stats)
                ordered = np.concatenate([pinned, free[seq]])
            else:
                ordered = np.concatenate([pinned, free])
            legs = _legs(p, j, p.task_cell[ordered])
            work = p.task_work[ordered].astype(np.float64)
            dl = p.task_deadline[ordered] - starts[j]
            wl = p.weights.lateness * p.task_priority[ordered]
            trav, late, cost, arr = _evaluate(list(range(ordered.size)), legs, work, dl, wl,
                                              p.weights.travel)
            order[ordered] = np.arange(ordered.size)
            eta[ordered] = starts[j] + arr
            finish[ordered] = starts[j] + arr + work
            tt[j], tl[j] = trav, late
            objective += cost
        return RoutePlan(order=order, eta=eta, finish=finish, team_travel=tt, team_lateness=tl,
                         objective=objective, solve_seconds=time.perf_counter() - t0,
                         stats=stats)

    def __call__(self, p: DispatchProblem, a: Assignment) -> Assignment:
        """``a`` with routed ``order`` and ``eta`` (and routing figures in ``stats``)."""
        plan = self.plan(p, a)
        stats = dict(a.stats)
        stats.update(route_seconds=plan.solve_seconds, route_objective=plan.objective,
                     route_travel=float(plan.team_travel.sum()),
                     route_lateness=float(plan.team_lateness.sum()),
                     teams_routed=plan.stats["teams_routed"],
                     teams_reused=plan.stats["teams_reused"])
        return dataclasses.replace(a, order=plan.order, eta=plan.eta, stats=stats,
                                   solve_seconds=a.solve_seconds + plan.solve_seconds)


def route(p: DispatchProblem, a: Assignment, solver: str = "auto", *,
          time_limit: float | None = None, seed: int = 0) -> RoutePlan:
    """Sequence the tasks of every team in ``a``; see :class:`Router`."""
    return Router(solver, time_limit=time_limit, seed=seed).plan(p, a)
