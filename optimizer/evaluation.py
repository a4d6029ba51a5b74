"""``evaluate(problem, answer)``: the one cost of an answer to a dispatch problem.

The objective every solver and built-in policy reports, the one :func:`check_policy`
holds a policy's claims to and the one a researcher's own policy can fill its
:class:`Assignment` with (:meth:`Evaluation.to_assignment`) instead of private helpers::

    objective = sum over assigned tasks i of cost[i, team_i]      (+ the extra crews' pairs)
              + sum over deferred tasks i of defer[i]
              + balance * sum over teams j of k_j (k_j - 1) / 2     (the convex surcharge)

with ``cost[i, j]`` and ``defer[i]`` the formulas of :mod:`urbangrid.optimizer.problem`
(the pair's travel, wait, lateness, queued-load and re-assignment terms; the deferral's
weight and the lateness the task has already) and ``k_j`` the tasks team ``j`` takes in
this batch (pinned tasks excepted: they use no batch capacity, but their pair cost
counts). It is computed by the record every solver ends with
(:func:`._common.finish`: compiled, or :func:`._common.finish_numpy` for multi-crew
answers), so ``evaluate(p, solve(p)).objective == solve(p).objective`` bit for bit, and
:class:`Evaluation` splits it into its terms (travel, wait, lateness, balance,
re-assignment, deferral).

An infeasible pair (a team without the skills, an unreachable cell) costs what the
formula gives (``inf`` when unreachable); the contract of skills, shifts and capacities
is :func:`check_assignment`'s, not the cost's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from urbangrid.errors import InputError

from ._common import finish, finish_numpy, priority_order
from .problem import Assignment, DispatchProblem

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The cost of one answer (:func:`evaluate`); the terms add up to ``objective`` (up
    to float rounding).

    Attributes
    ----------
    team
        int32[n], the answer's team per task (-1 = deferred).
    crew_teams
        int32[n, k] every team of each task (-1 padded) when the answer gives some task
        several crews, else None.
    cost
        float64[n], the pair cost of an assigned task (summed over its crews), the defer
        cost of a deferred one.
    eta
        float64[n], arrival when each team works its tasks in the answer's order (its
        ``order``, else priority then deadline); NaN for deferred tasks.
    position
        int32[n], position of each task in its team's sequence, -1 if deferred.
    reason
        int8[n], the :class:`DeferReason` the problem and the answer give each deferred
        task (no qualified team, unreachable, off shift, no capacity left, else cheaper
        to defer), ``ASSIGNED`` (0) for the others.
    team_tasks
        int64[m], tasks (crews) each team takes in this batch, pinned tasks excepted.
    objective
        Total cost: ``cost.sum()`` plus ``surcharge``.
    surcharge
        The convex within-batch balancing term, ``balance * sum k (k - 1) / 2``.
    travel, wait, lateness, balance, reassignment, deferral
        The objective's terms: weighted travel and wait of the assigned pairs; lateness of
        the pairs plus the lateness deferred tasks have already; balance = the queued-load
        term of the pairs plus ``surcharge``; re-assignment; deferral = ``weights.defer *
        priority`` of the deferred tasks.
    """

    team: np.ndarray
    crew_teams: np.ndarray | None
    cost: np.ndarray
    eta: np.ndarray
    position: np.ndarray
    reason: np.ndarray
    team_tasks: np.ndarray
    objective: float
    surcharge: float
    travel: float
    wait: float
    lateness: float
    balance: float
    reassignment: float
    deferral: float
    _order_given: bool = field(default=False, repr=False)

    @property
    def n_assigned(self) -> int:
        return int((self.team >= 0).sum())

    @property
    def n_deferred(self) -> int:
        return int((self.team < 0).sum())

    def terms(self) -> dict[str, float]:
        """The objective's terms by name (they sum to ``objective``)."""
        return {"travel": self.travel, "wait": self.wait, "lateness": self.lateness,
                "balance": self.balance, "reassignment": self.reassignment,
                "deferral": self.deferral}

    def to_assignment(self, method: str, status: str = "feasible", *,
                      reason: np.ndarray | None = None, stats: dict | None = None,
                      lower_bound: float = float("nan"),
                      solve_seconds: float = 0.0) -> Assignment:
        """The :class:`Assignment` of this answer, for a policy of one's own: costs, ETAs,
        objective and reasons from this evaluation. ``reason`` (int8[n], optional) gives
        a policy's own deferral codes where > 0 (:func:`check_policy` checks them);
        ``status`` should be ``"optimal"`` only for a proven optimum (also checked)."""
        out_reason = self.reason.copy()
        if reason is not None:
            given = np.asarray(reason, np.int8)
            if given.shape != self.team.shape:
                raise InputError(f"reason has shape {given.shape}, expected {self.team.shape}")
            out_reason = np.where((self.team < 0) & (given > 0), given, out_reason)
            out_reason = out_reason.astype(np.int8)
        stats = dict(stats or {})
        stats.setdefault("assigned", self.n_assigned)
        stats.setdefault("deferred", self.n_deferred)
        return Assignment(team=self.team, reason=out_reason, cost=self.cost, eta=self.eta,
                          objective=self.objective, method=method,
                          status=status if self.team.size else "trivial",
                          solve_seconds=solve_seconds, stats=stats,
                          order=self.position if self._order_given else None,
                          lower_bound=lower_bound, crew_teams=self.crew_teams)


def evaluate(problem: DispatchProblem, answer: Assignment | np.ndarray, *,
             order: np.ndarray | None = None,
             crew_teams: np.ndarray | None = None) -> Evaluation:
    """The cost of ``answer`` on ``problem`` by the one definition (module docstring).

    Parameters
    ----------
    problem
        The snapshot.
    answer
        An :class:`Assignment` (its ``team``, ``order`` and ``crew_teams`` are read; its
        claims, costs and objective are not) or int[n] teams, -1 = deferred.
    order
        Optional int[n], each task's position in its team's sequence (an Assignment's
        ``order``); without it teams work in priority-then-deadline order.
    crew_teams
        Optional int[n, k], every team of each task, -1 padded, ``[:, 0]`` = ``team``.

    Raises
    ------
    InputError
        A team array of the wrong shape or with indices outside ``[-1, n_teams)``, a
        ``crew_teams`` or ``order`` that does not fit it.
    """
    if not isinstance(problem, DispatchProblem):
        raise InputError(f"evaluate needs a DispatchProblem, got {type(problem).__name__}")
    if isinstance(answer, Assignment):
        team = answer.team
        order = answer.order if order is None else order
        crew_teams = answer.crew_teams if crew_teams is None else crew_teams
    else:
        team = answer
    n, m = problem.n_tasks, problem.n_teams
    team = _int_array("team", team, (n,))
    if ((team < -1) | (team >= m)).any():
        k = int(np.flatnonzero((team < -1) | (team >= m))[0])
        raise InputError(f"team[{k}] = {team[k]} is outside [-1, {m})")
    if order is not None:
        order = _int_array("order", order, (n,))
    if crew_teams is not None:
        crew_teams = np.asarray(crew_teams)
        if crew_teams.ndim != 2 or crew_teams.shape[0] != n or crew_teams.shape[1] < 1:
            raise InputError(f"crew_teams has shape {crew_teams.shape}, expected ({n}, k)")
        crew_teams = _int_array("crew_teams", crew_teams, crew_teams.shape)
        if ((crew_teams < -1) | (crew_teams >= m)).any():
            raise InputError(f"crew_teams holds team indices outside [-1, {m})")
        if not np.array_equal(crew_teams[:, 0], team):
            raise InputError("crew_teams[:, 0] must equal team")
    order_given = order is not None
    if not order_given:  # finish's default sequence, as ranks so that it reports positions
        order = np.empty(n, np.int64)
        order[priority_order(problem)] = np.arange(n)
    t0 = time.perf_counter()
    if crew_teams is None:
        rec = finish(problem, team, method="evaluate", status="", t0=t0, order=order)
    else:
        rec = finish_numpy(problem, team, method="evaluate", status="", t0=t0, order=order,
                           crew_teams=crew_teams)
    return _with_terms(problem, team, crew_teams, rec, order_given)


def _int_array(name: str, value, shape: tuple) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != shape:
        raise InputError(f"{name} has shape {arr.shape}, expected {shape}")
    if arr.size and arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not (np.isfinite(arr) & (arr == np.round(arr))).all():
            raise InputError(f"{name} must hold integers")
    return arr.astype(np.int32)


def _with_terms(p: DispatchProblem, team, crew_teams, rec: Assignment,
                order_given: bool) -> Evaluation:
    """The record's arrays and objective, and the objective split into its terms."""
    w = p.weights
    # every (task, team) pair of the answer: first crews, then the extra ones
    ii, jj = np.flatnonzero(team >= 0), team[team >= 0]
    if crew_teams is not None and crew_teams.shape[1] > 1:
        ei, ek = np.nonzero(crew_teams[:, 1:] >= 0)
        ii = np.concatenate([ii, ei])
        jj = np.concatenate([jj, crew_teams[:, 1:][ei, ek]])
    start = p.team_start()[jj]
    tr = p.travel[jj, p.task_cell[ii]].astype(np.float64)
    prio = p.task_priority[ii]
    late = np.maximum(start + tr + p.task_work[ii] - p.task_deadline[ii], 0.0)
    cur = p.task_current[ii]
    deferred = np.flatnonzero(team < 0)
    x = p.now + p.task_work[deferred] - p.task_deadline[deferred]
    late_deferred = np.where((x > 0.0) & (x < np.inf), x, 0.0)  # as defer_cost()
    prio_d = p.task_priority[deferred]
    counted = np.ones(ii.size, bool)
    counted[p.task_pinned[ii] >= 0] = False
    team_tasks = np.bincount(jj[counted], minlength=p.n_teams).astype(np.int64)
    surcharge = w.balance * float((team_tasks * (team_tasks - 1) // 2).sum())
    return Evaluation(
        team=team, crew_teams=crew_teams, cost=rec.cost, eta=rec.eta, position=rec.order,
        reason=rec.reason, team_tasks=team_tasks, objective=rec.objective,
        surcharge=surcharge,
        travel=float((w.travel * tr).sum()),
        wait=float((w.wait * (start - p.now)).sum()),
        lateness=float((w.lateness * prio * late).sum()
                       + (w.lateness * prio_d * late_deferred).sum()),
        balance=float((w.balance * p.team_load[jj]).sum()) + surcharge,
        reassignment=float((w.reassignment * ((cur >= 0) & (cur != jj))).sum()),
        deferral=float((w.defer * prio_d).sum()),
        _order_given=order_given,
    )
