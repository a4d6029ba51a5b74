"""Durability: kill -9 mid-burst, restart, nothing acknowledged is lost or duplicated;
a restart resumes dispatch. Runs on SQLite and (when available) PostgreSQL."""

from __future__ import annotations

import json
import threading
import time

import httpx
import sqlalchemy as sa

from benchmarks.service_load import district_points, start_server
from tests.service.svc_helpers import INSIDE, SHIFT, make_keys
from urbangrid.service import Store

N_SENT_MAX = 600
KILL_AFTER = 120


def test_kill_minus_9_mid_burst_loses_nothing(any_db, tmp_path, record_property):
    keys = make_keys(any_db)
    server = start_server(any_db, tmp_path / "server.log", extra=["--dispatch-interval", "1"])
    http = httpx.Client(base_url=server.url, timeout=10)
    http.put("/teams/1", params={"api_key": keys["dispatcher"]}, json=dict(
        name="sanitation 1", lat=INSIDE[0], lon=INSIDE[1], skills=["sanitation"], capacity=50,
        **SHIFT))
    pts = district_points(N_SENT_MAX, seed=7)
    acked: dict[str, str] = {}
    sent: list[str] = []
    lock = threading.Lock()
    counter = iter(range(N_SENT_MAX))

    def worker():
        with httpx.Client(base_url=server.url, timeout=10) as c:
            while True:
                with lock:
                    i = next(counter, None)
                    if i is None:
                        return
                    key = f"burst-{i}"
                    sent.append(key)
                try:
                    r = c.post("/requests.json", headers={"Idempotency-Key": key}, data={
                        "api_key": keys["intake"], "service_code": "exposed_garbage",
                        "lat": f"{pts[i, 0]:.6f}", "long": f"{pts[i, 1]:.6f}",
                        "description": key})
                except httpx.HTTPError:
                    return  # the server is gone: this request is unacknowledged
                if r.status_code in (200, 201):
                    with lock:
                        acked[key] = r.json()[0]["service_request_id"]
                else:
                    raise AssertionError(r.text)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    while len(acked) < KILL_AFTER and any(t.is_alive() for t in threads):
        time.sleep(0.005)
    server.kill()
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= KILL_AFTER and len(sent) < N_SENT_MAX, "the kill came too late"

    # every acknowledged request is in the database, exactly once
    store = Store(any_db)
    rq = sa.table("requests", sa.column("id"), sa.column("idem_key"), sa.column("description"))
    with store.read() as conn:
        rows = conn.execute(sa.select(rq.c.id, rq.c.idem_key, rq.c.description)).all()
    stored = {}
    for r in rows:
        assert r.idem_key not in stored, f"duplicate {r.idem_key}"
        stored[r.idem_key] = str(r.id)
        assert r.description == r.idem_key
    missing = [k for k in acked if stored.get(k) != acked[k]]
    assert not missing, f"acknowledged but lost or changed: {missing[:5]}"

    # restart on the same database: the API serves them, retries are answered, not repeated
    server = start_server(any_db, tmp_path / "server2.log", extra=["--dispatch-interval", "1"])
    with httpx.Client(base_url=server.url, timeout=10) as c:
        for k, rid in list(acked.items())[:50]:
            assert c.get(f"/requests/{rid}.json").json()[0]["description"] == k
        replayed = new = 0
        for key in sent:
            r = c.post("/requests.json", headers={"Idempotency-Key": key}, data={
                "api_key": keys["intake"], "service_code": "exposed_garbage",
                "lat": f"{pts[int(key.split('-')[1]), 0]:.6f}",
                "long": f"{pts[int(key.split('-')[1]), 1]:.6f}", "description": key})
            assert r.status_code in (200, 201), r.text
            rid = r.json()[0]["service_request_id"]
            if key in acked:
                assert (r.status_code, rid) == (200, acked[key])
            replayed += r.status_code == 200
            new += r.status_code == 201
    server.stop()
    with store.read() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(rq)).scalar_one()
        distinct = conn.execute(sa.select(sa.func.count(sa.distinct(rq.c.idem_key)))).scalar_one()
    store.dispose()
    assert total == distinct == len(sent)
    counts = {"db": any_db.split(":")[0], "sent_before_kill": len(sent),
              "acknowledged": len(acked), "stored_after_restart": len(stored),
              "acknowledged_lost": len(missing), "duplicates": total - distinct,
              "retries_replayed": replayed, "retries_new": new}
    record_property("durability", json.dumps(counts))
    print("durability", json.dumps(counts))


def test_restart_recovers_assignments_and_resumes_dispatch(any_db, tmp_path):
    keys = make_keys(any_db)
    k = {"api_key": keys["dispatcher"]}
    server = start_server(any_db, tmp_path / "a.log", extra=["--dispatch-interval", "0"])
    with httpx.Client(base_url=server.url, timeout=10) as c:
        c.put("/teams/3", params=k, json=dict(name="t3", lat=INSIDE[0], lon=INSIDE[1],
                                              skills=["sanitation"], **SHIFT))
        post = {"api_key": keys["intake"], "lat": INSIDE[0], "long": INSIDE[1]}
        a = c.post("/requests.json", data=dict(post, service_code="exposed_garbage")).json()
        b = c.post("/requests.json", data=dict(post, service_code="road_flooding")).json()
        assert c.post("/dispatch/run", params=k).json()["assigned"] == 1
        c.post("/teams/3/actions", params=k, json={
            "action": "accept", "service_request_id": a[0]["service_request_id"]})
    server.kill()
    server = start_server(any_db, tmp_path / "b.log", extra=["--dispatch-interval", "1"])
    try:
        with httpx.Client(base_url=server.url, timeout=10) as c:
            active = c.get("/assignments", params=k).json()
            assert [(x["service_request_id"], x["team_id"], x["state"]) for x in active] == [
                (a[0]["service_request_id"], 3, "accepted")]
            rid_b = b[0]["service_request_id"]
            assert c.get(f"/requests/{rid_b}.json").json()[0]["status"] == "open"
            # a utilities team reports in: the resumed loop dispatches the waiting request
            c.put("/teams/4", params=k, json=dict(name="t4", lat=INSIDE[0], lon=INSIDE[1],
                                                  skills=["utilities"], **SHIFT))
            t0 = time.monotonic()
            while time.monotonic() - t0 < 15:
                if c.get(f"/requests/{rid_b}.json").json()[0]["agency_responsible"] == "t4":
                    break
                time.sleep(0.2)
            else:
                raise AssertionError("not dispatched after restart")
    finally:
        server.stop()
