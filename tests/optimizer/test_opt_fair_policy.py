"""The fairness-aware example policy ``fair_mcf``: it keeps the dispatch contract, reads
only the snapshot, and on a snapshot where one sub-district lags it gives the one team
to that sub-district's task where plain ``mcf`` gives it to the nearer task elsewhere."""

import numpy as np
import pytest

from urbangrid.errors import InputError
from urbangrid.optimizer import DispatchProblem, area_lag, evaluate, get_policy
from urbangrid.optimizer.check import check_policy


def _lagging_snapshot() -> DispatchProblem:
    """One team (cell 0, room for one task) and four tasks. Sub-district 0 lags: both its
    tasks are overdue (task 0, 600 s away; task 1 needs a skill no team has). Sub-district
    1 is on time (task 2, 60 s away; task 3 unservable too). Serving task 0 costs 1,740
    s-equivalent more than serving task 2 (travel and the lateness of the longer trip),
    so the cheapest answer serves sub-district 1."""
    now = 100_000.0
    return DispatchProblem(
        now=now,
        task_id=np.arange(4),
        task_cell=np.array([1, 1, 2, 2]),
        task_priority=np.ones(4),
        task_skill=np.array([1, 2, 1, 2]),
        task_deadline=np.array([now - 3_600.0, now - 3_600.0, now + 86_400.0, now + 86_400.0]),
        task_work=np.full(4, 600.0),
        task_area=np.array([0, 0, 1, 1]),
        team_id=np.array([7]),
        team_cell=np.array([0]),
        team_skills=np.array([1]),
        team_free_at=np.array([now]),
        team_capacity=np.array([1]),
        team_shift_start=np.array([0.0]),
        team_shift_end=np.array([np.inf]),
        travel=np.array([[0.0, 600.0, 60.0]], np.float32),
    )


def test_fair_mcf_passes_the_contract_check():
    check_policy("fair_mcf")
    check_policy("fair_mcf", seed=5, strength=50.0)  # a strong lean keeps the contract too


def test_area_lag_is_the_excess_share_of_late_tasks_of_the_sub_district():
    p = _lagging_snapshot()
    # sub-district 0: 2 of 2 late, sub-district 1: 0 of 2, all: 2 of 4
    assert area_lag(p).tolist() == [0.5, 0.5, 0.0, 0.0]
    assert area_lag(p.replace(task_area=np.array([-1, 0, 1, 1]))).tolist() == [0.0, 0.5, 0.0, 0.0]


def test_fair_mcf_serves_the_lagging_sub_district_where_mcf_does_not():
    p = _lagging_snapshot()
    plain = get_policy("mcf")(p)
    fair = get_policy("fair_mcf")(p)
    assert plain.team.tolist() == [-1, -1, 0, -1]  # the near, on-time task elsewhere
    assert fair.team.tolist() == [0, -1, -1, -1]   # the lagging sub-district's task
    # the price: its answer costs more at the snapshot's own weights, and says so
    assert fair.objective == evaluate(p, fair.team).objective
    assert fair.objective == pytest.approx(plain.objective + 1_740.0)
    # no lean, no lag: exactly mcf
    assert get_policy("fair_mcf", strength=0.0)(p).team.tolist() == plain.team.tolist()
    even = p.replace(task_deadline=np.full(4, p.now - 3_600.0))
    assert get_policy("fair_mcf")(even).team.tolist() == get_policy("mcf")(even).team.tolist()


@pytest.mark.parametrize("strength", [-1.0, float("nan"), float("inf"), "2"])
def test_fair_mcf_refuses_a_bad_strength(strength):
    with pytest.raises(InputError, match="fair_mcf: strength"):
        get_policy("fair_mcf", strength=strength)
