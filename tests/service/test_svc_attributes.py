"""Service definitions with attributes (issue 19): the extra fields a request type needs
(a parking case's plate, a noise case's time band) are listed in its definition and
checked on intake, in forms (attribute[code]) and JSON."""

from __future__ import annotations

import pytest

from tests.service.svc_helpers import INSIDE, assert_error

FORM = {"lat": INSIDE[0], "long": INSIDE[1]}


def post(app, code, extra=None, json=False):
    data = {**FORM, "service_code": code, "api_key": app.keys["intake"], **(extra or {})}
    if json:
        return app.http.post("/requests.json", json=data)
    return app.http.post("/requests.json", data=data)


def stored(app, r):
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    return app.http.get(f"/requests/{rid}.json",
                        params={"api_key": app.keys["dispatcher"]}).json()[0]


def test_definitions_list_the_attributes(inproc):
    d = inproc.http.get("/services/noise_nuisance.json").json()
    (a,) = d["attributes"]
    assert (a["code"], a["datatype"], a["required"], a["variable"]) == (
        "time_band", "singlevaluelist", True, True)
    assert [v["key"] for v in a["values"]] == ["day", "night"]
    assert inproc.http.get("/services/exposed_garbage.json").json()["attributes"] == []
    listed = {s["service_code"]: s["metadata"] for s in inproc.http.get("/services.json").json()}
    assert listed["noise_nuisance"] is True and listed["exposed_garbage"] is False


def test_attributes_are_checked_and_stored(inproc):
    g = stored(inproc, post(inproc, "illegal_car_parking", {"attribute[plate]": "沪A12345"}))
    assert g["attributes"] == {"plate": "沪A12345"}
    g = stored(inproc, post(inproc, "noise_nuisance", {"attribute": {"time_band": "night"}},
                            json=True))
    assert g["attributes"] == {"time_band": "night"}
    g = stored(inproc, post(inproc, "road_damage", {"attribute[kind][]": ["pothole", "crack"]}))
    assert g["attributes"] == {"kind": ["pothole", "crack"]}
    g = stored(inproc, post(inproc, "road_flooding", {"attribute[depth_cm]": "12.5"}))
    assert g["attributes"] == {"depth_cm": 12.5}
    assert stored(inproc, post(inproc, "road_flooding"))["attributes"] == {}  # optional
    public = inproc.http.get(f"/requests/{g['service_request_id']}.json").json()[0]
    assert "attributes" not in public  # like personal fields: a plate identifies


@pytest.mark.parametrize(("code", "extra", "words"), [
    ("illegal_car_parking", {}, ("attribute[plate]", "required")),
    ("illegal_car_parking", {"attribute[plate]": "ABC"}, ("attribute[plate]", "ABC")),
    ("noise_nuisance", {"attribute[time_band]": "dusk"}, ("time_band", "dusk", "night")),
    ("road_damage", {"attribute[kind][]": ["pothole", "sinkhole"]}, ("kind", "sinkhole")),
    ("road_flooding", {"attribute[depth_cm]": "deep"}, ("depth_cm", "number")),
    ("road_flooding", {"attribute[depth_cm]": "inf"}, ("depth_cm", "finite")),
    ("exposed_garbage", {"attribute[plate]": "沪A12345"}, ("attribute[plate]", "not an")),
])
def test_bad_attributes_are_400_naming_them(inproc, code, extra, words):
    assert_error(post(inproc, code, extra), 400, *words)
