"""Per-team sequencing: exact enumeration, OR-Tools, PyVRP, caching, mcf_route policy."""

import itertools

import numpy as np
import pytest

from urbangrid.errors import InputError
from urbangrid.optimizer import check_assignment, check_policy, get_policy, solve
from urbangrid.optimizer._random import random_problem
from urbangrid.optimizer.routing import Router, _evaluate, _legs, route


@pytest.fixture(scope="module")
def day():
    p = random_problem(3, 48, 8, n_cells=100, capacity=(4, 9), with_cell_travel=True)
    return p, solve(p)


def team_cost(p, j, tasks):
    legs = _legs(p, j, p.task_cell[tasks])
    start = p.team_start()[j]
    return _evaluate(list(range(tasks.size)), legs, p.task_work[tasks],
                     p.task_deadline[tasks] - start,
                     p.weights.lateness * p.task_priority[tasks], p.weights.travel)[2]


def brute_force(p, j, tasks):
    return min(team_cost(p, j, np.array(perm)) for perm in itertools.permutations(tasks))


def sequences(plan, team):
    out = {}
    for j in np.unique(team[team >= 0]):
        tasks = np.flatnonzero(team == j)
        out[int(j)] = tasks[np.argsort(plan.order[tasks])]
    return out


def test_plan_is_a_valid_sequence_with_consistent_times(day):
    p, a = day
    plan = route(p, a, "ortools")
    assert ((plan.order >= 0) == (a.team >= 0)).all()
    for j, seq in sequences(plan, a.team).items():
        assert plan.order[seq].tolist() == list(range(seq.size))
        t = p.team_start()[j] + p.travel[j, p.task_cell[seq[0]]]
        assert plan.eta[seq[0]] == pytest.approx(t)
        for prev, nxt in zip(seq, seq[1:], strict=False):
            t = plan.finish[prev] + p.cell_travel[p.task_cell[prev], p.task_cell[nxt]]
            assert plan.eta[nxt] == pytest.approx(t)
        assert plan.team_travel[j] >= 0
        late = np.maximum(plan.finish[seq] - p.task_deadline[seq], 0).sum()
        assert plan.team_lateness[j] == pytest.approx(late)
    assert np.isnan(plan.eta[a.team < 0]).all()


def test_exact_matches_brute_force_and_ortools_is_no_worse_than_priority_order(day):
    p, a = day
    exact = route(p, a, "exact")
    ortools = route(p, a, "ortools")
    prio = route(p, a, "priority")
    for j, seq in sequences(exact, a.team).items():
        if seq.size <= 6:
            assert team_cost(p, j, seq) == pytest.approx(brute_force(p, j, seq))
    assert ortools.objective <= prio.objective + 1e-6
    assert exact.objective <= prio.objective + 1e-6


def test_pyvrp_and_best(day):
    pytest.importorskip("pyvrp")
    p, a = day
    pv = route(p, a, "pyvrp", seed=1)
    assert ((pv.order >= 0) == (a.team >= 0)).all()
    assert pv.stats["solvers"].get("pyvrp", 0) > 0  # it did produce usable orders
    best = route(p, a, "best")
    assert best.objective <= min(pv.objective, route(p, a, "ortools").objective) + 1e-6
    again = route(p, a, "pyvrp", seed=1)
    np.testing.assert_array_equal(pv.order, again.order)


def test_router_reuses_unchanged_teams(day):
    p, a = day
    r = Router("ortools")
    first = r.plan(p, a)
    second = r.plan(p, a)
    assert first.stats["teams_reused"] == 0
    assert second.stats["teams_reused"] == first.stats["teams_routed"] > 0
    np.testing.assert_array_equal(first.order, second.order)
    # one more task for one team: only that team is re-planned
    team = a.team.copy()
    i = int(np.flatnonzero(team < 0)[0]) if (team < 0).any() else None
    if i is not None:
        j = int(team[team >= 0][0])
        team[i] = j
        third = r.plan(p, a.__class__(**{**a.__dict__, "team": team}))
        assert third.stats["teams_routed"] == 1


def test_pinned_tasks_stay_first():
    p = random_problem(5, 20, 3, n_cells=40, capacity=(10, 10), with_cell_travel=True)
    pinned = np.full(20, -1)
    pinned[7] = 1
    p = p.replace(task_pinned=pinned)
    a = solve(p)
    plan = route(p, a, "ortools")
    assert plan.order[7] == 0


def test_without_cell_travel_the_plan_says_so():
    p = random_problem(6, 12, 3, n_cells=40, capacity=(5, 5))
    plan = route(p, solve(p))
    assert plan.stats["legs"] == "team_row"


def test_bad_solver_name():
    with pytest.raises(InputError, match="unknown routing solver"):
        Router("tabu")


def test_mcf_route_policy_contract_and_order():
    check_policy("mcf_route", seed=5)
    p = random_problem(8, 30, 6, n_cells=60, capacity=(3, 6), with_cell_travel=True)
    a = get_policy("mcf_route")(p)
    check_assignment(p, a)
    assert a.method == "mcf_route" and a.order is not None
    assert ((a.order >= 0) == (a.team >= 0)).all()
    assert "route_travel" in a.stats
    plain = get_policy("mcf")(p)
    np.testing.assert_array_equal(plain.team, a.team)


def test_router_cache_is_bounded(day):
    p, a = day
    r = Router("ortools", cache_size=3)
    plan = r.plan(p, a)
    assert plan.stats["teams_routed"] > 3
    assert len(r._cache) == 3
