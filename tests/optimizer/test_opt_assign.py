"""The assignment core: exactness of candidate + pricing, kernels vs references, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from urbangrid.errors import InputError
from urbangrid.optimizer import FlowParams, _kernels, assign, greedy_assign, scoring
from urbangrid.optimizer._random import random_problem


def optimum_by_lsa(costs, capacity, defer, balance=0.0, pinned=None):
    """Reference optimum: expand team slots and per-task defer columns, solve with
    scipy's Hungarian-type solver."""
    n, m = costs.shape
    pinned = np.full(n, -1) if pinned is None else pinned
    free = np.flatnonzero(pinned < 0)
    big = 1e12
    cols, extra = [], []
    for j in range(m):
        for k in range(min(int(capacity[j]), free.size)):
            cols.append(j)
            extra.append(balance * k)
    c = np.full((free.size, len(cols) + free.size), big)
    if cols:
        sub = costs[free][:, cols].astype(np.float64) + np.array(extra)[None, :]
        c[:, : len(cols)] = np.where(np.isfinite(sub), sub, big)
    c[np.arange(free.size), len(cols) + np.arange(free.size)] = defer[free]
    r, k = linear_sum_assignment(c)
    return float(c[r, k].sum())


def random_costs(rng, n, m, p_inf=0.4, cap=(0, 3)):
    costs = rng.uniform(0, 1000, (n, m)).astype(np.float32)
    costs[rng.random((n, m)) < p_inf] = np.inf
    capacity = rng.integers(cap[0], cap[1] + 1, m)
    defer = rng.uniform(200, 1500, n)
    return costs, capacity, defer


def check_feasible(res, costs, capacity, pinned=None):
    team = res.team
    n, m = costs.shape
    pinned = np.full(n, -1) if pinned is None else pinned
    assert team.shape == (n,) and team.dtype == np.int32
    np.testing.assert_array_equal(team[pinned >= 0], pinned[pinned >= 0])
    f = np.flatnonzero((team >= 0) & (pinned < 0))
    assert np.isfinite(costs[f, team[f]]).all()
    assert (np.bincount(team[f], minlength=m) <= capacity).all()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("balance", [0.0, 75.0])
@pytest.mark.parametrize("incremental_max", [0, 10**6])
@pytest.mark.parametrize("flow_solver", ["auto", "ortools"])
def test_candidate_pricing_is_exactly_optimal(seed, balance, incremental_max, flow_solver):
    rng = np.random.default_rng(seed)
    costs, capacity, defer = random_costs(rng, 60, 25)
    # few candidates force pricing rounds, repaired in place or re-solved
    res = assign(costs, capacity, defer, balance=balance, flow_solver=flow_solver,
                 params=FlowParams(candidates=2, incremental_max=incremental_max))
    # small batches go to the compiled shortest paths unless OR-Tools is asked for
    assert res.stats["flow_solver"] == ("ortools" if flow_solver == "ortools" else "ssp")
    if incremental_max == 0:
        assert res.stats.get("incremental_rounds", 0) == 0
    elif res.stats["pricing_rounds"]:
        assert res.stats["flow_solves"] == 1 and res.stats["incremental_rounds"] >= 1
    dense = assign(costs, capacity, defer, balance=balance, dense=True)
    ref = optimum_by_lsa(costs, capacity, defer, balance)
    check_feasible(res, costs, capacity)
    assert res.status == "optimal" and res.method == "mcf"
    assert dense.method == "mcf_dense"
    # optimal for costs rounded to 1/100: within n/100 of the true optimum
    assert res.objective == pytest.approx(ref, abs=60 / 100)
    assert dense.objective == pytest.approx(ref, abs=60 / 100)
    assert res.lower_bound <= res.objective + 1e-6


def test_pricing_recovers_what_plain_nearest_k_pruning_drops():
    # 6 tasks all prefer team 0 (capacity 1); k=1 candidates would leave 5 deferred
    costs = np.array([[1.0, 50.0, 60.0]] * 6, np.float32)
    res = assign(costs, [1, 3, 2], np.full(6, 1000.0), params=FlowParams(candidates=1))
    assert (res.team >= 0).all()
    assert res.stats["pricing_rounds"] >= 1
    assert res.objective == pytest.approx(1 + 3 * 50 + 2 * 60)


def test_defers_when_cheaper_and_never_drops():
    from urbangrid.optimizer import DeferReason as R
    costs = np.array([[10.0, np.inf], [500.0, np.inf], [np.inf, np.inf], [20.0, np.inf]])
    res = assign(costs, [2, 5], [100.0, 100.0, 7.0, 100.0])
    assert res.team.tolist() == [0, -1, -1, 0]
    assert res.objective == pytest.approx(10 + 100 + 7 + 20)
    # task 1: team 0 is full; task 2: no feasible team at all
    assert res.reason.tolist() == [0, R.NO_CAPACITY, R.NO_QUALIFIED_TEAM, 0]
    res = assign(costs, [3, 5], [100.0, 100.0, 7.0, 100.0])
    assert res.reason[1] == R.CHEAPER_TO_DEFER


def test_convex_balance_spreads_tasks():
    costs = np.array([[0.0, 30.0]] * 4)
    flat = assign(costs, [4, 4], np.full(4, 1e6))
    assert flat.team.tolist() == [0, 0, 0, 0]
    # 4th task on team 0 would cost 3 x 20 = 60 more than 30 on team 1
    bal = assign(costs, [4, 4], np.full(4, 1e6), balance=20.0)
    assert np.bincount(bal.team, minlength=2).tolist() == [3, 1]
    assert bal.objective == pytest.approx(0 + 20 + 40 + 30)


def test_pinned_tasks_stay_and_use_no_capacity():
    costs = np.array([[5.0, 1.0], [1.0, 5.0], [1.0, 2.0]])
    pinned = np.array([0, -1, -1])
    res = assign(costs, [1, 1], np.full(3, 100.0), pinned=pinned)
    assert res.team.tolist() == [0, 0, 1]
    assert res.objective == pytest.approx(1 + 2)


@pytest.mark.parametrize("seed", range(3))
def test_pinned_random_against_reference(seed):
    rng = np.random.default_rng(100 + seed)
    costs, capacity, defer = random_costs(rng, 40, 12)
    pinned = np.where(rng.random(40) < 0.2, rng.integers(0, 12, 40), -1)
    res = assign(costs, capacity, defer, pinned=pinned, balance=10.0,
                 params=FlowParams(candidates=3))
    check_feasible(res, costs, capacity, pinned)
    assert res.objective == pytest.approx(
        optimum_by_lsa(costs, capacity, defer, 10.0, pinned), abs=0.4)


def test_full_scale_problem_matches_dense_flow():
    p = random_problem(7, 600, 120, n_cells=400, capacity=(3, 8))
    c = scoring.score(p)
    args = (c, p.team_capacity, p.defer_cost())
    res = assign(*args, balance=p.weights.balance)
    dense = assign(*args, balance=p.weights.balance, dense=True)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(dense.objective, rel=1e-9, abs=600 / 100)
    assert res.stats["arcs_final"] < dense.stats["arcs_final"] / 3


def test_empty_and_degenerate_inputs():
    r = assign(np.zeros((0, 3)), [1, 1, 1], np.zeros(0))
    assert r.team.shape == (0,) and r.objective == 0
    r = assign(np.zeros((3, 0)), np.zeros(0, int), [1.0, 2.0, 3.0])
    assert r.team.tolist() == [-1, -1, -1] and r.objective == 6
    r = assign(np.full((2, 2), np.inf), [1, 1], 5.0)
    assert r.team.tolist() == [-1, -1] and r.objective == 10


def test_time_limit_before_any_flow_falls_back_to_greedy():
    rng = np.random.default_rng(0)
    costs, capacity, defer = random_costs(rng, 50, 20)
    r = assign(costs, capacity, defer, time_limit=1e-12)
    assert r.status == "time_limit" and r.method == "greedy"
    check_feasible(r, costs, capacity)
    g = greedy_assign(costs, capacity, defer)
    np.testing.assert_array_equal(r.team, g)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"costs": np.zeros(3)}, "2-D"),
        ({"costs": np.array([[np.nan, 1.0]])}, "NaN"),
        ({"costs": np.array([[-np.inf, 1.0]])}, "-inf"),
        ({"capacity": [1]}, "capacity has shape"),
        ({"capacity": [1, -1]}, "capacity must be >= 0"),
        ({"capacity": [1.5, 1]}, "integers"),
        ({"defer_cost": [1.0, 2.0]}, "defer_cost has shape"),
        ({"defer_cost": [np.inf]}, "defer_cost must be finite"),
        ({"pinned": [5]}, "pinned team indices"),
        ({"balance": -1.0}, "balance"),
        ({"flow_solver": "simplex"}, "flow_solver"),
        ({"params": {"candidates": 2}}, "FlowParams"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"costs": np.array([[1.0, 2.0]]), "capacity": [1, 1], "defer_cost": [3.0]}
    args.update(kwargs)
    with pytest.raises(InputError, match=match):
        assign(args.pop("costs"), args.pop("capacity"), args.pop("defer_cost"), **args)


# ---------------------------------------------------------------- kernels vs references
def topk_reference(cost, k):
    out = np.full((cost.shape[0], k), -1, np.int32)
    for i, row in enumerate(cost):
        fin = np.flatnonzero(np.isfinite(row))
        fin = fin[np.argsort(row[fin], kind="stable")][:k]
        out[i, : fin.size] = fin
    return out


def test_price_rows_equals_reference():
    rng = np.random.default_rng(3)
    n, m, r = 30, 17, 4
    cost = rng.uniform(0, 100, (n, m)).astype(np.float32)
    cost[rng.random((n, m)) < 0.3] = np.inf
    pt = rng.integers(-5000, 0, n)
    pm = rng.integers(-5000, 0, m)
    team_of = rng.integers(-1, m, n).astype(np.int32)
    skip = rng.random(n) < 0.2
    out = np.empty((n, r), np.int32)
    for margin in (0, 700):
        cnt = _kernels.price_rows(cost, 100.0, pt, pm, team_of, skip, r, margin, out)
        for i in range(n):
            rc = np.floor(cost[i].astype(np.float64) * 100 + 0.5) + pt[i] - pm
            ok = np.isfinite(rc) & (np.arange(m) != team_of[i]) & ~skip[i]
            neg = np.flatnonzero(ok & (rc < 0))
            near = np.flatnonzero(ok & (rc < margin)) if neg.size else neg
            assert cnt[i] == neg.size
            best = near[np.argsort(rc[near], kind="stable")][:r]
            assert out[i, : best.size].tolist() == best.tolist()
            assert (out[i, best.size:] == -1).all()


def bellman_ford_reference(n_nodes, tail, head, cost):
    d = [0] * n_nodes
    for _ in range(n_nodes + 1):
        changed = False
        for t, h, c in zip(tail, head, cost, strict=True):
            if d[t] + c < d[h]:
                d[h] = d[t] + c
                changed = True
        if not changed:
            return np.array(d), True
    return np.array(d), False


@pytest.mark.parametrize("seed", range(5))
def test_potentials_equal_bellman_ford(seed):
    rng = np.random.default_rng(seed)
    n_nodes, n_arcs = 25, 80
    # potentials of a random function make every cycle non-negative
    phi = rng.integers(-100, 100, n_nodes)
    tail = rng.integers(0, n_nodes, n_arcs)
    head = rng.integers(0, n_nodes, n_arcs)
    cost = phi[head] - phi[tail] + rng.integers(0, 20, n_arcs)
    d, ok = _kernels.potentials(n_nodes, tail, head, cost)
    d_ref, ok_ref = bellman_ford_reference(n_nodes, tail, head, cost)
    assert ok and ok_ref
    np.testing.assert_array_equal(d, d_ref)
    assert (d[head] <= d[tail] + cost).all()


def test_potentials_detect_negative_cycle():
    d, ok = _kernels.potentials(3, np.array([0, 1, 2]), np.array([1, 2, 0]),
                                np.array([1, 1, -5]))
    assert not ok


def test_greedy_equals_python_reference():
    rng = np.random.default_rng(9)
    costs, capacity, defer = random_costs(rng, 40, 10)
    got = greedy_assign(costs, capacity, defer, balance=15.0)
    team = np.full(40, -1)
    used = np.zeros(10, int)
    pairs = sorted((float(costs[i, j]), i, j) for i in range(40) for j in range(10)
                   if np.isfinite(costs[i, j]))
    for c, i, j in pairs:
        if team[i] < 0 and used[j] < capacity[j] and c + 15.0 * used[j] < defer[i]:
            team[i] = j
            used[j] += 1
    np.testing.assert_array_equal(got, team)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(seed=st.integers(0, 10**6), n=st.integers(0, 12), m=st.integers(1, 15),
       k=st.integers(1, 5))
def test_candidate_rows_equal_reference(seed, n, m, k):
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 6, (n, m)).astype(np.float32)
    cost[rng.random((n, m)) < 0.3] = np.inf
    offset = rng.integers(0, 4, m).astype(np.float64)
    out = np.empty((n, 2 * k), np.int32)
    _kernels.candidate_rows(cost, k, offset, out)
    first = topk_reference(cost, k)
    second = topk_reference(cost - offset[None, :], k)
    for i in range(n):
        want = [j for j in first[i] if j >= 0]
        want += [j for j in second[i] if j >= 0 and j not in want]
        assert out[i].tolist() == want + [-1] * (2 * k - len(want))


@pytest.mark.parametrize("seed", range(4))
def test_cancel_negative_arcs_reaches_the_optimum_of_the_larger_graph(seed):
    """Solve on half the arcs, add the rest as new arcs, repair in place: the flow cost
    must equal a fresh OR-Tools solve on all arcs, and the potentials must certify it."""
    from ortools.graph.python import min_cost_flow
    rng = np.random.default_rng(seed)
    nt, nm = 30, 8
    # tasks 0..nt-1, teams nt..nt+nm-1, sink; pair arcs, defer arcs, slot arcs (cap 2)
    pi = np.repeat(np.arange(nt), nm)
    pj = np.tile(np.arange(nm), nt)
    keep = rng.random(pi.size) < 0.7
    pi, pj = pi[keep], pj[keep]
    pc = rng.integers(0, 1000, pi.size)
    sink = nt + nm

    def arcs(mask):
        tails = np.concatenate([pi[mask], np.arange(nt), nt + np.arange(nm)])
        heads = np.concatenate([nt + pj[mask], np.full(nt, sink), np.full(nm, sink)])
        costs = np.concatenate([pc[mask], np.full(nt, 800), np.zeros(nm, int)])
        caps = np.concatenate([np.ones(mask.sum() + nt, int), np.full(nm, 2)])
        return tails, heads, costs.astype(np.int64), caps.astype(np.int64)

    def solve(tails, heads, costs, caps):
        f = min_cost_flow.SimpleMinCostFlow()
        f.add_arcs_with_capacity_and_unit_cost(tails.astype(np.int32), heads.astype(np.int32),
                                               caps, costs)
        sup = np.zeros(sink + 1, np.int64)
        sup[:nt] = 1
        sup[sink] = -nt
        f.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), sup)
        assert f.solve() == f.OPTIMAL
        return np.asarray(f.flows(np.arange(tails.size, dtype=np.int32)), np.int64), \
            f.optimal_cost()

    half = rng.random(pi.size) < 0.5
    t1, h1, c1, k1 = arcs(half)
    flow, _ = solve(t1, h1, c1, k1)
    fwd, bwd = flow < k1, flow > 0
    d, ok = _kernels.potentials(sink + 1, np.r_[t1[fwd], h1[bwd]], np.r_[h1[fwd], t1[bwd]],
                                np.r_[c1[fwd], -c1[bwd]])
    assert ok
    rest = ~half
    tails = np.concatenate([t1, pi[rest]])
    heads = np.concatenate([h1, nt + pj[rest]])
    costs = np.concatenate([c1, pc[rest]]).astype(np.int64)
    caps = np.concatenate([k1, np.ones(rest.sum(), np.int64)])
    flow = np.concatenate([flow, np.zeros(rest.sum(), np.int64)])
    new = np.arange(t1.size, tails.size, dtype=np.int64)
    _kernels.cancel_negative_arcs(sink + 1, tails, heads, costs, caps, flow, d, new)
    _, best = solve(*arcs(np.ones(pi.size, bool)))
    assert int((flow * costs).sum()) == best
    # still a feasible flow, and every residual arc has a non-negative reduced cost
    assert ((flow >= 0) & (flow <= caps)).all()
    bal = np.bincount(tails, flow, sink + 1) - np.bincount(heads, flow, sink + 1)
    assert (bal[:nt] == 1).all() and bal[sink] == -nt
    fwd, bwd = flow < caps, flow > 0
    assert (costs[fwd] + d[tails[fwd]] - d[heads[fwd]] >= 0).all()
    assert (-costs[bwd] + d[heads[bwd]] - d[tails[bwd]] >= 0).all()


def test_huge_capacities_with_balance_stay_small_and_exact():
    rng = np.random.default_rng(4)
    costs, _, defer = random_costs(rng, 40, 6)
    cap = np.full(6, 10**6)
    res = assign(costs, cap, defer, balance=200.0, params=FlowParams(candidates=2))
    # a slot dearer than (largest defer - smallest cost) is never useful: at most
    # ceil((1500 + 1000) / 200) + 1 = 14 slots per team instead of 40
    assert res.stats["arcs_slots"] <= 6 * 14
    ref = optimum_by_lsa(costs, np.full(6, 40), defer, 200.0)
    assert res.objective == pytest.approx(ref, abs=0.4)


@pytest.mark.parametrize("seed", range(6))
def test_ssp_flow_is_optimal_with_certifying_potentials(seed):
    """Successive shortest paths against OR-Tools on random assignment networks with
    negative costs, parallel slot arcs and capacities; the potentials it returns must
    give every residual arc a non-negative reduced cost."""
    from ortools.graph.python import min_cost_flow

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(1, 40)), int(rng.integers(1, 15))
    sink = n + m
    keep = rng.random((n, m)) < 0.5
    pi, pj = np.nonzero(keep)
    slot_team = np.repeat(np.arange(m), rng.integers(0, 4, m))
    tail = np.concatenate([pi, np.arange(n), n + slot_team]).astype(np.int64)
    head = np.concatenate([n + pj, np.full(n, sink), np.full(slot_team.size, sink)])
    head = head.astype(np.int64)
    cost = np.concatenate([rng.integers(-300, 1000, pi.size), rng.integers(0, 1500, n),
                           rng.integers(0, 200, slot_team.size)]).astype(np.int64)
    cap = np.concatenate([np.ones(pi.size + n, np.int64), rng.integers(1, 3, slot_team.size)])
    flow, d, status, scans = _kernels.ssp_flow(sink + 1, n, sink, tail, head, cost, cap,
                                               10**9)
    assert status == 0 and scans > 0
    out = np.bincount(tail, weights=flow, minlength=sink + 1)
    inn = np.bincount(head, weights=flow, minlength=sink + 1)
    assert (out - inn)[:n].tolist() == [1] * n and inn[sink] == n
    assert ((flow >= 0) & (flow <= cap)).all()
    rc = cost + d[tail] - d[head]
    assert (rc[flow < cap] >= 0).all() and (rc[flow > 0] <= 0).all()
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(tail.astype(np.int32), head.astype(np.int32),
                                              cap, cost)
    sup = np.zeros(sink + 1, np.int64)
    sup[:n], sup[sink] = 1, -n
    smcf.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), sup)
    assert smcf.solve() == smcf.OPTIMAL
    assert int((flow * cost).sum()) == smcf.optimal_cost()
    # a tiny budget gives up (status 2) instead of running long
    if n > 1:
        assert _kernels.ssp_flow(sink + 1, n, sink, tail, head, cost, cap, 0)[2] == 2


def test_congested_batch_falls_back_to_ortools_and_stays_exact():
    rng = np.random.default_rng(5)
    costs, capacity, defer = random_costs(rng, 80, 20, cap=(1, 2))
    want = assign(costs, capacity, defer, balance=20.0, flow_solver="ortools")
    got = assign(costs, capacity, defer, balance=20.0, params=FlowParams(budget_per_arc=0))
    assert got.stats["ssp_over_budget"] and got.stats["flow_solver"] == "ortools"
    assert got.status == "optimal"
    assert got.objective == pytest.approx(want.objective, abs=80 / 100)


# ---------------------------------------------------------------- the flow's knobs
def test_flow_params_defaults_and_replace():
    p = FlowParams()
    assert (p.candidates, p.price_add, p.price_margin, p.scale, p.max_rounds,
            p.incremental_max) == (8, 0, 0.0, 100.0, 25, -1)
    q = p.replace(candidates=np.int64(3), scale=50)
    assert q.candidates == 3 and type(q.candidates) is int and type(q.scale) is float
    assert p.candidates == 8  # immutable: replace makes a copy


@pytest.mark.parametrize(("field", "value"), [
    ("candidates", -1), ("candidates", 2.5), ("candidates", True), ("price_add", -1),
    ("max_rounds", -1), ("incremental_max", -2), ("budget_per_arc", -1),
    ("max_tasks", -1), ("max_elements", "many"), ("price_margin", -1.0),
    ("price_margin", np.nan), ("scale", 0.0), ("scale", np.inf), ("int_budget", -1.0),
])
def test_flow_params_name_the_bad_knob(field, value):
    with pytest.raises(InputError, match=f"FlowParams.{field}"):
        FlowParams(**{field: value})
    with pytest.raises(InputError, match=f"FlowParams.{field}"):
        FlowParams().replace(**{field: value})


def test_cost_scale_is_lowered_only_to_keep_int64_safe():
    # one implementation (_kernels.scale_for) serves the compiled paths and the loop
    capacity = np.array([3, 1], np.int64)
    defer = np.array([10.0, 20.0])
    assert _kernels.scale_for(100.0, 2, capacity, defer, 5.0, 100.0, 2.0**61) == 100.0
    big = _kernels.scale_for(1e16, 2, capacity, defer, 5.0, 100.0, 2.0**61)
    # nodes = 2 tasks + 2 teams + sink; |cost| * scale * (nodes + 1) * (tasks + 1)
    assert big == pytest.approx(2.0**61 / (6 * 3 * 1e16))
    # with pinned tasks the bound counts all n tasks, the network only the free ones
    assert _kernels.scale_for(1e16, 5, capacity, defer, 5.0, 100.0, 2.0**61) == (
        pytest.approx(2.0**61 / (6 * 6 * 1e16)))
