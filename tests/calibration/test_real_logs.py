"""Calibration and validation on real 311 logs (Los Angeles out of sample, St. Louis).

Thresholds were set after measuring (seeded runs; figures in the comments) and are
justified two ways:

* against the **persistence baseline** for Los Angeles: the distance between the real
  2017/18 run and the real 2018 run itself (what "use last year's log as the forecast"
  achieves). The simulation fitted on the first run cannot be expected to predict the
  second better than that, and should not be much worse; margins allow for the model's
  known weakness (one lognormal preparation time per category cannot reproduce the
  scheduled-pickup shape of bulky items) and for model changes that move figures a
  little;
* in sample (St. Louis), against the sampling noise of ~1,500 requests.
"""

import json

import numpy as np
import pandas as pd
import pytest

from urbangrid.calibration import (
    calibrate,
    censored_ks,
    clean_log,
    load_mapping,
    read_log,
    tvd,
    validate,
)
from urbangrid.simulation import load_scenario

pytestmark = pytest.mark.shared_data

HORIZON = 14.0


@pytest.fixture(scope="module")
def la_fitted(la_runs, tmp_path_factory):
    fit, val = la_runs
    out = tmp_path_factory.mktemp("la_scen") / "la.toml"
    cal = calibrate(fit, out, holidays="us", drain_days=HORIZON)
    return cal, val


@pytest.fixture(scope="module")
def la_out_of_sample(la_fitted, tmp_path_factory):
    cal, val = la_fitted
    # 8 replications: the category mix is compared with a margin of a few thousandths,
    # which 2 replications' sampling noise (about 0.005 of TVD) would swamp.
    return validate(val, cal.scenario_path, tmp_path_factory.mktemp("la_val"),
                    replications=8, drain_days=HORIZON)


def _persistence(fit, val):
    """Distances between the two real LA runs (the persistence baseline)."""
    m = load_mapping(None)
    a = clean_log(read_log(fit, m), m).frame
    b = clean_log(read_log(val, m), m).frame
    cats = sorted(set(a["service_name"]) | set(b["service_name"]))

    def h(f):
        x = ((f["closed"] - f["requested"]).dt.total_seconds() / 86400).to_numpy()
        return np.where(x < HORIZON, x, np.nan)

    ha, hb = h(a), h(b)
    w = s = 0.0
    for c in cats:
        ra = ha[(a["service_name"] == c).to_numpy()]
        rb = hb[(b["service_name"] == c).to_numpy()]
        if rb.size >= 30 and ra.size:
            w += censored_ks(ra, rb, HORIZON) * rb.size
            s += rb.size
    return {
        "hour_tvd": tvd(np.bincount(a["requested"].dt.hour, minlength=24),
                         np.bincount(b["requested"].dt.hour, minlength=24)),
        "category_tvd": tvd(a["service_name"].value_counts().reindex(cats, fill_value=0),
                             b["service_name"].value_counts().reindex(cats, fill_value=0)),
        "handling_ks_pooled": censored_ks(ha, hb, HORIZON),
        "handling_ks_weighted": w / s,
    }


def test_la_calibration_files(la_fitted):
    cal, _ = la_fitted
    sc = load_scenario(cal.scenario_path)  # runs directly with `urbangrid simulate`
    d = cal.data
    # Every figure in the scenario is commented with its source.
    text = cal.scenario_path.read_text(encoding="utf-8")
    assert "cases_per_day =" in text and "full days" in text
    # 19,999 rows, 25 closed before created (repaired, not dropped), 2,855 without a
    # location; nothing dropped silently.
    assert d["cleaning"]["rows_read"] == 19999
    assert d["cleaning"]["closed_before_created"] == 25
    assert d["cleaning"]["rows_used"] + d["cleaning"]["rows_dropped"] == 19999
    assert sc.district.source == "files"
    assert {c["code"] for c in d["categories"]} >= {"bulky_items", "graffiti_removal"}
    bulky = next(c for c in d["categories"] if c["code"] == "bulky_items")
    # Handling time of bulky items: a gamma-like scheduled pickup; AIC prefers gamma or
    # Weibull over the lognormal by a wide margin, and the empirical median is ~3.4 days.
    assert bulky["handling_days"]["best"] in ("gamma", "weibull_min")
    assert bulky["handling_days"]["lognorm_aic_gap"] > 100
    assert 3.0 < bulky["handling_days"]["quantiles"]["p50"] < 4.0
    # Driver self-reports closed on the spot: 2,461 of graffiti's 2,857 closed ones,
    # which is graffiti's on-the-spot probability over all its driver self-reports; one
    # catalogue row per category (no "fixed on the spot" pseudo-categories).
    g = next(c for c in d["categories"] if c["code"] == "graffiti_removal")
    assert g["instant_share_patrol"] == pytest.approx(2461 / 2857)
    assert g["onspot_prob"] == pytest.approx(2461 / g["n_patrol"])
    cat = pd.read_csv(cal.files["categories"]).set_index("code")
    assert list(cat.index) == [c["code"] for c in d["categories"]]
    assert cat.loc["graffiti_removal", "onspot_fixable"] == 1
    assert cat.loc["graffiti_removal", "onspot_prob"] == pytest.approx(g["onspot_prob"],
                                                                       abs=1e-6)
    assert not any("spot" in n for n in cat["name_en"])
    js = json.loads(cal.files["calibration"].read_text(encoding="utf-8"))
    assert js["pilot"]["corrected"]


def _persistence_spatial(cal, val):
    """Pearson r between the fit run's counts per cell and the validation run's."""
    import h3

    w = pd.read_csv(cal.files["weights"])
    pos = {c: i for i, c in enumerate(w["h3"])}
    res = h3.get_resolution(w["h3"].iloc[0])
    v = pd.read_parquet(val).dropna(subset=["lat", "long"])
    idx = np.array([pos.get(h3.latlng_to_cell(a, b, res), -1)
                    for a, b in zip(v["lat"], v["long"], strict=True)])
    r = np.bincount(idx[idx >= 0], minlength=len(w))
    return float(np.corrcoef(w["observed"], r)[0, 1])


def test_la_out_of_sample(la_runs, la_fitted, la_out_of_sample):
    """Fit on 2017-12-27 – 2018-01-04, validate on 2018-12-27 – 31.

    Measured (seed 20250303, 2 pilot steps, 8 replications, horizon 14 days; in
    brackets the persistence baseline): hour TVD 0.060 (0.079), category TVD 0.0463
    (0.0469, the raw 2017/18 mix; seeds 11 and 12 give 0.0440 and 0.0435), pooled
    handling KS 0.128 (0.124), count-weighted KS 0.235 (0.197), window total sim/real
    0.985, daily MAPE 27.3 % (the 2018 week is not the 2017 week, and one week gives
    one observation per weekday factor), per-parent-cell r 0.953, per-cell r 0.898
    (0.897), same-day closure 15.3 % (real 10.8 %: driver self-reports, closed on the
    spot, fell from 17 % to 8 % of requests between the runs).

    The category mix is as close as the raw training mix only because the driver
    self-reports follow their fitted hour profile: spread evenly over the 08–19 shift,
    the afternoon of the Thursday the period starts (12:52) got 56 % of a day's
    reports instead of the profile's 31 % (graffiti mostly), and the TVD was 0.052
    (0.061 with 2 replications). With the on-the-spot
    fixes as pseudo-categories it was 0.150 on the simulated ``service_name``.
    """
    m = la_out_of_sample
    base = _persistence(*la_runs)
    assert m["hour_tvd"] <= base["hour_tvd"] + 0.03
    # The category mix of the held-out period: the simulation is at least as close as
    # the raw training mix (validate computes both, over the calibration's categories).
    assert m["category_tvd_training"] == pytest.approx(0.0469, abs=5e-4)
    assert m["category_tvd"] <= m["category_tvd_training"]
    assert m["handling_ks_pooled"] <= base["handling_ks_pooled"] + 0.05
    # The documented weakness (single lognormal preparation) costs ~0.04 here.
    assert m["handling_ks_weighted"] <= base["handling_ks_weighted"] + 0.10
    assert 0.85 <= m["total_ratio"] <= 1.15
    assert m["daily_mape"] <= 0.40
    assert m["spatial_corr_parent"] >= 0.85
    # Persistence for space: 2017/18 counts per cell vs 2018 counts, r = 0.897.
    assert m["spatial_corr"] >= _persistence_spatial(la_fitted[0], la_runs[1]) - 0.05
    # Same-day closure fell from 18.9 % to 10.8 % between the runs (fewer driver
    # self-reports); the model keeps the fitted mix, so it lies between them.
    assert 0.10 <= m["same_day_sim"] <= 0.20


def test_la_report_written(la_out_of_sample, tmp_path):
    m = la_out_of_sample
    assert m["categories"][0]["category"] == "bulky_items"
    assert len(m["daily"]) == 4  # 2018-12-28 – 31: the 27th starts at 12:52


def test_stlouis_in_sample(stl_log, tmp_path):
    """Fit and validate on the St. Louis week (1,532 requests, 156 types: 29 kept, the
    rest in one bucket per service group).

    Measured: hour TVD 0.034, category TVD 0.033, count-weighted KS 0.216, pooled KS
    0.072, total ratio 1.024, daily MAPE 6.9 %, per-parent-cell r 0.967, per-cell r
    0.834, same-day closure 10.3 % (real 15.0 %). Two independent samples of 1,500
    requests over 24 hours / 45 categories differ by a TVD of about 0.05 by chance
    alone, and the 5 % critical KS distance between 40 real and 80 simulated requests
    is 0.26: the per-category KS here sits at the sampling-noise floor.
    """
    cal = calibrate(stl_log, tmp_path / "stl.toml", holidays="us", drain_days=HORIZON)
    assert cal.data["holidays"]["dates_in_window"] == ["2018-01-01"]
    assert cal.data["holidays"]["factor"] < 0.3  # New Year's Day: 31 requests vs ~350
    m = validate(stl_log, cal.scenario_path, tmp_path / "val", replications=2,
                 drain_days=HORIZON)
    assert m["hour_tvd"] <= 0.08
    assert m["category_tvd"] <= 0.06
    assert m["handling_ks_weighted"] <= 0.25
    assert m["handling_ks_pooled"] <= 0.16
    assert 0.85 <= m["total_ratio"] <= 1.15
    assert m["daily_mape"] <= 0.20
    assert m["spatial_corr_parent"] >= 0.85
    html = (tmp_path / "val" / "validation.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 4
