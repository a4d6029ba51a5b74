"""The one-call paths of small batches against the step-by-step paths, field by field.

The simulation calls a policy ~560 times a simulated day, half of the calls with one
task. ``solve(p, "mcf")`` (so the ``mcf`` and ``mcf_route`` policies) takes such a batch
through one compiled call (``solver._solve_small``), and ``nearest`` / ``legacy`` fuse
their task loop with the record (``policies._sequential``), both through the one
compiled round ``_policy_kernels.dispatch``. Their answers must be the
step-by-step paths' bit for bit, every field of the :class:`Assignment` (timings aside),
on problems that reach every branch: one task, ties in score, unreachable and
unqualified pairs, deadlines already passed, teams with capacity 0 or off shift, tasks
cheaper to defer, currently assigned tasks, pinned tasks (which the one-call mcf path
hands back), no balancing, cell-to-cell travel, and few candidates (pricing rounds and
in-place repairs).
"""

import time

import numpy as np
import pytest
from opt_helpers import edge_case_problems

from urbangrid.optimizer import (
    Assignment,
    DispatchProblem,
    FlowParams,
    ScoreWeights,
    get_policy,
    solve,
)
from urbangrid.optimizer._policy_kernels import NOT_SMALL, PINNED
from urbangrid.optimizer._random import random_problem
from urbangrid.optimizer.policies import _sequential_reference
from urbangrid.optimizer.solver import _solve_small, _solve_steps

DEFAULT = FlowParams()


def _steps(p, method="mcf", params=DEFAULT):
    return _solve_steps(p, method, None, 0, params, 1, time.perf_counter())

pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def _same(a, b):
    for name in ("team", "reason", "cost", "eta"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype and x.shape == y.shape, name
        assert x.tobytes() == y.tobytes(), name  # bitwise, NaN and -0.0 included
    assert (a.order is None) == (b.order is None)
    if a.order is not None:
        assert a.order.tobytes() == b.order.tobytes() and a.order.dtype == b.order.dtype
    assert a.crew_teams is None and b.crew_teams is None
    assert np.float64(a.objective).tobytes() == np.float64(b.objective).tobytes()
    assert np.float64(a.lower_bound).tobytes() == np.float64(b.lower_bound).tobytes()
    assert (a.method, a.status) == (b.method, b.status)
    untimed = [{k: v for k, v in x.stats.items() if "seconds" not in k} for x in (a, b)]
    assert untimed[0] == untimed[1]
    assert list(untimed[0]) == list(untimed[1])  # same keys in the same order


def _snapshot(p: DispatchProblem) -> DispatchProblem:
    # as the simulation builds it: the trusted constructor, dtypes already right
    return DispatchProblem.unchecked(**{f: getattr(p, f) for f in p.__dataclass_fields__})


@pytest.mark.parametrize("seed", range(24))
def test_one_call_mcf_equals_the_step_by_step_solve(seed):
    n_fast = [0]
    for p in edge_case_problems(seed):
        # 1 and 2 force pricing rounds and repairs; 100 covers every team (all feasible
        # pairs are candidates, pricing has nothing to add)
        for k in (1, 2, 8, 100):
            params = FlowParams(candidates=k)
            fast = _solve_small(_snapshot(p), params, time.perf_counter())
            steps = _steps(p, params=params)
            if not isinstance(fast, Assignment):
                assert fast == 1
                # only when the compiled flow stops before a proven optimum (out of
                # pricing rounds or over its scan budget), which the general path then
                # finishes densely or with OR-Tools
                assert steps.stats.get("fell_back_to_dense") or steps.stats.get(
                    "ssp_over_budget")
                fast = solve(p, params=params)
            else:
                n_fast[0] += 1
            _same(fast, steps)
            # solve() takes the one-call path; the Python flow loop (any time limit)
            # gives the same answer too
            _same(solve(p, params=params), steps)
            _same(solve(p, params=params, time_limit=1e9), steps)
    assert n_fast[0] >= 6


@pytest.mark.parametrize("seed", range(24))
def test_candidate_flow_covering_every_team_reaches_the_dense_optimum(seed):
    # on batches of at most 8 teams, mcf's candidates cover every team: its one-call
    # candidate flow equals the steps and reaches the optimum of the dense flow
    rng = np.random.default_rng(seed)
    for p in edge_case_problems(seed):
        keep = int(rng.integers(1, 9))
        few = p.replace(**{f: getattr(p, f)[:keep] for f in (
            "team_id", "team_cell", "team_skills", "team_free_at", "team_capacity",
            "team_shift_start", "team_shift_end", "team_load", "team_area", "travel")},
                        task_current=np.where(p.task_current < keep, p.task_current, -1)
                        .astype(np.int32))
        for q in (p, few):
            _same(solve(q, "mcf_dense"), _steps(q, "mcf_dense"))
        candidate = solve(few, "mcf")
        assert candidate.stats["flow_method"] == "mcf"
        _same(candidate, _steps(few))
        assert candidate.objective == pytest.approx(solve(few, "mcf_dense").objective,
                                                    rel=1e-9, abs=1e-6)


@pytest.mark.parametrize("seed", range(6))
def test_one_call_mcf_hands_pinned_batches_back(seed):
    p = random_problem(seed, n_tasks=12, n_teams=20, pinned=0.3, capacity=(0, 3))
    assert (p.task_pinned >= 0).any()
    assert _solve_small(p, DEFAULT, time.perf_counter()) == PINNED
    _same(solve(p), _steps(p))
    _same(solve(p, "mcf_dense"), _steps(p, "mcf_dense"))


def test_one_task_goes_to_the_cheapest_feasible_team_or_is_deferred():
    # the n = 1 flow in words: the cheapest team with room and on shift, first index on
    # ties, unless deferring costs less
    p = random_problem(3, n_tasks=1, n_teams=30, capacity=(0, 2), off_shift=0.3)
    from urbangrid.optimizer import score

    c = score(p)[0].astype(np.float64)
    c[p.team_capacity == 0] = np.inf
    a = solve(p)
    assert a.team[0] == int(np.argmin(c)) and np.isfinite(c.min())
    costly = p.replace(weights=ScoreWeights(defer=float(c.min()) / 2))
    b = solve(costly)
    assert b.team[0] == -1 and b.reason[0] == 5  # CHEAPER_TO_DEFER


@pytest.mark.parametrize("name", ["nearest", "legacy"])
@pytest.mark.parametrize("seed", range(16))
def test_fused_sequential_policies_equal_the_reference(name, seed):
    pol = get_policy(name)
    for p in edge_case_problems(seed):
        for q in (p, p.replace(task_pinned=np.where(
                np.arange(p.n_tasks) % 4 == 1, np.arange(p.n_tasks) % p.n_teams, -1)
                .astype(np.int32))):
            _same(pol(_snapshot(q)), _sequential_reference(q, name))


def test_a_congested_batch_goes_to_the_python_loop_once():
    # over its scan budget the compiled flow stops (status 1); solve() then runs the
    # Python loop directly (OR-Tools from there), with the answer of the full path
    p = random_problem(4, n_tasks=60, n_teams=25, capacity=(1, 2))
    params = FlowParams(budget_per_arc=0)
    assert _solve_small(p, params, time.perf_counter()) == 1
    a = solve(p, params=params)
    assert a.stats["ssp_over_budget"] and a.stats["flow_solver"] == "ortools"
    _same(a, _steps(p, params=params))


def test_batches_over_the_ssp_limit_keep_the_general_path():
    # more than FlowParams.max_tasks tasks: _assign solves with OR-Tools, which may pick
    # another optimum among ties; solve() must not take the one-call (shortest paths) path
    # without balancing the shortest paths would finish within their budget here
    p = random_problem(8, n_tasks=DEFAULT.max_tasks + 1, n_teams=150, capacity=(10, 20),
                       weights=ScoreWeights(balance=0.0))
    assert _solve_small(p, DEFAULT, time.perf_counter()) == NOT_SMALL
    a = solve(p)
    assert a.stats["flow_solver"] == "ortools"
    _same(a, _steps(p))


def test_batches_above_the_small_scoring_size_give_the_same_record():
    # past scoring.SMALL_BATCH pairs the step-by-step path scores with the streaming
    # kernel; the one-call path scores with score_small, which must agree bit for bit
    from urbangrid.optimizer import scoring

    p = random_problem(11, n_tasks=450, n_teams=500, n_cells=400, capacity=(2, 4),
                       current=0.1)
    assert p.n_tasks * p.n_teams > scoring.SMALL_BATCH
    got = _solve_small(p, DEFAULT, time.perf_counter())
    assert isinstance(got, Assignment)
    _same(got, _steps(p))
    _same(solve(p), got)


def test_the_one_call_path_honours_every_flow_knob():
    # pricing knobs and the cost scale reach the compiled flow as they reach the loop
    for seed in range(4):
        p = random_problem(seed, n_tasks=40, n_teams=30, capacity=(0, 3))
        for params in (FlowParams(candidates=1, price_add=3, price_margin=50.0),
                       FlowParams(candidates=2, incremental_max=0, scale=10.0),
                       FlowParams(candidates=1, max_rounds=0)):
            fast = _solve_small(p, params, time.perf_counter())
            steps = _steps(p, params=params)
            if isinstance(fast, Assignment):
                _same(fast, steps)
            else:  # out of rounds: the loop finishes densely
                assert fast == 1 and steps.stats["fell_back_to_dense"]
                _same(solve(p, params=params), steps)
