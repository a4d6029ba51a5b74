"""Open311 GeoReport v2 against a real server process: services, requests, errors."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.service.svc_helpers import INSIDE, assert_error


def post(live, key="intake", *, json=False, headers=None, **fields):
    data = {"service_code": "exposed_garbage", "lat": str(INSIDE[0]), "long": str(INSIDE[1])}
    data.update(fields)
    if key:
        data["api_key"] = live.keys[key]
    if json:
        return live.http.post("/requests.json", json=data, headers=headers)
    return live.http.post("/requests.json", data=data, headers=headers)


def test_service_list_is_the_catalogue_grouped(live):
    from urbangrid.catalogue import load_catalogue

    rows = [{"code": code} for code in load_catalogue().code]
    r = live.http.get("/services.json")
    assert r.status_code == 200
    services = r.json()
    assert [s["service_code"] for s in services] == [row["code"] for row in rows]
    assert {s["group"] for s in services} == {"components 部件", "events 事件"}
    for s in services:
        assert s["type"] == "realtime" and s["service_name"]
        # metadata: the services with extra fields (service/attributes.toml)
        assert s["metadata"] is (s["service_code"] in (
            "illegal_car_parking", "noise_nuisance", "road_damage", "road_flooding"))
    d = live.http.get(f"/services/{rows[0]['code']}.json")
    assert d.status_code == 200 and d.json()["service_code"] == rows[0]["code"]
    assert_error(live.http.get("/services/no_such_thing.json"), 404, "no_such_thing")


def test_post_form_then_get_it_back(live):
    r = post(live, description="垃圾 on the pavement", address_string="Nanjing W Rd")
    assert r.status_code == 201, r.text
    (created,) = r.json()
    rid = created["service_request_id"]
    assert rid and "token" not in created
    (got,) = live.http.get(f"/requests/{rid}.json").json()
    assert got["service_request_id"] == rid
    assert got["status"] == "open"
    assert got["service_code"] == "exposed_garbage"
    assert got["description"] == "垃圾 on the pavement"
    assert got["address"] == "Nanjing W Rd"
    assert (got["lat"], got["long"]) == INSIDE
    for f in ("requested_datetime", "updated_datetime"):
        assert dt.datetime.fromisoformat(got[f]).tzinfo is not None  # Open311: with a zone


def test_post_json_is_accepted_too(live):
    r = post(live, json=True, lat=INSIDE[0], long=INSIDE[1])
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    assert live.http.get(f"/requests/{rid}.json").status_code == 200


def test_missing_invalid_and_revoked_keys_are_403(live):
    assert_error(post(live, key=None), 403, "api_key")
    bad = {"service_code": "exposed_garbage", "lat": "31.25", "long": "121.45",
           "api_key": "ug_000000000000_" + "x" * 43}
    assert_error(live.http.post("/requests.json", data=bad), 403, "api_key")
    bad["api_key"] = live.keys["intake"][:-1] + ("A" if live.keys["intake"][-1] != "A" else "B")
    assert_error(live.http.post("/requests.json", data=bad), 403, "invalid")


def test_wrong_role_is_403(live):
    team = {"lat": INSIDE[0], "lon": INSIDE[1], "skills": ["sanitation"],
            "shift_start": "2020-01-01T00:00:00Z", "shift_end": "2099-01-01T00:00:00Z"}
    r = live.http.put("/teams/1", json=team, params={"api_key": live.keys["intake"]})
    assert_error(r, 403, "intake")
    assert_error(live.http.get("/assignments", headers={"X-API-Key": live.keys["intake"]}),
                 403, "role")
    assert_error(live.http.get("/assignments"), 403, "missing")


@pytest.mark.parametrize(("fields", "status", "named"), [
    ({"lat": "30.5"}, 400, "outside the district"),
    ({"lat": "abc"}, 400, "lat"),
    ({"lat": "nan"}, 400, "lat"),
    ({"long": ""}, 400, "long"),
    ({"service_code": ""}, 400, "service_code"),
    ({"service_code": "no_such"}, 400, "service_code"),
    ({"description": "x" * 4001}, 400, "description"),
    ({"email": "not-an-email"}, 400, "email"),
    ({"phone": "call me<script>"}, 400, "phone"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"jurisdiction_id": "elsewhere"}, 400, "jurisdiction_id"),
])
def test_bad_fields_are_400_naming_the_field(live, fields, status, named):
    assert_error(post(live, **fields), status, named)


def test_missing_location_and_oversized_body(live):
    r = live.http.post("/requests.json", data={"api_key": live.keys["intake"],
                                               "service_code": "exposed_garbage"})
    assert_error(r, 400, "lat")
    r = post(live, description="x" * 70_000)
    assert_error(r, 413, "larger than")
    # chunked, no Content-Length: cut off while streaming
    r = live.http.post("/requests.json", content=iter([b"description=" + b"x" * 40_000] * 3),
                       headers={"content-type": "application/x-www-form-urlencoded"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "larger than")
    r = live.http.post("/requests.json", content=b"<xml/>",
                       headers={"content-type": "text/xml"})
    assert_error(r, 415, "form-urlencoded")


def test_idempotency_key_returns_the_same_request(live):
    h = {"Idempotency-Key": "retry-me-1"}
    first = post(live, headers=h, description="once")
    again = post(live, headers=h, description="once")
    assert first.status_code == 201 and again.status_code == 200
    rid = first.json()[0]["service_request_id"]
    assert again.json()[0]["service_request_id"] == rid
    got = live.http.get("/requests.json", params={"service_code": "exposed_garbage"}).json()
    assert sum(g["description"] == "once" for g in got) == 1
    # the same key with other fields is a client bug: refused, nothing stored
    assert_error(post(live, headers=h, description="twice"), 409, "idempotency_key")
    # keys are per caller: the same key from another key holder is a new request
    other = post(live, key="dispatcher", headers=h, description="once")
    assert other.status_code == 201 and other.json()[0]["service_request_id"] != rid
    # form field works like the header
    a = post(live, idempotency_key="form-key-1")
    b = post(live, idempotency_key="form-key-1")
    assert a.json() == b.json() and b.status_code == 200


def test_personal_fields_need_a_role(live):
    r = post(live, first_name="Wei", last_name="Zhang", email="wz@example.cn",
             phone="+86 21 1234 5678", description="personal")
    rid = r.json()[0]["service_request_id"]
    personal = ("first_name", "last_name", "email", "phone", "device_id")
    (public,) = live.http.get(f"/requests/{rid}.json").json()
    assert not any(k in public for k in personal)
    (intake,) = live.http.get(f"/requests/{rid}.json",
                              params={"api_key": live.keys["intake"]}).json()
    assert not any(k in intake for k in personal)
    (disp,) = live.http.get(f"/requests/{rid}.json",
                            params={"api_key": live.keys["dispatcher"]}).json()
    assert (disp["first_name"], disp["email"], disp["phone"]) == (
        "Wei", "wz@example.cn", "+86 21 1234 5678")
    listed = live.http.get("/requests.json", params={"service_request_id": rid}).json()
    assert listed[0]["service_request_id"] == rid and "email" not in listed[0]
    assert_error(live.http.get(f"/requests/{rid}.json", params={"api_key": "ug_x_y"}), 403)


def test_query_filters_and_paging(live):
    plate = {"attribute[plate]": "沪A12345"}  # the parking case's required attribute
    ids = [post(live, service_code=c, description="filter",
                **(plate if c == "illegal_car_parking" else {})).json()[0][
        "service_request_id"] for c in ("exposed_garbage", "exposed_garbage",
                                        "illegal_car_parking")]
    got = live.http.get("/requests.json", params={"service_code": "illegal_car_parking"}).json()
    assert ids[2] in [g["service_request_id"] for g in got]
    assert all(g["service_code"] == "illegal_car_parking" for g in got)
    both = live.http.get("/requests.json",
                         params={"service_code": "exposed_garbage,illegal_car_parking"}).json()
    assert set(ids) <= {g["service_request_id"] for g in both}
    # service_request_id overrides every other filter
    r = live.http.get("/requests.json", params={"service_request_id": ",".join(ids[:2]),
                                                "service_code": "illegal_car_parking"}).json()
    assert [g["service_request_id"] for g in r] == ids[:2]
    # status
    assert all(g["status"] == "open"
               for g in live.http.get("/requests.json", params={"status": "open"}).json())
    assert_error(live.http.get("/requests.json", params={"status": "pending"}), 400, "status")
    # paging: pages are disjoint and in order
    everything = [g["service_request_id"] for g in live.http.get("/requests.json").json()]
    p1 = live.http.get("/requests.json", params={"page_size": 2, "page": 1}).json()
    p2 = live.http.get("/requests.json", params={"page_size": 2, "page": 2}).json()
    assert [g["service_request_id"] for g in p1 + p2] == everything[:4]
    assert_error(live.http.get("/requests.json", params={"page_size": 1001}), 400, "page_size")


def test_date_range_rules(live):
    now = dt.datetime.now(dt.UTC)
    rid = post(live).json()[0]["service_request_id"]
    fmt = lambda t: t.isoformat()  # noqa: E731
    ok = live.http.get("/requests.json", params={
        "start_date": fmt(now - dt.timedelta(days=1)),
        "end_date": fmt(now + dt.timedelta(days=1))}).json()
    assert rid in [g["service_request_id"] for g in ok]
    past = live.http.get("/requests.json", params={
        "start_date": fmt(now - dt.timedelta(days=30)),
        "end_date": fmt(now - dt.timedelta(days=2))}).json()
    assert rid not in [g["service_request_id"] for g in past]
    assert_error(live.http.get("/requests.json", params={
        "start_date": fmt(now - dt.timedelta(days=91)), "end_date": fmt(now)}), 400, "90 days")
    assert_error(live.http.get("/requests.json", params={"start_date": "2026-01-01T00:00:00"}),
                 400, "start_date", "timezone")
    assert_error(live.http.get("/requests.json", params={"end_date": "yesterday"}), 400,
                 "end_date")


def test_unknown_ids_and_routes_are_open311_404(live):
    assert_error(live.http.get("/requests/999999.json"), 404, "999999")
    assert_error(live.http.get("/requests/abc.json"), 404)
    assert_error(live.http.get("/nowhere"), 404)


def test_openapi_document_describes_the_api(live):
    doc = live.http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for p in ("/services.json", "/services/{service_code}.json", "/requests.json",
              "/requests/{service_request_id}.json", "/dispatch", "/teams/{team_id}",
              "/teams/{team_id}/actions", "/assignments"):
        assert p in paths, p
    body = paths["/requests.json"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/x-www-form-urlencoded", "application/json"}
    assert "RequestIn" in doc["components"]["schemas"]
    for ops in paths.values():
        for op in ops.values():
            assert "422" not in op["responses"] and "400" in op["responses"]
