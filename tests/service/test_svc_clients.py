"""Two real Open311 client libraries from PyPI against a live server process: georeport
0.3.1 (JSON and XML) and open311 1.1 (XML, the old one). Every call they make is driven;
a call that fails only because of a bug in the client is recorded as such below (and in
service/README.md), with the same call made correctly to show the server answers it.

Client bugs found:
- open311 1.1 does not import on Python 3: Python 2 implicit relative imports (``from api
  import API`` inside a package that is itself called ``api``). The test loads its
  modules by file (:func:`load_open311`), the code itself unchanged.
- open311 1.1's XML parser (its bundled xml2dict) calls ``Element.getchildren()``, gone
  since Python 3.9: every XML answer fails to parse (AttributeError). The client's
  documented extension point, overriding ``_xml_to_dict`` "to use their favorite XML
  parser", is used with xmltodict (:func:`open311_client`).
- open311 1.1 ``service_definition`` asks for ``/service/{code}`` (singular) where the
  specification says ``/services/{code}``: the server answers 404.
- open311 1.1 ``post_service_request`` hands ``urlopen`` a ``str`` body (Python 2); Python
  3 wants bytes: TypeError before anything is sent.
- georeport 0.3.1 with XML returns a dict instead of a list for a one-request answer and
  fails (TypeError) on an empty one: xmltodict reads ``<service_requests/>`` as ``None``.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

from tests.service.svc_helpers import INSIDE

georeport = pytest.importorskip("georeport", reason="georeport (dev extra) is not installed")
pytest.importorskip("xmltodict", reason="xmltodict (georeport's) is not installed")


def _load(name: str, path: Path, package: bool = False):
    spec = importlib.util.spec_from_file_location(
        name, path, submodule_search_locations=[str(path.parent)] if package else None)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def open311_client():
    """The open311 1.1 ``Open311`` class, its files loaded as the Python 2 imports
    expect (``object_dict``, ``xml2dict`` and ``api`` as top-level modules)."""
    spec = importlib.util.find_spec("open311")
    if spec is None or spec.submodule_search_locations is None:
        pytest.skip("open311 (dev extra) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    with pytest.raises(ImportError):  # the client bug: it does not import on Python 3
        import open311  # noqa: F401
    saved = {k: sys.modules.get(k) for k in ("object_dict", "xml2dict", "xml2dict.xml2dict",
                                             "api", "api.api", "open311_client")}
    try:
        _load("object_dict", root / "api" / "xml2dict" / "object_dict.py")
        _load("xml2dict", root / "api" / "xml2dict" / "__init__.py", package=True)
        api_api = _load("api.api", root / "api" / "api.py")
        api = types.ModuleType("api")
        api.__path__ = []
        api.API, api.urlopen, api.urlencode = api_api.API, api_api.urlopen, api_api.urlencode
        api.api = api_api
        sys.modules["api"] = api
        Open311 = _load("open311_client", root / "open311.py").Open311
        with pytest.raises(AttributeError, match="getchildren"):  # the parser's bug
            Open311()._xml_to_dict(b"<services><service/></services>")

        class Open311WithParser(Open311):
            def _xml_to_dict(self, xml):
                import xmltodict

                return xmltodict.parse(xml)

        yield Open311WithParser
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v


def new_request(live, description: str) -> str:
    r = live.http.post("/requests.json", data={
        "api_key": live.keys["intake"], "service_code": "exposed_garbage",
        "lat": INSIDE[0], "long": INSIDE[1], "description": description})
    assert r.status_code == 201, r.text
    return r.json()[0]["service_request_id"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_calls(live, fmt):
    g = georeport.GeoReport(live.url, jurisdiction="jingan", output_format=fmt)
    services = g.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "exposed_garbage" in codes and len(codes) == len(
        live.http.get("/services.json").json())
    definition = g.get_service_definition("exposed_garbage")
    assert definition["service_code"] == "exposed_garbage"
    rid = new_request(live, f"georeport {fmt}")
    one = g.get_service_request(rid)
    assert one["service_request_id"] == rid and one["status"] == "open"
    assert one["description"] == f"georeport {fmt}"
    many = g.get_service_requests(service_request_id=rid)
    if fmt == "xml":  # client quirk: one request comes back as a dict, not a list
        assert isinstance(many, dict) and many["service_request_id"] == rid
    else:
        assert [m["service_request_id"] for m in many] == [rid]
    listed = g.get_service_requests(service_code="exposed_garbage", status="open")
    assert rid in [m["service_request_id"] for m in listed]


def test_georeport_xml_empty_answer_is_a_client_bug(live):
    g = georeport.GeoReport(live.url, jurisdiction="jingan", output_format="xml")
    with pytest.raises(TypeError):  # xmltodict: <service_requests/> is None
        g.get_service_requests(service_request_id="2000000000")
    r = live.http.get("/requests.xml", params={"service_request_id": "2000000000"})
    assert r.status_code == 200 and b"<service_requests />" in r.content


def test_open311_calls(live, open311_client):
    key = live.keys["intake"]
    client = open311_client(endpoint=live.url, api_key=key, format="xml")
    services = client.service_list()
    assert "exposed_garbage" in [s["service_code"] for s in services]
    rid = new_request(live, "open311 1.1")
    got = client.get_service_request(rid)["service_requests"]["request"]
    assert got["service_request_id"] == rid and got["status"] == "open"
    listed = client.service_requests(service_code="exposed_garbage")
    assert rid in [r["service_request_id"] for r in listed]
    # tokens: every service is realtime, so the server answers 404 (an HTTPError)
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:
        client.request_id_from_token("abc")
    assert err.value.code == 404


def test_open311_client_bugs(live, open311_client):
    client = open311_client(endpoint=live.url, api_key=live.keys["intake"], format="xml")
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as err:  # bug: /service/ (singular)
        client.service_definition("exposed_garbage")
    assert err.value.code == 404
    assert live.http.get("/services/exposed_garbage.xml").status_code == 200
    with pytest.raises(TypeError, match="bytes"):  # bug: a str body for urlopen
        client.post_service_request(service_code="exposed_garbage", lat=INSIDE[0],
                                    long=INSIDE[1])
    # the same call as the client means it (form body, key and jurisdiction in the query)
    from urllib.parse import urlencode
    from urllib.request import urlopen

    url = f"{live.url}/requests.xml?" + urlencode({"jurisdiction_id": "",
                                                   "api_key": live.keys["intake"]})
    body = urlencode({"service_code": "exposed_garbage", "lat": INSIDE[0],
                      "long": INSIDE[1]}).encode()
    answer = client._format_data("xml", urlopen(url, body).read())
    assert answer["service_requests"]["request"]["service_request_id"].isdigit()
