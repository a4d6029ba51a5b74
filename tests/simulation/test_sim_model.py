"""The model: conservation, determinism, M/M/c against Erlang C, Little's law."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.toys import mmc_scenario, toy_scenario
from urbangrid.catalogue import CHANNELS
from urbangrid.simulation import compute_kpis, simulate, t_interval, write_events
from urbangrid.simulation.codes import EVENT_NAMES, Event, Status


def _check_conservation(res):
    c = res.cases
    n = c["status"].size
    assert n > 0
    st_ = c["status"]
    closed, parked, invalid = st_ == Status.CLOSED, st_ == Status.PARKED, st_ == Status.INVALID
    open_ = ~(closed | parked | invalid)
    assert closed.sum() + parked.sum() + invalid.sum() + open_.sum() == n
    # every case was reported exactly once, closed ones closed exactly once
    ev = res.events
    rep = np.bincount(ev["case"][ev["kind"] == Event.REPORTED], minlength=n)
    assert (rep == 1).all()
    clo = np.bincount(ev["case"][ev["kind"] == Event.CLOSED], minlength=n)
    assert (clo[closed] == 1).all() and (clo[~closed] == 0).all()
    # times are ordered along each case's life
    assert (c["t_close"][closed] >= c["t_register"][closed]).all()
    assert (c["t_register"][~np.isnan(c["t_register"])]
            >= c["t_report"][~np.isnan(c["t_register"])]).all()
    assert np.all(np.diff(ev["time"]) >= 0)
    # KPI counts add up
    k = compute_kpis(res)["all"]
    assert k["cases_closed"] + k["cases_parked"] + k["cases_open_end"] + k["cases_invalid"] \
        == k["cases_created"]


def test_toy_run_produces_a_closed_loop(toy):
    # hotline work orders take days: a drain lets the window's orders finish
    res = simulate(toy.replace({"run.drain_days": 20}))
    _check_conservation(res)
    k = compute_kpis(res)
    a = k["all"]
    assert a["cases_created"] > 300
    assert a["cases_closed"] > 0.9 * a["cases_created"]
    assert 0 < a["utilisation_mean"] < 1.0
    assert k["hotline"]["satisfaction_rate"] > 0.5
    kinds = set(np.unique(res.events["kind"]).tolist())
    for name in ("reported", "registered", "dispatched", "signed", "travel", "arrived",
                 "work_done", "verified", "closed", "fixed_on_spot", "callback_ok",
                 "routed", "replied", "field_requested", "field_done"):
        assert EVENT_NAMES.index(name) in kinds, name


def test_loops_fire_when_likely():
    s = toy_scenario(**{"workflow.misroute_prob": 0.3, "workflow.rework_prob": 0.3,
                        "orders.satisfaction": (-3.0, 0.0, 0.0, 0.0), "run.drain_days": 10,
                        "catalogue.overrides": {"exposed_garbage": {"resolution_prob": 0.3}}})
    res = simulate(s)
    _check_conservation(res)
    a = compute_kpis(res)["all"]
    assert a["misroutes"] > 0 and a["reworks"] > 0 and a["reopened"] > 0
    assert a["extensions"] > 0 and a["cases_parked"] > 0


def test_legacy_process_forwards_and_waits_for_working_hours():
    s = toy_scenario(**{"workflow.process": "legacy", "workflow.forwarding_hours": [2, 4],
                        "run.days": 3})
    res = simulate(s)
    _check_conservation(res)
    ev = res.events
    assert (ev["kind"] == EVENT_NAMES.index("forwarded")).sum() > 0
    # legacy registration happens inside working hours (09:00 - 17:00), but for the
    # hotline's work orders, which the round-the-clock municipal centre registers
    reg_rows = (ev["kind"] == EVENT_NAMES.index("registered")) & (
        res.cases["channel"][ev["case"]] != CHANNELS.index("hotline"))
    reg = ev["time"][reg_rows]
    tod = (reg - res.calendar.day_offset) % 86400
    assert ((tod >= 9 * 3600 - 1e-6) & (tod <= 17 * 3600 + 1e-6)).all()
    integ = simulate(toy_scenario(**{"run.days": 3}))
    assert (compute_kpis(res)["all"]["handling_days_calendar_mean"]
            > compute_kpis(integ)["all"]["handling_days_calendar_mean"])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rate=st.floats(20, 600), days=st.floats(0.3, 2.0), misroute=st.floats(0, 0.3),
    rework=st.floats(0, 0.3), legacy=st.booleans(), cap=st.integers(1, 4),
    n_san=st.integers(1, 3), seed=st.integers(0, 2**32), interval=st.floats(10, 900),
    on_events=st.sampled_from(["none", "urgent", "all"]),
)
def test_conservation_property(rate, days, misroute, rework, legacy, cap, n_san, seed,
                               interval, on_events):
    s = toy_scenario(**{
        "demand.cases_per_day": rate, "run.days": days, "run.seed": seed,
        "workflow.misroute_prob": misroute, "workflow.rework_prob": rework,
        "workflow.process": "legacy" if legacy else "integrated",
        "workflow.forwarding_hours": [1.0] if legacy else [],
        "crews.0.per_subdistrict": n_san, "crews.0.capacity": cap,
        "dispatch.interval_s": interval, "dispatch.on_events": on_events,
    })
    _check_conservation(simulate(s))


def test_same_seed_same_bytes_different_seed_different(tmp_path, toy):
    paths = []
    for k, seed in enumerate((7, 7, 8)):
        res = simulate(toy, seed=seed)
        p = tmp_path / f"e{k}.parquet"
        write_events(res, p)
        paths.append(p.read_bytes())
    assert paths[0] == paths[1]
    assert paths[0] != paths[2]


def test_buffer_sizes_do_not_change_a_run(toy, monkeypatch):
    """The compiled core stops for room (event heap, pools, logs, variate buffers) and
    the model grows or refills them: tiny starting sizes, many stops, must give the very
    same run."""
    from urbangrid.simulation import _model

    ref = simulate(toy, seed=5)
    monkeypatch.setattr(_model, "_DRAW_BLOCK", 7)
    monkeypatch.setattr(_model, "_HEAP_START", 4)
    monkeypatch.setattr(_model, "_POOL_START", 2)
    monkeypatch.setattr(_model, "_LOG_MIN_ROWS", 8)
    monkeypatch.setattr(_model, "_LOG_ROWS_PER_CASE", 0)
    small = simulate(toy, seed=5)
    assert ref.n_events > 1000
    for col in ref.cases:
        np.testing.assert_array_equal(ref.cases[col], small.cases[col], err_msg=col)
    for col in ref.events:
        np.testing.assert_array_equal(ref.events[col], small.events[col], err_msg=col)


def test_a_policy_answering_out_of_range_teams_is_stopped(toy):
    """The answer is applied by compiled code that trusts its indices: a custom policy
    that returns a team index past the snapshot's teams must fail loudly, not write
    out of bounds."""
    from urbangrid.optimizer import get_policy

    base = get_policy("nearest")

    def broken(problem):
        a = base(problem)
        team = a.team.copy()
        team[:] = problem.team_id.shape[0]  # one past the last team
        return a.__class__(**{**a.__dict__, "team": team})

    with pytest.raises(ValueError, match="team index"):
        simulate(toy, seed=1, policy=broken)


def test_common_random_numbers_across_policies(toy):
    a = simulate(toy, seed=3)
    b = simulate(toy.replace({"dispatch.policy": "legacy"}), seed=3)
    for col in ("t_report", "cell", "category", "channel"):
        np.testing.assert_array_equal(a.cases[col], b.cases[col])


def _erlang_c_wait(c: int, lam: float, mu: float) -> float:
    a = lam / mu
    rho = a / c
    s = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    pw = top / (s + top)
    return pw / (c * mu - lam)


def test_mmc_matches_erlang_c_and_littles_law():
    c, lam, mu = 4, 6.0, 2.0  # per hour: rho = 0.75, work mean 30 min
    sc = mmc_scenario(c, lam, days=25, warmup=3)
    waits, little = [], []
    for rep in range(5):
        res = simulate(sc, seed=11, replication=rep)
        cs = res.cases
        win = (cs["t_report"] >= res.t_stats) & (cs["t_report"] < res.t_end)
        done = win & ~np.isnan(cs["t_dispatch"])
        waits.append(np.mean(cs["t_dispatch"][done] - cs["t_pool"][done]) / 3600.0)
        # Little: time-average number in system = throughput x mean time in system.
        k = compute_kpis(res)["all"]
        closed = win & (cs["status"] == Status.CLOSED)
        w = np.mean(cs["t_close"][closed] - cs["t_report"][closed]) / 3600.0
        lam_hat = closed.sum() / ((res.t_end - res.t_stats) / 3600.0)
        little.append((k["backlog_mean"], lam_hat * w))
    mean, half, n = t_interval(waits)
    expected = _erlang_c_wait(c, lam, mu)
    assert n == 5
    assert half < 0.35 * expected  # the CI is informative
    assert abs(mean - expected) <= half, (mean, half, expected)
    for L, lw in little:
        assert L == pytest.approx(lw, rel=0.05)


def test_trusted_snapshots_equal_validated_ones(toy):
    """The dispatcher fills DispatchProblem directly; the validated constructor must
    produce the same fields (dtypes and values) and the run the same event log."""
    from urbangrid.optimizer import DispatchProblem, get_policy
    from urbangrid.simulation._model import make_problem

    seen = []
    nearest = get_policy("nearest")

    def spy(p):
        fields = {k: v for k, v in p.__dict__.items()}
        checked = make_problem(DispatchProblem, True, **fields)
        for k, v in fields.items():
            w = getattr(checked, k)
            if isinstance(v, np.ndarray):
                assert v.dtype == w.dtype and v.shape == w.shape, k
                np.testing.assert_array_equal(v, w, err_msg=k)
            else:
                assert v == w, k
        seen.append(p.n_tasks)
        return nearest(p)

    fast = simulate(toy, policy=spy)
    slow = simulate(toy.replace({"dispatch.validate_snapshots": True}))
    assert sum(seen) > 100
    for k in ("time", "case", "kind", "team"):
        np.testing.assert_array_equal(fast.events[k], slow.events[k])


@pytest.mark.parametrize("name, params", [("nearest", {}), ("legacy", {}), ("mcf", {}),
                                          ("mcf", {"candidates": 2})])
def test_rounds_in_the_core_equal_rounds_through_python(toy, name, params):
    """A built-in policy's rounds run in the compiled core (its compiled form); the same
    policy wrapped in a plain function (no compiled form) runs every round through
    Python. Same run, row for row, on the toy under both on_events modes."""
    from urbangrid.optimizer import get_policy

    policy = get_policy(name, **params)
    calls = []

    def through_python(p):
        calls.append(p.n_tasks)
        return policy(p)

    for on_events in ("urgent", "all"):
        s = toy.replace({"dispatch.policy": name, "dispatch.on_events": on_events,
                         "dispatch.params": params})
        core = simulate(s)
        python = simulate(s, policy=through_python)
        assert core.stats["compiled_rounds"] > 50 and core.stats["policy_calls"] == 0
        assert python.stats["compiled_rounds"] == 0 and len(calls) > 50
        _same_run(core, python)
        calls.clear()


def test_rounds_the_compiled_form_hands_back_go_through_python(toy):
    """Where a policy's compiled form declines a snapshot (here: ``mcf`` batches of more
    than two tasks), the core hands the round, with the tasks it took from the pools,
    to Python, which rebuilds the snapshot and calls the policy: the same run as with
    every round through Python."""
    from urbangrid.optimizer import get_policy
    from urbangrid.optimizer.compiled import KIND_MCF, CompiledPolicy

    mcf = get_policy("mcf")

    def small_batches_only(p):
        return mcf(p)

    small_batches_only.compiled_form = CompiledPolicy(KIND_MCF, candidates=8, max_tasks=2)

    def through_python(p):
        return mcf(p)

    s = toy.replace({"dispatch.policy": "mcf", "dispatch.on_events": "all",
                     "demand.cases_per_day": 900})
    mixed = simulate(s, policy=small_batches_only)
    python = simulate(s, policy=through_python)
    assert mixed.stats["compiled_rounds"] > 50 and mixed.stats["policy_calls"] > 50
    _same_run(mixed, python)


def _same_run(a, b):
    assert a.stats["dispatch_rounds"] == b.stats["dispatch_rounds"]
    for k in ("time", "case", "kind", "team"):
        np.testing.assert_array_equal(a.events[k], b.events[k])
    for k, v in a.cases.items():
        np.testing.assert_array_equal(v, b.cases[k], err_msg=k)


def test_gc_thresholds_are_restored_after_a_run(toy):
    import gc

    before = gc.get_threshold()
    simulate(toy.replace({"run.days": 0.2}))
    assert gc.get_threshold() == before


def test_legacy_dispatch_and_signing_follow_the_crews_duty_hours():
    # Office-hours crews get and sign orders in office hours only; crews on longer
    # shifts (the toy's "day" and "always" crews) also outside them, which keeps the
    # legacy process from starving round-the-clock crews (CALIBRATION.md).
    s = toy_scenario(**{"workflow.process": "legacy", "run.days": 3,
                        "crews": [{"name": "sanitation", "skills": ["sanitation"],
                                   "per_subdistrict": 2},
                                  {"name": "city", "skills": ["city_management", "housing"],
                                   "per_subdistrict": 3, "shift": "office"},
                                  {"name": "works", "skills": ["facilities", "greenery",
                                                               "utilities"],
                                   "district_wide": 2, "mode": "car", "shift": "office"}]})
    res = simulate(s)
    ev = res.events
    look = s.dispatch.shift_lookahead_h * 3600.0
    pats = res.teams["patterns"]
    pattern = res.teams["pattern"]
    kind_of = np.array([0] * 4 + [1] * 6 + [2] * 2)  # crews in build order
    assert kind_of.size == pattern.size
    off_hours = 0
    for name, slack in (("dispatched", look), ("signed", 0.0)):
        sel = ev["kind"] == EVENT_NAMES.index(name)
        t, team = ev["time"][sel], ev["team"][sel]
        assert t.size > 0
        for x, j in zip(t.tolist(), team.tolist(), strict=True):
            start, end = pats[pattern[j]].window_at(x)
            assert start <= x + slack + 1e-6, (name, x, j)
            working = res.calendar.is_working(x) or res.calendar.is_working(x - 1e-6)
            if kind_of[j] > 0:
                assert working or start - x <= slack + 1e-6, (name, x, j)
            else:
                off_hours += not working
    assert off_hours > 0  # the round-the-clock crew was fed outside office hours


def test_travel_gather_kernel_matches_reference():
    from urbangrid.simulation._kernels import gather_travel, gather_travel_reference

    rng = np.random.default_rng(4)
    stack = rng.random((2, 50, 50)).astype(np.float32)
    for m, k in ((0, 3), (7, 1), (40, 9)):
        ts = rng.integers(0, 2, m).astype(np.intp)
        tc = rng.integers(0, 50, m).astype(np.int32)
        cells = np.unique(rng.integers(0, 50, k)).astype(np.intp)
        skills = rng.integers(0, 8, m).astype(np.int64)
        need = rng.integers(0, 8, cells.size).astype(np.int64)
        got = gather_travel(stack, ts, tc, cells, skills, need)
        np.testing.assert_array_equal(got, gather_travel_reference(stack, ts, tc, cells,
                                                                   skills, need))
        read = (skills[:, None] & need[None, :]) != 0
        assert np.isinf(got[~read]).all() and np.isfinite(got[read]).all()


def test_dispatch_offers_only_what_free_capacity_can_take():
    """With a large backlog, a round offers at most batch_per_slot tasks per free slot and
    skill (no whole-queue snapshots) and only qualified teams."""
    from urbangrid.optimizer import get_policy

    nearest = get_policy("nearest")
    seen = []

    def spy(p):
        n_skills = np.array([bin(int(x)).count("1") for x in p.team_skills])
        # a multi-skill team's free slots count once per skill it has
        seen.append((p.n_tasks, int((p.team_capacity * n_skills).sum()), p.n_teams))
        q = (p.team_skills[None, :] & p.task_skill[:, None]) == p.task_skill[:, None]
        assert q.any(axis=0).all()  # every team offered qualifies for some task
        return nearest(p)

    s = toy_scenario(**{"demand.cases_per_day": 3000, "run.days": 1,
                        "dispatch.batch_per_slot": 2})
    res = simulate(s, policy=spy)
    assert res.stats["waiting_end"] > 500  # the backlog is large
    assert seen and all(n <= 2 * cap for n, cap, _ in seen)
    assert max(n for n, _, _ in seen) < res.stats["waiting_end"] / 5


def _registered_policies():
    from urbangrid.optimizer import available_policies

    return available_policies()


@pytest.mark.parametrize("policy", _registered_policies())
def test_every_registered_policy_runs_the_model(policy):
    s = toy_scenario(**{"dispatch.policy": policy, "run.days": 0.5,
                        "dispatch.validate_snapshots": True})
    res = simulate(s)
    _check_conservation(res)
    assert compute_kpis(res)["all"]["cases_closed"] > 0


def test_a_misrouted_order_frees_its_crew_slot_at_signing():
    # Regression (jingan_legacy's growing pool): a returned (misrouted) order used to hold
    # its crew's slot for the whole return delay, so with long returns every slot was tied
    # up by paperwork while the crews idled and the pool grew without bound. Two idle
    # servers (25 % load), 90 % of orders returned after 48 h: the pool must stay small.
    sc = mmc_scenario(2, 1.0, 3.0, 0.0).replace({
        "workflow.misroute_prob": 0.9, "workflow.return_mean_hours": 48.0})
    res = simulate(sc, seed=5)
    assert res.stats["waiting_end"] <= 5
    ev = res.events
    names = res.stats["event_names"]
    returned = int((ev["kind"] == names.index("returned")).sum())
    assert returned > 20  # the loop fired, and often
    # The servers kept working while returns were pending: most arrivals were dispatched.
    dispatched = np.unique(ev["case"][ev["kind"] == names.index("dispatched")]).size
    assert dispatched >= 0.9 * res.cases["t_report"].size


def test_crews_split_by_demand_keep_the_total_and_follow_expected_cases():
    from urbangrid.catalogue import load_catalogue
    from urbangrid.simulation import build_space
    from urbangrid.simulation.run import build_teams, make_calendar

    crews = [{"name": "sanitation", "skills": ["sanitation"], "per_subdistrict": 5},
             {"name": "rest", "skills": ["city_management", "housing", "facilities",
                                         "greenery", "utilities"], "district_wide": 1}]
    counts = {}
    for split in ("even", "demand"):
        crews[0]["split"] = split
        sc = toy_scenario(**{"district.toy_cols": 5, "crews": crews})
        space = build_space(sc.district)
        teams = build_teams(sc, space, load_catalogue(sc.catalogue.file),
                            make_calendar(sc))
        area = teams["area"][teams["area"] >= 0]
        counts[split] = np.bincount(area, minlength=space.n_subdistricts)
    cells = np.bincount(space.subdistrict)
    assert counts["even"].tolist() == [5, 5]
    assert counts["demand"].sum() == 10 and counts["demand"].min() >= 1
    # Uniform toy weights: crews follow the number of cells per sub-district.
    assert cells[0] != cells[1]
    expect = cells / cells.sum() * 8 + 1
    assert np.abs(counts["demand"] - expect).max() < 1.0
    # The split follows expected cases, not the bare weight: a sub-district whose
    # residents call three times as often gets the crews that demand needs.
    sc = toy_scenario(**{"district.toy_cols": 5, "crews": crews,
                         "channels.iot.share": 0.0, "channels.patrol.share": 0.0,
                         "channels.hotline.share": 1.0, "channels.other.share": 0.0,
                         "channels.hotline.propensity": {"T01": 3.0}})
    teams = build_teams(sc, space, load_catalogue(sc.catalogue.file), make_calendar(sc))
    got = np.bincount(teams["area"][teams["area"] >= 0], minlength=2)
    load = cells * np.array([1.0, 3.0])
    assert np.abs(got - (load / load.sum() * 8 + 1)).max() < 1.0
    assert got[1] > counts["demand"][1]


def test_deferral_is_the_last_resort_unless_the_scenario_sets_its_weight(toy):
    from urbangrid.optimizer import get_policy
    from urbangrid.simulation import SIM_DEFER_S

    nearest = get_policy("nearest")
    for params, expect in [({}, SIM_DEFER_S),
                           ({"weights": {"defer": 3600.0, "travel": 2.0}}, 3600.0)]:
        seen = set()

        def spy(problem, seen=seen):
            seen.add(problem.weights.defer)
            return nearest(problem)

        sc = toy.replace({"run.days": 0.5, "dispatch.params": params})
        simulate(sc, policy=spy)
        assert seen == {expect}


def test_drain_follows_the_window_cohort_without_changing_the_window():
    # (half the toy's demand: its crews keep up over the long drain; 60 days close the
    # extended complex orders too)
    base = {"run.warmup_days": 1, "run.days": 2, "demand.cases_per_day": 150}
    cut = simulate(toy_scenario(**base))
    drained = simulate(toy_scenario(**base, **{"run.drain_days": 60}))
    assert drained.t_end == cut.t_end
    k0, k1 = compute_kpis(cut), compute_kpis(drained)
    for name in ("cases_created", "backlog_mean"):
        assert k0["all"][name] == pytest.approx(k1["all"][name]), name
    # Team time stops at the horizon; only tasks running across it now count their part.
    u0, u1 = k0["all"]["utilisation_mean"], k1["all"]["utilisation_mean"]
    assert u0 <= u1 <= u0 * 1.03
    # Censored: window cases still open at the horizon, and a shorter hotline mean.
    assert k0["hotline"]["cases_open_end"] > 0.2 * k0["hotline"]["cases_created"]
    assert k1["hotline"]["cases_open_end"] == 0
    assert k1["hotline"]["handling_days_calendar_mean"] > k0["hotline"][
        "handling_days_calendar_mean"] + 0.3
    # Until the horizon the two runs are the same run.
    before = cut.events["time"] < cut.t_end
    n = int(before.sum())
    assert np.array_equal(drained.events["time"][:n], cut.events["time"][before])


def _channel_rows(res, channel: str) -> dict[str, np.ndarray]:
    c = res.cases
    sel = c["channel"] == CHANNELS.index(channel)
    out = {k: c[k][sel] for k in ("t_report", "cell", "category", "d_work", "d_prep",
                                  "order_type", "unit")}
    return out


def test_changing_one_channel_leaves_the_others_arrivals_alone(toy):
    # Per-day, per-channel streams: more IoT coverage changes IoT arrivals only, so a
    # what-if on one channel is compared with the same hotline and patrol cases.
    a = simulate(toy, seed=11)
    b = simulate(toy.replace({"channels.iot.coverage": 0.9}), seed=11)
    ia, ib = _channel_rows(a, "iot"), _channel_rows(b, "iot")
    assert ia["t_report"].size != ib["t_report"].size
    for ch in ("patrol", "hotline", "other"):
        ra, rb = _channel_rows(a, ch), _channel_rows(b, ch)
        assert ra["t_report"].size > 0
        for k in ra:
            np.testing.assert_array_equal(ra[k], rb[k], err_msg=f"{ch}.{k}")
    # the work orders too (type and handling unit)
    assert (_channel_rows(a, "hotline")["order_type"] >= 0).sum() > 50


def _fast_lane_toy(**extra):
    return toy_scenario(**{"run.days": 3, "channels.iot.share": 0.6,
                           "channels.patrol.share": 0.15, "channels.hotline.share": 0.2,
                           "channels.other.share": 0.05, **extra})


def test_fast_lane_verifies_auto_detected_cases_without_an_inspector():
    # Inspectors work 07:00-19:00: without the fast lane nothing is verified deep in
    # the night; with it, the sensor re-checks IoT cases at any hour (and only those).
    s = _fast_lane_toy(**{"channels.iot.fast_lane.enabled": True})

    def night_verified(res):
        ev = res.events
        hour = (ev["time"] - res.calendar.day_offset) % 86400.0 / 3600.0
        sel = (ev["kind"] == EVENT_NAMES.index("verified")) & (hour >= 1.0) & (hour < 6.0)
        return res.cases["channel"][ev["case"][sel]]

    on = night_verified(simulate(s, seed=5))
    assert on.size > 0 and (on == CHANNELS.index("iot")).all()
    off = night_verified(simulate(s.replace({"channels.iot.fast_lane.enabled": False}),
                                  seed=5))
    assert off.size == 0


def test_fast_lane_raises_the_iot_same_day_rate_and_filing_shift_holds_night_cases():
    base = _fast_lane_toy()
    slow = compute_kpis(simulate(base, seed=7))["iot"]["same_day_rate"]
    fast_s = base.replace({"channels.iot.fast_lane.enabled": True,
                           "channels.iot.fast_lane.filing_shift": "day"})
    res = simulate(fast_s, seed=7)
    fast = compute_kpis(res)["iot"]["same_day_rate"]
    assert fast > slow + 0.05
    c = res.cases
    iot = (c["channel"] == CHANNELS.index("iot")) & (c["status"] != Status.INVALID)
    normal = iot & (res.catalogue.priority[c["category"]] < 3)
    day = fast_s.shifts["day"]
    filed = c["t_register"][normal] - c["d_register"][normal]
    start, _ = res.calendar.shift_windows(day.days, day.start_seconds,
                                          day.hours).windows_at(filed)
    # every non-urgent detection is filed inside the day shift, those found at night
    # at its next start
    assert (start <= filed + 1e-3).all()
    held = filed > c["t_report"][normal] + 1e-3
    assert held.sum() > 0
    assert np.allclose(filed[held] % 86400.0, day.start_seconds % 86400.0, atol=1e-3)


def test_fast_lane_filing_shift_must_exist():
    from urbangrid.errors import InputError
    from urbangrid.simulation.scenario import Scenario
    with pytest.raises(InputError, match="filing_shift"):
        Scenario.from_dict({"channels": {"iot": {"fast_lane": {"filing_shift": "dusk"}}}})


def test_a_workstation_adds_teams_of_its_crews_in_its_subdistrict():
    from urbangrid.simulation.run import build_teams
    from urbangrid.simulation.space import build_space
    base = toy_scenario()
    ws = base.replace({"workstations": [{"name": "north", "subdistrict": "T01",
                                         "crews": {"sanitation": 2, "city": 1}}]})
    b = simulate(ws, seed=2)
    space = build_space(ws.district)
    before = build_teams(base, space, b.catalogue, b.calendar)
    after = build_teams(ws, space, b.catalogue, b.calendar)
    # two more sanitation teams and one more city team, nothing else, all in T01
    np.testing.assert_array_equal(
        np.bincount(after["kind"]) - np.bincount(before["kind"]), [2, 1, 0])
    k = space.sub_codes.index("T01")
    assert (after["area"] == k).sum() == (before["area"] == k).sum() + 3
    assert b.teams["home"].size == after["home"].size
    # the extra teams start from one cell of their sub-district
    homes_before = np.bincount(before["home"], minlength=space.n_cells)
    homes_after = np.bincount(after["home"], minlength=space.n_cells)
    cell = int(np.argmax(homes_after - homes_before))
    assert (homes_after - homes_before)[cell] == 3
    assert space.subdistrict[cell] == k
    # the same workstation named by its sub-district's name
    by_name = ws.replace({"workstations": [{"name": "north",
                                            "subdistrict": "toy sub-district 1",
                                            "crews": {"sanitation": 2, "city": 1}}]})
    np.testing.assert_array_equal(build_teams(by_name, space, b.catalogue,
                                              b.calendar)["home"], after["home"])
    _check_conservation(b)


def test_workstation_bad_input_names_the_problem():
    from urbangrid.errors import InputError
    base = toy_scenario()
    with pytest.raises(InputError, match="unknown crew"):
        base.replace({"workstations": [{"name": "w", "subdistrict": "0",
                                        "crews": {"plumbers": 1}}]})
    with pytest.raises(InputError, match="not a sub-district"):
        simulate(base.replace({"workstations": [{"name": "w", "subdistrict": "Atlantis",
                                                 "crews": {"sanitation": 1}}]}))
    with pytest.raises(InputError, match=r"workstations\[0\]\.location\[0\] = nan"):
        base.replace({"workstations": [{"name": "w", "subdistrict": "T00",
                                        "location": [float("nan"), 121.0],
                                        "crews": {"sanitation": 1}}]})
    with pytest.raises(InputError, match="m from the nearest cell"):
        simulate(base.replace({"workstations": [{"name": "w", "subdistrict": "T00",
                                                 "location": [0.0, 0.0],
                                                 "crews": {"sanitation": 1}}]}))


def test_handover_returns_unstarted_tasks_when_a_shift_ends():
    s = toy_scenario(**{"run.days": 3, "demand.cases_per_day": 600})
    off = simulate(s, seed=4)
    assert not (off.events["kind"] == EVENT_NAMES.index("handed_back")).any()
    res = simulate(s.replace({"dispatch.handover": True}), seed=4)
    ev = res.events
    hb = np.flatnonzero(ev["kind"] == EVENT_NAMES.index("handed_back"))
    assert hb.size > 0
    pats, pattern = res.teams["patterns"], res.teams["pattern"]
    look = s.dispatch.shift_lookahead_h * 3600.0
    for i in hb.tolist():
        t, j, c = ev["time"][i], ev["team"][i], ev["case"][i]
        start, _ = pats[pattern[j]].window_at(t)
        assert start - t > look  # the team is off duty, its next shift not imminent
        later = (ev["case"] == c) & (ev["time"] >= t)
        kinds = ev["kind"][later]
        # the task was not started by that team: it goes back to dispatch (or is still
        # waiting at the end of the run)
        travel_by_j = later & (ev["kind"] == EVENT_NAMES.index("travel")) & (ev["team"] == j) \
            & (ev["time"] < start)
        assert not travel_by_j.any()
        assert EVENT_NAMES.index("dispatched") in kinds or res.cases["status"][c] == 2
    _check_conservation(res)


def test_onspot_prob_per_category_decides_who_is_fixed_on_the_spot(toy):
    """A category's own ``onspot_prob`` replaces the patrol channel's figure for it; the
    draws are the same, so giving every fixable category the channel's figure changes
    nothing, and a fixed case keeps its category."""
    from urbangrid.catalogue import load_catalogue

    base = toy.replace({"channels.iot.share": 0.25, "channels.patrol.share": 0.5,
                        "channels.patrol.onspot_fix_prob": 0.3})
    fixable = [k for k, f in zip(load_catalogue().code, load_catalogue().onspot_fixable,
                                 strict=True) if f]
    same = base.replace({"catalogue.overrides": {k: {"onspot_prob": 0.3} for k in fixable}})
    a, b = simulate(base), simulate(same)
    for name in a.cases:
        np.testing.assert_array_equal(a.cases[name], b.cases[name], err_msg=name)
    own = base.replace({"catalogue.overrides": {"exposed_garbage": {"onspot_prob": 1.0},
                                                "street_laundry": {"onspot_prob": 0.0}}})
    res = simulate(own)
    c, cat = res.cases, res.catalogue
    patrol = c["channel"] == CHANNELS.index("patrol")
    spot = c["on_spot"].astype(bool)
    garbage = c["category"] == cat.code.index("exposed_garbage")
    laundry = c["category"] == cat.code.index("street_laundry")
    assert (patrol & garbage).sum() > 20 and (patrol & laundry).sum() > 5
    assert spot[patrol & garbage].all()
    assert not spot[laundry].any()
    assert not spot[~patrol].any()
    others = patrol & ~garbage & ~laundry & cat.onspot_fixable[c["category"]]
    assert 0.15 < spot[others].mean() < 0.45  # the channel's 0.3 (binomial, n > 100)
    assert not spot[patrol & ~cat.onspot_fixable[c["category"]]].any()
    # fixed on the spot, closed at once, in its own category
    assert (c["status"][spot] == Status.CLOSED).all()
    assert (c["t_close"][spot] == c["t_register"][spot]).all()
