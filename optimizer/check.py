"""Conformance check for dispatch policies, in the spirit of scikit-learn's ``check_estimator``."""

from __future__ import annotations

import numpy as np

from ._random import random_problem
from .policies import Policy, get_policy
from .problem import Assignment, DeferReason, DispatchProblem

__all__ = ["PolicyContractError", "check_assignment", "check_policy"]


class PolicyContractError(AssertionError):
    """A policy broke the dispatch contract; the message says how and on which problem."""


def check_assignment(p: DispatchProblem, a: Assignment, *, where: str = "") -> None:
    """Check one assignment against the contract; raise :class:`PolicyContractError`.

    Every task has a team or a deferral reason (never dropped), team indices are valid,
    skills, batch capacities and shift ends are respected (pinned tasks excepted, they
    must stay on their team), arrays have the documented shapes.
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
    pinned = np.flatnonzero(p.task_pinned >= 0)
    moved = pinned[team[pinned] != p.task_pinned[pinned]]
    if moved.size:
        fail(f"pinned task {moved[0]} moved from team {p.task_pinned[moved[0]]}")
    free = np.flatnonzero((team >= 0) & (p.task_pinned < 0))
    j = team[free]
    skill = p.task_skill[free]
    bad = free[(p.team_skills[j] & skill) != skill]
    if bad.size:
        fail(f"task {bad[0]} given to team {team[bad[0]]} without the required skills")
    arrival = p.team_start()[j] + p.travel[j, p.task_cell[free]]
    bad = free[~(arrival <= p.team_shift_end[j])]
    if bad.size:
        fail(f"task {bad[0]} given to team {team[bad[0]]} that cannot arrive within its shift")
    used = np.bincount(j, minlength=m)
    if a.crew_teams is not None:
        extra = np.asarray(a.crew_teams)[:, 1:]
        ei, ek = np.nonzero((extra >= 0) & (p.task_pinned < 0)[:, None])
        used += np.bincount(extra[ei, ek], minlength=m)
        if (np.asarray(a.crew_teams)[:, 0] != team).any():
            fail("crew_teams[:, 0] must equal team")
    over = np.flatnonzero(used > p.team_capacity)
    if over.size:
        fail(f"team {over[0]} got {used[over[0]]} tasks, capacity {p.team_capacity[over[0]]}")
    if not np.isfinite(a.objective):
        fail(f"objective is {a.objective}")


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
        On the first violation: a dropped task, a broken skill, capacity or shift rule,
        a moved pinned task, or different results for the same problem.
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
        out.append(a)
    return out
