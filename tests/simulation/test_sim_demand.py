"""Case catalogue and arrival generation."""

import csv
import datetime as dt
from importlib import resources

import numpy as np
import pytest

from tests.toys import toy_scenario
from urbangrid.calendar import WorkCalendar
from urbangrid.catalogue import CHANNELS, load_catalogue
from urbangrid.errors import InputError
from urbangrid.simulation import DemandModel
from urbangrid.simulation.run import build_space


def test_builtin_catalogue_follows_cj_t_214():
    cat = load_catalogue()
    assert 15 <= cat.n <= 30
    assert set(cat.kind) == {"component", "event"}
    assert set(cat.limit_unit) == {"calendar_hours", "working_hours", "working_days"}
    assert (cat.resolution_prob > 0).all() and (cat.resolution_prob <= 1).all()
    mix = cat.channel_mix(0.85)
    assert np.allclose(mix.sum(axis=1), 1.0)
    is_event = np.array([k == "event" for k in cat.kind])
    share = cat.share.copy()
    assert share[is_event].sum() / share.sum() > 0.7


def test_catalogue_overrides_and_errors(tmp_path):
    cat = load_catalogue(overrides={"manhole_cover": {"limit": 1, "urgency": "high"}})
    k = cat.code.index("manhole_cover")
    assert cat.limit[k] == 1 and cat.priority[k] == 2
    with pytest.raises(InputError, match="unknown category 'nope'"):
        load_catalogue(overrides={"nope": {"limit": 1}})
    with pytest.raises(InputError, match="unknown column 'colour'"):
        load_catalogue(overrides={"manhole_cover": {"colour": "red"}})
    with pytest.raises(InputError, match=r"resolution_prob = 1.5 is outside the allowed range"):
        load_catalogue(overrides={"manhole_cover": {"resolution_prob": 1.5}})
    with pytest.raises(InputError, match="limit_unit = 'fortnights' is not one of"):
        load_catalogue(overrides={"manhole_cover": {"limit_unit": "fortnights"}})
    bad = tmp_path / "c.csv"
    bad.write_text("code,share\nx,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="lacks columns"):
        load_catalogue(bad)
    with pytest.raises(InputError, match="not found"):
        load_catalogue(tmp_path / "missing.csv")


def test_onspot_prob_per_category_defaults_to_the_channel_figure(tmp_path):
    cat = load_catalogue()  # the built-in file has no onspot_prob column
    assert np.isnan(cat.onspot_prob).all()
    np.testing.assert_array_equal(cat.onspot_probability(0.13),
                                  np.where(cat.onspot_fixable, 0.13, 0.0))
    k = cat.code.index("exposed_garbage")  # fixable
    own = load_catalogue(overrides={"exposed_garbage": {"onspot_prob": 0.7}})
    p = own.onspot_probability(0.13)
    assert p[k] == 0.7
    assert np.array_equal(np.delete(p, k), np.delete(cat.onspot_probability(0.13), k))
    # An empty cell in a file is "the channel's figure" too (row 1 is fixable).
    path = tmp_path / "c.csv"
    rows = _builtin_rows()
    rows[0].append("onspot_prob")
    rows[1].append("0.25")
    for r in rows[2:]:
        r.append("")
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    from_file = load_catalogue(path).onspot_probability(0.13)
    assert from_file[0] == 0.25 and np.array_equal(from_file[1:],
                                                    cat.onspot_probability(0.13)[1:])
    with pytest.raises(InputError, match=r"'illegal_car_parking' \(row 3\): onspot_prob "
                       "= 0.5 but onspot_fixable = 0"):
        load_catalogue(overrides={"illegal_car_parking": {"onspot_prob": 0.5}})
    with pytest.raises(InputError, match=r"onspot_prob = 1.5 is outside the allowed range"):
        load_catalogue(overrides={"exposed_garbage": {"onspot_prob": 1.5}})


def _builtin_rows() -> list[list[str]]:
    text = resources.files("urbangrid.data").joinpath("catalogue", "categories.csv")
    return list(csv.reader(text.read_text(encoding="utf-8").splitlines()))


def _demand(**ov):
    s = toy_scenario(**{"district.toy_rows": 10, "district.toy_cols": 10, **ov})
    space = build_space(s.district)
    cal = WorkCalendar(dt.datetime(2025, 3, 3), 30)
    insp = cal.shift_windows("all", 7 * 3600, 12)
    return s, space, DemandModel(s, space, load_catalogue(), cal, insp)


def test_arrival_counts_match_intensity_and_channels():
    s, space, dem = _demand(**{"demand.cases_per_day": 2000})
    rng = np.random.default_rng(0)
    days = [dem.generate(d, rng) for d in range(14)]
    n = np.array([len(a) for a in days])
    exp = sum(dem.expected_per_day().values())
    # weekly mean within 3 standard errors of the Poisson expectation
    assert abs(n.mean() - exp) < 3 * np.sqrt(exp / 14)
    a = days[0]
    assert np.all(np.diff(a.t) >= 0)
    assert a.t.min() >= 0 and a.t.max() < 86400
    # IoT arrivals only in covered cells
    iot = a.channel == CHANNELS.index("iot")
    assert dem.iot_covered[a.cell[iot]].all()
    assert dem.iot_covered.mean() == pytest.approx(s.channels.iot.coverage, abs=0.01)
    # patrol arrivals only in inspector hours (07:00 - 19:00)
    pat = a.channel == CHANNELS.index("patrol")
    hours = (a.t[pat] // 3600).astype(int)
    assert hours.min() >= 7 and hours.max() < 19
    # hotline peaks in the morning
    hot = np.concatenate([x.t[x.channel == CHANNELS.index("hotline")] for x in days[:5]])
    h = np.bincount(((hot % 86400) // 3600).astype(int), minlength=24)
    assert h[9:12].sum() > 3 * h[0:6].sum()


def test_patrol_reports_follow_their_hour_profile_within_duty_hours():
    """Inspectors on duty 07:00 - 19:00: without a profile patrol reports spread evenly
    over those hours; with one, by its weights there (the day's volume unchanged); a
    profile with no weight in any duty hour leaves them even."""
    patrol = CHANNELS.index("patrol")
    _, _, even = _demand()
    r_even = even._hour_rates(0)[patrol]
    assert np.allclose(r_even[7:19], r_even[7]) and r_even[7] > 0
    assert not r_even[:7].any() and not r_even[19:].any()
    morning = [0.0] * 24
    morning[8], morning[9], morning[14], morning[3] = 3.0, 2.0, 1.0, 5.0
    _, _, shaped = _demand(**{"channels.patrol.hour_of_day": morning})
    r = shaped._hour_rates(0)[patrol]
    assert r.sum() == pytest.approx(r_even.sum())
    assert np.flatnonzero(r).tolist() == [8, 9, 14]  # 03:00 is off duty
    assert r[8] / r[14] == pytest.approx(3.0) and r[9] / r[14] == pytest.approx(2.0)
    night = [0.0] * 24
    night[2] = 1.0
    _, _, off_duty = _demand(**{"channels.patrol.hour_of_day": night})
    np.testing.assert_array_equal(off_duty._hour_rates(0)[patrol], r_even)
    with pytest.raises(InputError, match="hour_of_day"):
        _demand(**{"channels.patrol.hour_of_day": [1.0] * 23})


def test_coverage_surge_and_propensity_scale_volumes():
    _, _, base = _demand()
    _, _, more = _demand(**{"channels.iot.coverage": 1.0})
    assert more.expected_per_day()["iot"] == pytest.approx(2 * base.expected_per_day()["iot"])
    _, _, shy = _demand(**{"channels.hotline.propensity": {"T00": 0.33, "T01": 0.33}})
    assert shy.expected_per_day()["hotline"] == pytest.approx(
        0.33 * base.expected_per_day()["hotline"])
    _, _, surge = _demand(**{"demand.surges": [{"start_day": 1, "days": 1, "factor": 3}]})
    r0, r1 = surge._hour_rates(0).sum(), surge._hour_rates(1).sum()
    assert r1 == pytest.approx(3 * r0)
    with pytest.raises(InputError, match="propensity key = 'X' is not a sub-district"):
        _demand(**{"channels.hotline.propensity": {"X": 0.5}})
    # a name works where a code does (the toy's names are "toy sub-district k")
    _, _, named = _demand(**{"channels.hotline.propensity": {"Toy Sub-District 0": 0.33,
                                                              "T01": 0.33}})
    assert named.expected_per_day()["hotline"] == pytest.approx(
        shy.expected_per_day()["hotline"])


def test_jingan_subdistricts_by_code_chinese_name_or_map_label():
    # a planner writes what the map shows (issue 18, defect 6)
    from urbangrid.simulation import Scenario

    space = build_space(Scenario().district.model_copy(update={"resolution": 8}))
    k = space.sub_codes.index("310106006")
    for ref in ("310106006", "江宁路街道", "江宁路", "Jiangning Road Subdistrict",
                "jiangning road"):
        assert space.subdistrict_index(ref, "x") == k, ref
    with pytest.raises(InputError) as err:
        space.subdistrict_index("Jiangning", "channels.hotline.propensity key")
    text = str(err.value)
    assert "channels.hotline.propensity key = 'Jiangning'" in text
    assert "310106006 江宁路街道 (Jiangning Road Subdistrict)" in text


def _counts(dem, space, days, sub: int) -> dict[str, tuple[int, int]]:
    """Arrivals per channel over ``days`` (per-channel streams): (in sub-district
    ``sub``, elsewhere)."""
    streams = [np.random.default_rng(k) for k in range(len(CHANNELS))]
    out = {name: [0, 0] for name in CHANNELS}
    for d in days:
        a = dem.generate(d, streams)
        inside = space.subdistrict[a.cell] == sub
        for c, name in enumerate(CHANNELS):
            ch = a.channel == c
            out[name][0] += int((ch & inside).sum())
            out[name][1] += int((ch & ~inside).sum())
    return {k: tuple(v) for k, v in out.items()}


def test_a_surge_limited_to_a_channel_and_subdistricts():
    # issue 18, defect 7: "hotline x2 from day 3 to day 10, in this sub-district"
    base_s, space, base = _demand(**{"demand.cases_per_day": 3000})
    surge = {"start_day": 3, "days": 7, "factor": 2.0, "channels": ["hotline"],
             "subdistricts": ["toy sub-district 1"]}
    _, _, hot = _demand(**{"demand.cases_per_day": 3000, "demand.surges": [surge]})
    days = range(3, 10)
    b, h = _counts(base, space, days, 1), _counts(hot, space, days, 1)
    for name in ("iot", "patrol", "other"):  # other channels draw the same numbers
        assert h[name] == b[name]
    assert h["hotline"][1] == b["hotline"][1]  # outside: the very same arrivals
    inside_b, inside_h = b["hotline"][0], h["hotline"][0]
    assert abs(inside_h - 2 * inside_b) < 4 * np.sqrt(inside_b)  # doubled inside
    # outside the window nothing changes
    assert _counts(hot, space, range(0, 3), 1) == _counts(base, space, range(0, 3), 1)
    # thinning: a factor below 1 keeps that share inside
    _, _, quiet = _demand(**{"demand.cases_per_day": 3000,
                             "demand.surges": [{**surge, "factor": 0.25}]})
    q = _counts(quiet, space, days, 1)
    assert q["hotline"][1] == b["hotline"][1]
    assert abs(q["hotline"][0] - 0.25 * inside_b) < 4 * np.sqrt(0.25 * inside_b)


def test_a_channel_surge_district_wide_scales_that_channel_only():
    _, space, base = _demand(**{"demand.cases_per_day": 3000})
    _, _, hot = _demand(**{"demand.cases_per_day": 3000, "demand.surges": [
        {"start_day": 0, "days": 5, "factor": 3.0, "channels": ["hotline"]}]})
    assert hot._hour_rates(1)[CHANNELS.index("hotline")] == pytest.approx(
        3 * base._hour_rates(1)[CHANNELS.index("hotline")])
    for name in ("iot", "patrol", "other"):
        c = CHANNELS.index(name)
        assert np.array_equal(hot._hour_rates(1)[c], base._hour_rates(1)[c])


def test_surge_bad_input_names_the_problem():
    with pytest.raises(InputError, match="travel_factor applies to the whole district"):
        toy_scenario(**{"demand.surges": [{"start_day": 0, "days": 1, "travel_factor": 2,
                                           "subdistricts": ["T00"]}]})
    with pytest.raises(InputError, match=r"channels\[0\]"):
        toy_scenario(**{"demand.surges": [{"start_day": 0, "days": 1,
                                           "channels": ["phone"]}]})
    with pytest.raises(InputError, match="demand.surges subdistricts = 'Atlantis'"):
        _demand(**{"demand.surges": [{"start_day": 0, "days": 1,
                                      "subdistricts": ["Atlantis"]}]})


def test_same_stream_same_arrivals():
    _, _, dem = _demand()
    a = dem.generate(2, np.random.default_rng(5))
    b = dem.generate(2, np.random.default_rng(5))
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.cell, b.cell)


def _covered_rows(rows: int, cols: int, coverage: float, seed: int = 20250303):
    s, space, dem = _demand(**{"district.toy_rows": rows, "district.toy_cols": cols,
                               "channels.iot.coverage": coverage, "run.seed": seed})
    return space, dem.iot_covered


def test_iot_coverage_of_an_area_weighted_district_is_spread_not_a_band():
    # Every cell of the toy lattice has the same area weight: all tie. Breaking the ties
    # by cell index covered the first rows (a band across the district); the placement is
    # now a seeded random permutation, so every row and column holds some cameras.
    space, cov = _covered_rows(20, 20, 0.3)
    assert cov.sum() == 120
    grid = cov.reshape(20, 20)
    assert grid.any(axis=1).all() and grid.any(axis=0).all()
    assert not grid[:6].all()  # the old index order filled exactly rows 0-5
    # the covered share of each half of the district is about the coverage
    assert 0.2 < grid[:10].mean() < 0.4 and 0.2 < grid[10:].mean() < 0.4
    # fixed by run.seed (same in every replication), different under another seed
    assert np.array_equal(cov, _covered_rows(20, 20, 0.3)[1])
    assert not np.array_equal(cov, _covered_rows(20, 20, 0.3, seed=7)[1])


def test_iot_coverage_is_nested_and_follows_density_first():
    from urbangrid.simulation.demand import iot_coverage

    _, low = _covered_rows(10, 10, 0.3)
    _, high = _covered_rows(10, 10, 0.8)
    assert high[low].all() and high.sum() == 80  # more coverage adds cameras, moves none
    # density (weight per km²) ranks first; only ties are random
    area = np.array([1.0, 1.0, 2.0, 2.0, 1.0, 1.0])
    weight = np.array([5.0, 1.0, 4.0, 2.0, 1.0, 1.0])  # densities 5, 1, 2, 1, 1, 1
    for seed in range(5):
        cov = iot_coverage(weight, area, 2 / 6, np.random.default_rng(seed))
        assert np.flatnonzero(cov).tolist() == [0, 2]
    picks = set()
    for seed in range(20):
        cov = iot_coverage(weight, area, 3 / 6, np.random.default_rng(seed))
        assert cov[[0, 2]].all()
        picks |= set(np.flatnonzero(cov).tolist()) - {0, 2}
    assert picks == {1, 3, 4, 5}  # the third camera goes to any of the tied cells


def test_forecast_is_the_expected_count_of_generated_arrivals():
    # The forecast per cell × group over a window is the mean of what generate() draws
    # there: checked per group over 40 days of one weekday-hour window, and exactly for a
    # whole day against the hour rates.
    s, space, dem = _demand(**{"demand.cases_per_day": 3000})
    cat = load_catalogue()
    skills = sorted(set(cat.skill))
    group = np.array([skills.index(k) for k in cat.skill])
    whole = dem.forecast(dem.calendar.day_start(0), dem.calendar.day_start(1), group,
                         len(skills))
    assert whole.shape == (space.n_cells, len(skills))
    assert whole.sum() == pytest.approx(dem._hour_rates(0).sum())
    t0, t1 = 9 * 3600.0, 13.5 * 3600.0  # Monday 09:00 - 13:30
    fc = dem.forecast(t0, t1, group, len(skills)).sum(axis=0)
    rng = np.random.default_rng(1)
    counts = np.zeros(len(skills))
    draws = 40  # the same Monday, drawn 40 times
    for _ in range(draws):
        a = dem.generate(0, rng)
        inside = (a.t >= t0) & (a.t < t1)
        counts += np.bincount(group[a.category[inside]], minlength=len(skills))
    mean = counts / draws
    assert np.all(np.abs(mean - fc) <= 4 * np.sqrt(fc / draws) + 1e-9), (mean, fc)
    # categories left out (-1) are not counted; an empty window forecasts nothing
    none = dem.forecast(t0, t1, np.full(cat.n, -1), 1)
    assert none.sum() == 0.0 and dem.forecast(t1, t0, group, len(skills)).sum() == 0.0


def test_forecast_follows_surges_in_their_cells_and_hours():
    base = _demand(**{"demand.cases_per_day": 3000})[2]
    surge = {"start_day": 0, "days": 1, "factor": 3.0, "subdistricts": ["T00"]}
    s, space, dem = _demand(**{"demand.cases_per_day": 3000, "demand.surges": [surge]})
    group = np.zeros(load_catalogue().n, dtype=int)
    a = dem.forecast(0.0, 86400.0, group, 1)[:, 0]
    b = base.forecast(0.0, 86400.0, group, 1)[:, 0]
    inside = space.subdistrict == 0
    assert np.allclose(a[inside], 3 * b[inside]) and np.allclose(a[~inside], b[~inside])
    # the next day is ordinary again
    assert np.allclose(dem.forecast(86400.0, 2 * 86400.0, group, 1),
                       base.forecast(86400.0, 2 * 86400.0, group, 1))


def test_forecast_of_some_cells_is_their_rows_of_the_whole():
    s, space, dem = _demand(**{"demand.cases_per_day": 3000})
    group = np.arange(load_catalogue().n) % 3
    whole = dem.forecast(3600.0, 5 * 3600.0, group, 3)
    cells = np.array([7, 2, 2, 40])
    assert np.array_equal(dem.forecast(3600.0, 5 * 3600.0, group, 3, cells=cells),
                          whole[cells])
