"""Hostile input is a 4xx naming the problem, never a 500, on SQLite and PostgreSQL:
non-ASCII digits, ids beyond the id column, NUL bytes, nesting, and no personal field in
the log of a database error (issue 19, defects 2 and 3)."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from tests.service.svc_helpers import INSIDE, SHIFT, assert_error

FORM = {"service_code": "exposed_garbage", "lat": str(INSIDE[0]), "long": str(INSIDE[1])}
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def post(app, **fields):
    return app.http.post("/requests.json", data={**FORM, "api_key": app.keys["intake"],
                                                 **fields})


def id_calls(app, rid: str):
    """Every call that takes a request id, with a dispatcher key."""
    k = {"api_key": app.keys["dispatcher"]}
    return {
        "get": app.http.get(f"/requests/{rid}.json"),
        "events": app.http.get(f"/requests/{rid}/events.json", params=k),
        "status": app.http.post(f"/requests/{rid}/status", params=k, json={}),
        "action": app.http.post("/teams/1/actions", params=k,
                                json={"action": "accept", "service_request_id": rid}),
    }


@pytest.mark.parametrize("rid", ["²", "١", "1²", "١٢٣"])
def test_ids_are_ascii_digits_only(inproc, rid):
    post(inproc)  # id 1 exists: "١" must not be read as it
    for call, r in id_calls(inproc, rid).items():
        assert_error(r, 404, "not found")
        assert call and rid in r.json()[0]["description"]
    assert_error(inproc.http.get("/requests.json", params={"service_request_id": rid}), 400,
                 "service_request_id")


def test_an_existing_id_in_other_digits_is_not_found(inproc):
    rid = post(inproc).json()[0]["service_request_id"]
    assert inproc.http.get(f"/requests/{rid}.json").status_code == 200
    assert_error(inproc.http.get(f"/requests/{rid.translate(ARABIC_INDIC)}.json"), 404)


def test_deeply_nested_json_is_400_and_logged_at_most_once(inproc, caplog):
    deep = b"[" * 30_000
    for path in ("/requests.json", "/dispatch", "/teams/1"):
        call = inproc.http.put if path == "/teams/1" else inproc.http.post
        r = call(path, content=deep, params={"api_key": inproc.keys["admin"]},
                 headers={"content-type": "application/json"})
        assert_error(r, 400)
    assert "RecursionError" not in caplog.text and "Traceback" not in caplog.text


def test_ids_beyond_the_id_column_are_not_found(inproc_any):
    app = inproc_any
    post(app)
    for big in (str(2**31), str(2**63), "9" * 18, "9" * 20):
        for call, r in id_calls(app, big).items():
            assert_error(r, 404, "not found")
            assert call
        r = app.http.get("/requests.json", params={"service_request_id": f"1,{big}"})
        assert r.status_code == 200 and [g["service_request_id"] for g in r.json()] == ["1"]
    k = {"api_key": app.keys["dispatcher"]}
    assert_error(app.http.post(f"/teams/{2**40}/actions", params=k,
                               json={"action": "accept", "service_request_id": "1"}), 400,
                 "team_id")


@pytest.mark.parametrize("field", ["description", "first_name", "email", "address_string",
                                   "idempotency_key", "service_code"])
def test_a_nul_byte_in_a_text_field_is_400_naming_it(inproc_any, field):
    value = "wz\x00@example.cn" if field == "email" else "a\x00b"
    assert_error(post(inproc_any, **{field: value}), 400, field, "NUL")


def test_nul_bytes_elsewhere_are_400(inproc_any):
    app = inproc_any
    k = {"api_key": app.keys["dispatcher"]}
    rid = post(app).json()[0]["service_request_id"]
    assert_error(app.http.get("/requests.json", params={"service_code": "a\x00"}), 400,
                 "service_code", "NUL")
    assert_error(app.http.get("/requests.json", params={"api_key": "ug_ab\x00_x"}), 400,
                 "NUL")
    assert_error(post(app, api_key="ug_abc_\x00"), 400, "api_key", "NUL")
    assert_error(app.http.post(f"/requests/{rid}/status", params=k,
                               json={"status_notes": "x\x00"}), 400, "status_notes", "NUL")
    team = {"name": "n\x00", "lat": INSIDE[0], "lon": INSIDE[1], "skills": ["sanitation"],
            **SHIFT}
    assert_error(app.http.put("/teams/3", params=k, json=team), 400, "name", "NUL")
    assert_error(app.http.put("/teams/3", params=k, json=dict(team, name="n",
                                                              skills=["sanit\x00"])),
                 400, "skills")
    assert app.http.get(f"/requests/{rid}.json").status_code == 200


def test_database_errors_never_log_personal_fields(inproc_any, caplog):
    """A failing insert (a constraint the test adds) answers 500 and logs the failure,
    but never the request's name or email, which the database's error text quotes."""
    app = inproc_any
    store = app.app.state.store
    with store.engine.begin() as conn:
        if store.is_sqlite:
            conn.execute(sa.text(
                "CREATE TRIGGER refuse BEFORE INSERT ON requests "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"))
        else:
            conn.execute(sa.text("ALTER TABLE requests ADD CONSTRAINT refuse CHECK "
                                 "(description <> 'refuse me')"))
    caplog.set_level(logging.INFO)
    r = post(app, first_name="Wei", last_name="Zhangsan", email="wei.zhangsan@example.cn",
             description="refuse me")
    assert_error(r, 500, "internal error")
    assert "POST /requests.json failed" in caplog.text  # the failure is logged ...
    for personal in ("Zhangsan", "wei.zhangsan@example.cn", "refuse me"):
        assert personal not in caplog.text  # ... without the request's fields
