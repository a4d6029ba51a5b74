"""``urbangrid replay``: the service's ledger re-simulated through the model, and exported
as an Open311 Bulk log (study/replay.py, service/export.py)."""

from __future__ import annotations

import datetime as dt
import json
import time

import httpx
import numpy as np
import pandas as pd
import pytest

from benchmarks.service_load import start_server
from tests.service.svc_helpers import INSIDE, SHIFT, make_keys
from tests.shared import SCENARIOS
from urbangrid.cli import main

N_GARBAGE, N_PARKING, N_RESOLVED = 6, 2, 3


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    """A live server's ledger filled through the API: one sanitation team, garbage cases
    it was dispatched (three of them resolved) and parking cases no team can take."""
    tmp = tmp_path_factory.mktemp("replay")
    db = f"sqlite:///{tmp / 'live.db'}"
    keys = make_keys(db)
    server = start_server(db, tmp / "server.log", extra=["--dispatch-interval", "1"])
    http = httpx.Client(base_url=server.url, timeout=30)
    try:
        k = {"api_key": keys["dispatcher"]}
        r = http.put("/teams/1", params=k, json={
            "name": "sanitation one", "lat": 31.26, "lon": 121.45, "skills": ["sanitation"],
            "capacity": 10, **SHIFT})
        assert r.status_code == 201, r.text
        ids = []
        for code in ["exposed_garbage"] * N_GARBAGE + ["illegal_car_parking"] * N_PARKING:
            # the parking case's plate is a required attribute (service/attributes.toml)
            plate = {"attribute[plate]": "沪A12345"} if code == "illegal_car_parking" else {}
            r = http.post("/requests.json", data={"api_key": keys["intake"],
                                                  "service_code": code, "lat": INSIDE[0],
                                                  "long": INSIDE[1], **plate})
            assert r.status_code == 201, r.text
            ids.append(r.json()[0]["service_request_id"])
        t0 = time.monotonic()
        while time.monotonic() - t0 < 120:  # the first round compiles the optimizer
            a = http.get("/assignments", params=k).json()
            if len(a) >= N_GARBAGE:
                break
            time.sleep(0.3)
        assert len(a) >= N_GARBAGE, a
        for rid in ids[:N_RESOLVED]:
            r = http.post("/teams/1/actions", params=k,
                          json={"action": "resolve", "service_request_id": rid})
            assert r.status_code == 200, r.text
        seen = [http.get(f"/requests/{rid}.json").json()[0] for rid in ids]
    finally:
        http.close()
        server.stop()
    return db, ids, seen, tmp


def test_export_writes_every_request_once_in_bulk_columns_calibrate_reads(ledger, tmp_path):
    from urbangrid.calibration.logs import read_log

    db, ids, seen, _ = ledger
    out = tmp_path / "bulk.csv"
    assert main(["replay", "--db", db, "--export", str(out)]) == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert sorted(frame["service_request_id"]) == sorted(ids)
    assert (frame["closed_date"] != "").sum() == N_RESOLVED
    assert (frame["dispatched_datetime"] != "").sum() == N_GARBAGE
    by_id = frame.set_index("service_request_id")
    for row in seen:
        got = dt.datetime.fromisoformat(by_id.loc[row["service_request_id"], "requested_datetime"])
        want = dt.datetime.fromisoformat(row["requested_datetime"])
        assert abs((got - want).total_seconds()) < 1.0
    log = read_log(out)
    assert len(log) == len(ids) and set(log["service_request_id"].astype(str)) == set(ids)


def test_replay_simulates_exactly_the_ledgers_requests_beside_what_happened(ledger):
    db, ids, seen, tmp = ledger
    out = tmp / "replay"
    later = (dt.datetime.now() + dt.timedelta(days=3)).isoformat(timespec="seconds")
    assert main(["replay", "--db", db, "--scenario", str(SCENARIOS / "jingan_integrated.toml"),
                 "--replications", "2", "--until", later, "--out", str(out)]) == 0
    doc = json.loads((out / "kpis.json").read_text(encoding="utf-8"))
    assert doc["period"]["requests"] == len(ids)
    assert doc["replayed"]["cases_created"]["mean"] == len(ids)
    trace = pd.read_csv(out / "trace.csv", dtype=str, keep_default_na=False)
    assert sorted(trace["service_request_id"]) == sorted(ids)  # every request once
    # the actual side, computed here from what the API answered
    closed = [r for r in seen if r["status"] == "closed"]
    a = doc["actual"]
    assert a["cases_created"] == len(ids) and a["cases_closed"] == len(closed) == N_RESOLVED
    assert a["dispatched"] == N_GARBAGE
    hours = [(dt.datetime.fromisoformat(r["updated_datetime"])
              - dt.datetime.fromisoformat(r["requested_datetime"])).total_seconds() / 86400
             for r in closed]
    assert a["handling_days_calendar_mean"] == pytest.approx(np.mean(hours), abs=2e-5)
    # roster staffing: the ledger's team is a crew, the scenario keeps crews for the
    # skills it lacks (parking needs city management)
    roster = [c for c in doc["crews"] if c["name"].startswith("roster_")]
    assert [(c["skills"], c["district_wide"]) for c in roster] == [(["sanitation"], 1)]
    assert "city_management" in doc["scenario_crews_kept"]
    # three days on, the model's crews close what the real ones closed and more
    assert doc["replayed"]["cases_closed"]["mean"] >= N_GARBAGE
    assert doc["paired"]["handling_days_calendar"]["mean_difference"] > 0  # real: seconds
    assert set(doc["paired"]) == {"handling_days_calendar", "same_day", "on_time"}
    assert "Paired per request" in (out / "report.html").read_text(encoding="utf-8")


def test_replay_refuses_what_is_not_a_ledger(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["replay", "--db", db, "--export", str(tmp_path / "x.csv")]) == 2
    assert "is not an urbangrid service ledger" in capsys.readouterr().err
