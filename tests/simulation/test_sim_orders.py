"""Hotline work orders through the offices (SimPy): queues, hours, routes and outcomes."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
import simpy

from tests.toys import toy_scenario
from urbangrid.calendar import WorkCalendar
from urbangrid.catalogue import CHANNELS
from urbangrid.simulation import compute_kpis, simulate
from urbangrid.simulation.codes import Event, Status
from urbangrid.simulation.offices import Office
from urbangrid.simulation.orders import _ProcessAt

HOTLINE = CHANNELS.index("hotline")


def _erlang_c_wait(c: int, lam: float, mu: float) -> float:
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


@pytest.mark.parametrize("c, rho", [(1, 0.6), (4, 0.8)])
def test_a_round_the_clock_office_is_an_mmc_queue(c, rho):
    """Poisson arrivals, exponential work, c staff on duty round the clock: the mean wait
    for a person matches Erlang C (within the replications' 99 % interval)."""
    mu = 1.0 / 1800.0
    lam = rho * c * mu
    cal = WorkCalendar(dt.datetime(2026, 3, 2), 400)
    waits = []
    for rep in range(6):
        rng = np.random.default_rng(rep)
        env = simpy.Environment()
        office = Office(env, "desk", "dispatch", c, False, cal, 20 * 3600.0, 400 * 86400.0)

        def source(env, office, rng):
            while env.now < 200 * 86400.0:
                yield env.timeout(rng.exponential(1.0 / lam))
                env.process(office.work(rng.exponential(1.0 / mu)))

        env.process(source(env, office, rng))
        env.run(until=201 * 86400.0)
        s = office.stats
        waits.append(s.queue_s / s.started)
        # utilisation of the staff = rho
        assert abs(s.busy_s / (c * (201 * 86400.0 - 20 * 3600.0)) - rho) < 0.03
    w = np.array(waits)
    half = 3.0 * w.std(ddof=1) / math.sqrt(w.size)
    assert abs(w.mean() - _erlang_c_wait(c, lam, mu)) < max(half, 0.05 * w.mean())


def test_office_hours_hold_work_until_the_next_working_morning():
    cal = WorkCalendar(dt.datetime(2026, 11, 23), 30)  # a Monday
    env = simpy.Environment()
    office = Office(env, "unit", "department", 1, True, cal, 0.0, 30 * 86400.0)
    friday_1630 = 4 * 86400.0 + 16.5 * 3600.0
    done = []

    def job():
        yield env.timeout(friday_1630)
        yield from office.work(2 * 3600.0)
        done.append(env.now)

    env.process(job())
    env.run()
    # half an hour on Friday, 90 minutes on Monday morning
    assert done == [7 * 86400.0 + 10.5 * 3600.0]


def test_an_order_process_starts_at_its_time_with_one_event():
    """A work order's process is created at the start of its day and first runs at its
    report time, resumed by a single event (no SimPy initialisation event before it);
    its return ends the process as any SimPy process."""
    env = simpy.Environment(initial_time=10.0)
    seen = []

    def order():
        seen.append(env.now)
        yield env.timeout(1.0)
        seen.append(env.now)
        return "done"

    proc = _ProcessAt(env, order(), 25.0)
    assert env.peek() == 25.0 and seen == []
    env.step()  # one event: the generator runs
    assert seen == [25.0]
    env.run()
    assert seen == [25.0, 26.0] and proc.value == "done"
    # a time already past starts at once
    late = _ProcessAt(env, order(), 3.0)
    assert env.peek() == env.now
    env.run()
    assert seen[-2:] == [26.0, 27.0] and late.value == "done"
    # its end is no event when nothing waits for it (an order), one when something does
    quiet = _ProcessAt(env, order(), 30.0)
    env.step()
    env.step()  # the timeout: the generator returns
    assert quiet.processed and quiet.value == "done" and env.peek() == math.inf
    waited = _ProcessAt(env, order(), 40.0)
    after = []
    waited.callbacks.append(lambda e: after.append((env.now, e.value)))
    env.run()
    assert after == [(41.0, "done")]


def test_a_failing_order_process_stops_the_run():
    env = simpy.Environment()

    def order():
        yield env.timeout(1.0)
        raise KeyError("unit")

    _ProcessAt(env, order(), 2.0)
    with pytest.raises(KeyError, match="unit"):
        env.run()

    def wrong():
        yield 5

    _ProcessAt(env, wrong(), env.now + 1.0)
    with pytest.raises(RuntimeError, match="yielded 5, not an event"):
        env.run()


#: Short limits, so that a run's orders finish within its drain.
_TYPES = {
    "consultation": {"share": 0.3, "limit_working_days": 1, "work_hours": 0.25,
                     "field_prob": 0.0, "resolve_prob": 0.9},
    "help_complaint": {"share": 0.7, "limit_working_days": 3, "work_hours": 0.75,
                       "field_prob": 0.8, "resolve_prob": 0.8},
}


def _orders_toy(**extra):
    return toy_scenario(**{"run.warmup_days": 0.5, "run.days": 2, "run.drain_days": 25,
                           "channels.iot.share": 0.2, "channels.patrol.share": 0.2,
                           "channels.hotline.share": 0.55, "channels.other.share": 0.05,
                           "orders.types": _TYPES, **extra})


def _hotline(res):
    """The hotline cases reported in the window (the drain's arrivals are left out)."""
    c = res.cases
    return np.flatnonzero((c["channel"] == HOTLINE) & (c["t_report"] >= res.t_stats)
                          & (c["t_report"] < res.t_end))


def test_every_work_order_walks_the_offices_to_a_callback():
    res = simulate(_orders_toy())
    c, ev = res.cases, res.events
    hot = _hotline(res)
    closed = hot[c["status"][hot] == Status.CLOSED]
    assert closed.size > 300 and closed.size >= 0.95 * hot.size
    for kind in (Event.REGISTERED, Event.ROUTED, Event.SIGNED, Event.REPLIED):
        seen = np.unique(ev["case"][ev["kind"] == kind])
        assert np.isin(closed, seen).all(), kind.name
    called = np.unique(ev["case"][np.isin(ev["kind"], [Event.CALLBACK_OK,
                                                      Event.CALLBACK_BAD])])
    assert np.isin(closed, called).all()
    # outcomes are recorded for every closed order, and orders have a type and a unit
    assert np.isin(c["satisfied"][closed], [0, 1]).all()
    assert np.isin(c["resolved"][closed], [0, 1]).all()
    assert (c["order_type"][hot] >= 0).all() and (c["unit"][hot] >= 0).all()
    # the other channels are not work orders
    assert (c["order_type"][c["channel"] != HOTLINE] == -1).all()
    # the event log stays in time order and every case is reported exactly once
    assert (np.diff(ev["time"]) >= 0).all()
    rep = np.bincount(ev["case"][ev["kind"] == Event.REPORTED], minlength=c["status"].size)
    assert (rep == 1).all()
    k = compute_kpis(res)["hotline"]
    assert k["cases_closed"] + k["cases_parked"] + k["cases_open_end"] + \
        k["cases_invalid"] == k["cases_created"]


def test_field_part_goes_through_the_crews_and_comes_back():
    types = {"help": {"share": 1.0, "limit_working_days": 5, "work_hours": 0.5,
                      "field_prob": 1.0, "resolve_prob": 1.0}}
    res = simulate(_orders_toy(**{"orders.types": types}))
    c, ev = res.cases, res.events
    closed = _hotline(res)[c["status"][_hotline(res)] == Status.CLOSED]
    for kind in (Event.FIELD_REQUESTED, Event.DISPATCHED, Event.FIELD_DONE):
        seen = np.unique(ev["case"][ev["kind"] == kind])
        assert np.isin(closed, seen).all(), kind.name
    # resolved ones were verified on site (the others were reported unresolved)
    fixed = closed[c["resolved"][closed] == 1]
    assert np.isin(fixed, ev["case"][ev["kind"] == Event.VERIFIED]).all()
    # the reply comes after the crew part ended
    for case in closed[:50].tolist():
        rows = ev["kind"][ev["case"] == case].tolist()
        assert rows.index(Event.FIELD_DONE) < rows.index(Event.REPLIED)
    no_field = simulate(_orders_toy(**{"orders.types": {
        "help": {**types["help"], "field_prob": 0.0}}}))
    hot = _hotline(no_field)
    assert not np.isin(hot, no_field.events["case"][
        no_field.events["kind"] == Event.DISPATCHED]).any()


def test_returns_bounce_until_the_hotline_office_rules():
    res = simulate(_orders_toy(**{"orders.correct_dispatch_prob": 0.0,
                                  "orders.max_returns": 2}))
    c = res.cases
    closed = _hotline(res)[c["status"][_hotline(res)] == Status.CLOSED]
    assert (c["n_return"][closed] == 2).all()
    right = simulate(_orders_toy(**{"orders.correct_dispatch_prob": 1.0}))
    assert (right.cases["n_return"] == 0).all()


def test_a_dissatisfied_citizen_gets_a_second_attempt():
    res = simulate(_orders_toy(**{"orders.satisfaction": (-20.0, 0.0, 0.0, 0.0),
                                  "orders.max_redo": 1}))
    c, ev = res.cases, res.events
    closed = _hotline(res)[c["status"][_hotline(res)] == Status.CLOSED]
    assert (c["n_reopen"][closed] == 1).all() and (c["satisfied"][closed] == 0).all()
    assert np.isin(closed, ev["case"][ev["kind"] == Event.REDO]).all()
    assert compute_kpis(res)["hotline"]["satisfaction_rate"] == 0.0


def test_resolution_and_satisfaction_follow_their_causes():
    def k(**kw):
        return compute_kpis(simulate(_orders_toy(**kw)))["hotline"]

    def types(p):
        return {**_TYPES, "help_complaint": {**_TYPES["help_complaint"], "resolve_prob": p}}

    good = k(**{"orders.types": types(1.0)})
    bad = k(**{"orders.types": types(0.2)})
    assert good["resolution_rate"] > bad["resolution_rate"] + 0.3
    assert good["satisfaction_rate"] > bad["satisfaction_rate"] + 0.1
    # returns cost satisfaction (the bounce term)
    bouncy = k(**{"orders.correct_dispatch_prob": 0.0, "orders.max_returns": 3})
    assert bouncy["satisfaction_rate"] < k()["satisfaction_rate"]


def test_an_extension_moves_the_deadline_the_unit_works_to():
    types = {**_TYPES, "help_complaint": {**_TYPES["help_complaint"], "extension_prob": 1.0}}
    ext = {"orders.types": types, "orders.extension_working_days": 5.0}
    base, res = simulate(_orders_toy()), simulate(_orders_toy(**ext))
    c, ev = res.cases, res.events
    hot = _hotline(res)
    help_ = hot[c["order_type"][hot] == 1]
    # every first attempt of a help order is extended once, after signing and before
    # the reply, and no consultation is
    assert (c["n_extension"][help_] == 1).all()
    assert (c["n_extension"][hot[c["order_type"][hot] == 0]] == 0).all()
    assert (base.cases["n_extension"][_hotline(base)] == 0).all()
    for case in help_[:50].tolist():
        rows = ev["kind"][ev["case"] == case].tolist()
        assert rows.count(Event.EXTENDED) == 1
        assert rows.index(Event.SIGNED) < rows.index(Event.EXTENDED) < rows.index(
            Event.REPLIED)
    # the unit works to the later deadline: extended orders take longer, and the reply
    # counts on time against it in the units' table but late against the published
    # limit in the KPI
    k0, k1 = (compute_kpis(r)["hotline"] for r in (base, res))
    assert k1["handling_days_working_mean"] > k0["handling_days_working_mean"] + 1.0
    assert k1["on_time_rate"] < k0["on_time_rate"] - 0.1
    units = [row for row in res.organisations.values()
             if row["kind"] not in ("hotline", "dispatch")]
    ext_rows = (ev["kind"] == Event.EXTENDED) & (c["order_type"][ev["case"]] >= 0)
    t = ev["time"][ext_rows]
    assert sum(row["extended"] for row in units) == int(
        ((t >= res.t_stats) & (t < res.t_end)).sum()) > 0
    replied_on_time = sum(row["orders"] * row["on_time_rate"] for row in units
                          if row["orders"]) / sum(row["orders"] for row in units)
    assert replied_on_time > k1["on_time_rate"] + 0.1
    assert k1["cases_open_end"] <= 0.01 * k1["cases_created"]  # the means are not censored


def test_the_legacy_levers_make_orders_slower():
    fast = compute_kpis(simulate(_orders_toy()))["hotline"]
    slow = compute_kpis(simulate(_orders_toy(**{
        "orders.dispatch_hours": "office", "orders.route": "hierarchical",
        "orders.correct_dispatch_prob": 0.7, "orders.supervision": "ranking"})))["hotline"]
    assert slow["handling_days_working_mean"] > fast["handling_days_working_mean"] + 1.0
    assert slow["on_time_rate"] < fast["on_time_rate"]


def test_hotline_on_time_counts_against_the_order_type_limit():
    from urbangrid.simulation import case_table_metrics

    res = simulate(_orders_toy())
    c, m = res.cases, case_table_metrics(res)
    hot = _hotline(res)
    hot = hot[np.isfinite(c["t_register"][hot])]
    limits = np.array([t.limit_working_days for t in res.scenario.orders.types.values()])
    due = res.calendar.add_working(c["t_register"][hot],
                                   limits[c["order_type"][hot]] * res.calendar.day_length)
    np.testing.assert_allclose(m["deadline"][hot], due)


def test_head_counts_follow_the_load_and_single_units_can_be_set():
    res = simulate(_orders_toy(**{"orders.staff.subdistricts": 20,
                                  "orders.staff.units": {"housing": 7}}))
    org = res.organisations
    subs = {k: v for k, v in org.items() if k.startswith("subdistrict:")}
    assert len(subs) == 2 and sum(v["staff"] for v in subs.values()) == 20
    assert org["housing"]["staff"] == 7
    assert org["hotline_office"]["kind"] == "dispatch"
    for row in org.values():
        assert 0.0 <= row["utilisation"] <= 1.0


def test_unknown_unit_in_staff_is_an_input_error():
    from urbangrid.errors import InputError

    with pytest.raises(InputError, match="no_such_unit"):
        simulate(_orders_toy(**{"orders.staff.units": {"no_such_unit": 3}}))


def test_order_shares_must_sum_to_one():
    from urbangrid.errors import InputError

    with pytest.raises(InputError, match="sum to"):
        toy_scenario(**{"orders.types": {"a": {"share": 0.5, "limit_working_days": 1,
                                                "work_hours": 1}}})


def test_without_orders_hotline_cases_follow_the_crews_path():
    res = simulate(_orders_toy(**{"orders.enabled": False}))
    c, ev = res.cases, res.events
    assert not (ev["kind"] == Event.ROUTED).any()
    hot = _hotline(res)
    assert (c["order_type"][hot] == -1).all()
    closed = hot[c["status"][hot] == Status.CLOSED]
    assert np.isin(closed, ev["case"][ev["kind"] == Event.DISPATCHED]).all()
