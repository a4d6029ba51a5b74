"""Media stored with a request (issue 19): an image uploaded as the multipart ``media``
field is stored (FileMediaStore) and served at the request's ``media_url``."""

from __future__ import annotations

import pytest

from tests.service.conftest import InProcess
from tests.service.svc_helpers import INSIDE, assert_error

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 40  # 10 KB
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("media")
    r = InProcess(f"sqlite:///{tmp / 'svc.db'}", media_dir=str(tmp / "media"))
    yield r
    r.close()


def post(app, files, **fields):
    data = {"service_code": "exposed_garbage", "lat": INSIDE[0], "long": INSIDE[1],
            "api_key": app.keys["intake"], **fields}
    return app.http.post("/requests.json", data=data, files=files)


def test_an_uploaded_image_is_stored_and_served(app):
    r = post(app, {"media": ("pothole.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 201, r.text
    rid = r.json()[0]["service_request_id"]
    url = app.http.get(f"/requests/{rid}.json").json()[0]["media_url"]
    assert url.startswith("http://testserver/media/") and url.endswith(".jpg")
    got = app.http.get(url.removeprefix("http://testserver"))
    assert got.status_code == 200 and got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    # the same image again is stored once, under the same address
    again = post(app, {"media": ("again.jpg", JPEG, "image/jpeg")}).json()[0]
    url2 = app.http.get(f"/requests/{again['service_request_id']}.json").json()[0]["media_url"]
    assert url2 == url


def test_a_large_image_fits_the_intake_limit_with_media(app):
    big = PNG + b"\x00" * 500_000  # past the 64 KiB of a plain form
    r = post(app, {"media": ("big.png", big, "image/png")})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(("files", "fields", "status", "words"), [
    ({"media": ("a.txt", b"hello", "image/jpeg")}, {}, 400, ("media", "JPEG")),
    ({"photo": ("a.jpg", JPEG, "image/jpeg")}, {}, 400, ("photo", "'media'")),
    ({"media": ("a.jpg", JPEG, "image/jpeg")}, {"media_url": "https://x.example/a.jpg"}, 400,
     ("media", "not both")),
])
def test_bad_uploads_are_refused_naming_the_field(app, files, fields, status, words):
    assert_error(post(app, files, **fields), status, *words)


def test_unknown_media_are_404(app):
    assert_error(app.http.get("/media/" + "0" * 64 + ".jpg"), 404)
    assert_error(app.http.get("/media/..%2Fsvc.db"), 404)
