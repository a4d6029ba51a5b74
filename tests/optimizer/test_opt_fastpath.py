"""Compiled per-call paths against the readable references they replace, bitwise.

The simulation's results must not change when a policy gets faster: the compiled
sequential policies (``nearest``, ``legacy``) and :func:`finish` must return exactly the
record of the NumPy versions (``_sequential_reference``, ``finish_numpy``), including
deferral reasons, ETAs and the objective, on problems that exercise every branch:
pinned and currently assigned tasks, unreachable cells, teams off shift or full,
district-wide teams, ties in travel time and an infinite shift end.
"""

import numpy as np
import pytest
from opt_helpers import unchecked_replace

from urbangrid.optimizer import DispatchProblem, FlowParams, ScoreWeights, get_policy
from urbangrid.optimizer._common import finish, finish_numpy
from urbangrid.optimizer._random import random_problem
from urbangrid.optimizer.policies import _sequential_reference

# pinned tasks and random teams include unreachable pairs: the NumPy version's ETAs then
# hold inf - inf (NaN, as the compiled version's)
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")


def _same(a, b):
    assert np.array_equal(a.team, b.team)
    assert a.team.dtype == b.team.dtype
    assert np.array_equal(a.reason, b.reason) and a.reason.dtype == b.reason.dtype
    assert np.array_equal(a.cost, b.cost)
    assert np.array_equal(a.eta, b.eta, equal_nan=True)
    assert a.objective == b.objective
    assert (a.order is None) == (b.order is None)
    if a.order is not None:
        assert np.array_equal(a.order, b.order) and a.order.dtype == b.order.dtype
    untimed = [{k: v for k, v in x.stats.items() if "seconds" not in k} for x in (a, b)]
    assert untimed[0] == untimed[1]
    assert (a.method, a.status) == (b.method, b.status)


def _variants(seed: int):
    """Random problems plus edge cases derived from them."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    m = int(rng.integers(1, 40))
    p = random_problem(seed, n_tasks=n, n_teams=m, n_cells=int(rng.integers(5, 80)),
                       capacity=(0, 3), pinned=0.1, current=0.2, off_shift=0.3,
                       with_cell_travel=bool(seed % 2))
    yield p
    # some cells unreachable for some teams, loads and travel times rounded so that
    # ties are common
    travel = np.round(p.travel / 600.0) * 600.0
    travel[rng.random(travel.shape) < 0.2] = np.inf
    yield p.replace(travel=travel.astype(np.float32),
                    team_load=rng.integers(0, 2, m).astype(np.int32),
                    team_free_at=np.full(m, p.now), task_priority=np.ones(n))
    # a team that never goes off shift next to an unreachable cell (the argmin-of-inf case)
    end = p.team_shift_end.copy()
    end[rng.integers(0, m)] = np.inf
    travel = p.travel.copy()
    travel[:, p.task_cell[0]] = np.inf
    yield p.replace(team_shift_end=end, travel=travel)
    # every team in one area or district-wide (legacy's fallbacks)
    yield p.replace(team_area=rng.choice([-1, 0], m), task_area=rng.choice([-1, 0, 1], n))


@pytest.mark.parametrize("name", ["nearest", "legacy"])
@pytest.mark.parametrize("seed", range(12))
def test_compiled_sequential_policies_match_the_reference(name, seed):
    pol = get_policy(name)
    for p in _variants(seed):
        fast, ref = pol(p), _sequential_reference(p, name)
        _same(fast, ref)


@pytest.mark.parametrize("name", ["nearest", "legacy"])
def test_sequential_policies_with_no_team_or_no_task(name, tiny):
    pol = get_policy(name)
    no_team = tiny.replace(team_id=np.zeros(0, np.int64), team_cell=np.zeros(0),
                           team_skills=np.zeros(0), team_free_at=np.zeros(0),
                           team_capacity=np.zeros(0), team_shift_start=np.zeros(0),
                           team_shift_end=np.zeros(0), team_area=np.zeros(0),
                           team_load=np.zeros(0), travel=np.zeros((0, 4), np.float32))
    _same(pol(no_team), _sequential_reference(no_team, name))
    assert (pol(no_team).reason == 1).all()
    empty = random_problem(0, n_tasks=0, n_teams=5)
    _same(pol(empty), _sequential_reference(empty, name))


@pytest.mark.parametrize("seed", range(10))
def test_finish_matches_the_numpy_version(seed):
    rng = np.random.default_rng(100 + seed)
    for p in _variants(seed):
        n, m = p.n_tasks, p.n_teams
        team = rng.integers(-1, m, n).astype(np.int32)
        team[p.task_pinned >= 0] = p.task_pinned[p.task_pinned >= 0]
        reason = np.where(team < 0, rng.choice([0, 0, 5, 6], n), 0).astype(np.int8)
        order = rng.permutation(n).astype(np.int32) // 2  # positions with ties
        for kw in ({}, {"reason": reason}, {"order": order},
                   {"stats": {"x": 1}, "lower_bound": 3.5}):
            a = finish(p, team, method="m", status="feasible", t0=0.0, **kw)
            b = finish_numpy(p, team, method="m", status="feasible", t0=0.0, **kw)
            _same(a, b)
            assert np.array_equal(a.lower_bound, b.lower_bound, equal_nan=True)


def test_finish_of_an_empty_problem_is_trivial():
    p = random_problem(0, n_tasks=0, n_teams=3)
    a = finish(p, np.zeros(0, np.int32), method="m", status="optimal", t0=0.0)
    _same(a, finish_numpy(p, np.zeros(0, np.int32), method="m", status="optimal", t0=0.0))
    assert a.status == "trivial" and a.objective == 0.0


def test_policies_accept_the_simulation_snapshot_dtypes(tiny):
    # the simulation fills the record without the constructor (see simulation._model);
    # the compiled loops must take the same arrays and give the validated answer
    raw = object.__new__(DispatchProblem)
    raw.__dict__.update(tiny.__dict__)
    for name in ("nearest", "legacy", "mcf"):
        _same(get_policy(name)(raw), get_policy(name)(tiny))


def _same_result(a, b):
    assert np.array_equal(a.team, b.team) and a.team.dtype == b.team.dtype
    assert a.objective == b.objective
    assert np.array_equal(a.lower_bound, b.lower_bound, equal_nan=True)
    assert (a.status, a.method) == (b.status, b.method)
    assert np.array_equal(a.reason, b.reason)
    untimed = [{k: v for k, v in x.stats.items() if "seconds" not in k} for x in (a, b)]
    assert untimed[0] == untimed[1]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("balance", [0.0, 60.0])
@pytest.mark.parametrize("incremental_max", [-1, 0])
def test_compiled_assign_loop_matches_the_python_loop(seed, balance, incremental_max):
    from urbangrid.optimizer import assign

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 80)), int(rng.integers(3, 40))
    costs = rng.uniform(0, 1000, (n, m)).astype(np.float32)
    costs[rng.random((n, m)) < 0.4] = np.inf
    costs[:, 0] = np.round(costs[:, 0] / 100) * 100  # ties
    capacity = rng.integers(0, 4, m)
    defer = rng.uniform(200, 1500, n)
    pinned = np.where(rng.random(n) < 0.1, rng.integers(0, m, n), -1)
    offset = rng.uniform(0, 300, m) if seed % 2 else None
    for k in (1, 2, 8):  # few candidates force pricing rounds, repairs and re-solves
        kw = dict(balance=balance, pinned=pinned, column_offset=offset,
                  params=FlowParams(candidates=k, incremental_max=incremental_max))
        fast = assign(costs, capacity, defer, **kw)
        # any time limit keeps assign in its Python loop; this one is never reached
        slow = assign(costs, capacity, defer, time_limit=1e9, **kw)
        _same_result(fast, slow)
    # out of pricing rounds: the compiled loop hands over to the Python one (dense solve)
    kw = dict(balance=balance, pinned=pinned, params=FlowParams(candidates=1, max_rounds=1))
    fast = assign(costs, capacity, defer, **kw)
    _same_result(fast, assign(costs, capacity, defer, time_limit=1e9, **kw))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("pinned", [0.0, 0.1])
def test_compiled_assign_gives_the_same_mcf_assignment(seed, pinned):
    from urbangrid.optimizer import solve

    p = random_problem(seed, n_tasks=30, n_teams=25, pinned=pinned, current=0.1,
                       capacity=(0, 3))
    for k in (1, 2, 8):  # 1 and 2 force pricing rounds
        # a time limit keeps solve on the general Python path; this one is never reached
        params = FlowParams(candidates=k)
        _same(solve(p, "mcf", params=params), solve(p, "mcf", params=params, time_limit=1e9))


@pytest.mark.parametrize("seed", range(6))
def test_small_batch_scores_equal_the_streaming_kernel(seed):
    from urbangrid.optimizer import scoring

    for p in _variants(seed):
        p = p.replace(weights=ScoreWeights(wait=0.7, balance=33.0, lateness=1.3))
        stream = scoring._score_stream(p, np.empty((p.n_tasks, p.n_teams), np.float32))
        small, offset = scoring.score_and_offset(p)
        assert p.n_tasks * p.n_teams <= scoring.SMALL_BATCH
        assert np.array_equal(small, stream)
        assert np.array_equal(scoring.score(p), stream)
        assert np.array_equal(offset, scoring.team_offset(p))


def test_unchecked_construction_equals_the_validated_problem(tiny):
    fields = {f: getattr(tiny, f) for f in tiny.__dataclass_fields__}
    fast = DispatchProblem.unchecked(**fields)
    for name in fields:
        a, b = getattr(fast, name), getattr(tiny, name)
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and np.array_equal(a, b)
        else:
            assert a == b
    # optional fields left out take the constructor's defaults, as arrays
    required = {k: v for k, v in fields.items()
                if k not in ("task_pinned", "task_current", "task_crews", "team_load",
                             "team_area", "weights", "cell_travel")}
    bare = DispatchProblem.unchecked(**required)
    full = DispatchProblem(**required)
    for name in ("task_pinned", "task_current", "task_crews", "team_load", "team_area"):
        assert getattr(bare, name).dtype == getattr(full, name).dtype
        assert np.array_equal(getattr(bare, name), getattr(full, name))
    assert bare.weights == full.weights and bare.cell_travel is None
    for name in ("nearest", "legacy", "mcf", "greedy"):
        _same(get_policy(name)(bare), get_policy(name)(full))
    with pytest.raises(TypeError, match="missing travel"):
        DispatchProblem.unchecked(**{k: v for k, v in required.items() if k != "travel"})


@pytest.mark.parametrize("n", [0, 1, 2, 5, 17, 200])
def test_compiled_priority_order_equals_lexsort(n):
    from urbangrid.optimizer._common import priority_order, priority_order_numpy

    rng = np.random.default_rng(n)
    for _ in range(20):
        p = random_problem(int(rng.integers(1 << 30)), n_tasks=n, n_teams=3)
        # ties everywhere: few priorities, few deadlines (both zeros, infinities; -inf,
        # which the constructor refuses, as an unchecked snapshot may hold it)
        p = unchecked_replace(p, task_priority=rng.choice([1.0, 2.0, 3.0], n),
                              task_deadline=rng.choice([0.0, -0.0, 60.0, np.inf, -np.inf], n))
        got = priority_order(p)
        assert got.dtype == np.int64
        assert np.array_equal(got, priority_order_numpy(p))


@pytest.mark.parametrize("seed", range(6))
def test_candidates_covering_every_team_reach_the_dense_optimum(seed):
    from urbangrid.optimizer import solve

    rng = np.random.default_rng(seed)
    # few teams: mcf's candidates cover them all (the candidate flow, pricing has nothing
    # to add); mcf_dense is the dense flow. Each equals its Python path (any time limit),
    # and both are optimal.
    p = random_problem(seed, n_tasks=int(rng.integers(1, 25)), n_teams=int(rng.integers(1, 9)),
                       capacity=(0, 3), current=0.2)
    for method in ("mcf", "mcf_dense"):
        fast = solve(p, method)
        assert fast.stats["flow_method"] == method
        _same(fast, solve(p, method, time_limit=1e9))
    assert solve(p, "mcf").objective == pytest.approx(solve(p, "mcf_dense").objective,
                                                      rel=1e-9, abs=1e-6)
    no_balance = p.replace(weights=ScoreWeights(balance=0.0))
    _same(solve(no_balance), solve(no_balance, time_limit=1e9))


@pytest.mark.parametrize("seed", range(6))
def test_travel_of_unqualified_pairs_is_never_read(seed):
    # the documented contract of DispatchProblem.travel that lets a caller skip looking
    # those entries up: any value there leaves every built-in answer unchanged
    from urbangrid.optimizer._common import qualified

    rng = np.random.default_rng(seed)
    p = random_problem(seed, n_tasks=int(rng.integers(1, 40)), n_teams=int(rng.integers(1, 30)),
                       n_cells=60, capacity=(0, 3), current=0.2, pinned=0.1)
    q = qualified(p)  # (n, m)
    used = np.zeros((p.n_teams, p.n_cells), bool)
    for i in range(p.n_tasks):
        used[:, p.task_cell[i]] |= q[i]
    for fill in (np.inf, 0.0, 1e9):
        travel = np.where(used, p.travel, np.float32(fill)).astype(np.float32)
        other = p.replace(travel=travel)
        for name in ("nearest", "legacy", "greedy", "mcf"):
            _same(get_policy(name)(other), get_policy(name)(p))


@pytest.mark.parametrize("seed", range(6))
def test_candidates_and_pricing_over_finite_entries_equal_the_dense_kernels(seed):
    from urbangrid.optimizer import _kernels

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 40)), int(rng.integers(1, 60))
    cost = np.round(rng.uniform(0, 50, (n, m))).astype(np.float32)  # many ties
    cost[rng.random((n, m)) < 0.6] = np.inf
    offset = np.round(rng.uniform(0, 20, m))
    start, cols = _kernels.finite_columns(cost)
    for i in range(n):
        assert np.array_equal(cols[start[i]: start[i + 1]], np.flatnonzero(np.isfinite(cost[i])))
    for k in (1, 3, 8):
        a = np.empty((n, 2 * k), np.int32)
        b = np.empty((n, 2 * k), np.int32)
        _kernels._cand_cols(cost, start, cols, k, offset, a)
        _kernels._cand_seq(cost, k, offset, b)
        assert np.array_equal(a, b)
    # potentials that make some reduced costs negative; some rows skipped, some arcs the
    # task's own (skip_j)
    pot_task = rng.integers(-3000, 0, n).astype(np.int64)
    pot_team = rng.integers(-500, 2000, m).astype(np.int64)
    team_of = rng.integers(-1, m, n).astype(np.int32)
    skip = rng.random(n) < 0.2
    for r, margin in ((1, 0), (4, 0), (4, 150)):
        a = np.empty((n, r), np.int32)
        b = np.empty((n, r), np.int32)
        na = _kernels._price_cols(cost, start, cols, 100.0, pot_task, pot_team, team_of, skip,
                                  r, np.int64(margin), a)
        nb = _kernels._price_seq(cost, 100.0, pot_task, pot_team, team_of, skip, r,
                                 np.int64(margin), b)
        assert np.array_equal(na, nb) and np.array_equal(a, b)
        assert na.sum() > 0  # the test exercises negative arcs
