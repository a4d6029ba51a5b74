"""Scoring kernels against their NumPy and plain-Python references."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opt_helpers import tiny_kwargs

from urbangrid.optimizer import DispatchProblem, ScoreWeights, scoring
from urbangrid.optimizer._common import pair_cost
from urbangrid.optimizer._random import random_problem


def assert_same_scores(a, b):
    assert a.dtype == np.float32 and b.dtype == np.float32 and a.shape == b.shape
    np.testing.assert_array_equal(np.isinf(a), np.isinf(b))
    fin = np.isfinite(a)
    # the kernel computes in float32 (times relative to now): a few float32 roundings
    np.testing.assert_allclose(a[fin], b[fin], rtol=1e-5, atol=1e-2)


@pytest.mark.parametrize("seed", range(4))
def test_kernel_numpy_and_reference_agree_on_random_problems(seed):
    p = random_problem(seed, n_tasks=37, n_teams=23, n_cells=60, current=0.3)
    ref = scoring.score_reference(p)
    assert_same_scores(scoring.score(p), ref)
    assert_same_scores(scoring.score_numpy(p), ref)
    assert 0.05 < np.isinf(ref).mean() < 0.95  # both kinds of pair occur


def test_small_batch_uses_the_unique_cell_table_and_agrees():
    p = random_problem(5, n_tasks=3, n_teams=20, n_cells=500)
    row, table = scoring.travel_table(p)
    assert table.shape == (np.unique(p.task_cell).size, 20)
    np.testing.assert_array_equal(table[row].T, p.travel[:, p.task_cell])
    assert_same_scores(scoring.score(p), scoring.score_reference(p))


def test_scores_match_pair_cost_and_hand_computed_value(tiny):
    s = scoring.score(tiny)
    i, j = np.nonzero(np.isfinite(s))
    np.testing.assert_allclose(s[i, j], pair_cost(tiny, i, j), rtol=1e-6)
    # task 0 (cell 0) by team 1 (cell 3): 1800 s travel, no wait, no lateness, no load
    assert s[0, 1] == pytest.approx(1800.0)
    # greenery task 2 x team 0 (roads only) is infeasible; team 2 (off shift) waits 29 000 s
    assert np.isinf(s[2, 0])
    assert s[2, 2] == pytest.approx(600.0 + 29_000.0)


def test_edge_cases_inf_travel_deadline_passed_reassignment_shift_end():
    travel = np.array(tiny_kwargs()["travel"])
    travel[1, 0] = np.inf  # team 1 cannot reach cell 0
    w = ScoreWeights(lateness=3.0, reassignment=500.0, balance=10.0)
    p = DispatchProblem(**tiny_kwargs(
        travel=travel, weights=w, task_deadline=np.array([0.0, 90_000.0, 90_000.0]),
        task_current=np.array([1, 0, -1]), team_load=np.array([2, 0, 0]),
        team_shift_end=np.array([20_000.0, 20_000.0, 30_600.0])))
    s = scoring.score(p)
    assert_same_scores(s, scoring.score_reference(p))
    assert_same_scores(scoring.score_numpy(p), scoring.score_reference(p))
    assert np.isinf(s[0, 1])
    # task 0 by team 0: arrival now, done at 1600, deadline 0 -> 1600 s late x 3; moved
    # from team 1 costs 500; team 0 has 2 queued tasks x 10
    assert s[0, 0] == pytest.approx(3.0 * 1600 + 500 + 20)
    # task 1 currently at team 0: no reassignment cost there, 500 elsewhere
    assert s[1, 0] == pytest.approx(1800.0 + 20)
    assert s[1, 1] == pytest.approx(500.0)
    # team 2 arrives at 30 600 == shift end: still feasible (<=)
    assert np.isfinite(s[2, 2])


def test_empty_dimensions():
    p = random_problem(0, 0, 5, n_cells=10)
    assert scoring.score(p).shape == (0, 5)
    p = random_problem(0, 4, 0, n_cells=10)
    assert scoring.score(p).shape == (4, 0)


def test_out_argument_is_checked_and_filled():
    p = random_problem(1, 10, 8, n_cells=30)
    out = np.zeros((10, 8), np.float32)
    assert scoring.score(p, out) is out
    assert_same_scores(out, scoring.score_reference(p))
    with pytest.raises(ValueError, match="out must be"):
        scoring.score(p, np.zeros((10, 8), np.float64))


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 12),
    m=st.integers(1, 9),
    cells=st.integers(1, 15),
    lateness=st.floats(0, 50),
    reassign=st.floats(0, 5000),
)
def test_property_kernel_equals_reference(seed, n, m, cells, lateness, reassign):
    w = ScoreWeights(lateness=lateness, reassignment=reassign)
    p = random_problem(seed, n, m, n_cells=cells, current=0.5, weights=w)
    assert_same_scores(scoring.score(p), scoring.score_reference(p))


def test_skill_reach_classes_and_rows():
    from urbangrid.optimizer import _kernels
    task_skill = np.array([1, 3, 1, 2, 3], np.int64)
    team_skills = np.array([1, 3, 2], np.int64)
    reach = np.array([10.0, 20.0, 30.0], np.float32)
    cls, table = _kernels.skill_reach(task_skill, team_skills, reach)
    assert cls.tolist() == [0, 1, 0, 2, 1]
    ninf = -np.inf
    assert table.tolist() == [[10.0, 20.0, ninf], [ninf, 20.0, ninf], [ninf, 20.0, 30.0]]
