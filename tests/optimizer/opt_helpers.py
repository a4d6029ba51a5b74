"""Hand-made problems shared by the optimizer tests."""

import dataclasses

import numpy as np

from urbangrid.optimizer import ScoreWeights
from urbangrid.optimizer._random import random_problem


def unchecked_replace(p, **changes):
    """A copy of problem ``p`` with ``changes`` and no checks (``DispatchProblem.unchecked``):
    for values the constructor refuses but a kernel must still handle, such as a deadline
    of -inf."""
    fields = {f.name: getattr(p, f.name) for f in dataclasses.fields(p)}
    return type(p).unchecked(**{**fields, **changes})


def tiny_kwargs(**over):
    """Three tasks, three teams on a line of four cells 600 s apart.

    Skills: bit 0 = roads, bit 1 = greenery. Team 2 is off shift (starts in 8 h).
    """
    pos = np.array([0, 1, 2, 3])
    cell_travel = (np.abs(pos[:, None] - pos[None, :]) * 600.0).astype(np.float32)
    team_cell = np.array([0, 3, 1], np.int32)
    kw = dict(
        now=1000.0,
        task_id=np.array([11, 12, 13]),
        task_cell=np.array([0, 3, 2]),
        task_priority=np.array([1.0, 2.0, 1.0]),
        task_skill=np.array([1, 1, 2]),
        task_deadline=np.array([90_000.0, 90_000.0, 90_000.0]),
        task_work=np.array([600.0, 600.0, 600.0]),
        task_area=np.array([0, 1, 1]),
        team_id=np.array([1, 2, 3]),
        team_cell=team_cell,
        team_skills=np.array([1, 3, 2]),
        team_free_at=np.array([0.0, 0.0, 0.0]),
        team_capacity=np.array([1, 1, 1]),
        team_shift_start=np.array([0.0, 0.0, 30_000.0]),
        team_shift_end=np.array([20_000.0, 20_000.0, 60_000.0]),
        team_area=np.array([0, 1, 1]),
        travel=cell_travel[team_cell],
        cell_travel=cell_travel,
    )
    kw.update(over)
    return kw


def edge_case_problems(seed: int):
    """Random problems (one task in a third of them) and edge cases derived from them:
    ties, unreachable and unqualified pairs, overdue tasks, teams without room or off
    shift, deferring cheaper than most pairs (test_opt_small, test_opt_compiled)."""
    rng = np.random.default_rng(seed)
    n = 1 if seed % 3 == 0 else int(rng.integers(2, 70))
    m = int(rng.integers(2, 60))
    weights = ScoreWeights(defer=float(rng.choice([14_400.0, 1e6, 900.0])),
                           balance=float(rng.choice([0.0, 60.0])))
    p = random_problem(seed, n_tasks=n, n_teams=m, n_cells=int(rng.integers(3, 80)),
                       capacity=(0, 3), current=0.2, off_shift=0.3, weights=weights,
                       with_cell_travel=bool(seed % 2))
    yield p
    # ties: travel rounded to 10 minutes, equal loads and start times, one priority;
    # a fifth of the pairs unreachable
    travel = np.round(p.travel / 600.0) * 600.0
    travel[rng.random(travel.shape) < 0.2] = np.inf
    yield p.replace(travel=travel.astype(np.float32), team_load=np.zeros(m, np.int32),
                    team_free_at=np.full(m, p.now), task_priority=np.ones(n))
    # deadlines passed (lateness), every team with room 0 or 1, a team whose shift never
    # ends next to an unreachable cell
    end = p.team_shift_end.copy()
    end[0] = np.inf
    travel = p.travel.copy()
    travel[:, p.task_cell[0]] = np.inf
    yield p.replace(task_deadline=p.task_deadline - 3 * 86_400.0,
                    team_capacity=rng.integers(0, 2, m).astype(np.int32),
                    team_shift_end=end, travel=travel)
    # deferring cheaper than most pairs
    yield p.replace(weights=ScoreWeights(defer=300.0, balance=weights.balance))
    # shifts ending in five minutes: most teams cannot arrive in time
    yield p.replace(team_shift_start=np.minimum(p.team_shift_start, p.now),
                    team_shift_end=np.full(m, p.now + 300.0))
    # no team has room, or no team qualifies
    yield p.replace(team_capacity=np.zeros(m, np.int32))
    yield p.replace(task_skill=np.full(n, 1 << 20, np.int64))
