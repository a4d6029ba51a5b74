"""The assignment core on a cost matrix: exact min-cost flow at sparse-problem speed.

``assign(costs, capacity, defer_cost)`` needs no geography. The network::

    task i --(1, c_ij)--> team j --(slot k: 1, balance*k)--> sink
    task i --(1, defer_i)------------------------------------> sink

Each task supplies one unit, so every task either reaches a team or is explicitly
deferred: the problem is always feasible and nothing is silently dropped. The slots give
a team's ``k``-th task in the batch a rising extra cost ``balance * k`` (a convex
workload penalty as parallel arcs, Ahuja, Magnanti & Orlin 1993, sec. 14.3).

Exactness at sparse speed (column generation on the flow LP): solve with candidate arcs
only (each task's ``candidates`` cheapest feasible teams, plus its ``candidates``
cheapest once team-level terms such as waiting for a busy team are ignored, i.e. the
teams near it, which absorb the overflow of hotspots); recover node potentials from the
optimal flow by one label-correcting shortest-path pass over its residual graph
(compiled); price every excluded arc ``i -> j`` by its reduced cost
``c_ij + pi_i - pi_j``; add the negative ones and solve again until none is left. When
only a few arcs are added, the flow is repaired in place instead (one bounded Dijkstra
per arc cancels the negative cycle it closes and updates the potentials). The final
potentials are a feasible dual for the full network, which certifies that the flow is
optimal for all arcs: the result is exact, never the silent drops of nearest-k pruning.

Flow solver: OR-Tools' ``SimpleMinCostFlow`` (cost scaling) costs ~1.5 ms on a 200-task
batch whatever its arc count; small batches (``FlowParams.max_tasks``) are therefore
solved by a compiled successive-shortest-path solver (one Dijkstra per task on reduced
costs), which also returns the potentials and so skips the separate potentials pass.
The dense reference always runs on OR-Tools, so the two stay independent checks.

Two implementations of the candidate method: the Python loop below (the reference; also
the path for big batches, OR-Tools, time limits and the dense fallback) and one compiled
call, :func:`_kernels.candidate_flow`, for batches the serial kernels handle, where the
loop's few dozen array operations cost more than the flow (a simulation's dispatch
rounds: a median of 3 tasks x 100 teams on Jing'an). Both build the same arcs in the same
order and so return the same flow (``tests/optimizer/test_opt_fastpath.py`` compares
them; any ``time_limit`` selects the loop).

Precision: OR-Tools' graph solvers take integer costs. Every cost is rounded to the
nearest ``1 / scale`` (``FlowParams.scale`` = 100 by default, 0.01 seconds-equivalent),
lowered if needed so that no intermediate value can overflow int64
(:func:`_kernels.scale_for`). The returned solution is optimal for the rounded costs;
each free task's arcs round by at most ``1 / scale`` together, so its true objective is
within ``2 * n_free / scale`` of the true optimum (:func:`rounding_gap`). Pairs dearer
than their task's deferral, which no optimum uses, do not lower the scale: they are
clipped first (:func:`_kernels.flow_scale`; a 1e12 penalty on 1 % of the pairs had
lowered it from 100 to 0.5 on 2,000 x 300 and to 8.2 on the 400 x 300 instance of
``tests/optimizer/test_opt_inputs.py``, 0.66 above the optimum there). When the scale
must still be lowered (defer costs or usable pair costs of that range), the status says
so: ``OPTIMAL_ROUNDED`` instead of ``"optimal"``, with ``stats["gap_bound"]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

from urbangrid.errors import InputError

from . import _kernels
from ._kernels import NO_PATH, OPTIMAL, FlowParams, checked_time_limit
from .problem import DeferReason

__all__ = ["OPTIMAL_ROUNDED", "AssignmentResult", "FlowParams", "assign", "greedy_assign",
           "rounding_gap"]

#: Status of a flow solution proven optimal for costs rounded to ``1 / scale`` with the
#: scale lowered below ``FlowParams.scale`` (to keep int64 safe on a wide cost range): its
#: objective is within ``stats["gap_bound"]`` (:func:`rounding_gap`) of the optimum, a
#: bound the default scale keeps at 0.02 per task.
OPTIMAL_ROUNDED = "optimal_rounded"


def rounding_gap(n_free: int, scale: float) -> float:
    """Most the true objective of a flow solution optimal for costs rounded to
    ``1 / scale`` can exceed the optimum: ``2 * n_free / scale`` (each free task's pair,
    slot or defer arc rounds by at most ``0.5 / scale``, on both solutions)."""
    return 2.0 * n_free / scale


@dataclass(frozen=True, eq=False)
class AssignmentResult:
    """Result of :func:`assign`.

    Attributes
    ----------
    team
        int32[n], team per task, -1 = deferred.
    objective
        Sum of the chosen pair costs, defer costs and the convex slot surcharge (free
        tasks only: pinned tasks are fixed and not counted), in the input's units.
    solve_seconds
        Wall time.
    status
        ``"optimal"`` (proven, by pricing or a dense solve), :data:`OPTIMAL_ROUNDED`
        (the same, for costs rounded coarser than ``FlowParams.scale`` asks: see the
        module docstring), ``"time_limit"`` (the limit
        was hit: a feasible flow solution, or the greedy one if no flow solution existed
        yet, see ``method``) or ``"feasible"``.
    method
        ``"mcf"`` (candidates + pricing), ``"mcf_dense"`` or ``"greedy"``.
    lower_bound
        A proven lower bound on the objective (NaN if none).
    stats
        Arc counts, pricing rounds, scale and phase timings.
    reason
        int8[n], :class:`~urbangrid.optimizer.DeferReason` per task: ``ASSIGNED``, or for
        a deferred task ``NO_QUALIFIED_TEAM`` (no finite cost at all), ``NO_CAPACITY``
        (its feasible teams are full) or ``CHEAPER_TO_DEFER``.
    """

    team: np.ndarray
    objective: float
    solve_seconds: float
    status: str
    method: str
    lower_bound: float = float("nan")
    stats: dict = field(default_factory=dict)
    reason: np.ndarray | None = None


def _validate(costs, capacity, defer_cost, pinned, balance):
    costs = np.asarray(costs)
    if costs.ndim != 2:
        raise InputError(f"costs must be a 2-D (tasks x teams) array, got shape {costs.shape}")
    if costs.dtype not in (np.float32, np.float64):
        costs = costs.astype(np.float64)
    costs = np.ascontiguousarray(costs)
    n, m = costs.shape
    cmax, bad = _kernels.scan_costs(costs)
    if bad:
        raise InputError("costs must not hold NaN or -inf (use +inf for infeasible pairs)")
    capacity = np.asarray(capacity)
    if capacity.shape != (m,):
        raise InputError(f"capacity has shape {capacity.shape}, expected ({m},)")
    if capacity.dtype.kind == "f" and not (capacity == np.round(capacity)).all():
        raise InputError("capacity must hold integers")
    capacity = capacity.astype(np.int64)
    if (capacity < 0).any():
        raise InputError(f"capacity must be >= 0, got {capacity.min()}")
    defer_cost = np.asarray(defer_cost, np.float64)
    if defer_cost.ndim == 0:
        defer_cost = np.full(n, float(defer_cost))
    if defer_cost.shape != (n,):
        raise InputError(f"defer_cost has shape {defer_cost.shape}, expected ({n},)")
    if not np.isfinite(defer_cost).all():
        raise InputError("defer_cost must be finite: every task needs a way to be deferred")
    if pinned is None:
        pinned = np.full(n, -1, np.int64)
    pinned = np.asarray(pinned).astype(np.int64)
    if pinned.shape != (n,):
        raise InputError(f"pinned has shape {pinned.shape}, expected ({n},)")
    if ((pinned < -1) | (pinned >= m)).any():
        raise InputError(f"pinned team indices must lie in [-1, {m})")
    balance = float(balance)
    if not (np.isfinite(balance) and balance >= 0):
        raise InputError(f"balance must be finite and >= 0, got {balance}")
    return costs, capacity, defer_cost, pinned, balance, cmax


def _trusted(costs, capacity, defer_cost, pinned, balance):
    # _validate for arrays built from a validated DispatchProblem: dtypes only, and the
    # one scan of the costs that finds the largest finite cost (NaN / -inf still raise)
    cmax, bad = _kernels.scan_costs(costs)
    if bad:
        raise InputError("costs must not hold NaN or -inf (use +inf for infeasible pairs)")
    return (costs, capacity.astype(np.int64), np.asarray(defer_cost, np.float64),
            pinned.astype(np.int64), float(balance), cmax)


def _objective(costs, team, free, defer_cost, balance, m) -> float:
    t = team[free]
    got = t >= 0
    rows = free[got]
    total = float(costs[rows, t[got]].astype(np.float64).sum())
    total += float(defer_cost[free[~got]].sum())
    used = np.bincount(t[got], minlength=m)
    return total + balance * float((used * (used - 1) // 2).sum())


def _reasons(costs, team, pinned, capacity) -> np.ndarray:
    reason = np.zeros(team.size, np.int8)
    deferred = np.flatnonzero(team < 0)
    if deferred.size == 0:
        return reason
    counted = (team >= 0) & (pinned < 0)
    left = capacity - np.bincount(team[counted], minlength=capacity.size)
    feasible = np.isfinite(costs[deferred])
    room = (feasible & (left > 0)[None, :]).any(1)
    reason[deferred] = np.where(room, DeferReason.CHEAPER_TO_DEFER, DeferReason.NO_CAPACITY)
    reason[deferred[~feasible.any(1)]] = DeferReason.NO_QUALIFIED_TEAM
    return reason


class _Network:
    """Node numbering and the fixed arcs (defer, slots) of one assignment problem."""

    def __init__(self, free, capacity, defer_int, balance, scale, max_useful_slots):
        self.free = free
        nf = free.size
        m = capacity.size
        self.nf, self.m = nf, m
        self.sink = nf + m
        self.n_nodes = nf + m + 1
        cap = np.minimum(capacity, nf)
        if balance > 0:
            cap = np.minimum(cap, max_useful_slots)
        if balance > 0:
            # one unit arc per slot, k-th slot costs balance * k
            slot_team = np.repeat(np.arange(m), cap)
            first = np.repeat(np.cumsum(cap) - cap, cap)
            k = np.arange(slot_team.size) - first
            self.slot_tail = (nf + slot_team).astype(np.int32)
            self.slot_cap = np.ones(slot_team.size, np.int64)
            self.slot_cost = np.floor(balance * k * scale + 0.5).astype(np.int64)
        else:
            keep = cap > 0
            self.slot_tail = (nf + np.flatnonzero(keep)).astype(np.int32)
            self.slot_cap = cap[keep].astype(np.int64)
            self.slot_cost = np.zeros(self.slot_tail.size, np.int64)
        self.defer_int = defer_int

    def arcs(self, pi, pj, pcost):
        """``(tails, heads, caps, costs)``: pair arcs ``free-row pi -> team pj`` (scaled
        ``pcost``), then the defer arcs, then the slot arcs."""
        nf = self.nf
        tails = np.concatenate([pi, np.arange(nf), self.slot_tail]).astype(np.int32)
        heads = np.concatenate([
            nf + pj, np.full(nf, self.sink), np.full(self.slot_tail.size, self.sink),
        ]).astype(np.int32)
        caps = self.capacities(pi.size)
        costs = np.concatenate([pcost, self.defer_int, self.slot_cost]).astype(np.int64)
        return tails, heads, caps, costs

    def solve(self, pi, pj, pcost):
        """Min-cost flow with OR-Tools: ``(flows, tails, heads, costs)``."""
        tails, heads, caps, costs = self.arcs(pi, pj, pcost)
        smcf = min_cost_flow.SimpleMinCostFlow()
        smcf.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        supplies = np.zeros(self.n_nodes, np.int64)
        supplies[: self.nf] = 1
        supplies[self.sink] = -self.nf
        smcf.set_nodes_supplies(np.arange(self.n_nodes, dtype=np.int32), supplies)
        status = smcf.solve()
        if status != smcf.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed with status {status}")
        flows = smcf.flows(np.arange(tails.size, dtype=np.int32))
        return np.asarray(flows, np.int64), tails, heads, costs

    def solve_ssp(self, pi, pj, pcost, budget_per_arc):
        """Min-cost flow by compiled successive shortest paths:
        ``(flows, tails, heads, costs, potentials)``, None over ``budget_per_arc`` arc
        scans per arc."""
        tails, heads, caps, costs = self.arcs(pi, pj, pcost)
        t64, h64 = tails.astype(np.int64), heads.astype(np.int64)
        flows, d, status, scans = _kernels.ssp_flow(
            self.n_nodes, self.nf, self.sink, t64, h64, costs, caps,
            budget_per_arc * tails.size)
        if status == 1:  # cannot happen: every task has its own defer arc
            raise RuntimeError("successive shortest paths found no path to the sink")
        self.ssp_scans = scans
        return (flows, tails, heads, costs, d) if status == 0 else None

    def capacities(self, n_pairs):
        """Capacities of the arcs as :meth:`solve` lays them out."""
        return np.concatenate([np.ones(n_pairs + self.nf, np.int64), self.slot_cap])

    def residual(self, flows, tails, heads, costs):
        """Arcs of the residual graph: forward where capacity is left, backward where
        flow runs."""
        caps = np.concatenate([np.ones(tails.size - self.slot_cap.size, np.int64),
                               self.slot_cap])
        fwd = flows < caps
        bwd = flows > 0
        t = np.concatenate([tails[fwd], heads[bwd]]).astype(np.int64)
        h = np.concatenate([heads[fwd], tails[bwd]]).astype(np.int64)
        c = np.concatenate([costs[fwd], -costs[bwd]])
        return t, h, c


def assign(
    costs: np.ndarray,
    capacity: np.ndarray,
    defer_cost: np.ndarray | float,
    *,
    balance: float = 0.0,
    pinned: np.ndarray | None = None,
    column_offset: np.ndarray | None = None,
    dense: bool = False,
    time_limit: float | None = None,
    flow_solver: str = "auto",
    params: FlowParams = FlowParams(),  # noqa: B008 (immutable)
) -> AssignmentResult:
    """Optimal assignment of tasks to teams with capacities, or explicit deferral.

    Parameters
    ----------
    costs
        float[n_tasks, n_teams], cost of giving task ``i`` to team ``j``; ``inf`` for
        infeasible pairs.
    capacity
        int[n_teams] >= 0, how many tasks each team may take.
    defer_cost
        float[n_tasks] (or a scalar), finite cost of leaving a task unassigned.
    balance
        Convex workload penalty: a team's ``k``-th task (from 0) costs ``balance * k``
        more.
    pinned
        int[n_tasks], team index a task must keep (-1 = free). Pinned tasks use no
        capacity and are not part of the objective.
    column_offset
        float[n_teams], a per-team part of the costs (e.g. waiting for a busy team) to
        ignore when picking the second candidate list, so that each task also sees the
        teams *near* it, which absorb the overflow when the cheapest teams fill up.
        Default: each team's cheapest cost. On the full-day instance the two lists cut
        the pricing rounds and the arcs needed about threefold.
    dense
        Use every feasible arc at once (the reference the candidate method is measured
        against).
    time_limit
        Seconds. Checked between phases: if hit before a flow solution exists the
        greedy (global cheapest pair) answer is returned, if hit while pricing the best
        flow solution so far; ``status`` is then ``"time_limit"``.
    flow_solver
        ``"ortools"`` (``SimpleMinCostFlow``, cost scaling), ``"ssp"`` (compiled
        successive shortest paths, one Dijkstra per task, which also returns the node
        potentials pricing needs) or ``"auto"``: ``"ssp"`` for the candidate method with
        at most ``params.max_tasks`` free tasks, else ``"ortools"``. The dense method
        always uses OR-Tools, so it stays an independent reference. On congested networks
        the Dijkstra searches grow long: after ``params.budget_per_arc`` arc scans per arc
        the shortest paths give up and OR-Tools solves (``stats["ssp_over_budget"]``),
        which bounds the loss to about a third.
    params
        The flow's knobs (:class:`FlowParams`: candidates, pricing, repairs, cost scale,
        limits); none changes the optimum.

    Returns
    -------
    AssignmentResult

    Raises
    ------
    InputError
        Malformed arrays (shapes, NaN, negative capacity, non-finite defer costs), a
        ``time_limit`` of 0 or less (:func:`._kernels.checked_time_limit`, the check
        :func:`~urbangrid.optimizer.solve` makes too).
    """
    time_limit = checked_time_limit(time_limit)
    return _assign(**locals())


def _assign(
    costs: np.ndarray,
    capacity: np.ndarray,
    defer_cost: np.ndarray | float,
    *,
    balance: float = 0.0,
    pinned: np.ndarray | None = None,
    column_offset: np.ndarray | None = None,
    dense: bool = False,
    time_limit: float | None = None,
    flow_solver: str = "auto",
    params: FlowParams = FlowParams(),  # noqa: B008 (immutable)
    internal: bool = False,
    compiled: bool = True,
) -> AssignmentResult:
    """:func:`assign`. ``internal`` callers (:func:`urbangrid.optimizer.solve`) pass
    arrays derived from a validated problem with the dtypes :func:`_validate` returns,
    and read neither ``objective`` nor ``reason`` (NaN and None then): that skips the
    checks and bookkeeping that are most of a small batch's cost. ``compiled=False``
    goes straight to the Python loop, for a caller whose compiled candidate flow (the
    same kernel as :func:`_assign_compiled`'s) has already stopped before a proven
    optimum on these costs: trying it again would only repeat that work before the loop,
    which gives the same answer."""
    t0 = time.perf_counter()
    if not isinstance(params, FlowParams):
        raise InputError(f"params must be a FlowParams, got {type(params).__name__}")
    if internal:
        costs, capacity, defer_cost, pinned, balance, cmax = _trusted(
            costs, capacity, defer_cost, pinned, balance)
    else:
        costs, capacity, defer_cost, pinned, balance, cmax = _validate(
            costs, capacity, defer_cost, pinned, balance)
    n, m = costs.shape
    team = pinned.astype(np.int32)
    free = np.flatnonzero(pinned < 0)
    stats: dict = {"n_tasks": n, "n_teams": m, "n_free": int(free.size)}

    rounded = False  # the cost scale lowered below params.scale (see OPTIMAL_ROUNDED)

    def done(status: str, method: str, lb: float = float("nan")) -> AssignmentResult:
        if rounded and status == "optimal":
            status = OPTIMAL_ROUNDED
        obj = float("nan") if internal else _objective(costs, team, free, defer_cost,
                                                       balance, m)
        stats["seconds_total"] = time.perf_counter() - t0
        return AssignmentResult(team=team, objective=obj, solve_seconds=time.perf_counter() - t0,
                                status=status, method=method, lower_bound=lb, stats=stats,
                                reason=None if internal else _reasons(costs, team, pinned,
                                                                      capacity))

    if free.size == 0:
        return done("optimal", "mcf", 0.0)
    if time_limit is not None and time.perf_counter() - t0 > time_limit:
        greedy_assign(costs, capacity, defer_cost, balance=balance, pinned=pinned, out=team)
        return done("time_limit", "greedy")

    if flow_solver not in ("auto", "ortools", "ssp"):
        raise InputError(f"flow_solver must be 'auto', 'ortools' or 'ssp', got {flow_solver!r}")
    sub = costs if free.size == n else costs[free]
    defer_free = defer_cost[free]
    scale = _kernels.scale_for(cmax, n, capacity, defer_free, balance, params.scale,
                               params.int_budget)
    if scale < params.scale:  # huge costs: clip the dominated ones (flow_scale) on a copy
        sub = sub.copy() if sub is costs else sub
        scale, cmax = _kernels.flow_scale(sub, cmax, n, capacity, defer_free, balance, params)
    stats["scale"] = scale
    if scale < params.scale:
        rounded = True
        stats["gap_bound"] = rounding_gap(free.size, scale)

    if dense:
        pi, pj = np.nonzero(np.isfinite(sub))
        method = "mcf_dense"
    else:
        k, r, margin, repair_max = _kernels.flow_knobs(params, free.size, scale)
        if column_offset is None:
            column_offset = sub.min(axis=0).astype(np.float64)
            column_offset[~np.isfinite(column_offset)] = 0.0
        offset = np.asarray(column_offset, np.float64)
        if offset.shape != (m,) or not np.isfinite(offset).all():
            raise InputError(f"column_offset must be finite with shape ({m},)")
        if compiled and flow_solver != "ortools" and time_limit is None and (
                flow_solver == "ssp" or free.size <= params.max_tasks) and (
                sub.size < params.max_elements):
            got = _assign_compiled(sub, capacity, defer_cost[free], balance, cmax, offset,
                                   scale, params, stats, t0)
            if got is not None:
                team[free] = got[0]
                return done("optimal", "mcf", got[1])
            # not finished there (over budget or out of rounds): the loop below redoes it
            # and switches to OR-Tools or the dense solve at the same point
        top = np.empty((free.size, 2 * k), np.int32)
        _kernels.candidate_rows(sub, k, offset, top)
        ti, tk = np.nonzero(top >= 0)
        pi, pj = ti.astype(np.int64), top[ti, tk].astype(np.int64)
        method = "mcf"
    defer_int = np.floor(defer_cost[free] * scale + 0.5).astype(np.int64)
    # with balance > 0 a slot k whose surcharge balance*k reaches (largest defer cost -
    # smallest pair cost) is never needed: deferring is at least as cheap. This bounds
    # the slot arcs of teams with huge capacities.
    max_useful = n if balance <= 0 else int(
        np.ceil((float(defer_cost[free].max()) + cmax) / balance)) + 1
    net = _Network(free, capacity, defer_int, balance, scale, max_useful)
    use_ssp = method == "mcf" and (
        flow_solver == "ssp" or (flow_solver == "auto" and free.size <= params.max_tasks))
    stats["flow_solver"] = "ssp" if use_ssp else "ortools"
    pi = pi.astype(np.int64)
    pj = pj.astype(np.int64)
    stats["arcs_initial"] = int(pi.size)
    stats["arcs_slots"] = int(net.slot_tail.size)
    stats["seconds_setup"] = time.perf_counter() - t0  # validation, scale, candidates
    rounds = 0
    t_flow = t_pot = t_price = t_fix = 0.0
    need_solve = True
    while True:
        if need_solve:
            pcost = np.floor(sub[pi, pj].astype(np.float64) * scale + 0.5).astype(np.int64)
            ts = time.perf_counter()
            got = net.solve_ssp(pi, pj, pcost, params.budget_per_arc) if use_ssp else None
            if use_ssp:
                stats["ssp_scans"] = stats.get("ssp_scans", 0) + net.ssp_scans
            if got is not None:
                flows, tails, heads, arc_costs, d = got
            else:
                if use_ssp:  # congested: the searches ran over budget, OR-Tools from here
                    use_ssp = False
                    stats["flow_solver"] = "ortools"
                    stats["ssp_over_budget"] = True
                flows, tails, heads, arc_costs = net.solve(pi, pj, pcost)
            t_flow += time.perf_counter() - ts
            caps = net.capacities(pi.size)
            arc_task = np.concatenate([pi, np.full(tails.size - pi.size, -1, np.int64)])
            arc_team = np.concatenate([pj, np.full(tails.size - pi.size, -1, np.int64)])
            stats["flow_solves"] = stats.get("flow_solves", 0) + 1
        used = (arc_task >= 0) & (flows > 0)
        team_free = np.full(free.size, -1, np.int32)
        team_free[arc_task[used]] = arc_team[used]
        team[free] = team_free
        opt = int((flows * arc_costs).sum())
        stats.update(arcs_final=int(pi.size), pricing_rounds=rounds, seconds_flow=t_flow,
                     seconds_potentials=t_pot, seconds_pricing=t_price,
                     seconds_incremental=t_fix)
        # optimum of the rounded costs; each task's arc and slot may round by 0.5/scale
        bound = (opt - free.size) / scale
        if method == "mcf_dense":
            return done("optimal", method, bound)
        if time_limit is not None and time.perf_counter() - t0 > time_limit:
            return done("time_limit", method)
        if rounds >= params.max_rounds:
            method, dense_pi, dense_pj = "mcf_dense", *np.nonzero(np.isfinite(sub))
            use_ssp = False
            pi, pj = dense_pi.astype(np.int64), dense_pj.astype(np.int64)
            stats["fell_back_to_dense"] = True
            need_solve = True
            continue
        if need_solve and not use_ssp:  # successive shortest paths give potentials
            ts = time.perf_counter()
            rt, rh, rc = net.residual(flows, tails, heads, arc_costs)
            d, ok = _kernels.potentials(net.n_nodes, rt, rh, rc)
            t_pot += time.perf_counter() - ts
            if not ok:  # cannot happen for an optimal flow; be safe rather than wrong
                raise RuntimeError("negative cycle in the residual graph of an optimal flow")
        ts = time.perf_counter()
        add = np.empty((free.size, r), np.int32)
        neg = _kernels.price_rows(sub, scale, d[: free.size], d[free.size: free.size + m],
                                  team_free, np.zeros(free.size, np.bool_), r, margin, add)
        t_price += time.perf_counter() - ts
        stats["seconds_pricing"] = t_price
        n_neg = int(neg.sum())
        stats.setdefault("negative_arcs_per_round", []).append(n_neg)
        if n_neg == 0:
            # the potentials are dual feasible for every arc: proven optimal
            return done("optimal", method, bound)
        ai, ak = np.nonzero(add >= 0)
        ai = ai.astype(np.int64)
        aj = add[ai, ak].astype(np.int64)
        pi = np.concatenate([pi, ai])
        pj = np.concatenate([pj, aj])
        rounds += 1
        need_solve = ai.size > repair_max
        if not need_solve:
            # few new arcs: repair the flow in place instead of solving again
            ts = time.perf_counter()
            first_new = tails.size
            tails = np.concatenate([tails, ai])
            heads = np.concatenate([heads, free.size + aj])
            arc_costs = np.concatenate([
                arc_costs, np.floor(sub[ai, aj].astype(np.float64) * scale + 0.5)
                .astype(np.int64)])
            caps = np.concatenate([caps, np.ones(ai.size, np.int64)])
            flows = np.concatenate([flows, np.zeros(ai.size, np.int64)])
            arc_task = np.concatenate([arc_task, ai])
            arc_team = np.concatenate([arc_team, aj])
            _kernels.cancel_negative_arcs(
                net.n_nodes, tails, heads, arc_costs, caps, flows, d,
                np.arange(first_new, tails.size, dtype=np.int64))
            t_fix += time.perf_counter() - ts
            stats["incremental_rounds"] = stats.get("incremental_rounds", 0) + 1


def _assign_compiled(sub, capacity, defer_free, balance, cmax, offset, scale, params, stats,
                     t0):
    """The candidate method with successive shortest paths in one compiled call
    (:func:`_kernels.candidate_flow`), the same steps as the loop in :func:`assign`.

    Returns ``(team of the free tasks, lower bound)``, or None (``stats`` untouched)
    when the kernel stopped before a proven optimum. The kernel's phases are not timed
    one by one: ``seconds_flow`` holds all of it (candidates, flows, pricing, repairs)
    and the other phase timings are 0; the statistics are the loop's, in its order.
    """
    team_free = np.empty(sub.shape[0], np.int32)
    ts = time.perf_counter()
    f = _kernels.candidate_flow(sub, capacity, defer_free, balance, cmax, offset, scale,
                                params, team_free)
    if f.status == NO_PATH:  # cannot happen: every task has its own defer arc
        raise RuntimeError("successive shortest paths found no path to the sink")
    if f.status != OPTIMAL:
        return None
    stats.update(flow_solver="ssp", arcs_initial=int(f.arcs_initial),
                 arcs_slots=int(f.arcs_slots), seconds_setup=ts - t0,
                 ssp_scans=int(f.ssp_scans), flow_solves=int(f.flow_solves),
                 arcs_final=int(f.arcs_final), pricing_rounds=int(f.pricing_rounds),
                 seconds_flow=time.perf_counter() - ts, seconds_potentials=0.0,
                 seconds_pricing=0.0, seconds_incremental=0.0,
                 negative_arcs_per_round=f.negative_arcs.tolist())
    if f.incremental_rounds:
        stats["incremental_rounds"] = int(f.incremental_rounds)
    return team_free, float(f.lower_bound)


def greedy_assign(
    costs: np.ndarray,
    capacity: np.ndarray,
    defer_cost: np.ndarray,
    *,
    balance: float = 0.0,
    pinned: np.ndarray | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Global cheapest pair: repeatedly take the cheapest remaining feasible pair whose
    marginal cost (pair + slot surcharge) is below the task's defer cost.

    Returns int32[n] teams (-1 = deferred); ties are broken by (task, team) index.
    """
    costs = np.asarray(costs)
    n, m = costs.shape
    team = np.full(n, -1, np.int32) if out is None else out
    if pinned is not None:
        team[:] = np.asarray(pinned, np.int32)
    free_mask = team < 0
    fin = np.isfinite(costs) & free_mask[:, None]
    pi, pj = np.nonzero(fin)
    pc = costs[pi, pj].astype(np.float64)
    order = np.argsort(pc, kind="stable")
    _kernels.greedy_pairs(order, pi, pj, pc, np.asarray(defer_cost, np.float64),
                          np.asarray(capacity, np.int64), float(balance), team)
    return team
