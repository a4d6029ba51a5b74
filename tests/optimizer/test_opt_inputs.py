"""The optimizer's inputs (issue 21): cost scale, huge costs, infinite times, the checks
shared by ``solve`` and ``assign``."""

import numpy as np
import pytest
from opt_helpers import tiny_kwargs
from scipy.optimize import linear_sum_assignment

from urbangrid.errors import InputError
from urbangrid.optimizer import DispatchProblem, FlowParams, assign, get_policy, solve
from urbangrid.optimizer._random import random_problem
from urbangrid.optimizer.assignment import OPTIMAL_ROUNDED


def _optimum(costs, defer):
    """The exact optimum of one-slot teams with deferral, by SciPy's Hungarian method:
    each task's deferral is a column of its own."""
    n, m = costs.shape
    forbidden = 1e18
    wide = np.full((n, m + n), forbidden)
    wide[:, :m] = np.where(np.isfinite(costs), costs, forbidden)
    wide[np.arange(n), m + np.arange(n)] = defer
    rows, cols = linear_sum_assignment(wide)
    return float(wide[rows, cols].sum())


def _cent_costs(seed, n, m, high):
    # costs and defer costs in whole cents: at the default scale (1/100) they round
    # exactly, so the flow's optimum is the true one to the last float bit or so
    rng = np.random.default_rng(seed)
    costs = np.round(rng.uniform(0, high, (n, m)), 2)
    costs[rng.random((n, m)) < 0.3] = np.inf
    defer = np.round(rng.uniform(high / 3, high, n), 2)
    return rng, costs, defer


@pytest.mark.parametrize("scale", [-100.0, 0.0, -0.0, np.nan])
def test_a_cost_scale_of_zero_or_less_is_refused_naming_it(scale):
    # issue 21: scale=-100 deferred everything as "optimal", scale=0 divided by zero
    with pytest.raises(InputError, match="FlowParams.scale must be finite and > 0"):
        FlowParams(scale=scale)
    with pytest.raises(InputError, match="FlowParams.scale"):
        FlowParams().replace(scale=scale)


@pytest.mark.parametrize("flow_solver", ["auto", "ortools"])
def test_huge_costs_on_a_few_pairs_keep_the_precision_of_the_instance(flow_solver):
    # issue 21: a 1e12 cost on 1 % of the pairs lowered the cost scale of the whole
    # instance (to ~8 here) and the objective was off the optimum, labelled "optimal"
    n, m = 400, 300
    rng, costs, defer = _cent_costs(3, n, m, 30.0)
    costs[rng.random((n, m)) < 0.01] = 1e12
    best = _optimum(costs, defer)
    got = assign(costs, np.ones(m, np.int64), defer, flow_solver=flow_solver)
    assert got.status == "optimal"
    assert got.stats["scale"] == 100.0
    assert got.objective == pytest.approx(best, abs=1e-6)
    dense = assign(costs, np.ones(m, np.int64), defer, dense=True)
    assert dense.objective == pytest.approx(best, abs=1e-6)
    # the huge pairs are dominated by deferring: none is used
    used = got.team >= 0
    assert (costs[np.flatnonzero(used), got.team[used]] < 1e12).all()


def test_a_cost_range_that_needs_a_coarser_scale_says_so_with_its_bound():
    # defer costs of 1e13 make every 1e12 pair usable: the scale must drop, and the
    # status reports it instead of a plain "optimal"
    n, m = 200, 150
    rng, costs, _ = _cent_costs(4, n, m, 30.0)
    costs[rng.random((n, m)) < 0.01] = 1e12
    defer = np.full(n, 1e13) + np.round(rng.uniform(0, 30, n), 2)
    best = _optimum(costs, defer)
    for kw in ({}, {"flow_solver": "ortools"}, {"dense": True}):
        got = assign(costs, np.ones(m, np.int64), defer, **kw)
        assert got.status == OPTIMAL_ROUNDED, kw
        assert got.stats["scale"] < 100.0
        assert got.stats["gap_bound"] == pytest.approx(2 * n / got.stats["scale"])
        slack = 1e-12 * best  # float64 sums of ~1e15
        assert best - slack <= got.objective <= best + got.stats["gap_bound"] + slack, kw
        assert got.lower_bound <= best + slack


def test_solve_reports_a_coarser_scale_on_both_of_its_paths():
    p = random_problem(8, n_tasks=30, n_teams=20, n_cells=60)
    plain = solve(p)
    assert plain.status == "optimal" and "gap_bound" not in plain.stats
    # one task overdue by 30 million years: its pairs and its deferral cost ~1e15
    deadline = p.task_deadline.copy()
    deadline[0] = p.now - 1e15
    late = p.replace(task_deadline=deadline)
    small = solve(late)  # the compiled one-call path
    steps = solve(late, time_limit=60.0)  # the step-by-step path
    for a in (small, steps):
        assert a.status == OPTIMAL_ROUNDED
        assert a.stats["gap_bound"] == pytest.approx(2 * 30 / a.stats["scale"])
        assert a.lower_bound <= a.objective
    assert np.array_equal(small.team, steps.team)
    assert small.stats["gap_bound"] == steps.stats["gap_bound"]


@pytest.mark.parametrize(("field", "value", "match"), [
    ("team_free_at", np.inf, r"team_free_at\[1\] = inf must be finite$"),
    ("team_free_at", -np.inf, r"team_free_at\[1\] = -inf must be finite$"),
    ("task_deadline", -np.inf, r"task_deadline\[1\] = -inf must be finite or \+inf"),
    ("team_shift_start", np.inf, r"team_shift_start\[1\] = inf must be finite or -inf"),

    ("team_shift_end", -np.inf, r"team_shift_end\[1\] = -inf must be finite or \+inf"),
    ("task_priority", np.inf, r"task_priority\[1\] = inf must be finite$"),
    ("task_work", np.inf, r"task_work\[1\] = inf must be finite$"),
])
def test_infinite_times_are_refused_at_input_naming_the_field(field, value, match):
    # issue 21: free time +inf was accepted and failed deep inside the solver with
    # "column_offset must be finite"; a deadline of -inf was accepted
    arr = np.array(tiny_kwargs()[field], np.float64)
    arr[1] = value
    with pytest.raises(InputError, match=match):
        DispatchProblem(**tiny_kwargs(**{field: arr}))


def test_the_infinities_that_mean_none_are_accepted():
    # no deadline, on shift since ever (the simulation's round-the-clock crews), no end
    p = DispatchProblem(**tiny_kwargs(task_deadline=np.full(3, np.inf),
                                      team_shift_start=np.full(3, -np.inf),
                                      team_shift_end=np.full(3, np.inf)))
    a = solve(p)
    assert a.status == "optimal" and np.isfinite(a.objective)
    assert get_policy("nearest")(p).team.tolist() == [0, 1, 2]


@pytest.mark.parametrize("time_limit", [0, 0.0, -1.0, np.nan, "10", True])
def test_assign_refuses_the_time_limits_solve_refuses(time_limit):
    # issue 21: assign accepted time_limit <= 0 that solve rejected; one check serves both
    costs = np.array([[1.0, 2.0], [3.0, 1.0]])
    with pytest.raises(InputError, match="time_limit must be") as from_solve:
        solve(random_problem(1, 3, 2), time_limit=time_limit)
    with pytest.raises(InputError, match="time_limit must be") as from_assign:
        assign(costs, [1, 1], 10.0, time_limit=time_limit)
    assert str(from_assign.value) == str(from_solve.value)
    with pytest.raises(InputError, match="time_limit must be"):
        get_policy("mcf", time_limit=time_limit)


@pytest.mark.parametrize("candidates", [0, -3])
def test_candidates_below_one_are_refused_by_the_one_flow_record(candidates):
    # issue 21: assign accepted candidates <= 0 that the mcf policy rejected
    with pytest.raises(InputError, match="FlowParams.candidates must be an integer >= 1"):
        FlowParams(candidates=candidates)
    with pytest.raises(InputError, match="FlowParams.candidates"):
        get_policy("mcf", candidates=candidates)


def test_positive_time_limits_still_solve():
    costs = np.array([[1.0, 2.0], [3.0, 1.0]])
    got = assign(costs, [1, 1], 10.0, time_limit=30)
    assert got.team.tolist() == [0, 1]
