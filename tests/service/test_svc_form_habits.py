"""Open311 form habits a client library has (issue 19, defect 5): empty optional fields,
a location by address only, a multipart file, invalid UTF-8, W3C dates without a time."""

from __future__ import annotations

import datetime as dt

from tests.service.svc_helpers import INSIDE, assert_error

FORM = {"service_code": "exposed_garbage", "lat": str(INSIDE[0]), "long": str(INSIDE[1])}


def post(app, fields=None, **kw):
    data = {**FORM, "api_key": app.keys["intake"], **(fields or {})}
    data = {k: v for k, v in data.items() if v is not None}
    return app.http.post("/requests.json", data=data, **kw)


def got(app, rid, key="dispatcher"):
    return app.http.get(f"/requests/{rid}.json", params={"api_key": app.keys[key]}).json()[0]


def test_empty_optional_fields_are_absent(inproc):
    r = post(inproc, {"email": "", "media_url": "", "phone": "", "first_name": " ",
                      "address_id": "", "device_id": ""})
    assert r.status_code == 201, r.text
    g = got(inproc, r.json()[0]["service_request_id"])
    assert g["email"] is None and g["media_url"] is None and g["first_name"] is None
    assert_error(post(inproc, {"service_code": ""}), 400, "service_code")  # required stays


def test_a_location_by_address_string_alone_waits_for_a_point(inproc):
    r = post(inproc, {"lat": None, "long": None, "address_string": "1 Yan'an Rd"})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    g = got(inproc, rid)
    assert (g["lat"], g["long"], g["address"]) == (None, None, "1 Yan'an Rd")
    k = {"api_key": inproc.keys["dispatcher"]}
    team = {"name": "t", "lat": INSIDE[0], "lon": INSIDE[1], "skills": ["sanitation"],
            "capacity": 50, "shift_start": "2020-01-01T00:00:00Z",
            "shift_end": "2099-01-01T00:00:00Z"}
    assert inproc.http.put("/teams/9", params=k, json=team).status_code in (200, 201)
    inproc.http.post("/dispatch/run", params=k)  # a qualified team is free: still waits
    events = inproc.http.get(f"/requests/{rid}/events.json", params=k).json()
    assert [e["kind"] for e in events] == ["received"]
    # a dispatcher places it: from then on it is a request like any other
    assert_error(inproc.http.post(f"/requests/{rid}/status", params=k,
                                  json={"lat": INSIDE[0]}), 400, "lat/long")
    assert_error(inproc.http.post(f"/requests/{rid}/status", params=k,
                                  json={"lat": 30.5, "long": INSIDE[1]}), 400, "outside")
    r = inproc.http.post(f"/requests/{rid}/status", params=k,
                         json={"lat": INSIDE[0], "long": INSIDE[1]})
    assert r.status_code == 200, r.text
    assert (got(inproc, rid)["lat"], got(inproc, rid)["long"]) == INSIDE
    inproc.http.post("/dispatch/run", params=k)
    events = inproc.http.get(f"/requests/{rid}/events.json", params=k).json()
    assert "dispatched" in [e["kind"] for e in events]


def test_a_location_by_address_id_is_a_cell_of_the_district(inproc):
    from urbangrid.grid import District

    cells = District.jingan().cells
    h3 = str(cells["h3"].iloc[5])
    r = post(inproc, {"lat": None, "long": None, "address_id": h3})
    assert r.status_code == 201, r.text
    g = got(inproc, r.json()[0]["service_request_id"])
    assert g["address_id"] == h3
    assert (g["lat"], g["long"]) == (float(cells["lat"].iloc[5]), float(cells["lon"].iloc[5]))
    assert_error(post(inproc, {"lat": None, "long": None, "address_id": "nowhere"}), 400,
                 "address_id", "nowhere")
    assert_error(post(inproc, {"lat": None, "long": None}), 400, "location")
    assert_error(post(inproc, {"long": None}), 400, "lat/long")


def test_a_multipart_file_is_refused_not_dropped(inproc):
    r = post(inproc, files={"media": ("pothole.jpg", b"\xff\xd8JPEG", "image/jpeg")})
    assert_error(r, 400, "media", "media_url")
    # the same form without the file is accepted (multipart fields are read)
    r = post(inproc, {"description": "多部分"}, files={})
    assert r.status_code == 201


def test_multipart_fields_are_read(inproc):
    parts = {k: (None, v) for k, v in {**FORM, "api_key": inproc.keys["intake"],
                                        "description": "多部分 form"}.items()}
    r = inproc.http.post("/requests.json", files=parts)
    assert r.request.headers["content-type"].startswith("multipart/form-data")
    assert r.status_code == 201, r.text
    assert got(inproc, r.json()[0]["service_request_id"])["description"] == "多部分 form"


def test_invalid_utf8_is_refused_not_stored_as_latin1(inproc):
    key = inproc.keys["intake"]
    body = (f"service_code=exposed_garbage&lat={INSIDE[0]}&long={INSIDE[1]}&api_key={key}"
            "&description=caf%E9").encode()
    r = inproc.http.post("/requests.json", content=body,
                         headers={"content-type": "application/x-www-form-urlencoded"})
    assert_error(r, 400, "description", "UTF-8")
    ok = inproc.http.post("/requests.json", content=body.replace(b"%E9", b"%C3%A9"),
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert ok.status_code == 201 and got(inproc, ok.json()[0]["service_request_id"])[
        "description"] == "café"
    boundary = "XYZ"
    mp = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n"
          ).encode() + b"caf\xe9\r\n" + f"--{boundary}--\r\n".encode()
    r = inproc.http.post("/requests.json", content=mp, params={"api_key": key},
                         headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert_error(r, 400, "description", "UTF-8")
    twice = body.replace(b"%E9", b"") + b"&lat=31.2"
    assert_error(inproc.http.post("/requests.json", content=twice, headers={
        "content-type": "application/x-www-form-urlencoded"}), 400, "lat", "more than once")


def test_w3c_dates_without_a_time_are_days_in_china_time(inproc):
    rid = post(inproc).json()[0]["service_request_id"]
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    r = inproc.http.get("/requests.json", params={"start_date": today.isoformat(),
                                                  "end_date": today.isoformat()})
    assert r.status_code == 200, r.text
    assert rid in [g["service_request_id"] for g in r.json()]
    before = (today - dt.timedelta(days=1)).isoformat()
    r = inproc.http.get("/requests.json", params={"start_date": before, "end_date": before})
    assert rid not in [g["service_request_id"] for g in r.json()]
    assert inproc.http.get("/requests.json", params={"start_date": "2026-12"}).status_code == 200
    assert_error(inproc.http.get("/requests.json", params={"start_date": "2026-13-01"}), 400,
                 "start_date")
    assert_error(inproc.http.get("/requests.json", params={"start_date": "2026-12-01T08:00"}),
                 400, "start_date", "timezone")


def test_the_console_state_lists_a_request_without_a_point(inproc):
    r = post(inproc, {"lat": None, "long": None, "address_string": "by address only"})
    rid = r.json()[0]["service_request_id"]
    state = inproc.http.get("/console/state", headers={"X-API-Key": inproc.keys["dispatcher"]})
    assert state.status_code == 200, state.text
    mine = next(x for x in state.json()["requests"] if x["service_request_id"] == rid)
    assert (mine["lat"], mine["long"], mine["subdistrict"]) == (None, None, "")
