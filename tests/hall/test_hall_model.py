"""The hall model: conservation, determinism, demand, channels."""

from __future__ import annotations

import numpy as np
import pytest

from tests.hall.hall_helpers import toy_hall
from urbangrid.errors import InputError
from urbangrid.hall.kpis import hall_kpis
from urbangrid.hall.model import (
    CHANNELS,
    STATES,
    build_plan,
    conservation,
    simulate_hall,
)
from urbangrid.hall.scenario import HallScenario, load_hall_scenario
from urbangrid.hall.scenario import parse_hours as hours


def test_empty_hall_table_gives_the_defaults(tmp_path):
    p = tmp_path / "empty.toml"
    p.write_text("[hall]\n", encoding="utf-8")
    assert load_hall_scenario(p) == HallScenario()


def test_conservation_when_the_run_stops_mid_day():
    # stop at 11:00 of day 3 (no drain): requests are queueing, at counters, away,
    # in back offices and exchanges; every one of them is in exactly one state
    sc = toy_hall(**{"run.days": 1.46, "run.drain_days": 0})
    run = simulate_hall(sc, seed=3)
    tally = conservation(run)
    assert tally["ok"] == 1, tally
    assert tally["arrived"] == sum(tally[s] for s in STATES) > 0
    assert tally["backoffice"] > 0 and tally["done"] > 0


def test_conservation_after_a_drain_everything_is_done_or_accounted():
    run = simulate_hall(toy_hall(), seed=4)
    tally = conservation(run)
    assert tally["ok"] == 1
    assert tally["queue"] == tally["counter"] == 0  # the hall is closed at the end
    # every visit that started also ended; every ticket was served
    v = run.visits
    assert np.isfinite(v["t_start"]).all() and np.isfinite(v["t_end"]).all()


def test_same_seed_same_records_other_seed_other_records():
    plan = build_plan(toy_hall())
    a, b = simulate_hall(plan, seed=11), simulate_hall(plan, seed=11)
    for k in a.requests:
        np.testing.assert_array_equal(a.requests[k], b.requests[k])
    for k in a.visits:
        np.testing.assert_array_equal(a.visits[k], b.visits[k])
    c = simulate_hall(plan, seed=12)
    assert len(c.requests["t_arrive"]) != len(a.requests["t_arrive"]) or not np.array_equal(
        c.requests["t_arrive"], a.requests["t_arrive"])


def test_hall_requests_per_day_match_the_scenario():
    sc = toy_hall(**{"run.days": 7, "run.drain_days": 0, "run.warmup_days": 0})
    k = [hall_kpis(simulate_hall(sc, seed=s))["all"]["requests_per_day"] for s in range(3)]
    assert np.mean(k) == pytest.approx(120, rel=0.1)


def test_channels_trips_and_states():
    run = simulate_hall(toy_hall(), seed=5)
    rq = run.requests
    ch = {c: rq["channel"] == i for i, c in enumerate(CHANNELS)}
    assert ch["online"].sum() > 0 and ch["no_application"].sum() > 0
    assert (rq["trips"][ch["online"] | ch["no_application"]] == 0).all()
    counter = ch["hall"] | ch["subdistrict"]
    assert (rq["trips"][counter] >= 1).all() and (rq["trips"][counter] <= 3).all()
    assert (rq["trips"][counter] > 1).any()  # incomplete documents cost return trips
    done = np.isfinite(rq["t_approve"])
    assert (rq["t_approve"][done] >= rq["t_arrive"][done]).all()
    k = hall_kpis(run)
    assert 0 < k["all"]["online_share"] < 1
    assert 0 < k["all"]["counter_utilisation"] < 1
    assert k["channel:online"]["trips_per_matter_mean"] == 0


def test_remote_checks_remove_return_trips():
    base = simulate_hall(toy_hall(), seed=6)
    remote = simulate_hall(toy_hall(**{"hall.levers.remote_check_share": 1.0}), seed=6)
    assert (base.requests["trips"] > 1).any()
    assert (remote.requests["trips"] <= 1).all()


@pytest.mark.parametrize("text", ["9-5", "09:00-08:00", "25:00-26:00", "09:00 to 17:00"])
def test_opening_hours_that_do_not_parse(text):
    with pytest.raises(ValueError):
        hours(text)
    with pytest.raises(InputError, match="hall.hours.weekday"):
        toy_hall(**{"hall.hours.weekday": text})


def test_bad_counters_and_matters_are_input_errors():
    with pytest.raises(InputError, match="counter with no skill"):
        toy_hall(**{"hall.counters": [{"name": "x", "count": 2, "skills": []}]})
    with pytest.raises(InputError, match="'nowhere' is not a department"):
        build_plan(toy_hall(**{"hall.counters": [{"name": "x", "count": 2,
                                                   "skills": ["nowhere"]}]}))
    with pytest.raises(InputError, match="no window takes the matters of"):
        build_plan(toy_hall(**{"hall.counters": [{"name": "x", "count": 2,
                                                   "skills": ["taxation"]}]}))
    with pytest.raises(InputError, match="unknown matter 'nope'"):
        build_plan(toy_hall(**{"hall.levers.make_online": ["nope"]}))
    with pytest.raises(InputError, match="no_application_total = 3"):
        build_plan(toy_hall(**{"hall.levers.no_application_total": 3}))


@pytest.mark.parametrize("pick", ["random", "volume"])
def test_count_levers_convert_exactly_what_they_say(pick):
    base = build_plan(toy_hall()).matters
    m = build_plan(toy_hall(**{"hall.levers.online_more_share": 0.3,
                               "hall.levers.no_application_total": 50,
                               "hall.levers.pick": pick})).matters
    assert int(m.no_application.sum()) == 50
    extra = m.online & ~base.online
    assert int(extra.sum()) == int(np.ceil(0.3 * base.online.sum()))
    assert not (extra & base.no_application).any()


def test_cross_provincial_and_on_the_spot_matters():
    plan = build_plan(toy_hall())
    run = simulate_hall(plan, seed=8)
    rq, m = run.requests, plan.matters
    done = np.isfinite(rq["t_approve"])
    cross = m.cross_provincial[rq["matter"]] & done
    assert cross.any()
    days = run.calendar.working_days_between(rq["t_accept"][cross], rq["t_approve"][cross])
    assert (days >= plan.scenario.hall.backoffice.cross_provincial_days - 1e-9).all()
    # decided at the counter (即办): approved when the counter visit ends
    spot = (m.promised_days[rq["matter"]] == 0) & ~m.cross_provincial[rq["matter"]] \
        & (rq["channel"] <= 1) & done
    assert spot.any()
    assert (rq["t_approve"][spot] == rq["t_accept"][spot]).all()


def test_window_groups_and_back_offices_have_kpis():
    sc = toy_hall(**{"hall.counters": [
        {"name": "tax", "count": 2, "skills": ["taxation"]},
        {"name": "any", "count": 7, "skills": ["*"]}]})
    k = hall_kpis(simulate_hall(sc, seed=2))
    assert {"window:tax", "window:any"} <= set(k)
    assert k["window:tax"]["visits_per_day"] > 0
    assert 0 < k["window:any"]["counter_utilisation"] < 1
    assert 0 < k["dept:taxation"]["backoffice_utilisation"] < 1


def test_results_do_not_depend_on_the_number_of_processes():
    import json

    from urbangrid.hall.kpis import run_hall_replications
    from urbangrid.simulation.replications import json_safe

    plan = build_plan(toy_hall())
    one, _ = run_hall_replications(plan, replications=3, seed=5, processes=1)
    two, _ = run_hall_replications(plan, replications=3, seed=5, processes=2)
    assert json.dumps(json_safe(one)) == json.dumps(json_safe(two))


def test_back_offices_can_be_shared_with_another_model():
    # the hall's files go through an Office the caller owns (e.g. the grid model's
    # department handling work orders): one department's staff, two kinds of work
    import simpy

    from urbangrid.hall.model import HallModel
    from urbangrid.simulation.offices import Office

    plan = build_plan(toy_hall())
    env = simpy.Environment()
    model = HallModel(plan, 1, 0, env=env)
    shared = Office(env, "market_regulation", "department", 3, True, model.cal,
                    model.t_stats, model.t_end)
    model = HallModel(plan, 1, 0, env=env, offices={"market_regulation": shared})
    run = model.run()
    assert shared.stats.arrivals > 0
    assert conservation(run)["ok"] == 1


def test_catalogue_path_is_relative_to_the_file_that_sets_it(tmp_path):
    import shutil

    from tests.hall.hall_helpers import DATA

    (tmp_path / "a" / "data").mkdir(parents=True)
    (tmp_path / "b").mkdir()
    shutil.copy(DATA / "one_matter.csv", tmp_path / "a" / "data" / "m.csv")
    (tmp_path / "a" / "base.toml").write_text(
        '[hall]\ncatalogue = "data/m.csv"\n', encoding="utf-8")
    (tmp_path / "b" / "what.toml").write_text(
        'extends = "../a/base.toml"\nname = "what"\n[hall.demand]\n'
        'hall_requests_per_day = 50\n', encoding="utf-8")
    sc = load_hall_scenario(tmp_path / "b" / "what.toml")
    assert sc.hall.catalogue == str((tmp_path / "a" / "data" / "m.csv").resolve())
    assert build_plan(sc).matters.n == 1


def test_abandonment_when_patience_is_set():
    sc = toy_hall(**{"hall.counters": [{"name": "few", "count": 3, "skills": ["*"]}],
                     "hall.service.patience_min": 10.0})
    run = simulate_hall(sc, seed=3)
    tally = conservation(run)
    assert tally["ok"] == 1 and tally["abandoned"] > 0
    k = hall_kpis(run)["all"]
    assert 0 < k["abandoned_share"] < 1
    # a walk-in waits at most its patience; appointments are never dropped
    rq, v = run.requests, run.visits
    walk = ~rq["appointment"][v["request"]] & np.isfinite(v["t_start"])
    assert ((v["t_start"] - v["t_ticket"])[walk] <= 600 + 1e-6).all()
    assert not (rq["appointment"] & (rq["state"] == STATES.index("abandoned"))).any()
    # off by default: nobody leaves
    assert conservation(simulate_hall(toy_hall(), seed=3))["abandoned"] == 0
