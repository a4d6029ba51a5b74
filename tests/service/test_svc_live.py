"""Live dispatch against a real server process with a 1-second dispatch loop."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from tests.service.svc_helpers import INSIDE, SHIFT, assert_error


@pytest.fixture(scope="module")
def live(own_server):
    # the dispatch tests know every team of their server: not the session's shared one
    return own_server


def team_body(name, skills, lat=31.26, lon=121.45, **kw):
    return dict({"name": name, "lat": lat, "lon": lon, "skills": skills, "capacity": 5},
                **SHIFT, **kw)


def new_request(live, code="exposed_garbage", lat=INSIDE[0], lon=INSIDE[1]):
    r = live.http.post("/requests.json", data={
        "api_key": live.keys["intake"], "service_code": code, "lat": lat, "long": lon})
    assert r.status_code == 201, r.text
    return r.json()[0]["service_request_id"]


def get(live, rid):
    return live.http.get(f"/requests/{rid}.json").json()[0]


def wait_for(pred, timeout=15.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        v = pred()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def act(live, team, rid, action, **kw):
    return live.http.post(f"/teams/{team}/actions", params={"api_key": live.keys["dispatcher"]},
                          json={"action": action, "service_request_id": rid, **kw})


def events(live, rid):
    r = live.http.get(f"/requests/{rid}/events.json",
                      params={"api_key": live.keys["dispatcher"]})
    return [e["kind"] for e in r.json()]


def test_team_reports_are_validated(live):
    k = {"api_key": live.keys["dispatcher"]}
    assert_error(live.http.put("/teams/1", params=k, json=team_body("x", ["plumbing"])), 400,
                 "skills", "plumbing")
    assert_error(live.http.put("/teams/1", params=k, json=team_body("x", ["sanitation"],
                                                                   lat=31.0)), 400, "outside")
    body = team_body("x", ["sanitation"])
    body["shift_end"] = body["shift_start"]
    assert_error(live.http.put("/teams/1", params=k, json=body), 400, "shift_end")
    assert_error(live.http.put("/teams/1", params=k, json=dict(body, shift_start="today")), 400,
                 "shift_start")
    assert_error(live.http.put("/teams/1", params=k, json=team_body("x", ["sanitation"],
                                                                   mode="rocket")), 400, "mode")
    assert_error(live.http.put("/teams/1", params=k, json=dict(team_body("x", ["sanitation"]),
                                                              capacity="many")), 400,
                 "capacity")


def test_loop_dispatches_and_team_actions_close_the_request(live):
    k = {"api_key": live.keys["dispatcher"]}
    r = live.http.put("/teams/7", params=k, json=team_body("sanitation 7", ["sanitation"]))
    assert r.status_code == 201, r.text
    r = live.http.put("/teams/7", params=k, json=team_body("sanitation 7", ["sanitation"]))
    assert r.status_code == 200 and r.json()["skills"] == ["sanitation"]
    rid = new_request(live)
    got = wait_for(lambda: (g := get(live, rid))["agency_responsible"] and g)
    assert got["agency_responsible"] == "sanitation 7"
    assert "sanitation 7" in got["status_notes"]
    expected = dt.datetime.fromisoformat(got["expected_datetime"])
    assert expected > dt.datetime.fromisoformat(got["requested_datetime"])
    active = live.http.get("/assignments", params=k).json()
    mine = [a for a in active if a["service_request_id"] == rid]
    assert len(mine) == 1 and mine[0]["team_id"] == 7 and mine[0]["state"] == "assigned"

    assert_error(act(live, 8, rid, "accept"), 404, "team 8")
    assert got["stage"] == "assigned"
    assert act(live, 7, rid, "accept").json()["state"] == "accepted"
    # the life cycle in Open311 terms: still open, stage and status_notes say where
    g = get(live, rid)
    assert (g["status"], g["stage"], g["status_notes"]) == ("open", "accepted",
                                                            "accepted by sanitation 7")
    assert_error(act(live, 7, rid, "accept"), 409, "accepted")
    assert act(live, 7, rid, "arrive").json()["state"] == "arrived"
    g = get(live, rid)
    assert (g["stage"], g["status_notes"]) == ("arrived", "sanitation 7 is on site")
    assert act(live, 7, rid, "resolve", note="cleared").json()["state"] == "done"
    closed = get(live, rid)
    assert closed["status"] == "closed" and closed["status_notes"] == "cleared"
    assert closed["stage"] == "resolved"
    assert closed["updated_datetime"] >= closed["requested_datetime"]
    assert rid not in [a["service_request_id"] for a in live.http.get("/assignments",
                                                                       params=k).json()]
    every = live.http.get("/assignments", params=dict(k, state="all")).json()
    assert [a["state"] for a in every if a["service_request_id"] == rid] == ["done"]
    assert events(live, rid) == ["received", "dispatched", "accept", "arrive", "resolve"]
    assert_error(act(live, 7, rid, "resolve"), 409, "no active assignment")


def test_returned_request_is_dispatched_again(live):
    k = {"api_key": live.keys["dispatcher"]}
    live.http.put("/teams/7", params=k, json=team_body("sanitation 7", ["sanitation"]))
    rid = new_request(live, "overflowing_bin")
    wait_for(lambda: get(live, rid)["agency_responsible"])
    assert act(live, 7, rid, "return", note="needs a truck").json()["state"] == "returned"
    wait_for(lambda: events(live, rid).count("dispatched") == 2)
    assert events(live, rid)[:4] == ["received", "dispatched", "return", "dispatched"]


def test_requests_wait_for_a_qualified_team_on_shift(live):
    k = {"api_key": live.keys["dispatcher"]}
    rid = new_request(live, "fallen_tree")  # greenery: no such team yet
    off = team_body("greenery off", ["greenery"], state="off")
    live.http.put("/teams/20", params=k, json=off)
    live.http.post("/dispatch/run", params=k)
    assert get(live, rid)["agency_responsible"] is None
    assert events(live, rid) == ["received"]
    live.http.put("/teams/20", params=k, json=dict(off, state="free"))
    got = wait_for(lambda: (g := get(live, rid))["agency_responsible"] and g)
    assert got["agency_responsible"] == "greenery off"


def test_status_update_by_dispatcher(live):
    k = {"api_key": live.keys["dispatcher"]}
    rid = new_request(live, "residential_dispute")  # housing: no team, stays waiting
    when = "2030-05-01T08:00:00+08:00"
    r = live.http.post(f"/requests/{rid}/status", params=k, json={
        "status_notes": "referred to the housing office", "agency_responsible": "Housing",
        "expected_datetime": when})
    assert r.status_code == 200, r.text
    pub = get(live, rid)
    assert pub["status_notes"] == "referred to the housing office"
    assert pub["agency_responsible"] == "Housing"
    assert dt.datetime.fromisoformat(pub["expected_datetime"]) == dt.datetime.fromisoformat(when)
    live.http.post(f"/requests/{rid}/status", params=k, json={"status": "closed"})
    assert get(live, rid)["status"] == "closed"
    assert events(live, rid) == ["received", "status", "status"]
    assert_error(live.http.post(f"/requests/{rid}/status", params={
        "api_key": live.keys["intake"]}, json={"status": "open"}), 403)
    assert_error(live.http.post(f"/requests/{rid}/status", params=k,
                                json={"status": "pending"}), 400, "status")
    assert_error(live.http.post(f"/requests/{rid}/status", params=k,
                                json={"expected_datetime": "2030-05-01"}), 400,
                 "expected_datetime")
