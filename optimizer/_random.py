"""Seeded synthetic dispatch problems for tests, :func:`check_policy` and measurements.

Cells lie on a jittered grid over a square district (default 6 km side, about the size
of Jing'an); travel is straight-line distance x 1.3 detour at 4 m/s (an e-bike), so it
obeys the triangle inequality. About 60 % of task x team pairs are skill-feasible.
"""

from __future__ import annotations

import numpy as np

from .problem import DispatchProblem, ScoreWeights


def random_problem(
    seed: int | np.random.SeedSequence = 0,
    n_tasks: int = 50,
    n_teams: int = 40,
    n_cells: int = 300,
    capacity: tuple[int, int] = (1, 3),
    *,
    side_m: float = 6000.0,
    n_areas: int = 14,
    off_shift: float = 0.1,
    pinned: float = 0.0,
    current: float = 0.0,
    weights: ScoreWeights | None = None,
    with_cell_travel: bool = False,
) -> DispatchProblem:
    """A random but realistic :class:`DispatchProblem`.

    Parameters
    ----------
    seed
        Seed of the problem's own ``numpy.random.Generator``.
    n_tasks, n_teams, n_cells
        Sizes.
    capacity
        Inclusive range of each team's batch capacity.
    side_m
        Side of the square district in metres.
    n_areas
        Number of sub-districts (vertical strips).
    off_shift
        Share of teams whose shift starts in 8 hours.
    pinned, current
        Share of tasks pinned to / currently assigned to a random qualified team.
    weights
        Score weights, default :class:`ScoreWeights`.
    with_cell_travel
        Also give the cell-to-cell travel matrix (for routing).
    """
    rng = np.random.default_rng(seed)
    now = 8 * 3600.0
    xy = rng.uniform(0, side_m, size=(n_cells, 2))
    cell_area = np.minimum((xy[:, 0] / side_m * n_areas).astype(np.int32), n_areas - 1)
    team_cell = rng.integers(0, n_cells, n_teams).astype(np.int32)
    task_cell = rng.integers(0, n_cells, n_tasks).astype(np.int32)

    def dist(a: np.ndarray) -> np.ndarray:
        d = np.hypot(xy[a, None, 0] - xy[None, :, 0], xy[a, None, 1] - xy[None, :, 1])
        return (d * 1.3 / 4.0).astype(np.float32)

    travel = dist(team_cell)
    # skills: 4 bits; each team has two or three, each task needs one (a tenth need two)
    team_skills = np.zeros(n_teams, np.int64)
    for b in range(4):
        team_skills |= (rng.random(n_teams) < 0.6).astype(np.int64) << b
    team_skills[team_skills == 0] = 1
    task_skill = np.int64(1) << rng.integers(0, 4, n_tasks)
    two = rng.random(n_tasks) < 0.1
    task_skill[two] |= np.int64(1) << rng.integers(0, 4, int(two.sum()))
    shift_start = np.full(n_teams, now - 3600.0)
    late_shift = rng.random(n_teams) < off_shift
    shift_start[late_shift] = now + 8 * 3600.0
    shift_end = shift_start + 8 * 3600.0
    free_at = now + rng.exponential(1200.0, n_teams) * (rng.random(n_teams) < 0.5)
    team_area = cell_area[team_cell].copy()
    team_area[rng.random(n_teams) < 0.1] = -1

    def some_team(frac: float) -> np.ndarray:
        out = np.full(n_tasks, -1, np.int32)
        pick = np.flatnonzero(rng.random(n_tasks) < frac)
        for i in pick:  # small fractions of small problems only
            ok = np.flatnonzero((team_skills & task_skill[i]) == task_skill[i])
            if ok.size:
                out[i] = rng.choice(ok)
        return out

    return DispatchProblem(
        now=now,
        task_id=np.arange(1000, 1000 + n_tasks, dtype=np.int64),
        task_cell=task_cell,
        task_priority=rng.choice([1.0, 1.0, 1.0, 2.0, 3.0], n_tasks),
        task_skill=task_skill,
        task_deadline=now + rng.uniform(-2 * 3600.0, 48 * 3600.0, n_tasks),
        task_work=rng.uniform(600.0, 3600.0, n_tasks),
        task_area=cell_area[task_cell],
        task_pinned=some_team(pinned),
        task_current=some_team(current),
        team_id=np.arange(1, n_teams + 1, dtype=np.int64),
        team_cell=team_cell,
        team_skills=team_skills,
        team_free_at=free_at,
        team_capacity=rng.integers(capacity[0], capacity[1] + 1, n_teams).astype(np.int32),
        team_shift_start=shift_start,
        team_shift_end=shift_end,
        team_load=rng.integers(0, 4, n_teams).astype(np.int32),
        team_area=team_area,
        travel=travel,
        weights=weights or ScoreWeights(),
        cell_travel=dist(np.arange(n_cells)) if with_cell_travel else None,
    )
