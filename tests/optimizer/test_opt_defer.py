"""Deferral: a task's defer cost includes the lateness it already has, so an overdue
task is served when a crew can take it, however late it is (the backlog death spiral)."""

import numpy as np
import pytest
from opt_helpers import tiny_kwargs, unchecked_replace

from urbangrid.errors import InputError
from urbangrid.optimizer import DispatchProblem, ScoreWeights
from urbangrid.optimizer.solver import METHODS, solve

DAY = 86_400.0


def _one_task(deadline: float, **over) -> DispatchProblem:
    """Task 0 only (roads, cell 0), team 0 at its cell, on shift, capacity 1."""
    kw = tiny_kwargs(**over)
    for key in ("task_id", "task_cell", "task_priority", "task_skill", "task_work",
                "task_area"):
        kw[key] = kw[key][:1]
    kw["task_deadline"] = np.array([deadline])
    return DispatchProblem(**kw)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("days_overdue", [1.0, 30.0, 400.0])
def test_an_overdue_task_is_assigned_not_deferred(method, days_overdue):
    now = tiny_kwargs()["now"]
    p = _one_task(now - days_overdue * DAY)
    # its pairs cost more than the defer weight alone (2 × 1 day of lateness > 4 h):
    # with a defer cost blind to the lateness a task already has, every method deferred it,
    # forever
    assert p.weights.lateness * days_overdue * DAY > p.weights.defer
    a = solve(p, method=method)
    assert a.team[0] == 0


@pytest.mark.parametrize("method", METHODS)
def test_defer_still_bounds_the_lateness_an_assignment_adds(method):
    # Due in 10 minutes; the only qualified team is two cells away (1,200 s) and its
    # queue ends in 3 h: the assignment itself makes the task ~3.2 h late, which costs
    # more than deferring (defer weight 1 h); nothing was late before.
    now = tiny_kwargs()["now"]
    w = ScoreWeights(defer=3600.0)
    p = _one_task(now + 600.0, team_cell=np.array([2, 3, 1], np.int32),
                  team_free_at=np.array([now + 3 * 3600.0, 0.0, 0.0]),
                  team_skills=np.array([1, 2, 2]), weights=w)
    assert solve(p, method=method).team[0] == -1
    # the same decision when it was due ten days ago: what the assignment adds is the
    # same, and the lateness it has anyway weighs on both sides
    late = _one_task(now - 10 * DAY, team_cell=np.array([2, 3, 1], np.int32),
                     team_free_at=np.array([now + 3 * 3600.0, 0.0, 0.0]),
                     team_skills=np.array([1, 2, 2]), weights=w)
    assert solve(late, method=method).team[0] == -1


def test_defer_cost_formula_and_the_compiled_one_agree():
    from urbangrid.optimizer._policy_kernels import defer_costs

    rng = np.random.default_rng(3)
    n = 500
    kw = tiny_kwargs()
    now = kw["now"]
    deadline = now + rng.normal(0, 3 * DAY, n)
    deadline[:20] = np.inf
    work = rng.uniform(60, 7200, n)
    prio = rng.integers(1, 5, n).astype(float)
    w = ScoreWeights(lateness=2.5, defer=5000.0)
    expected = w.defer * prio + w.lateness * prio * np.maximum(now + work - deadline, 0.0)
    p = DispatchProblem(**{
        **kw, "task_id": np.arange(n), "task_cell": np.zeros(n, int),
        "task_priority": prio, "task_skill": np.ones(n, int), "task_deadline": deadline,
        "task_work": work, "task_area": np.zeros(n, int), "weights": w})
    got = p.defer_cost()
    np.testing.assert_allclose(got, expected, rtol=0, atol=0)
    compiled = defer_costs(float(now), p.task_work, p.task_deadline, p.task_priority,
                           w.lateness, w.defer)
    assert got.tobytes() == compiled.tobytes()
    assert (got[:20] == w.defer * prio[:20]).all()


@pytest.mark.parametrize("method", METHODS)
def test_infinite_lateness_leaves_the_defer_cost_finite(method):
    # a -inf deadline makes every pair infinitely late; its defer cost counts finite
    # lateness only, so the task is deferred as it always was (no solver failure). The
    # constructor refuses such a deadline (issue 21); a snapshot built unchecked may
    # still carry one
    kw = tiny_kwargs()
    kw["task_deadline"] = np.array([-np.inf, 90_000.0, 90_000.0])
    with pytest.raises(InputError, match=r"task_deadline\[0\] = -inf"):
        DispatchProblem(**kw)
    p = unchecked_replace(DispatchProblem(**tiny_kwargs()), task_deadline=kw["task_deadline"])
    assert np.isfinite(p.defer_cost()).all()
    a = solve(p, method=method)
    assert a.team[0] == -1
