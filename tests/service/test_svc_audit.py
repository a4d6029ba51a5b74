"""The audit trail and the admin API of keys (issue 19): every event records the key id
and role that caused it, admins read it at GET /audit and create, list and revoke keys."""

from __future__ import annotations

from tests.service.svc_helpers import INSIDE, SHIFT, assert_error


def key_id(key: str) -> str:
    return key.split("_")[1]


def test_every_event_records_who_did_it(inproc_any):
    app = inproc_any
    k = {role: {"api_key": key} for role, key in app.keys.items()}
    rid = app.http.post("/requests.json", data={
        **k["intake"], "service_code": "exposed_garbage", "lat": INSIDE[0],
        "long": INSIDE[1]}).json()[0]["service_request_id"]
    team = {"name": "t", "lat": INSIDE[0], "lon": INSIDE[1], "skills": ["sanitation"],
            **SHIFT}
    assert app.http.put("/teams/4", params=k["dispatcher"], json=team).status_code == 201
    app.app.state.ledger.dispatch_once()  # the loop's round: no key, role "system"
    assert app.http.post("/teams/4/actions", params=k["admin"], json={
        "action": "accept", "service_request_id": rid}).status_code == 200
    app.http.post(f"/requests/{rid}/status", params=k["dispatcher"],
                  json={"status_notes": "on it"})
    r = app.http.get("/audit", params={**k["admin"], "service_request_id": rid})
    assert r.status_code == 200, r.text
    who = {e["kind"]: (e["key_id"], e["role"]) for e in r.json()}
    assert who == {
        "received": (key_id(app.keys["intake"]), "intake"),
        "dispatched": (None, "system"),
        "accept": (key_id(app.keys["admin"]), "admin"),
        "status": (key_id(app.keys["dispatcher"]), "dispatcher"),
    }
    assert r.headers["x-total-count"] == "4"
    assert [e["kind"] for e in r.json()][0] == "status"  # newest first
    teams = app.http.get("/audit", params={**k["admin"], "kind": "team"}).json()
    assert [(e["team_id"], e["role"]) for e in teams] == [(4, "dispatcher")]
    page = app.http.get("/audit", params={**k["admin"], "page_size": 2})
    assert len(page.json()) == 2 and int(page.headers["x-total-count"]) >= 5


def test_audit_and_keys_are_for_admins_only(inproc):
    for role in ("intake", "dispatcher"):
        p = {"api_key": inproc.keys[role]}
        assert_error(inproc.http.get("/audit", params=p), 403, "admin")
        assert_error(inproc.http.get("/keys", params=p), 403, "admin")
        assert_error(inproc.http.post("/keys", params=p, json={"role": "admin"}), 403)
        assert_error(inproc.http.delete(f"/keys/{key_id(inproc.keys['intake'])}",
                                        params=p), 403)
    assert_error(inproc.http.get("/audit"), 403, "missing")


def test_admins_create_list_and_revoke_keys(inproc):
    admin = {"api_key": inproc.keys["admin"]}
    r = inproc.http.post("/keys", params=admin, json={"role": "intake", "name": "kiosk 3"})
    assert r.status_code == 201, r.text
    made = r.json()
    key = made["key"]
    assert made["role"] == "intake" and made["name"] == "kiosk 3" and key.startswith("ug_")
    assert made["key_id"] == key_id(key) and made["revoked_datetime"] is None
    form = {"service_code": "exposed_garbage", "lat": INSIDE[0], "long": INSIDE[1]}
    assert inproc.http.post("/requests.json", data={**form, "api_key": key}).status_code == 201
    listed = inproc.http.get("/keys", params=admin).json()
    assert made["key_id"] in [x["key_id"] for x in listed]
    assert all("key" not in x or x["key"] is None for x in listed)  # never a secret
    assert key.split("_", 2)[2] not in inproc.http.get("/keys", params=admin).text
    gone = inproc.http.delete(f"/keys/{made['key_id']}", params=admin)
    assert gone.status_code == 200 and gone.json()["revoked_datetime"]
    assert_error(inproc.http.post("/requests.json", data={**form, "api_key": key}), 403,
                 "revoked")
    assert_error(inproc.http.delete(f"/keys/{made['key_id']}", params=admin), 404)
    assert_error(inproc.http.post("/keys", params=admin, json={"role": "root"}), 400, "role")
    kinds = [(e["kind"], e["note"]) for e in inproc.http.get(
        "/audit", params={**admin, "key_id": key_id(inproc.keys["admin"])}).json()]
    assert ("key_revoke", made["key_id"]) in kinds
    assert ("key_create", f"{made['key_id']} intake") in kinds
