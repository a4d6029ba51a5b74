"""Fixtures for the optimizer tests: a tiny hand-made problem and seeded random ones."""

import pytest
from opt_helpers import tiny_kwargs

from urbangrid.optimizer import DispatchProblem
from urbangrid.optimizer._random import random_problem


@pytest.fixture
def tiny():
    return DispatchProblem(**tiny_kwargs())


@pytest.fixture(params=[0, 1, 2])
def rand_problem(request):
    return random_problem(request.param, n_tasks=40, n_teams=30, n_cells=120, pinned=0.05,
                          current=0.1)
