"""The operations console in a real browser: Playwright driving Debian's Chromium against a
server process (service/console.py). Skipped, with the reason, where either is missing;
`.ci/run` installs Chromium as it installs PostgreSQL."""

from __future__ import annotations

import os
import shutil

import httpx
import pytest

from benchmarks.service_load import start_server
from tests.service.svc_helpers import SHIFT, make_keys

sync_api = pytest.importorskip("playwright.sync_api",
                               reason="playwright (dev extra) is not installed")
CHROMIUM = os.environ.get("URBANGRID_CHROMIUM") or shutil.which("chromium") \
    or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium (apt-get install chromium; .ci/run does)")

TEAMS = {11: ("Sanitation crew Tianmu", 31.26, 121.45, ["sanitation"]),
         12: ("City crew Shimen", 31.235, 121.455, ["city_management"])}
REQUESTS = [("exposed_garbage", 31.25, 121.45, "Overflowing bin at the corner of Tianmu Rd"),
            ("illegal_car_parking", 31.235, 121.455, "Van parked on the pavement <b>again</b>"),
            ("piled_debris", 31.24, 121.445, "Construction debris left by the school gate")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server with no dispatch loop (rounds only when asked: what the console shows is
    what the test did), its keys, two teams and three requests posted through the API."""
    tmp = tmp_path_factory.mktemp("console")
    db = f"sqlite:///{tmp / 'console.db'}"
    keys = make_keys(db)
    srv = start_server(db, tmp / "server.log", extra=["--dispatch-interval", "0"])
    http = httpx.Client(base_url=srv.url, timeout=60)
    for tid, (name, lat, lon, skills) in TEAMS.items():
        r = http.put(f"/teams/{tid}", params={"api_key": keys["dispatcher"]},
                     json={"name": name, "lat": lat, "lon": lon, "skills": skills,
                           "capacity": 3, **SHIFT})
        assert r.status_code == 201, r.text
    ids = []
    for code, lat, lon, text in REQUESTS:
        # the parking case's plate is a required attribute (service/attributes.toml)
        plate = {"attribute[plate]": "沪A12345"} if code == "illegal_car_parking" else {}
        r = http.post("/requests.json", data={"api_key": keys["intake"], "service_code": code,
                                              "lat": lat, "long": lon, "description": text,
                                              **plate})
        assert r.status_code == 201, r.text
        ids.append(r.json()[0]["service_request_id"])
    yield srv, keys, http, ids, tmp
    http.close()
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def logged_in(browser, server, key):
    srv = server[0]
    # bypass_csp: the page forbids eval (its CSP); the tests' wait_for_function needs it
    page = browser.new_page(viewport={"width": 1500, "height": 1000}, bypass_csp=True)
    page.goto(srv.url + "/console")
    page.fill("#api-key", key)
    page.click("#login-form button")
    return page


def test_requests_teams_and_markers_appear_after_log_in(browser, server):
    srv, keys, http, ids, tmp = server
    page = logged_in(browser, server, keys["dispatcher"])
    page.wait_for_selector("#queue tbody tr")
    for rid, (_, _, _, text) in zip(ids, REQUESTS, strict=True):
        row = page.locator(f'#queue tbody tr[data-id="{rid}"]')
        assert row.locator("td").first.inner_text() == rid
        assert row.locator("td.description").inner_text() == text[:120]  # as text, not HTML
    names = page.locator("#teams .team-name").all_inner_texts()
    assert names == [t[0] for t in TEAMS.values()]
    page.wait_for_function("document.querySelectorAll('#map circle').length === 3")
    assert page.locator("#map rect").count() == len(TEAMS)
    assert page.locator("#map path.sub").count() == 14  # Jing'an's sub-districts
    assert page.locator('[data-kpi="received"] b').inner_text() == "3"
    # the key is in an HttpOnly cookie: never in the URL, never readable by the page
    assert keys["dispatcher"] not in page.url
    assert page.evaluate("document.cookie") == ""
    cookie = next(c for c in page.context.cookies() if c["name"] == "urbangrid_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    page.screenshot(path=str(tmp / "console.png"), full_page=True)
    page.close()


def test_actions_on_the_console_change_the_ledger_and_the_page_follows(browser, server):
    srv, keys, http, ids, _ = server
    k = {"api_key": keys["dispatcher"]}
    page = logged_in(browser, server, keys["dispatcher"])
    page.wait_for_selector("#queue tbody tr")
    # assign by hand: the request's team and an "assigned" event in the ledger
    row = page.locator(f'#queue tbody tr[data-id="{ids[0]}"]')
    row.locator("select").select_option("11")
    row.locator("button.assign").click()
    page.wait_for_function(
        f"""[...document.querySelectorAll('#queue tbody tr[data-id="{ids[0]}"] td')]
            .some(td => td.textContent === "{TEAMS[11][0]}")""")
    got = http.get(f"/requests/{ids[0]}.json").json()[0]
    assert got["agency_responsible"] == TEAMS[11][0]
    kinds = [e["kind"] for e in http.get(f"/requests/{ids[0]}/events.json", params=k).json()]
    assert kinds[-1] == "assigned"
    # ... and the audit trail names the console's key and role
    audit = http.get("/audit", params={"api_key": keys["admin"],
                                       "service_request_id": ids[0]}).json()
    assigned = next(a for a in audit if a["kind"] == "assigned")
    assert assigned["role"] == "dispatcher"
    assert assigned["key_id"] and assigned["key_id"] in keys["dispatcher"]
    # close with a note
    row = page.locator(f'#queue tbody tr[data-id="{ids[2]}"]')
    row.locator("input").fill("cleared by the night shift")
    row.locator("button.close").click()
    page.wait_for_selector(f'#queue tbody tr[data-id="{ids[2]}"]', state="detached")
    got = http.get(f"/requests/{ids[2]}.json").json()[0]
    assert got["status"] == "closed" and got["status_notes"] == "cleared by the night shift"
    # a team off duty
    page.locator('#teams li[data-team="12"] button.off-duty').click()
    page.wait_for_selector('#map rect.off[data-team="12"]')
    team = next(t for t in http.get("/teams", params=k).json() if t["id"] == 12)
    assert team["state"] == "off"
    page.close()


def test_a_wrong_key_sees_nothing(browser, server):
    srv, keys, http, ids, _ = server
    for key, why in (("ug_not_a_key", "invalid"), (keys["intake"], "dispatcher or admin")):
        page = logged_in(browser, server, key)
        page.wait_for_function("document.querySelector('#login-error').textContent !== ''")
        assert why in page.inner_text("#login-error")
        assert page.locator("#board").is_hidden()
        assert page.locator("#queue tbody tr").count() == 0
        assert not page.context.cookies()
        page.close()
    # and without the page: the console's data needs a key
    for path in ("/console/state", "/console/district.json", "/console/stream"):
        assert httpx.get(srv.url + path).status_code == 403


def test_the_cookie_changes_state_only_with_the_console_header(server):
    srv, keys, http, ids, _ = server
    with httpx.Client(base_url=srv.url) as c:
        assert c.post("/console/login", json={"api_key": keys["dispatcher"]}).status_code == 204
        assert c.get("/console/state").status_code == 200
        # a form on another site could post with the cookie, but not with the header
        assert c.post("/dispatch/run").status_code == 403
        assert c.post("/dispatch/run", headers={"X-Urbangrid-Console": "1"}).status_code == 200
        assert c.post("/console/logout").status_code == 204
        assert c.get("/console/state").status_code == 403


def test_the_queue_sorts_by_the_column_clicked(browser, server):
    srv, keys, http, ids, _ = server
    page = logged_in(browser, server, keys["dispatcher"])
    page.wait_for_selector("#queue tbody tr")

    def column(n):
        return page.locator(f"#queue tbody tr td:nth-child({n})").all_inner_texts()

    page.click('#queue th[data-sort="service_request_id"]')  # descending first
    first = column(1)
    assert first == sorted(first, key=int, reverse=True)
    page.click('#queue th[data-sort="service_request_id"]')  # then ascending
    assert column(1) == sorted(first, key=int)
    page.click('#queue th[data-sort="service_name"]')
    names = column(5)
    assert names == sorted(names, reverse=True)
    page.close()
