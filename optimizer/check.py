"""Conformance check for dispatch policies, in the spirit of scikit-learn's ``check_estimator``."""

from __future__ import annotations

import numpy as np

from urbangrid.errors import InputError

from ._common import qualified
from ._kernels import FlowParams
from ._random import random_problem
from .assignment import OPTIMAL_ROUNDED, rounding_gap
from .evaluation import Evaluation, evaluate
from .policies import Policy, get_policy
from .problem import Assignment, DeferReason, DispatchProblem
from .solver import solve

__all__ = ["PolicyContractError", "check_assignment", "check_policy"]


class PolicyContractError(AssertionError):
    """A policy broke the dispatch contract; the message says how and on which problem."""


def check_assignment(p: DispatchProblem, a: Assignment, *, where: str = "") -> None:
    """Check one assignment against the contract; raise :class:`PolicyContractError`.

    Every task has a team or a deferral reason (never dropped), team indices are valid,
    skills, batch capacities and shift ends are respected (pinned tasks excepted, they
    must stay on their team), arrays have the documented shapes; a task given several
    crews (``crew_teams``) gets as many distinct feasible teams as it needs. The
    reported figures are the answer's by :func:`~urbangrid.optimizer.evaluate`: the
    objective, every task's cost, the ETAs for the answer's order, the assigned and
    deferred counts of ``stats``; and no deferral reason is contradicted by the problem
    (see :func:`_check_reasons`).
    """

    def fail(msg: str) -> None:
        raise PolicyContractError(f"{where}{msg}")

    if not isinstance(a, Assignment):
        fail(f"policy returned {type(a).__name__}, not Assignment")
    n, m = p.n_tasks, p.n_teams
    for name in ("team", "reason", "cost", "eta"):
        arr = np.asarray(getattr(a, name))
        if arr.shape != (n,):
            fail(f"Assignment.{name} has shape {arr.shape}, expected ({n},)")
    team = np.asarray(a.team)
    reason = np.asarray(a.reason)
    if ((team < -1) | (team >= m)).any():
        fail(f"team index out of range [-1, {m}): {team[(team < -1) | (team >= m)][:5]}")
    valid = set(int(r) for r in DeferReason)
    if not set(np.unique(reason).tolist()) <= valid:
        fail(f"unknown reason codes {sorted(set(np.unique(reason).tolist()) - valid)}")
    dropped = np.flatnonzero((team < 0) & (reason == DeferReason.ASSIGNED))
    if dropped.size:
        fail(f"{dropped.size} task(s) dropped: deferred without a reason, e.g. task {dropped[0]}")
    mixed = np.flatnonzero((team >= 0) & (reason != DeferReason.ASSIGNED))
    if mixed.size:
        fail(f"task {mixed[0]} has a team and a deferral reason")
    _check_holds(p, a, team, reason, fail)
    pinned = np.flatnonzero(p.task_pinned >= 0)
    moved = pinned[team[pinned] != p.task_pinned[pinned]]
    if moved.size:
        fail(f"pinned task {moved[0]} moved from team {p.task_pinned[moved[0]]}")
    free = np.flatnonzero((team >= 0) & (p.task_pinned < 0))
    _check_reach(p, free, team[free], lambda i: f"given to team {team[i]}", fail)
    crews = _check_crews(p, a, team, fail)
    try:
        e = evaluate(p, a)
    except InputError as exc:
        fail(str(exc))
    over = np.flatnonzero(e.team_tasks > p.team_capacity)
    if over.size:
        k = over[0]
        fail(f"team {k} got {e.team_tasks[k]} tasks, capacity {p.team_capacity[k]}")
    if not np.isfinite(a.objective):
        fail(f"objective is {a.objective}")
    _check_claims(p, a, e, crews, fail)


# how far a reported figure may stray from evaluate()'s: float rounding only (the built-in
# policies report evaluate()'s numbers bit for bit)
_RTOL = 1e-9
_ATOL_COST = 1e-6  # seconds-equivalent
_ATOL_ETA = 1e-3  # seconds


def _check_crews(p: DispatchProblem, a: Assignment, team: np.ndarray, fail) -> np.ndarray:
    """int[n] crews each task is given, after checking that ``crew_teams`` (if any) lists
    distinct, qualified teams that can arrive within their shifts, as many as the task
    needs (``task_crews``), none for a deferred task. Without ``crew_teams`` a task has
    its one team (single-crew policies, documented at ``task_crews``)."""
    n = p.n_tasks
    crews = (team >= 0).astype(np.int64)
    if a.crew_teams is None:
        return crews
    ct = np.asarray(a.crew_teams)
    if ct.ndim != 2 or ct.shape[0] != n or ct.shape[1] < 1:
        fail(f"Assignment.crew_teams has shape {ct.shape}, expected ({n}, k)")
    if ((ct < -1) | (ct >= p.n_teams)).any():
        fail(f"crew_teams holds team indices outside [-1, {p.n_teams})")
    if (ct[:, 0] != team).any():
        fail("crew_teams[:, 0] must equal team")
    crews = (ct >= 0).sum(1)
    srt = np.sort(ct, axis=1)
    dup = ((srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)).any(1)
    if dup.any():
        fail(f"task {np.flatnonzero(dup)[0]} lists one team twice in crew_teams")
    ghost = np.flatnonzero((team < 0) & (crews > 0))
    if ghost.size:
        fail(f"deferred task {ghost[0]} has crews in crew_teams")
    short = np.flatnonzero((team >= 0) & (p.task_pinned < 0) & (crews != p.task_crews))
    if short.size:
        i = short[0]
        fail(f"task {i} needs {p.task_crews[i]} crew(s) and was given {crews[i]}")
    ei, ek = np.nonzero((ct[:, 1:] >= 0) & (p.task_pinned < 0)[:, None])
    _check_reach(p, ei, ct[:, 1:][ei, ek], lambda i: "given an extra crew", fail)
    if p.team_joins is not None:
        multi = ct[(p.task_crews > 1) & (p.task_pinned < 0)]
        joins = np.bincount(multi[multi >= 0], minlength=p.n_teams)
        over = np.flatnonzero(joins > p.team_joins)
        if over.size:
            j = over[0]
            fail(f"team {j} takes part in {joins[j]} multi-crew task(s), more than its "
                 f"team_joins = {p.team_joins[j]}")
    return crews


def _check_reach(p, tasks: np.ndarray, teams: np.ndarray, given, fail) -> None:
    """Each of ``tasks`` sent to the team beside it in ``teams`` has the skills it needs
    and can arrive within the team's shift (``given(i)`` words the sending of task i)."""
    skill = p.task_skill[tasks]
    bad = tasks[(p.team_skills[teams] & skill) != skill]
    if bad.size:
        fail(f"task {bad[0]} {given(bad[0])} without the required skills")
    arrival = p.team_start()[teams] + p.travel[teams, p.task_cell[tasks]]
    bad = tasks[~(arrival <= p.team_shift_end[teams])]
    if bad.size:
        fail(f"task {bad[0]} {given(bad[0])} that cannot arrive within its shift")


def _check_claims(p: DispatchProblem, a: Assignment, e: Evaluation, crews: np.ndarray,
                  fail) -> None:
    """The assignment's figures against :func:`evaluate`'s: objective, costs, ETAs, the
    assigned and deferred counts of its statistics, and the deferral reasons."""
    scale = max(1.0, abs(e.objective))
    if not abs(a.objective - e.objective) <= _ATOL_COST + _RTOL * scale:
        fail(f"objective {float(a.objective)!r} is not the answer's cost {e.objective!r} "
             "(urbangrid.optimizer.evaluate; Evaluation.to_assignment fills an Assignment "
             "with it)")
    cost = np.asarray(a.cost, np.float64)
    bad = np.flatnonzero(~np.isclose(cost, e.cost, rtol=_RTOL, atol=_ATOL_COST))
    if bad.size:
        i = bad[0]
        fail(f"cost[{i}] = {float(cost[i])!r}, evaluate() gives {float(e.cost[i])!r} "
             f"({bad.size} task(s) differ)")
    eta = np.asarray(a.eta, np.float64)
    assigned = a.team >= 0
    bad = np.flatnonzero(~assigned & ~np.isnan(eta))
    if bad.size:
        fail(f"deferred task {bad[0]} has an ETA ({float(eta[bad[0]])!r}), expected NaN")
    fin = assigned & np.isfinite(e.eta)
    bad = np.flatnonzero(fin & ~np.isclose(eta, e.eta, rtol=1e-12, atol=_ATOL_ETA))
    if bad.size:
        i = bad[0]
        fail(f"eta[{i}] = {float(eta[i])!r}, evaluate() gives {float(e.eta[i])!r} for the "
             f"answer's order ({bad.size} task(s) differ)")
    for key, want in (("assigned", e.n_assigned), ("deferred", e.n_deferred)):
        got = a.stats.get(key) if isinstance(a.stats, dict) else None
        if got is not None and got != want:
            fail(f"stats[{key!r}] = {got!r}, the answer has {want}")
    _check_reasons(p, a, e, fail)


def _check_holds(p: DispatchProblem, a: Assignment, team: np.ndarray, reason: np.ndarray,
                 fail) -> None:
    """Postponement: exactly the tasks deferred as ``POSTPONED`` carry a finite
    ``hold_until`` after ``now``; every other entry is NaN."""
    postponed = reason == DeferReason.POSTPONED
    if a.hold_until is None:
        if postponed.any():
            fail(f"task {np.flatnonzero(postponed)[0]} deferred as POSTPONED without "
                 "Assignment.hold_until")
        return
    hold = np.asarray(a.hold_until, dtype=np.float64)
    if hold.shape != team.shape:
        fail(f"Assignment.hold_until has shape {hold.shape}, expected {team.shape}")
    bad = np.flatnonzero(postponed & ~(np.isfinite(hold) & (hold > p.now)))
    if bad.size:
        fail(f"task {bad[0]} is POSTPONED until {hold[bad[0]]!r}: give a finite time after "
             f"now ({p.now:g})")
    stray = np.flatnonzero(~postponed & ~np.isnan(hold))
    if stray.size:
        fail(f"task {stray[0]} has a hold_until but is not deferred as POSTPONED")


def _check_reasons(p: DispatchProblem, a: Assignment, e: Evaluation, fail) -> None:
    """Each deferred task's reason against the facts of the problem and the answer.

    A reason is false when the problem shows otherwise: no qualified team (or only
    outside the sub-district) while one qualifies; unreachable while a qualified team can
    reach the cell; off shift while one reaches it within its shift; no capacity while
    one would arrive in time with room left; cheaper to defer while no team had room;
    crews unavailable for a one-crew task. Teams are those of the task's sub-district and
    the district-wide ones (what an area-bound policy may use), and for "off shift" and
    "no capacity" only the teams the answer gave nothing (a sequential policy's team
    that took tasks may have run out of shift since): a lenient test, which a true
    reason always passes and a false one about those teams fails.
    """
    deferred = np.flatnonzero(a.team < 0)
    if deferred.size == 0 or p.n_teams == 0:
        bad = deferred[(np.asarray(a.reason)[deferred] == DeferReason.CREWS_UNAVAILABLE)
                       & (p.task_crews[deferred] <= 1)] if deferred.size else deferred
        if bad.size:
            fail(f"task {bad[0]} deferred as CREWS_UNAVAILABLE but needs one crew")
        return
    reason = np.asarray(a.reason)[deferred]
    q = qualified(p, deferred)  # (k, m)
    local = (p.team_area[None, :] == p.task_area[deferred, None]) | (p.team_area == -1)[None, :]
    tr = p.travel[:, p.task_cell[deferred]].T
    reach = q & np.isfinite(tr)
    on_shift = reach & (p.team_start()[None, :] + tr <= p.team_shift_end[None, :])
    untouched = (e.team_tasks == 0)[None, :]
    room = on_shift & ((p.team_capacity - e.team_tasks) > 0)[None, :]
    false = {
        DeferReason.NO_QUALIFIED_TEAM: (q & local).any(1),
        DeferReason.OUT_OF_AREA: (q & local).any(1) | ~q.any(1),
        DeferReason.UNREACHABLE: (reach & local).any(1),
        DeferReason.OFF_SHIFT: (on_shift & local & untouched).any(1),
        DeferReason.NO_CAPACITY: (room & local & untouched).any(1),
        DeferReason.CHEAPER_TO_DEFER: ~room.any(1),
        DeferReason.CREWS_UNAVAILABLE: p.task_crews[deferred] <= 1,
    }
    for code, wrong in false.items():
        bad = deferred[(reason == code) & wrong]
        if bad.size:
            fail(f"task {bad[0]} deferred as {DeferReason(code).name}, which the problem "
                 f"contradicts ({bad.size} task(s) so)")


def _same(a: Assignment, b: Assignment) -> bool:
    return (
        np.array_equal(a.team, b.team)
        and np.array_equal(a.reason, b.reason)
        and np.array_equal(a.cost, b.cost)
        and np.array_equal(a.eta, b.eta, equal_nan=True)
        and a.objective == b.objective
    )


def check_policy(
    policy: Policy | str, seed: int = 0, n_problems: int = 6, **params
) -> list[Assignment]:
    """Run ``policy`` on seeded random and awkward problems and check the contract.

    Parameters
    ----------
    policy
        A policy callable, or a registered name (built with ``params``).
    seed
        Seed for the problems (spawned per problem with ``numpy.random.SeedSequence``).
    n_problems
        Number of random problems; a few fixed edge cases (no tasks, no capacity, every
        task pinned, an unservable skill) are always added.

    Returns
    -------
    list of Assignment
        The checked assignments, for further inspection.

    Raises
    ------
    PolicyContractError
        On the first violation: a dropped task, a broken skill, capacity, crew or shift
        rule, a moved pinned task, an objective, cost, ETA or count that is not the
        answer's (:func:`~urbangrid.optimizer.evaluate`), a false deferral reason, an
        "optimal" status or a lower bound the exact solver refutes, or different results
        for the same problem.
    """
    if isinstance(policy, str):
        policy = get_policy(policy, **params)
    seeds = np.random.SeedSequence(seed).spawn(n_problems + 4)
    problems: list[tuple[str, DispatchProblem]] = []
    for k in range(n_problems):
        sizes = [(1, 1), (5, 3), (30, 20), (60, 40), (120, 60), (40, 80)][k % 6]
        problems.append((f"random #{k} {sizes}", random_problem(
            seeds[k], *sizes, n_cells=80, capacity=(0, 3), pinned=0.05, current=0.1)))
    base = random_problem(seeds[-1], 20, 10, n_cells=50)
    n = base.n_tasks
    problems += [
        ("no tasks", random_problem(seeds[-2], 0, 5, n_cells=10)),
        ("no capacity", base.replace(team_capacity=0)),
        ("all pinned", base.replace(task_pinned=np.arange(n) % base.n_teams)),
        ("unservable skill", base.replace(task_skill=np.full(n, 1 << 40))),
        ("no teams", random_problem(seeds[-3], 5, 0, n_cells=10)),
    ]
    out = []
    for name, p in problems:
        a = policy(p)
        check_assignment(p, a, where=f"[{name}] ")
        if not _same(a, policy(p)):
            raise PolicyContractError(f"[{name}] two runs on the same problem differ")
        _check_optimality_claims(p, a, where=f"[{name}] ")
        out.append(a)
    return out


def _check_optimality_claims(p: DispatchProblem, a: Assignment, *, where: str) -> None:
    """A status ``"optimal"`` (or ``"optimal_rounded"``) and a finite ``lower_bound``
    against the exact solver: neither may exceed ``solve(p, "mcf")``'s objective by more
    than the cost rounding of both (:func:`~.assignment.rounding_gap` at the default
    scale, or the ``gap_bound`` either reports). Only for one-crew problems (the flow
    cannot staff several crews, so its optimum is not a bound there)."""
    claims_optimum = a.status in ("optimal", OPTIMAL_ROUNDED)
    if not (claims_optimum or np.isfinite(a.lower_bound)) or (p.task_crews > 1).any():
        return
    ref = solve(p, "mcf")
    n_free = int((p.task_pinned < 0).sum())
    slack = (2 * rounding_gap(n_free, FlowParams().scale) + a.stats.get("gap_bound", 0.0)
             + ref.stats.get("gap_bound", 0.0) + _ATOL_COST
             + _RTOL * max(1.0, abs(ref.objective)))
    if claims_optimum and a.objective > ref.objective + slack:
        raise PolicyContractError(
            f"{where}status {a.status!r} with objective {a.objective!r}, but "
            f"solve(p, 'mcf') finds {ref.objective!r}")
    if np.isfinite(a.lower_bound) and a.lower_bound > ref.objective + slack:
        raise PolicyContractError(
            f"{where}lower_bound {a.lower_bound!r} is above an answer of cost "
            f"{ref.objective!r} (solve(p, 'mcf'))")
