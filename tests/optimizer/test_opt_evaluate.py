"""``evaluate(problem, answer)``: the one cost of an answer, and ``check_policy`` holding a
policy's figures and claims to it (issue 21)."""

import dataclasses

import numpy as np
import pytest
from opt_helpers import tiny_kwargs

from urbangrid.errors import InputError
from urbangrid.optimizer import (
    DeferReason,
    DispatchProblem,
    Evaluation,
    available_policies,
    evaluate,
    get_policy,
    solve,
)
from urbangrid.optimizer._random import random_problem
from urbangrid.optimizer.check import PolicyContractError, check_assignment, check_policy


def _problems():
    for seed in range(4):
        yield random_problem(seed, 40, 20, n_cells=60, pinned=0.1, current=0.2,
                             capacity=(0, 3), with_cell_travel=bool(seed % 2))


@pytest.mark.parametrize("name", sorted(set(available_policies()) - {"_test_defer_all"}))
def test_every_policy_reports_the_objective_and_costs_evaluate_gives(name):
    for p in _problems():
        a = get_policy(name)(p)
        e = evaluate(p, a)
        assert e.objective == a.objective  # bit for bit: one definition
        assert np.array_equal(e.cost, a.cost)
        assert e.n_assigned == a.n_assigned and e.n_deferred == a.n_deferred
        assert sum(e.terms().values()) == pytest.approx(e.objective, rel=1e-12)


@pytest.mark.parametrize("method", ["mcf", "mcf_dense", "greedy", "cpsat"])
def test_solve_reports_the_objective_evaluate_gives(method):
    for p in _problems():
        a = solve(p, method)
        e = evaluate(p, a)
        assert e.objective == a.objective
        assert np.array_equal(e.eta, a.eta, equal_nan=True)
        assert np.array_equal(e.reason, a.reason)


def test_multi_crew_answers_count_every_crew():
    p = random_problem(3, 12, 10, n_cells=30, capacity=(1, 3))
    crews = np.ones(12, np.int32)
    crews[:3] = 2
    p = p.replace(task_crews=crews)
    a = solve(p, "cpsat")
    assert a.crew_teams is not None
    e = evaluate(p, a)
    assert e.objective == a.objective
    ct = a.crew_teams
    assert e.team_tasks.sum() == (ct[p.task_pinned < 0] >= 0).sum()
    assert sum(e.terms().values()) == pytest.approx(e.objective, rel=1e-12)
    check_assignment(p, a)


def test_the_terms_of_a_small_answer_by_hand():
    # tiny: now 1000; team 0 on task 0's cell (travel 0), team 1 on task 1's cell; task 2
    # (greenery) deferred (priority 1, due 90,000: no lateness yet)
    p = DispatchProblem(**tiny_kwargs(team_load=np.array([2, 0, 0]),
                                      task_current=np.array([1, -1, -1])))
    e = evaluate(p, np.array([0, 1, -1]))
    w = p.weights
    assert e.travel == 0.0 and e.wait == 0.0 and e.lateness == 0.0
    assert e.balance == w.balance * 2  # team 0's two queued tasks
    assert e.reassignment == w.reassignment  # task 0 moved away from team 1
    assert e.deferral == w.defer * 1.0
    assert e.surcharge == 0.0  # one task per team
    assert e.objective == w.balance * 2 + w.reassignment + w.defer
    assert e.cost.tolist() == [w.balance * 2 + w.reassignment, 0.0, w.defer]
    assert e.eta[:2].tolist() == [1000.0, 1000.0] and np.isnan(e.eta[2])
    # team 1 (greenery) is full, team 2 could take it when its shift starts
    assert e.reason.tolist() == [0, 0, DeferReason.CHEAPER_TO_DEFER]
    full = evaluate(p.replace(team_capacity=np.array([1, 1, 0])), np.array([0, 1, -1]))
    assert full.reason[2] == DeferReason.NO_CAPACITY
    # two tasks for team 1 (the second after the first's 600 s of work and 600 s travel)
    two = evaluate(p.replace(team_capacity=np.array([1, 2, 1])), np.array([-1, 1, 1]))
    assert two.surcharge == w.balance
    assert two.position.tolist() == [-1, 0, 1]
    assert two.eta[2] == 1000.0 + 600.0 + 600.0


@pytest.mark.parametrize(("answer", "match"), [
    (np.array([0, 1]), r"team has shape \(2,\), expected \(3,\)"),
    (np.array([0, 1, 3]), r"team\[2\] = 3 is outside \[-1, 3\)"),
    (np.array([0.5, 1, 2]), "team must hold integers"),
])
def test_evaluate_refuses_a_malformed_answer(tiny, answer, match):
    with pytest.raises(InputError, match=match):
        evaluate(tiny, answer)


# ------------------------------------------------------------ a policy of one's own
def test_a_policy_filled_by_evaluate_passes_the_contract():
    def closest_first(p):
        team = get_policy("nearest")(p).team  # any rule choosing teams
        return evaluate(p, team).to_assignment("closest_first")

    out = check_policy(closest_first, n_problems=6)
    assert all(a.method == "closest_first" for a in out if a.team.size)


def _bad(change):
    """A policy answering like ``mcf`` with ``change(problem, assignment)`` applied."""
    mcf = get_policy("mcf")

    def run(p):
        return change(p, mcf(p))

    return run


def _defer_all(p, status, objective=None):
    team = np.where(p.task_pinned >= 0, p.task_pinned, -1).astype(np.int32)
    a = evaluate(p, team).to_assignment("lazy", status=status)
    return a if objective is None else dataclasses.replace(a, objective=objective)


@pytest.mark.parametrize(("policy", "match"), [
    # issue 21: deferring every task while claiming "optimal" with objective 0 passed
    (lambda p: _defer_all(p, "optimal", objective=0.0), "objective 0.0 is not the answer"),
    # ... and with its true objective, "optimal" is still false
    (lambda p: _defer_all(p, "optimal"), r"status 'optimal' .* solve\(p, 'mcf'\) finds"),
    # issue 21: negative costs and false reasons passed
    (_bad(lambda p, a: dataclasses.replace(a, cost=-a.cost)), r"cost\[\d+\] = -"),
    (_bad(lambda p, a: dataclasses.replace(
        a, reason=np.where(a.team < 0, DeferReason.NO_QUALIFIED_TEAM, 0).astype(np.int8))),
     "deferred as NO_QUALIFIED_TEAM, which the problem contradicts"),
    (_bad(lambda p, a: dataclasses.replace(
        a, reason=np.where(a.team < 0, DeferReason.CREWS_UNAVAILABLE, 0).astype(np.int8))),
     "deferred as CREWS_UNAVAILABLE"),
    (_bad(lambda p, a: dataclasses.replace(a, eta=a.eta - 600.0)), r"eta\[\d+\] = "),
    (_bad(lambda p, a: dataclasses.replace(a, stats={**a.stats, "assigned": -1})),
     r"stats\['assigned'\] = -1"),
    (_bad(lambda p, a: dataclasses.replace(a, lower_bound=a.objective + 1e6)),
     "lower_bound .* is above"),
])
def test_check_policy_refuses_figures_and_claims_evaluate_contradicts(policy, match):
    with pytest.raises(PolicyContractError, match=match):
        check_policy(policy)


def test_an_honest_heuristic_that_defers_everything_passes():
    # deferral is allowed by the contract when reported as such: status "feasible", the
    # true objective and reasons
    check_policy(lambda p: _defer_all(p, "feasible"))


def test_check_assignment_counts_the_crews_of_multi_crew_tasks():
    p = random_problem(3, 12, 10, n_cells=30, capacity=(1, 3))
    crews = np.ones(12, np.int32)
    crews[:3] = 2
    p = p.replace(task_crews=crews)
    a = solve(p, "cpsat")
    staffed = np.flatnonzero((crews == 2) & (a.team >= 0))
    assert staffed.size  # the instance staffs a two-crew task
    ct = a.crew_teams.copy()
    ct[staffed[0], 1] = -1  # one crew short
    with pytest.raises(PolicyContractError, match=r"needs 2 crew\(s\) and was given 1"):
        check_assignment(p, dataclasses.replace(a, crew_teams=ct))
    ct = a.crew_teams.copy()
    ct[staffed[0], 1] = ct[staffed[0], 0]  # the same team twice
    with pytest.raises(PolicyContractError, match="one team twice"):
        check_assignment(p, dataclasses.replace(a, crew_teams=ct))


def test_evaluation_is_a_public_record():
    e = evaluate(DispatchProblem(**tiny_kwargs()), np.array([0, 1, 2]))
    assert isinstance(e, Evaluation)
    assert set(e.terms()) == {"travel", "wait", "lateness", "balance", "reassignment",
                              "deferral"}
