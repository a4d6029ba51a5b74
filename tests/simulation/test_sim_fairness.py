"""Fairness KPIs: how evenly service is spread over sub-districts and channels."""

from __future__ import annotations

import numpy as np
import pytest

from tests.toys import toy_scenario
from urbangrid.simulation.kpis import FAIR_MIN_CASES, FAIRNESS, compute_kpis, fairness_kpis, gini
from urbangrid.simulation.replications import kpis_document, run_replications
from urbangrid.simulation.run import simulate


def test_gini_of_known_distributions():
    assert gini(np.array([3.0, 3.0, 3.0])) == pytest.approx(0.0)
    assert gini(np.array([0.0, 0.0, 0.0, 4.0])) == pytest.approx(0.75)  # (n - 1) / n
    assert gini(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(0.25)
    assert np.isnan(gini(np.array([])))


def row(days, closed=100, on_time=0.9):
    return {"handling_days_calendar_mean": days, "cases_closed": closed,
            "on_time_rate": on_time}


def test_spread_over_subdistricts_skips_those_with_too_few_cases():
    subs = [row(1.0, on_time=0.95), row(2.0, on_time=0.7), row(4.0, on_time=0.8),
            row(40.0, closed=FAIR_MIN_CASES - 1, on_time=0.1)]  # too few: left out
    f = fairness_kpis(subs, [row(1.0), row(1.0)])
    assert f["handling_subdistrict_max_min"] == pytest.approx(4.0)
    assert f["handling_subdistrict_gini"] == pytest.approx(gini(np.array([1.0, 2.0, 4.0])))
    assert f["on_time_worst_subdistrict"] == pytest.approx(0.7)
    assert f["handling_channel_max_min"] == pytest.approx(1.0)
    assert f["handling_channel_gini"] == pytest.approx(0.0)


def test_a_run_reports_fairness_from_its_own_groups():
    r = simulate(toy_scenario(**{"run.days": 3}))
    k = compute_kpis(r)
    subs = [v for g, v in k.items() if g.startswith("sub:")]
    means = np.array([v["handling_days_calendar_mean"] for v in subs
                      if v["cases_closed"] >= FAIR_MIN_CASES])
    assert k[FAIRNESS]["handling_subdistrict_max_min"] == pytest.approx(means.max() / means.min())
    assert k[FAIRNESS]["handling_subdistrict_max_min"] >= 1.0
    assert 0.0 <= k[FAIRNESS]["handling_channel_gini"] < 1.0


def test_kpis_json_carries_fairness_with_an_interval_over_replications():
    sc = toy_scenario(**{"run.days": 2, "run.replications": 3})
    doc = kpis_document(sc, sc.run.seed, run_replications(sc, keep_first=False))
    f = doc["fairness"]["handling_subdistrict_gini"]
    assert f["n"] == 3 and f["ci95"] is not None and 0.0 <= f["mean"] < 1.0
