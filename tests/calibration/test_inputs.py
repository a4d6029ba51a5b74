"""Reading, cleaning and fitting on small named logs: malformed inputs, cleaning counts,
time zones, the 12345 mapping, and the handling-time fit on known distributions."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from urbangrid.calibration import (
    calibrate,
    censored_ks,
    clean_log,
    fit_handling,
    load_mapping,
    read_log,
)
from urbangrid.cli import main
from urbangrid.errors import InputError
from urbangrid.simulation import load_scenario


def _synthetic(n_days=8, per_day=120, seed=1, start="2025-03-03", chinese=False):
    """A small log: two request types, a weekday/daytime pattern, points in a 3 km box."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_days):
        day = pd.Timestamp(start) + pd.Timedelta(days=d)
        k = rng.poisson(per_day * (1.0 if day.weekday() < 5 else 0.4))
        hours = rng.choice(24, size=k, p=np.r_[np.full(8, 0.01), np.full(10, 0.08),
                                                np.full(6, 0.02)] / 1.0)
        t = day + pd.to_timedelta(hours * 3600 + rng.uniform(0, 3600, k), unit="s")
        kind = rng.random(k) < 0.6
        hdays = np.where(kind, rng.gamma(4.0, 0.5, k), rng.lognormal(0.0, 1.0, k))
        src = rng.choice(["Call", "Mobile App", "Self Service"], size=k)
        for i in range(k):
            rows.append({
                "service_request_id": f"R{d}-{i}",
                "requested_datetime": t[i].strftime("%Y-%m-%d %H:%M:%S"),
                "closed_date": (t[i] + pd.Timedelta(days=float(hdays[i]))).strftime(
                    "%Y-%m-%d %H:%M:%S"),
                "service_name": "Bulky Items" if kind[i] else "Graffiti Removal",
                "source": src[i],
                "agency_responsible": "BOS" if kind[i] else "OCB",
                "lat": 31.23 + rng.normal(0, 0.008), "long": 121.45 + rng.normal(0, 0.008),
            })
    df = pd.DataFrame(rows)
    if chinese:
        df = df.rename(columns={"service_request_id": "工单编号",
                                "requested_datetime": "上报时间", "closed_date": "结案时间",
                                "service_name": "小类名称", "source": "案件来源",
                                "agency_responsible": "承办单位", "lat": "纬度",
                                "long": "经度"})
        df["大类名称"] = "市容环境"
        df["街道"] = np.where(df["经度"] < 121.45, "静安寺街道", "南京西路街道")
        df["小类名称"] = df["小类名称"].map({"Bulky Items": "大件垃圾",
                                             "Graffiti Removal": "乱涂写"})
        df["案件来源"] = np.where(np.arange(len(df)) % 5 == 0, "网格巡查", "12345热线")
    return df


@pytest.fixture
def log_csv(tmp_path):
    p = tmp_path / "log.csv"
    _synthetic().to_csv(p, index=False)
    return p


# -- malformed logs → clear errors -------------------------------------------------------
def _missing_column(tmp_path):
    p = tmp_path / "log.csv"
    _synthetic().drop(columns=["requested_datetime"]).to_csv(p, index=False)
    return p


def _bad_times(tmp_path):
    p = tmp_path / "log.csv"
    df = _synthetic()
    df["requested_datetime"] = "yesterday afternoon"
    df.to_csv(p, index=False)
    return p


def _empty(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("", encoding="utf-8")
    return p


def _header_only(tmp_path):
    p = tmp_path / "log.csv"
    p.write_text("service_request_id,requested_datetime,service_name\n", encoding="utf-8")
    return p


def _no_file(tmp_path):
    return tmp_path / "nope.csv"


def _xlsx(tmp_path):
    p = tmp_path / "log.xlsx"
    p.write_bytes(b"PK\x03\x04")
    return p


@pytest.mark.parametrize(("make", "message"), [
    (_missing_column, "required columns missing"),
    (_bad_times, "cannot be parsed as dates"),
    (_empty, "empty"),
    (_header_only, "no rows"),
    (_no_file, "not found"),
    (_xlsx, "unsupported log format"),
])
def test_malformed_logs(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError, match=message):
        calibrate(path, tmp_path / "s.toml", pilot=0)


def test_all_rows_outside_boundary(tmp_path, log_csv):
    import geopandas as gpd
    from shapely.geometry import box

    b = tmp_path / "far.geojson"
    gpd.GeoDataFrame({"code": ["X"], "name": ["elsewhere"]},
                     geometry=[box(-118.5, 34.0, -118.4, 34.1)], crs="EPSG:4326").to_file(b)
    with pytest.raises(InputError, match="outside the boundary"):
        calibrate(log_csv, tmp_path / "s.toml", boundary=b, pilot=0)


def test_cli_exit_code_2(tmp_path, capsys):
    rc = main(["calibrate", "--log", str(_empty(tmp_path)), "--out", str(tmp_path / "s.toml")])
    assert rc == 2
    assert "empty" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["[columns]\nfoo = 'x'\n", "[options]\ntimezone = 'Mars/Base'\n",
                                 "[columns]\nservice_name = 3\n", "not toml ["])
def test_bad_mapping(tmp_path, bad):
    p = tmp_path / "m.toml"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(InputError):
        load_mapping(p)


# -- cleaning ------------------------------------------------------------------------------
def test_cleaning_counts(tmp_path):
    df = _synthetic(n_days=3)
    n = len(df)
    df = pd.concat([df, df.iloc[:4]])  # 4 duplicate ids
    df.iloc[0, df.columns.get_loc("closed_date")] = "2020-01-01 00:00:00"  # before created
    df.iloc[1, df.columns.get_loc("lat")] = 95.0  # impossible
    df.iloc[2, df.columns.get_loc("lat")] = 40.0  # far outlier
    df.iloc[3, df.columns.get_loc("requested_datetime")] = "garbage"
    m = load_mapping(None)
    raw = pd.DataFrame({c: df[c].to_numpy() for c in df.columns})
    c = clean_log(read_log(_to_csv(raw, tmp_path), m), m)
    k = c.counts
    assert k["rows_read"] == n + 4
    assert k["duplicates"] == 4
    assert k["requested_unparseable"] == 1
    assert k["closed_before_created"] == 1
    assert k["no_coordinates"] == 1
    assert k["outside_area_outliers"] == 1
    # Repaired rows are kept; only the duplicates and the unparseable one are dropped.
    assert k["rows_used"] == n - 1
    assert k["rows_dropped"] == 5


def _to_csv(df, tmp_path):
    p = tmp_path / "x.csv"
    df.to_csv(p, index=False)
    return p


def test_time_zones_converted(tmp_path):
    df = _synthetic(n_days=2)
    t = pd.to_datetime(df["requested_datetime"]).dt.tz_localize("America/Los_Angeles")
    df["requested_datetime"] = t.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    m = load_mapping(None)
    c = clean_log(read_log(_to_csv(df, tmp_path), m), m, timezone="America/Los_Angeles")
    assert (c.frame["requested"].to_numpy()
            == t.dt.tz_localize(None).to_numpy().astype("datetime64[ns]")).all()
    # Without a zone: the most common offset (here UTC), with a note.
    c2 = clean_log(read_log(_to_csv(df, tmp_path), m), m)
    assert c2.notes and "offset" in c2.notes[0]


# -- fitting -------------------------------------------------------------------------------
@pytest.mark.parametrize(("dist", "family"), [
    (stats.lognorm(0.8, scale=2.0), "lognorm"),
    (stats.gamma(6.0, scale=0.5), "gamma"),
    (stats.expon(scale=3.0), "expon"),
])
def test_fit_handling_recovers_family(dist, family):
    x = dist.rvs(size=3000, random_state=np.random.default_rng(7))
    f = fit_handling(x)
    # Nested families (the exponential is a gamma and a Weibull with shape 1) may tie
    # within the AIC penalty; otherwise the generating family wins.
    aic = {k: v["aic"] for k, v in f["families"].items()}
    assert aic[family] <= min(aic.values()) + 2.0
    assert abs(f["families"][family]["median"] / dist.median() - 1) < 0.08


def test_fit_handling_censored():
    rng = np.random.default_rng(3)
    x = stats.lognorm(1.0, scale=5.0).rvs(size=4000, random_state=rng)
    c = 8.0
    f = fit_handling(x[x < c], censored_at=np.full((x >= c).sum(), c))
    assert f["n_censored"] == (x >= c).sum()
    # Censoring-aware MLE recovers the median (5) although 32 % are censored.
    assert abs(f["families"]["lognorm"]["median"] - 5.0) < 0.4


def test_censored_ks():
    a = np.array([1.0, 2.0, np.nan, 5.0])
    assert censored_ks(a, a, 3.0) == 0.0
    # Differences beyond the horizon do not count.
    assert censored_ks(np.array([1.0, 10.0]), np.array([1.0, 20.0]), 3.0) == 0.0
    assert censored_ks(np.array([1.0, 1.0]), np.array([2.0, 2.0]), 3.0) == 1.0


# -- end to end on synthetic logs ------------------------------------------------------------
def test_calibrate_synthetic_end_to_end(tmp_path, log_csv):
    cal = calibrate(log_csv, tmp_path / "scen" / "city.toml", pilot=0)
    sc = load_scenario(cal.scenario_path)
    assert sc.district.weights_file.endswith("city.weights.csv")
    d = cal.data
    # The synthetic log's gamma(4, 0.5) handling type: AIC picks gamma or Weibull.
    bulky = next(c for c in d["categories"] if c["code"] == "bulky_items")
    assert bulky["handling_days"]["best"] in ("gamma", "weibull_min")
    # Weekend days have 40 % of the weekday volume.
    dow = d["channels"]["hotline_day_of_week"]
    assert np.mean(dow[5:]) / np.mean(dow[:5]) == pytest.approx(0.4, abs=0.12)
    for f in cal.files.values():
        assert f.is_file()


def test_on_the_spot_closures_are_a_probability_of_the_category_not_a_category(tmp_path):
    """Instant closures of staff self-reports (the patrol channel) become the category's
    ``onspot_prob``: the catalogue keeps one row per request type, and the simulation
    fixes that share of the category's patrol reports on the spot."""
    from urbangrid.catalogue import CHANNELS
    from urbangrid.simulation import simulate

    df = _synthetic(n_days=10, per_day=150)
    rng = np.random.default_rng(5)
    selfrep = rng.random(len(df)) < 0.4
    df.loc[selfrep, "source"] = "Driver Self Report"
    graffiti = (df["service_name"] == "Graffiti Removal").to_numpy()
    instant = selfrep & graffiti & (rng.random(len(df)) < 0.7)
    t = pd.to_datetime(df["requested_datetime"])
    df.loc[instant, "closed_date"] = (t[instant] + pd.Timedelta(seconds=20)).dt.strftime(
        "%Y-%m-%d %H:%M:%S")
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    cal = calibrate(path, tmp_path / "s.toml", pilot=0)
    rows = pd.read_csv(cal.files["categories"]).set_index("code")
    assert sorted(rows.index) == ["bulky_items", "graffiti_removal"]
    assert set(rows["name_en"]) == {"Bulky Items", "Graffiti Removal"}
    q = instant.sum() / (selfrep & graffiti).sum()
    g, b = rows.loc["graffiti_removal"], rows.loc["bulky_items"]
    assert g["onspot_fixable"] == 1 and g["onspot_prob"] == pytest.approx(q, abs=1e-6)
    assert b["onspot_fixable"] == 0 and b["onspot_prob"] == 0
    res = simulate(load_scenario(cal.scenario_path))
    c = res.cases
    assert sorted(res.catalogue.name_en) == ["Bulky Items", "Graffiti Removal"]
    patrol = c["channel"] == CHANNELS.index("patrol")
    k = res.catalogue.code.index("graffiti_removal")
    spot = c["on_spot"].astype(bool)
    assert (patrol & (c["category"] == k)).sum() > 100
    assert spot[patrol & (c["category"] == k)].mean() == pytest.approx(q, abs=0.12)
    assert not spot[c["category"] != k].any() and not spot[~patrol].any()


def test_12345_mapping(tmp_path):
    p = tmp_path / "12345.csv"
    _synthetic(chinese=True).to_csv(p, index=False, encoding="gb18030")
    cal = calibrate(p, tmp_path / "jingan.toml", columns="12345", pilot=0)
    d = cal.data
    assert d["mapping"]["timezone"] == "Asia/Shanghai"
    assert d["channels"]["shares"]["patrol"] > 0.1  # 网格巡查 → patrol
    assert {c["name"] for c in d["categories"]} == {"大件垃圾", "乱涂写"}
    assert d["district"]["n_subdistricts"] == 2  # 街道 → sub-districts
    sc = load_scenario(cal.scenario_path)
    assert sc.calendar.rule == "chinese"
    js = json.loads(cal.files["calibration"].read_text(encoding="utf-8"))
    assert js["cleaning"]["rows_used"] == js["cleaning"]["rows_read"]


def test_cli_calibrate_and_validate(tmp_path, log_csv, capsys):
    out = tmp_path / "s.toml"
    assert main(["calibrate", "--log", str(log_csv), "--out", str(out), "--no-pilot",
                 "--drain-days", "5"]) == 0
    assert main(["validate", "--log", str(log_csv), "--scenario", str(out),
                 "--replications", "1", "--drain-days", "5", "--out",
                 str(tmp_path / "v")]) == 0
    m = json.loads((tmp_path / "v" / "validation.json").read_text(encoding="utf-8"))
    assert 0.0 <= m["hour_tvd"] <= 1.0
    assert (tmp_path / "v" / "validation.html").is_file()
    assert main(["validate", "--log", str(log_csv), "--scenario", str(out),
                 "--replications", "0", "--out", str(tmp_path / "v")]) == 2


def test_user_boundary_drops_outside(tmp_path, log_csv):
    import geopandas as gpd
    from shapely.geometry import box

    b = tmp_path / "west.geojson"
    # The western half of the synthetic points (centred on 121.45 E).
    gpd.GeoDataFrame({"code": ["W"], "name": ["west"]},
                     geometry=[box(121.40, 31.19, 121.45, 31.27)],
                     crs="EPSG:4326").to_file(b)
    cal = calibrate(log_csv, tmp_path / "w.toml", boundary=b, pilot=0)
    k = cal.data["cleaning"]
    assert 0.3 < k["outside_boundary"] / k["rows_read"] < 0.7
    assert k["rows_used"] == k["rows_read"] - k["outside_boundary"]
    sc = load_scenario(cal.scenario_path)
    assert sc.district.boundary.endswith("w.boundary.geojson")


@pytest.mark.parametrize("res", [6, 12])
def test_resolution_out_of_range(tmp_path, log_csv, res):
    with pytest.raises(InputError, match="resolution"):
        calibrate(log_csv, tmp_path / "s.toml", resolution=res, pilot=0)


@pytest.mark.parametrize(("period", "message"), [
    ("2025-03-03", "START,END"), ("2025-03-05,2025-03-04", "after START"),
    ("2030-01-01,2030-02-01", "no request in the period"), ("soon,later", "START,END"),
])
def test_bad_period(tmp_path, log_csv, period, message):
    with pytest.raises(InputError, match=message):
        calibrate(log_csv, tmp_path / "s.toml", period=period, pilot=0)


def test_period_counts_rows_left_out(tmp_path, log_csv):
    cal = calibrate(log_csv, tmp_path / "s.toml", period="2025-03-03,2025-03-08", pilot=0)
    k = cal.data["cleaning"]
    assert k["outside_period"] > 0
    assert k["rows_used"] + k["outside_period"] == k["rows_read"]
    assert cal.data["window"]["end"] < "2025-03-08"


def test_validate_same_seed_same_result(tmp_path, log_csv):
    from urbangrid.calibration import validate

    cal = calibrate(log_csv, tmp_path / "s.toml", pilot=1, drain_days=5)
    # Same seed, same result, whatever the number of worker processes.
    a = validate(log_csv, cal.scenario_path, tmp_path / "a", replications=2, drain_days=5,
                 processes=1)
    b = validate(log_csv, cal.scenario_path, tmp_path / "b", replications=2, drain_days=5,
                 processes=2)
    assert (tmp_path / "a" / "validation.json").read_bytes().replace(b"/a", b"") == \
        (tmp_path / "b" / "validation.json").read_bytes().replace(b"/b", b"")
    assert a["handling_ks_pooled"] == b["handling_ks_pooled"]
    # Every category's overlay CDF is on the shared grid.
    assert all(len(c["cdf_sim"]) == len(a["cdf_grid_days"]) for c in a["categories"])


def _no_coordinates(tmp_path):
    p = tmp_path / "log.csv"
    _synthetic(n_days=3).drop(columns=["lat", "long"]).to_csv(p, index=False)
    return p


def test_no_coordinates_needs_points(tmp_path):
    with pytest.raises(InputError, match="no request has coordinates"):
        calibrate(_no_coordinates(tmp_path), tmp_path / "s.toml", pilot=0)


def test_log_without_close_times(tmp_path):
    p = tmp_path / "open.csv"
    _synthetic(n_days=3).drop(columns=["closed_date"]).to_csv(p, index=False)
    cal = calibrate(p, tmp_path / "s.toml", pilot=1)
    assert cal.data["share_closed"] == 0.0
    assert all(c["handling_days"]["n"] == 0 for c in cal.data["categories"])
    load_scenario(cal.scenario_path)
