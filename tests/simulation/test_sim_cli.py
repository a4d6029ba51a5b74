"""The ``urbangrid simulate`` command (urbangrid.study.commands): outputs, their shape, and
bad input."""

import json

import pandas as pd
import pytest

from tests.toys import toy_scenario
from urbangrid.cli import main

TOY = """
name = "toy"
[run]
days = 1
warmup_days = 0.25
processes = 1
[district]
source = "toy"
toy_rows = 3
toy_cols = 3
[demand]
cases_per_day = 200
[[crews]]
name = "all"
skills = ["sanitation", "city_management", "facilities", "greenery", "housing", "utilities"]
per_subdistrict = 3
"""

REQUIRED = ("cases_created", "cases_closed", "cases_open_end", "cases_parked",
            "handling_days_calendar_mean", "handling_days_calendar_p50",
            "handling_days_calendar_p90", "handling_days_working_mean", "same_day_rate",
            "on_time_rate", "resolution_rate", "satisfaction_rate", "backlog_mean",
            "utilisation_mean")
OPEN311 = ("service_request_id", "requested_datetime", "updated_datetime", "closed_date",
           "status_description", "source", "service_name", "agency_responsible", "lat",
           "long")


@pytest.fixture
def toy_file(tmp_path):
    p = tmp_path / "toy.toml"
    p.write_text(TOY, encoding="utf-8")
    return p


def test_simulate_writes_kpis_events_and_cases(toy_file, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["simulate", str(toy_file), "--out", str(out), "--replications", "3",
               "--seed", "5", "--set", "run.processes=2"])
    assert rc == 0
    doc = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    for name in REQUIRED:
        entry = doc["kpis"][name]
        assert set(entry) == {"mean", "ci95", "n"}
        assert entry["n"] == 3 or name == "satisfaction_rate"
    assert set(doc["by_channel"]) == {"iot", "patrol", "hotline", "other"}
    subs = doc["by_subdistrict"]
    assert set(subs) == {"T00", "T01"}
    assert sum(s["cases_created"]["mean"] for s in subs.values()) == pytest.approx(
        doc["kpis"]["cases_created"]["mean"])
    assert doc["seed"] == 5 and doc["scenario"]["name"] == "toy"
    assert doc["kpis"]["cases_created"]["ci95"] > 0
    cases = pd.read_parquet(out / "cases.parquet")
    for col in OPEN311:
        assert col in cases.columns
    assert cases["requested_datetime"].dt.tz is not None
    assert len(cases) > 100
    closed = cases["status_description"] == "Closed"
    assert cases.loc[closed, "closed_date"].notna().all()
    assert cases.loc[~closed, "closed_date"].isna().all()
    ev = pd.read_parquet(out / "events.parquet")
    assert {"case_id", "time_s", "event", "channel", "category", "cell", "team"} <= set(
        ev.columns)
    assert set(ev["case_id"].unique()) == set(cases["case_id"])
    assert "cases_created" in capsys.readouterr().out


def test_replications_do_not_depend_on_process_count(toy_file, tmp_path):
    docs = []
    for procs in ("1", "2"):
        out = tmp_path / procs
        assert main(["simulate", str(toy_file), "--out", str(out), "--replications", "2",
                     "--quiet", "--set", f"run.processes={procs}"]) == 0
        docs.append(json.loads((out / "kpis.json").read_text(encoding="utf-8"))["kpis"])
    assert docs[0] == docs[1]


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "demand.cases_per_day=-1"], "demand.cases_per_day = -1"),
    (["--set", "dispatch.policy=telepathy"], "dispatch.policy = 'telepathy': no such policy"),
    (["--days", "0"], "run.days = 0"),
    (["--set", "crews.0.skills=[\"juggling\"]"], "unknown skill 'juggling'"),
])
def test_bad_input_exits_2_with_one_line(toy_file, tmp_path, capsys, args, message):
    rc = main(["simulate", str(toy_file), "--out", str(tmp_path / "o"), "--quiet", *args])
    assert rc == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_missing_scenario_file_exits_2(tmp_path, capsys):
    assert main(["simulate", str(tmp_path / "none.toml"), "--quiet"]) == 2
    assert "scenario file not found" in capsys.readouterr().err


def test_case_parquet_in_row_groups_equals_the_case_table(tmp_path, monkeypatch):
    import urbangrid.simulation.output as out
    from urbangrid.simulation import case_table, simulate

    monkeypatch.setattr(out, "_CASE_ROWS_PER_GROUP", 97)
    res = simulate(toy_scenario(**{"run.days": 1}))
    out.write_cases(res, tmp_path / "c.parquet")
    a = pd.read_parquet(tmp_path / "c.parquet")
    b = case_table(res)
    assert len(a) == len(b) > 97
    for col in ("service_request_id", "source", "agency_responsible", "status_description"):
        assert a[col].astype(str).tolist() == b[col].astype(str).tolist()
    for col in ("closed_date", "requested_datetime"):
        assert a[col].equals(b[col])
