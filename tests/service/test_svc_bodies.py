"""Request bodies: one size limit for every body (413), the content types each endpoint
takes (415), and the key checked before a body is read or parsed (issue 19, defect 4)."""

from __future__ import annotations

import pytest

from tests.service.svc_helpers import INSIDE, SHIFT, assert_error

TEAM = {"lat": INSIDE[0], "lon": INSIDE[1], "skills": ["sanitation"], **SHIFT}
JSON_CALLS = [("put", "/teams/1"), ("post", "/teams/1/actions"), ("post", "/dispatch"),
              ("post", "/requests/1/status")]


def send(app, method, path, **kw):
    return getattr(app.http, method)(path, **kw)


@pytest.mark.parametrize(("method", "path"), [*JSON_CALLS, ("post", "/requests.json"),
                                              ("post", "/dispatch/run")])
def test_a_body_past_the_limit_is_413_before_anything_else(inproc, method, path):
    limit = 8 * 1024 * 1024 if path == "/dispatch" else 64 * 1024
    big = b"{" + b" " * limit + b"}"
    for params in ({}, {"api_key": inproc.keys["dispatcher"]}):  # anonymous or not
        r = send(inproc, method, path, content=big, params=params,
                 headers={"content-type": "application/json"})
        assert_error(r, 413, "larger than", str(limit))


@pytest.mark.parametrize(("method", "path"), [("put", "/teams/1"), ("post", "/requests.json")])
def test_a_streamed_body_is_cut_off_at_the_limit(inproc, method, path):
    chunks = iter([b" " * 40_000] * 3)  # no Content-Length: counted while it streams
    r = send(inproc, method, path, content=chunks, params={"api_key": inproc.keys["admin"]},
             headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert_error(r, 413, "larger than")


@pytest.mark.parametrize(("method", "path"), JSON_CALLS)
def test_the_key_is_checked_before_the_body_is_parsed(inproc, method, path):
    # an anonymous or under-privileged caller learns nothing about the body: 403, not 400
    for params in ({}, {"api_key": inproc.keys["intake"]}):
        r = send(inproc, method, path, content=b'{"not": valid json', params=params,
                 headers={"content-type": "application/json"})
        assert_error(r, 403, "api_key")


@pytest.mark.parametrize(("method", "path"), JSON_CALLS)
def test_json_endpoints_take_json_only(inproc, method, path):
    k = {"api_key": inproc.keys["dispatcher"]}
    for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": ctype} if ctype else {}
        r = send(inproc, method, path, content=b"{}", params=k, headers=headers)
        assert_error(r, 415, "Content-Type", "application/json")


def test_intake_takes_forms_and_json_only(inproc):
    r = inproc.http.post("/requests.json", content=b"<xml/>", headers={"content-type":
                                                                      "text/xml"},
                         params={"api_key": inproc.keys["intake"]})
    assert_error(r, 415, "application/x-www-form-urlencoded", "application/json")
    ok = inproc.http.put("/teams/1", params={"api_key": inproc.keys["dispatcher"]}, json=TEAM,
                         headers={"content-type": "application/json; charset=utf-8"})
    assert ok.status_code in (200, 201), ok.text
