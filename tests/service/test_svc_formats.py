"""Open311's formats and HTTP habits: XML for every Open311 call (errors included),
discovery, tokens, HEAD and CORS with configured origins (issue 19, standard)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.service.conftest import InProcess
from tests.service.svc_helpers import INSIDE


def xml(r, status=200) -> ET.Element:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert r.content.startswith(b"<?xml")
    return ET.fromstring(r.content)


def fields(element: ET.Element) -> dict:
    return {child.tag: child.text for child in element}


def test_services_list_and_definition_in_xml(inproc):
    as_json = inproc.http.get("/services.json").json()
    root = xml(inproc.http.get("/services.xml"))
    assert root.tag == "services"
    services = [fields(s) for s in root.findall("service")]
    assert [s["service_code"] for s in services] == [s["service_code"] for s in as_json]
    assert services[0]["metadata"] == "false" and services[0]["type"] == "realtime"
    assert services[0]["group"] == as_json[0]["group"]
    code = as_json[0]["service_code"]
    d = xml(inproc.http.get(f"/services/{code}.xml"))
    assert d.tag == "service_definition" and d.findtext("service_code") == code
    assert d.find("attributes") is not None


def test_post_and_get_requests_in_xml(inproc):
    r = inproc.http.post("/requests.xml", data={
        "api_key": inproc.keys["intake"], "service_code": "exposed_garbage",
        "lat": INSIDE[0], "long": INSIDE[1], "description": "垃圾 <&> \x01"})
    root = xml(r, 201)
    assert root.tag == "service_requests"
    rid = root.find("request").findtext("service_request_id")
    assert rid and rid.isdigit()
    one = xml(inproc.http.get(f"/requests/{rid}.xml"))
    (req,) = one.findall("request")
    got = fields(req)
    assert got["service_request_id"] == rid and got["status"] == "open"
    assert got["description"] == "垃圾 <&> \ufffd"  # escaped; a control char XML cannot hold
    assert float(got["lat"]) == INSIDE[0] and got["expected_datetime"] is None
    many = xml(inproc.http.get("/requests.xml", params={"service_request_id": rid}))
    assert [q.findtext("service_request_id") for q in many.findall("request")] == [rid]


@pytest.mark.parametrize(("method", "path", "kw", "status"), [
    ("get", "/requests/999999.xml", {}, 404),
    ("get", "/services/nope.xml", {}, 404),
    ("get", "/requests.xml", {"params": {"status": "pending"}}, 400),
    ("get", "/services.xml", {"params": {"jurisdiction_id": "elsewhere"}}, 400),
    ("post", "/requests.xml", {"data": {"service_code": "exposed_garbage"}}, 403),
    ("post", "/requests.xml", {"content": b"x" * 70_000,
                               "headers": {"content-type": "application/json"}}, 413),
    ("get", "/tokens/abc.xml", {}, 404),
])
def test_errors_are_xml_for_xml_calls(inproc, method, path, kw, status):
    root = xml(getattr(inproc.http, method)(path, **kw), status)
    assert root.tag == "errors"
    (err,) = root.findall("error")
    assert err.findtext("code") == str(status) and err.findtext("description")


def test_discovery_in_both_formats(inproc):
    d = inproc.http.get("/discovery.json").json()
    (ep,) = d["endpoints"]
    assert ep["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(ep["formats"]) == {"text/xml", "application/json"}
    assert ep["url"].startswith("http")
    root = xml(inproc.http.get("/discovery.xml"))
    assert [f.text for f in root.find("endpoints").find("endpoint").find("formats")] == \
        ep["formats"]


def test_tokens_are_never_issued(inproc):
    r = inproc.http.get("/tokens/abc.json")
    assert r.status_code == 404 and "realtime" in r.json()[0]["description"]


@pytest.mark.parametrize("path", ["/services.json", "/services.xml", "/requests.json",
                                  "/health"])
def test_head_answers_like_get_without_a_body(inproc, path):
    get, head = inproc.http.get(path), inproc.http.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert int(head.headers["content-length"]) == len(get.content)


def test_cors_only_for_configured_origins(tmp_path, inproc):
    pre = {"Access-Control-Request-Method": "GET"}
    r = inproc.http.options("/services.json", headers={"Origin": "https://a.example", **pre})
    assert "access-control-allow-origin" not in r.headers  # default: no origin
    app = InProcess(f"sqlite:///{tmp_path / 'cors.db'}", cors_origins=("https://a.example",))
    try:
        r = app.http.options("/services.json", headers={"Origin": "https://a.example", **pre})
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://a.example"
        r = app.http.get("/services.json", headers={"Origin": "https://b.example"})
        assert "access-control-allow-origin" not in r.headers
    finally:
        app.close()


def test_the_document_has_the_xml_twins(inproc):
    paths = inproc.http.get("/openapi.json").json()["paths"]
    for p in ("/services.xml", "/services/{service_code}.xml", "/requests.xml",
              "/requests/{service_request_id}.xml", "/tokens/{token}.xml", "/discovery.xml"):
        assert p in paths, p
    assert "text/xml" in paths["/services.xml"]["get"]["responses"]["200"]["content"]
