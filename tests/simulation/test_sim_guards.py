"""Run-time guards (issue 18): a run whose KPIs cannot be trusted says so, and one that
can says nothing. The guards read the run's own figures; nothing here is timed."""

import json

from tests.toys import toy_scenario, write_toy
from urbangrid import cli
from urbangrid.simulation import check_warmup, compute_kpis, run_warnings, simulate


def _warnings(**overrides) -> list[str]:
    result = simulate(toy_scenario(**overrides))
    kpis = {k: {"mean": v} for k, v in compute_kpis(result)["all"].items()}
    return run_warnings(kpis, result, check_warmup(result))


def _kinds(warnings: list[str]) -> set[str]:
    return {w.split(":")[0] for w in warnings}


# crews with slack and no work orders (which last weeks): a steady state within days
QUICK = {"run.days": 12, "run.warmup_days": 4, "run.drain_days": 10, "orders.enabled": False,
         "demand.cases_per_day": 150}


def test_a_steady_drained_run_raises_no_warning():
    assert _warnings(**QUICK) == []


def test_a_run_without_drain_is_censored():
    # hotline work orders last days: without a drain many are open when the run ends
    got = _warnings(**{**QUICK, "orders.enabled": True, "run.drain_days": 0})
    assert "censored" in _kinds(got)
    assert "run.drain_days = 0" in next(w for w in got if w.startswith("censored"))
    assert "censored" not in _kinds(_warnings(**{**QUICK, "orders.enabled": True,
                                                 "run.drain_days": 40}))


def _cases_with_open(age_days: float, n_open: int = 10):
    """A window of 500 hotline cases that each took a day and ``n_open`` still open
    ``age_days`` old when the run ends (day 40: window days 0 - 10, a 30-day drain)."""
    from types import SimpleNamespace

    import numpy as np

    from urbangrid.catalogue import CHANNELS
    from urbangrid.simulation.codes import Status

    day, n = 86400.0, 500 + n_open
    reg = np.concatenate([np.linspace(0.0, 9.0, 500), np.full(n_open, 40.0 - age_days)]) * day
    closed = np.arange(n) < 500
    cases = {"t_report": np.minimum(reg, 9.5 * day), "t_register": reg,
             "t_close": np.where(closed, reg + day, np.nan),
             "status": np.where(closed, Status.CLOSED, Status.WAITING),
             "channel": np.full(n, CHANNELS.index("hotline"))}
    return SimpleNamespace(cases=cases, t_stats=0.0, t_end=10 * day,
                           scenario=SimpleNamespace(run=SimpleNamespace(drain_days=30.0)))


def test_few_but_old_open_cases_are_censoring():
    # 2 % of the window still open but 35 days old: the hotline mean of 1 day would be
    # at least (500 + 10 x 35) / 510 - 1 = 67 % higher; open ones just registered put
    # no bound above the mean, and a few stuck cases are not judged
    from urbangrid.simulation.guards import CENSORED_MIN, censoring_warnings

    got = censoring_warnings(_cases_with_open(35.0))
    assert len(got) == 1 and got[0].startswith("censored: 10 hotline cases")
    assert "(2.0%)" in got[0] and "at least 67% higher" in got[0]
    assert "run.drain_days = 30" in got[0]
    assert censoring_warnings(_cases_with_open(0.5)) == []
    assert censoring_warnings(_cases_with_open(35.0, n_open=CENSORED_MIN - 1)) == []


def test_too_few_crews_for_the_demand_is_saturation():
    got = _warnings(**{**QUICK, "run.drain_days": 2, "demand.cases_per_day": 3000})
    assert "saturated" in _kinds(got)
    text = next(w for w in got if w.startswith("saturated"))
    assert "crews" in text and "add crews" in text


def test_long_work_orders_piling_up_with_slack_are_growth_not_saturation():
    # orders last weeks and the warm-up is half a day: the pool grows while nobody is
    # busy; the cure is a longer warm-up, not more crews
    got = _warnings(**{"run.days": 30, "run.warmup_days": 0.5, "run.drain_days": 5,
                       "demand.cases_per_day": 150})
    assert "growing" in _kinds(got) and "saturated" not in _kinds(got)


def test_a_short_warmup_is_reported_as_not_steady():
    assert "not steady" in _kinds(_warnings(**{"run.days": 12, "run.warmup_days": 0.5,
                                               "run.drain_days": 15}))


def test_simulate_prints_them_and_writes_them_to_kpis_json(tmp_path, caplog):
    path = write_toy(tmp_path, "t")  # one day, no drain: censored
    assert cli.main(["simulate", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    doc = json.loads((tmp_path / "o" / "kpis.json").read_text(encoding="utf-8"))
    assert "censored" in _kinds(doc["warnings"])
    assert any(r.levelname == "WARNING" and r.getMessage().startswith("censored")
               for r in caplog.records)


def test_busy_crews_beside_a_growing_office_backlog_are_not_blamed():
    # The stressed reference scenario: crews ~85 % busy with a flat pool, while the
    # offices' work orders still pile up with their staff slack. Only the part of the
    # open cases that grows is attributed, to its own resource.
    from types import SimpleNamespace

    from urbangrid.simulation.guards import _growth_warning

    kpis = {"utilisation_mean": {"mean": 0.85}}
    result = SimpleNamespace(organisations={"housing": {"utilisation": 0.6}})
    text = _growth_warning(kpis, result, 900.0, 11_000.0, 7,
                           {"crews": None, "offices": 900.0})
    assert text.startswith("growing") and "offices +900" in text and "crews 85%" not in text
    assert "while the offices have slack" in text
    text = _growth_warning(kpis, result, 900.0, 11_000.0, 7,
                           {"crews": 700.0, "offices": None})
    assert text.startswith("saturated") and "crews 85%" in text and "crews +700" in text
    busy_office = SimpleNamespace(organisations={"housing": {"utilisation": 0.95}})
    text = _growth_warning(kpis, busy_office, 900.0, 11_000.0, 7,
                           {"crews": None, "offices": 900.0})
    assert text.startswith("saturated") and "housing 95%" in text and "crews 85%" not in text
