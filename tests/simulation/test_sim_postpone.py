"""Postponement: a policy may hold a task out of the pool until a time it chooses."""

import dataclasses

import numpy as np
import pytest

from tests.toys import toy_scenario
from urbangrid.optimizer import DeferReason, check_policy, get_policy
from urbangrid.optimizer.check import PolicyContractError, check_assignment
from urbangrid.simulation import simulate
from urbangrid.simulation.codes import Event
from urbangrid.simulation.kpis import run_end

HOLD_S = 2 * 3600.0


def _holding(every: int):
    """mcf, except that every ``every``-th round it postpones each task it would have
    deferred and the first offered task by two hours."""
    mcf = get_policy("mcf")
    calls = {"n": 0, "held": []}

    def policy(p):
        a = mcf(p)
        calls["n"] += 1
        if calls["n"] % every or p.n_tasks == 0:
            return a
        team, reason = a.team.copy(), a.reason.copy()
        hold = np.full(p.n_tasks, np.nan)
        free = np.flatnonzero(p.task_pinned < 0)
        team[free[:1]] = -1  # a pinned task stays with its team
        held = (team < 0) & (p.task_pinned < 0)
        reason[held] = DeferReason.POSTPONED
        hold[held] = p.now + HOLD_S
        calls["held"] += [(int(i), p.now) for i in p.task_id[held]]
        from urbangrid.optimizer import evaluate

        e = evaluate(p, team)
        return dataclasses.replace(e.to_assignment("mcf_hold"), reason=reason,
                                   hold_until=hold)

    return policy, calls


def test_a_postponed_task_is_not_offered_before_its_time_and_is_not_lost():
    policy, calls = _holding(every=7)
    seen = {}

    def spy(p):
        for i in p.task_id:
            seen.setdefault(int(i), []).append(p.now)
        return policy(p)

    res = simulate(toy_scenario(**{"run.days": 1}), policy=spy)
    assert len(calls["held"]) > 20
    for case, t in calls["held"]:
        later = [u for u in seen[case] if u > t]
        # never offered again before the hold ends (offered at the first round after it,
        # unless it was closed some other way first)
        assert all(u >= t + HOLD_S for u in later)
    ev = res.events
    postponed = ev["case"][ev["kind"] == Event.POSTPONED]
    assert sorted(postponed.tolist()) == sorted(c for c, _ in calls["held"])
    # conservation: every created case is closed or still open, none vanished
    c = res.cases
    assert np.isfinite(c["t_close"]).sum() + np.isnan(c["t_close"]).sum() == c["t_report"].size
    # they come back: those whose hold ended an hour or more before the run stopped were
    # all dispatched (the others may still wait, open, at the end)
    stop = run_end(res)
    back = np.array([case for case, t in calls["held"] if t + HOLD_S + 3600.0 < stop])
    assert back.size > 20 and np.isfinite(c["t_dispatch"][back]).all()


def test_postponing_a_task_is_checked_and_bad_holds_are_refused():
    from urbangrid.optimizer import DispatchProblem

    policy, _ = _holding(every=1)
    p = DispatchProblem(now=0.0, task_id=[1, 2], task_cell=[0, 1], task_priority=[1, 1],
                        task_skill=[1, 1], task_deadline=[7200.0, 7200.0],
                        task_work=[600.0, 600.0], task_area=[0, 0], team_id=[9],
                        team_cell=[0], team_skills=[1], team_free_at=[0.0],
                        team_capacity=[2], team_shift_start=[-np.inf],
                        team_shift_end=[np.inf], travel=np.array([[60.0, 300.0]]))
    check_policy(policy)  # its own problems: holds are well formed
    a = policy(p)
    assert (a.reason == DeferReason.POSTPONED).any()
    check_assignment(p, a)
    past = np.where(np.isnan(a.hold_until), np.nan, p.now - 1)
    with pytest.raises(PolicyContractError, match="POSTPONED until"):
        check_assignment(p, dataclasses.replace(a, hold_until=past))
    with pytest.raises(PolicyContractError, match="POSTPONED without"):
        check_assignment(p, dataclasses.replace(a, hold_until=None))
    stray = np.full(p.n_tasks, p.now + 60.0)
    with pytest.raises(PolicyContractError, match="not deferred as POSTPONED"):
        check_assignment(p, dataclasses.replace(a, hold_until=stray))
    # in the simulation a hold that never ends stops the run with the reason
    forever = lambda q: dataclasses.replace(  # noqa: E731
        policy(q), hold_until=np.where(policy(q).team < 0, np.inf, np.nan))
    with pytest.raises(ValueError, match="infinite hold_until"):
        simulate(toy_scenario(**{"run.days": 0.2}), policy=forever)
