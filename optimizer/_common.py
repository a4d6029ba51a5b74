"""Shared helpers: feasibility, pair costs, deferral reasons, the final record, and the
one compiled round of the built-in policies.

Every policy and solver ends with :func:`finish` (or the same kernel inside
:func:`compiled_round`), so costs, ETAs, reasons and the objective of any two
assignments are computed the same way and can be compared; its public face, for any
answer, is :func:`urbangrid.optimizer.evaluate`.
"""

from __future__ import annotations

import time

import numpy as np

from . import _policy_kernels
from ._kernels import FlowParams
from ._policy_kernels import Batch, Record
from .problem import Assignment, DeferReason, DispatchProblem


def qualified(p: DispatchProblem, tasks: np.ndarray | None = None) -> np.ndarray:
    """bool[n, m]: team ``j`` has every skill task ``i`` needs."""
    skill = p.task_skill if tasks is None else p.task_skill[tasks]
    return (p.team_skills[None, :] & skill[:, None]) == skill[:, None]


def pair_cost(
    p: DispatchProblem, i: np.ndarray, j: np.ndarray, *, feasible_only: bool = True
) -> np.ndarray:
    """Score of the pairs ``(i[k], j[k])`` (float64), inf where infeasible.

    Mirrors the formula in :mod:`urbangrid.optimizer.problem`; the Numba kernels in
    ``scoring`` compute the same numbers for whole matrices.
    """
    w = p.weights
    start = p.team_start()[j]
    tr = p.travel[j, p.task_cell[i]].astype(np.float64)
    arrival = start + tr
    late = np.maximum(arrival + p.task_work[i] - p.task_deadline[i], 0.0)
    cur = p.task_current[i]
    cost = (
        w.travel * tr
        + w.wait * (start - p.now)
        + w.lateness * p.task_priority[i] * late
        + w.balance * p.team_load[j]
        + w.reassignment * ((cur >= 0) & (cur != j))
    )
    if feasible_only:
        skill = p.task_skill[i]
        ok = ((p.team_skills[j] & skill) == skill) & np.isfinite(tr)
        ok &= arrival <= p.team_shift_end[j]
        cost = np.where(ok, cost, np.inf)
    return cost


def defer_reasons(
    p: DispatchProblem, tasks: np.ndarray, cap_left: np.ndarray, start: np.ndarray | None = None
) -> np.ndarray:
    """int8 reason for each deferred task in ``tasks``, given the capacity left over."""
    if tasks.size == 0:
        return np.zeros(0, np.int8)
    start = p.team_start() if start is None else start
    q = qualified(p, tasks)
    tr = p.travel[:, p.task_cell[tasks]].T  # (k, m)
    reach = q & np.isfinite(tr)
    on_shift = reach & (start[None, :] + tr <= p.team_shift_end[None, :])
    room = on_shift & (cap_left[None, :] > 0)
    out = np.full(tasks.size, DeferReason.CHEAPER_TO_DEFER, np.int8)
    out[~room.any(1)] = DeferReason.NO_CAPACITY
    out[~on_shift.any(1)] = DeferReason.OFF_SHIFT
    out[~reach.any(1)] = DeferReason.UNREACHABLE
    out[~q.any(1)] = DeferReason.NO_QUALIFIED_TEAM
    return out


def priority_order(p: DispatchProblem) -> np.ndarray:
    """Task indices by descending priority, then earliest deadline, then index (int64;
    compiled, the same as :func:`priority_order_numpy`)."""
    return _policy_kernels.priority_order(p.task_priority, p.task_deadline)


def priority_order_numpy(p: DispatchProblem) -> np.ndarray:
    """:func:`priority_order` by ``np.lexsort`` (the reference)."""
    return np.lexsort((np.arange(p.n_tasks), p.task_deadline, -p.task_priority)).astype(np.int64)


def sequence_eta(
    p: DispatchProblem, team: np.ndarray, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Expected arrival of every assigned task when each team works its tasks in sequence.

    The sequence is ``order`` if given, else priority-then-deadline. The first leg runs
    from the team's cell (``travel``), later legs from the previous task's cell
    (``cell_travel`` if the problem has it, else again from the team's row, a stand-in
    that ignores where the previous task was). Returns ``(eta, position)``; NaN / -1 for
    deferred tasks.
    """
    n = p.n_tasks
    eta = np.full(n, np.nan)
    pos = np.full(n, -1, np.int32)
    idx = np.flatnonzero(team >= 0)
    if idx.size == 0:
        return eta, pos
    if order is None:
        rank = np.empty(n, np.int64)
        rank[priority_order_numpy(p)] = np.arange(n)
    else:
        rank = order.astype(np.int64)
    idx = idx[np.lexsort((rank[idx], team[idx]))]
    tj = team[idx]
    first = np.ones(idx.size, bool)
    first[1:] = tj[1:] != tj[:-1]
    cells = p.task_cell[idx]
    legs = p.travel[tj, cells].astype(np.float64)
    if p.cell_travel is not None and idx.size > 1:
        prev = np.r_[cells[:1], cells[:-1]]
        legs = np.where(first, legs, p.cell_travel[prev, cells])
    work_before = np.r_[0.0, p.task_work[idx][:-1]]
    step = legs + np.where(first, 0.0, work_before)
    csum = np.cumsum(step)
    group_start = np.flatnonzero(first)
    seg = np.cumsum(first) - 1
    base = csum[group_start] - step[group_start]
    eta[idx] = p.team_start()[tj] + csum - base[seg]
    k = np.arange(idx.size)
    pos[idx] = k - group_start[seg]
    return eta, pos


def finish(
    p: DispatchProblem,
    team: np.ndarray,
    *,
    method: str,
    status: str,
    t0: float,
    stats: dict | None = None,
    order: np.ndarray | None = None,
    reason: np.ndarray | None = None,
    lower_bound: float = float("nan"),
    crew_teams: np.ndarray | None = None,
    priority: np.ndarray | None = None,
) -> Assignment:
    """Build the :class:`Assignment` for ``team`` (int[n], -1 = deferred).

    ``reason`` may carry solver-specific codes for deferred tasks; missing ones (0) are
    derived from feasibility and the capacity left over. ``crew_teams`` (int[n, k], -1
    padded) lists every team of multi-crew tasks; their extra crews count against
    capacity and their pair costs are added to the task's cost. ``priority`` is
    :func:`priority_order` if the caller has it already.

    One compiled pass (:func:`_policy_kernels.finish_core`) computes what
    :func:`finish_numpy` computes with a few dozen small array operations, whose
    per-call overhead alone exceeds a small batch's work. The two give bitwise equal
    records (tested); multi-crew assignments take the NumPy path.
    """
    if crew_teams is not None:
        return finish_numpy(p, team, method=method, status=status, t0=t0, stats=stats,
                            order=order, reason=reason, lower_bound=lower_bound,
                            crew_teams=crew_teams)
    n = p.n_tasks
    team = np.asarray(team, np.int32)
    given = np.zeros(n, np.int8) if reason is None else np.asarray(reason, np.int8)
    if order is None:
        seq = priority_order(p) if priority is None else priority
    else:  # by position, ties by task index, as sequence_eta's lexsort
        seq = np.argsort(np.asarray(order, np.int64), kind="stable")
    out = Record(team, np.empty(n, np.float64), np.empty(n, np.int8), np.empty(n, np.float64),
                 np.empty(n, np.int32))
    n_assigned, n_deferred, pairs = _policy_kernels.finish_core(given, seq, p.team_start(),
                                                                batch_of(p), out)
    return _assignment(team, out.reason, out.cost, out.eta, out.pos,
                       p.weights.balance * float(pairs), int(n_assigned), int(n_deferred),
                       method=method, status=status, t0=t0, stats=stats, order=order,
                       lower_bound=lower_bound, crew_teams=None)


def batch_of(p: DispatchProblem) -> Batch:
    """The problem's arrays and weights as the kernels read them."""
    return Batch(*_batch_fields(p))


def _batch_fields(p: DispatchProblem) -> tuple:
    # Batch's fields in its order (a plain tuple: compiled_round passes them flattened)
    w = p.weights
    ct = p.cell_travel
    return (p.now, p.task_cell, p.task_skill, p.task_work, p.task_area, p.task_deadline,
            p.task_priority, p.task_current, p.task_pinned, p.travel, p.team_skills,
            p.team_area, p.team_free_at, p.team_shift_start, p.team_shift_end,
            p.team_capacity, p.team_load, _NO_CELL_TRAVEL if ct is None else ct,
            ct is not None, w.travel, w.wait, w.lateness, w.balance, w.reassignment,
            w.defer)


def compiled_round(p: DispatchProblem, kind: int, params: FlowParams
                   ) -> tuple[int, tuple[int, int, int], tuple, Record]:
    """A built-in policy's round in one compiled call (:func:`_policy_kernels.dispatch`),
    with its record: ``(status, (assigned, deferred, slot_pairs), flow, out)``, ``flow``
    the fields of the ``mcf`` flow's :class:`~._kernels.FlowResult` (read them with
    ``FlowResult._make``), ``out`` the :class:`~._policy_kernels.Record`, filled when
    ``status`` is 0."""
    n = p.task_id.shape[0]
    out = Record(np.empty(n, np.int32), np.empty(n, np.float64), np.empty(n, np.int8),
                 np.empty(n, np.float64), np.empty(n, np.int32))
    got = _policy_kernels.dispatch_flat(kind, *_batch_fields(p), *params, *out)
    return got[0], got[1:4], got[4:], out


def _assignment(team, reason, cost, eta, pos, surcharge, n_assigned, n_deferred, *, method,
                status, t0, stats, order, lower_bound, crew_teams) -> Assignment:
    """The :class:`Assignment` record both finish paths return."""
    stats = dict(stats or {})
    stats.setdefault("assigned", n_assigned)
    stats.setdefault("deferred", n_deferred)
    # the frozen dataclass's __init__ sets each field through object.__setattr__ (~2 us,
    # a tenth of a small batch's solve); every field is given here, so filling the
    # instance dict directly makes the same record
    a = object.__new__(Assignment)
    a.__dict__.update(
        team=team,
        reason=reason,
        cost=cost,
        eta=eta,
        objective=float(cost.sum() + surcharge),
        method=method,
        status=status if team.size else "trivial",
        solve_seconds=time.perf_counter() - t0,
        stats=stats,
        order=pos if order is not None else None,
        lower_bound=lower_bound,
        crew_teams=crew_teams,
    )
    return a


# stands in for a missing cell_travel (compiled code needs an array of fixed type)
_NO_CELL_TRAVEL = np.zeros((1, 1), np.float32)


def finish_numpy(
    p: DispatchProblem,
    team: np.ndarray,
    *,
    method: str,
    status: str,
    t0: float,
    stats: dict | None = None,
    order: np.ndarray | None = None,
    reason: np.ndarray | None = None,
    lower_bound: float = float("nan"),
    crew_teams: np.ndarray | None = None,
) -> Assignment:
    """:func:`finish` in NumPy, the readable reference the compiled path is tested against.

    Build the :class:`Assignment` for ``team`` (int[n], -1 = deferred).

    ``reason`` may carry solver-specific codes for deferred tasks; missing ones (0) are
    derived from feasibility and the capacity left over. ``crew_teams`` (int[n, k], -1
    padded) lists every team of multi-crew tasks; their extra crews count against
    capacity and their pair costs are added to the task's cost.
    """
    n = p.n_tasks
    team = np.asarray(team, np.int32)
    assigned = np.flatnonzero(team >= 0)
    pinned = p.task_pinned >= 0
    cost = p.defer_cost().astype(np.float64)
    if assigned.size:
        cost[assigned] = pair_cost(p, assigned, team[assigned], feasible_only=False)
    # batch load of each team (pinned tasks do not use batch capacity)
    counted = assigned[~pinned[assigned]]
    used = np.bincount(team[counted], minlength=p.n_teams)
    if crew_teams is not None:
        extra = crew_teams[:, 1:]
        ei, ek = np.nonzero((extra >= 0) & ~pinned[:, None])
        if ei.size:
            ej = extra[ei, ek]
            used += np.bincount(ej, minlength=p.n_teams)
            np.add.at(cost, ei, pair_cost(p, ei, ej, feasible_only=False))
    surcharge = p.weights.balance * float((used * (used - 1) // 2).sum())
    out_reason = np.zeros(n, np.int8)
    deferred = np.flatnonzero(team < 0)
    if deferred.size:
        given = None if reason is None else np.asarray(reason, np.int8)[deferred]
        derived = defer_reasons(p, deferred, p.team_capacity - used)
        out_reason[deferred] = derived if given is None else np.where(given > 0, given, derived)
    eta, pos = sequence_eta(p, team, order)
    return _assignment(team, out_reason, cost, eta, pos, surcharge, int(assigned.size),
                       int(deferred.size), method=method, status=status, t0=t0,
                       stats=stats, order=order, lower_bound=lower_bound,
                       crew_teams=crew_teams)
