"""A recorded log as the run's arrivals (``demand.trace``, simulation/trace.py)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from tests.toys import toy_scenario
from urbangrid.errors import InputError
from urbangrid.simulation.guards import run_warnings
from urbangrid.simulation.output import case_table
from urbangrid.simulation.run import simulate
from urbangrid.simulation.warmup import check_warmup

TRACE_COLS = ["service_request_id", "requested_datetime", "service_code", "lat", "long",
              "source"]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """A Poisson run of the toy and its cases written as an Open311 Bulk log."""
    sc = toy_scenario()
    cases = case_table(simulate(sc))
    log = cases[TRACE_COLS].copy()
    log["service_request_id"] = "REQ-" + log["service_request_id"]
    log["requested_datetime"] = log["requested_datetime"].map(lambda x: x.isoformat())
    path = tmp_path_factory.mktemp("trace") / "log.csv"
    log.to_csv(path, index=False)
    return sc, cases, path


def test_every_row_of_the_log_is_one_case_with_its_time_place_category_and_channel(recorded):
    sc, before, path = recorded
    r = simulate(sc.replace({"demand.trace": str(path)}))
    after = case_table(r)
    assert r.stats["trace"] == {"source": str(path), "simulated": len(before),
                                "outside_run": 0}
    assert len(after) == len(before)
    a = before.assign(service_request_id="REQ-" + before["service_request_id"]) \
        .set_index("service_request_id").sort_index()
    b = after.set_index("service_request_id").sort_index()
    assert b.index.is_unique and (a.index == b.index).all()
    np.testing.assert_allclose(b["reported_s"], a["reported_s"], atol=1e-3)
    for col in ("cell", "service_code", "channel"):
        assert (b[col] == a[col]).all(), col


def test_a_traced_run_is_the_same_bytes_for_the_same_seed(recorded):
    sc, _, path = recorded
    traced = sc.replace({"demand.trace": str(path)})

    def digest():
        t = case_table(simulate(traced))
        return hashlib.sha256(pd.util.hash_pandas_object(t, index=False).values).hexdigest()

    assert digest() == digest()


def test_more_crews_replay_the_same_cases_faster(recorded):
    sc, _, path = recorded
    base = sc.replace({"demand.trace": str(path)})
    more = base.replace({"crews.0.per_subdistrict": 6, "crews.1.per_subdistrict": 8})
    a = case_table(simulate(base)).set_index("service_request_id")
    b = case_table(simulate(more)).set_index("service_request_id").loc[a.index]
    wait_a = (a["dispatched_s"] - a["registered_s"]).mean()
    wait_b = (b["dispatched_s"] - b["registered_s"]).mean()
    assert wait_b < wait_a


def test_rows_outside_the_run_are_counted_and_reported_not_dropped_silently(recorded, tmp_path):
    sc, before, path = recorded
    log = pd.read_csv(path, dtype=str)
    early = log.iloc[:3].assign(requested_datetime="2025-03-02T23:00:00+08:00",
                                service_request_id=["E1", "E2", "E3"])
    late = log.iloc[:2].assign(requested_datetime="2026-01-01T00:00:00+08:00",
                               service_request_id=["L1", "L2"])
    file = tmp_path / "log.csv"
    pd.concat([early, log, late]).to_csv(file, index=False)
    r = simulate(sc.replace({"demand.trace": str(file)}))
    assert r.stats["trace"]["outside_run"] == 5
    assert r.stats["trace"]["simulated"] == len(before)
    text = " ".join(run_warnings({}, r, check_warmup(r)))
    assert "5 row(s)" in text and str(file) in text
    assert "demand.cases_per_day set but ignored" in text  # the toy sets 300 a day


def test_utc_offsets_are_converted_and_local_times_read_as_local(tmp_path):
    sc = toy_scenario()
    # run.start is 2025-03-03T00:00 local (UTC+8): 01:00Z is 09:00 local, 1 h = 3600 s
    file = tmp_path / "t.csv"
    pd.DataFrame({"requested_datetime": ["2025-03-03T01:00:00Z", "2025-03-03T10:00"],
                  "service_code": ["exposed_garbage"] * 2,
                  "lat": [31.23] * 2, "long": [121.45] * 2}).to_csv(file, index=False)
    r = simulate(sc.replace({"demand.trace": str(file)}))
    np.testing.assert_allclose(np.sort(r.cases["t_report"]), [9 * 3600.0, 10 * 3600.0])
    assert (r.cases["channel"] == 3).all()  # no source column: "other"


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.drop(columns=["lat"]), "lacks column(s) lat"),
    (lambda d: d.assign(requested_datetime=["yesterday", "2025-03-03T10:00"]),
     "not an ISO 8601 date-time at line(s) 2"),
    (lambda d: d.assign(service_code=["exposed_garbage", "no_such_code"]),
     "'no_such_code' is not a category of the catalogue at line(s) 3"),
    (lambda d: d.assign(lat=[31.23, 40.0]), "position outside the district at line(s) 3"),
    (lambda d: d.assign(source=["iot", "carrier pigeon"]),
     "'carrier pigeon' is not a channel at line(s) 3"),
])
def test_bad_logs_are_refused_naming_the_file_column_and_line(tmp_path, edit, message):
    good = pd.DataFrame({"requested_datetime": ["2025-03-03T09:00", "2025-03-03T10:00"],
                         "service_code": ["exposed_garbage"] * 2,
                         "lat": [31.23] * 2, "long": [121.45] * 2})
    file = tmp_path / "bad.csv"
    edit(good).to_csv(file, index=False)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as e:
        simulate(toy_scenario(**{"demand.trace": str(file)}))
    assert str(file) in str(e.value)


def test_a_missing_trace_file_is_named(tmp_path):
    with pytest.raises(InputError, match="trace file not found"):
        simulate(toy_scenario(**{"demand.trace": str(tmp_path / "none.csv")}))


def test_jingan_positions_fall_in_their_h3_cell_and_outside_points_are_refused():
    from urbangrid.simulation.scenario import DistrictConfig
    from urbangrid.simulation.space import build_space
    from urbangrid.simulation.trace import _cells

    sp = build_space(DistrictConfig(source="jingan"))
    idx = np.array([0, 1234, sp.n_cells - 1])
    assert (_cells(sp.lat[idx] + 1e-5, sp.lon[idx] - 1e-5, sp, "log.csv") == idx).all()
    with pytest.raises(InputError, match="outside the district at line"):
        _cells(np.array([31.2397]), np.array([121.4998]), sp, "log.csv")  # the Bund, Huangpu
