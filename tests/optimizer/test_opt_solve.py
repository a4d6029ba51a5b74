"""solve(): methods, statuses, statistics, multi-crew CP-SAT, and the flow policies."""

import numpy as np
import pytest
from opt_helpers import tiny_kwargs

from urbangrid.errors import InputError
from urbangrid.optimizer import (
    DeferReason,
    DispatchProblem,
    check_assignment,
    check_policy,
    get_policy,
    solve,
)
from urbangrid.optimizer._random import random_problem


@pytest.mark.parametrize("seed", range(3))
def test_mcf_is_no_worse_than_any_heuristic_and_matches_dense(seed):
    p = random_problem(seed, 80, 50, n_cells=150, pinned=0.05, current=0.1)
    mcf = solve(p)
    dense = solve(p, method="mcf_dense")
    assert mcf.status == "optimal" and mcf.method == "mcf"
    assert mcf.objective == pytest.approx(dense.objective, abs=1.0)
    assert mcf.lower_bound <= mcf.objective + 1e-6
    assert mcf.objective - mcf.lower_bound < 2.0  # the bound is tight up to rounding
    for name in ("nearest", "legacy", "greedy"):
        other = get_policy(name)(p)
        check_assignment(p, other)
        assert mcf.objective <= other.objective + 1.0, name
    for a in (mcf, dense):
        check_assignment(p, a)


def test_stats_report_phases():
    a = solve(random_problem(0, 100, 40, n_cells=80))
    for key in ("seconds_scoring", "seconds_flow", "arcs_initial", "arcs_final",
                "pricing_rounds", "scale", "assigned", "deferred"):
        assert key in a.stats
    assert a.stats["assigned"] + a.stats["deferred"] == 100
    assert a.solve_seconds >= a.stats["seconds_scoring"]


def test_cheaper_to_defer_reason():
    # a weight of 0 for deferring makes every deferral cheaper than travelling
    from urbangrid.optimizer import ScoreWeights
    p = DispatchProblem(**tiny_kwargs(weights=ScoreWeights(defer=0.5)))
    a = solve(p)
    # task 0 and task 1 sit on their teams' cells (cost 0): assigned; task 2 is deferred
    assert a.team.tolist() == [0, 1, -1]
    assert a.reason[2] == DeferReason.CHEAPER_TO_DEFER


def test_unservable_tasks_get_reasons_not_drops():
    p = DispatchProblem(**tiny_kwargs(task_skill=np.array([1, 16, 1]),
                                      team_capacity=np.array([1, 0, 0])))
    a = solve(p)
    assert a.reason[1] == DeferReason.NO_QUALIFIED_TEAM
    # tasks 0 and 2 both need team 0 (only one with room): one gets NO_CAPACITY
    assert sorted(a.reason[[0, 2]].tolist()) == [0, DeferReason.NO_CAPACITY]


@pytest.mark.parametrize("method", ["mcf", "greedy", "mcf_dense", "cpsat"])
def test_deterministic_and_pinned(method):
    p = random_problem(4, 30, 15, n_cells=60, pinned=0.1)
    a, b = solve(p, method=method, seed=3), solve(p, method=method, seed=3)
    np.testing.assert_array_equal(a.team, b.team)
    np.testing.assert_array_equal(a.cost, b.cost)
    assert a.objective == b.objective
    check_assignment(p, a)


def test_cpsat_staffs_two_crew_tasks_and_respects_capacity():
    p = random_problem(2, 25, 12, n_cells=50, capacity=(1, 3))
    crews = np.ones(25, int)
    crews[[0, 5, 9]] = 2
    # urgent two-crew tasks: deferring them costs more than taking two slots
    q = p.replace(task_crews=crews, task_priority=np.where(crews == 2, 5.0, p.task_priority))
    a = solve(q, method="cpsat", time_limit=10)
    check_assignment(q, a)
    assert a.status == "optimal"
    assert a.crew_teams.shape == (25, 2)
    two = np.flatnonzero((crews == 2) & (a.team >= 0))
    assert two.size == 3
    for i in two:
        t0, t1 = a.crew_teams[i]
        assert t0 >= 0 and t1 >= 0 and t0 != t1
    one = np.flatnonzero(crews == 1)
    assert (a.crew_teams[one, 1] == -1).all()
    # with one crew everywhere CP-SAT must find the flow optimum (up to whole-unit rounding)
    flat = solve(p, method="cpsat")
    assert flat.objective == pytest.approx(solve(p).objective, abs=25)


def test_cpsat_reports_crews_unavailable():
    # task 2 needs two greenery crews but only team 1 and 2 do greenery and team 2 is full
    p = DispatchProblem(**tiny_kwargs(task_crews=np.array([1, 1, 2]),
                                      team_capacity=np.array([1, 1, 0])))
    a = solve(p, method="cpsat")
    assert a.team[2] == -1 and a.reason[2] == DeferReason.CREWS_UNAVAILABLE


def test_time_limit_reported():
    p = random_problem(1, 200, 60, n_cells=100)
    a = solve(p, time_limit=1e-9)
    assert a.status == "time_limit" and a.method == "greedy"
    check_assignment(p, a)


def test_the_cpsat_policy_staffs_multi_crew_rounds_and_is_mcf_elsewhere():
    policy = get_policy("cpsat")
    assert policy.multi_crew is True
    p = random_problem(2, 25, 12, n_cells=50, capacity=(1, 3))
    single = policy(p)
    np.testing.assert_array_equal(single.team, solve(p).team)
    assert single.method == "cpsat" and single.crew_teams is None
    crews = np.ones(25, int)
    crews[[0, 5, 9]] = 2
    q = p.replace(task_crews=crews, task_priority=np.where(crews == 2, 5.0, p.task_priority))
    a, b = policy(q), policy(q)
    check_assignment(q, a)
    np.testing.assert_array_equal(a.crew_teams, b.crew_teams)
    staffed = np.flatnonzero((crews == 2) & (a.team >= 0))
    assert staffed.size == 3
    assert all(len(set(a.crew_teams[i])) == 2 and (a.crew_teams[i] >= 0).all()
               for i in staffed)


def test_cpsat_keeps_teams_out_of_multi_crew_tasks_beyond_their_team_joins():
    p = random_problem(2, 25, 12, n_cells=50, capacity=(1, 3))
    crews = np.ones(25, int)
    crews[[0, 5, 9]] = 2
    q = p.replace(task_crews=crews, task_priority=np.where(crews == 2, 5.0, p.task_priority))
    free = solve(q, method="cpsat")
    busy = np.unique(free.crew_teams[crews == 2])
    busy = busy[busy >= 0]
    assert busy.size >= 2
    joins = np.ones(12, np.int32)
    joins[busy[:2]] = 0  # two of the crews it chose are committed elsewhere
    r = q.replace(team_joins=joins)
    a = solve(r, method="cpsat")
    check_assignment(r, a)
    used = a.crew_teams[crews == 2]
    assert not np.isin(used[used >= 0], busy[:2]).any()
    # the check holds an answer to the limit
    with pytest.raises(AssertionError, match="team_joins"):
        check_assignment(r, free)
    with pytest.raises(InputError, match="team_joins"):
        q.replace(team_joins=-np.ones(12, np.int32))


@pytest.mark.parametrize(("kw", "match"), [({"method": "simplex"}, "unknown method"),
                                           ({"time_limit": 0}, "time_limit"),
                                           ({"method": "cpsat", "deterministic_time": -1},
                                            "deterministic_time")])
def test_bad_arguments(tiny, kw, match):
    with pytest.raises(InputError, match=match):
        solve(tiny, **kw)


@pytest.mark.parametrize("name", ["greedy", "mcf"])
def test_flow_policies_pass_the_contract(name):
    check_policy(name, seed=11)


def test_mcf_policy_parameters_are_validated():
    with pytest.raises(InputError, match="candidates"):
        get_policy("mcf", candidates=0)
