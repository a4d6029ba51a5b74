"""Bounded load on loopback: zero errors, latency recorded (the full 2,000-request run is
``python -m benchmarks.service_load``, the benchmarks' measurement)."""

from __future__ import annotations

import json

import httpx

from benchmarks.service_load import measure_load, run_load


def test_bounded_load_has_no_errors(record_property):
    out = measure_load(n=300, concurrency=20)
    record_property("load", json.dumps(out))
    print("load", json.dumps(out))
    assert out["errors"] == 0, out["first_error"]
    assert out["ok"] == 300
    assert 0 < out["p50_ms"] <= out["p99_ms"] <= out["max_ms"]


def test_load_ids_are_distinct_and_readable(live):
    out = run_load(live.url, live.keys["intake"], n=60, concurrency=6, seed=11)
    assert out["errors"] == 0 and len(set(out["ids"])) == 60
    got = httpx.get(live.url + "/requests.json",
                    params={"service_request_id": ",".join(out["ids"])}).json()
    assert sorted(g["service_request_id"] for g in got) == sorted(out["ids"])


def test_two_server_processes_on_one_postgresql(pg_url, tmp_path):
    """Two ``serve`` processes share one PostgreSQL database, both running dispatch loops:
    bounded concurrent intake through both (loopback only) loses nothing, and no request
    is assigned twice."""
    import threading
    import time

    import sqlalchemy as sa

    from benchmarks.service_load import start_server
    from tests.service.svc_helpers import INSIDE, SHIFT, make_keys
    from urbangrid.service import Store

    keys = make_keys(pg_url)
    servers = [start_server(pg_url, tmp_path / f"s{k}.log", extra=["--dispatch-interval",
                                                                    "1"]) for k in (0, 1)]
    try:
        team = dict(name="sanitation 1", lat=INSIDE[0], lon=INSIDE[1],
                    skills=["sanitation"], capacity=500, **SHIFT)
        r = httpx.put(servers[0].url + "/teams/1", params={"api_key": keys["dispatcher"]},
                      json=team)
        assert r.status_code == 201, r.text
        results = [None, None]

        def load(k):
            results[k] = run_load(servers[k].url, keys["intake"], n=80, concurrency=4,
                                  seed=20 + k)

        threads = [threading.Thread(target=load, args=(k,)) for k in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        ids = [i for out in results for i in out["ids"]]
        assert all(out["errors"] == 0 for out in results), results
        assert len(ids) == len(set(ids)) == 160
        store = Store(pg_url)
        try:
            for _ in range(150):  # both loops assign within a few rounds
                with store.read() as conn:
                    waiting = conn.execute(sa.text(
                        "SELECT count(*) FROM requests WHERE stage = 'received'")).scalar()
                if waiting == 0:
                    break
                time.sleep(0.2)
            with store.read() as conn:
                per_request = conn.execute(sa.text(
                    "SELECT request_id, count(*) FROM assignments GROUP BY request_id")).all()
                stored = conn.execute(sa.text("SELECT count(*) FROM requests")).scalar()
        finally:
            store.dispose()
        assert stored == 160 and waiting == 0
        assert len(per_request) == 160 and all(n == 1 for _, n in per_request)
    finally:
        for s in servers:
            s.stop()
