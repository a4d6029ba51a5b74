"""Operations (issue 19): /health and /ready check the database, per-key rate limits
(429 + Retry-After), pagination metadata, Prometheus /metrics, request ids in JSON log
lines, and the retention rule that erases personal fields after N days."""

from __future__ import annotations

import json
import time

import sqlalchemy as sa

from tests.service.conftest import InProcess
from tests.service.svc_helpers import INSIDE, assert_error

FORM = {"service_code": "exposed_garbage", "lat": INSIDE[0], "long": INSIDE[1]}


def test_health_and_ready_check_the_database(tmp_path):
    app = InProcess(f"sqlite:///{tmp_path / 'svc.db'}")
    try:
        assert app.http.get("/health").json() == {"status": "ok", "database": "ok"}
        r = app.http.get("/ready")
        assert r.status_code == 200 and r.json()["status"] == "ready"
        store = app.app.state.store
        with store.engine.begin() as conn:  # a database behind the code's schema
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        r = app.http.get("/ready")
        assert r.status_code == 503 and "0001" in r.json()["database"]
        store.engine.dispose()
        store.engine = sa.create_engine(f"sqlite:///{tmp_path / 'gone' / 'x.db'}")
        for path in ("/health", "/ready"):
            r = app.http.get(path)
            assert r.status_code == 503 and r.json()["database"].startswith("unavailable")
    finally:
        app.close()


def test_rate_limit_per_key_with_retry_after(tmp_path):
    app = InProcess(f"sqlite:///{tmp_path / 'svc.db'}", rate_limit="3/minute")
    try:
        intake = {"api_key": app.keys["intake"]}
        for _ in range(3):
            assert app.http.post("/requests.json", data={**FORM, **intake}).status_code == 201
        r = app.http.post("/requests.json", data={**FORM, **intake})
        assert_error(r, 429, app.keys["intake"].split("_")[1], "3/minute")
        assert 1 <= int(r.headers["retry-after"]) <= 60
        # per key: another key is not limited by the first one's calls
        r = app.http.get("/teams", params={"api_key": app.keys["dispatcher"]})
        assert r.status_code == 200
        # calls without a key are not counted
        assert all(app.http.get("/services.json").status_code == 200 for _ in range(5))
    finally:
        app.close()


def test_pagination_metadata(inproc):
    ids = [inproc.http.post("/requests.json", data={
        **FORM, "api_key": inproc.keys["intake"], "service_code": "street_laundry"}
    ).json()[0]["service_request_id"] for _ in range(5)]
    q = {"service_code": "street_laundry", "page_size": 2}
    r = inproc.http.get("/requests.json", params={**q, "page": 2})
    assert [g["service_request_id"] for g in r.json()] == ids[2:4]
    assert r.headers["x-total-count"] == "5"
    links = {part.split('rel="')[1].rstrip('"'): part.split(">")[0].lstrip("<")
             for part in r.headers["link"].split(", ")}
    assert set(links) == {"first", "prev", "next", "last"}
    assert "page=3" in links["next"] and "page=1" in links["prev"] and "page=3" in links["last"]
    assert "service_code=street_laundry" in links["next"]
    last = inproc.http.get(links["last"].split("testserver")[1])
    assert [g["service_request_id"] for g in last.json()] == ids[4:]
    assert "next" not in last.headers["link"]
    keyed = inproc.http.get("/requests.json", params={**q, "api_key": inproc.keys["admin"]})
    assert "api_key" not in keyed.headers["link"]  # a link never carries a key


def test_prometheus_metrics(inproc):
    inproc.http.get("/services.json")
    inproc.http.get("/requests/999999.json")
    inproc.http.post("/dispatch/run", params={"api_key": inproc.keys["dispatcher"]})
    r = inproc.http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'urbangrid_http_requests_total{method="GET",route="/services.json",status="200"}' \
        in text
    assert ('urbangrid_http_requests_total{method="GET",'
            'route="/requests/{service_request_id}.json",status="404"}') in text
    assert "urbangrid_http_request_duration_seconds_bucket" in text
    assert "urbangrid_dispatch_rounds_total" in text


def test_request_ids_in_headers_and_json_log_lines(live):
    r = live.http.get("/services.json", headers={"X-Request-ID": "trace-42.a"})
    assert r.headers["x-request-id"] == "trace-42.a"
    fresh = live.http.get("/services.json", headers={"X-Request-ID": "bad id!"})
    assert fresh.headers["x-request-id"] != "bad id!" and len(fresh.headers["x-request-id"]) == 32
    lines = []
    for _ in range(50):  # the access log line is written right after the answer
        lines = [json.loads(x) for x in live.server.log().splitlines() if x.startswith("{")]
        if any(x.get("request_id") == "trace-42.a" for x in lines):
            break
        time.sleep(0.1)
    mine = [x for x in lines if x.get("request_id") == "trace-42.a"]
    assert mine and "GET /services.json" in mine[0]["message"]
    assert {"time", "level", "logger", "message"} <= set(mine[0])


def test_retention_erases_personal_fields_after_n_days(tmp_path):
    now = [1_790_000_000.0]
    app = InProcess(f"sqlite:///{tmp_path / 'svc.db'}", clock=lambda: now[0])
    try:
        person = {"first_name": "Wei", "last_name": "Zhang", "email": "wz@example.cn",
                  "phone": "+86 21 1234 5678", "device_id": "d1", "account_id": "a1"}
        old = app.http.post("/requests.json", data={
            **FORM, **person, "api_key": app.keys["intake"], "description": "old case"}
        ).json()[0]["service_request_id"]
        now[0] += 20 * 86400
        new = app.http.post("/requests.json", data={
            **FORM, **person, "api_key": app.keys["intake"]}).json()[0]["service_request_id"]
        ledger = app.app.state.ledger
        assert ledger.anonymise_older_than(30) == 0  # nothing is 30 days old yet
        now[0] += 15 * 86400  # the first is 35 days old, the second 15
        assert ledger.anonymise_older_than(30) == 1
        assert ledger.anonymise_older_than(30) == 0  # idempotent
        k = {"api_key": app.keys["admin"]}
        gone = app.http.get(f"/requests/{old}.json", params=k).json()[0]
        kept = app.http.get(f"/requests/{new}.json", params=k).json()[0]
        assert all(gone[f] is None for f in person) and gone["description"] == "old case"
        assert all(kept[f] == v for f, v in person.items())
        audit = app.http.get("/audit", params={**k, "kind": "anonymise"}).json()
        assert len(audit) == 1 and audit[0]["role"] == "system"
    finally:
        app.close()


def test_serve_applies_the_retention_rule(tmp_path):
    """``serve --retention-days`` runs the rule in the dispatch loop: a request filed 40
    days ago loses its personal fields, one filed today keeps them."""
    from benchmarks.service_load import start_server
    from tests.service.svc_helpers import make_keys
    from urbangrid.service import Store
    from urbangrid.service.db import requests

    db = f"sqlite:///{tmp_path / 'svc.db'}"
    keys = make_keys(db)
    store = Store(db)
    now = time.time()
    with store.write() as conn:
        for age_days, name in ((40, "Old"), (0, "New")):
            t = now - age_days * 86400
            conn.execute(requests.insert().values(
                service_code="exposed_garbage", status="closed", stage="resolved",
                lat=INSIDE[0], lon=INSIDE[1], cell=0, first_name=name, email=f"{name}@x.cn",
                requested=t, updated=t, deadline=t + 7200, priority=1.0, work_seconds=60.0))
    store.dispose()
    server = start_server(db, tmp_path / "server.log",
                          extra=["--dispatch-interval", "1", "--retention-days", "30"])
    try:
        import httpx

        with httpx.Client(base_url=server.url) as http:
            k = {"api_key": keys["admin"]}
            for _ in range(100):
                old = http.get("/requests/1.json", params=k).json()[0]
                if old["first_name"] is None:
                    break
                time.sleep(0.1)
            new = http.get("/requests/2.json", params=k).json()[0]
    finally:
        server.stop()
    assert (old["first_name"], old["email"]) == (None, None)
    assert (new["first_name"], new["email"]) == ("New", "New@x.cn")
