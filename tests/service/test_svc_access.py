"""Keys through the real command line, stored hashed, revocation, secrets kept out of logs,
the base install without the extra, and migrations matching the table definitions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from importlib import resources

import httpx
import pytest
import sqlalchemy as sa

from benchmarks.service_load import free_port
from tests.service.svc_helpers import INSIDE, assert_error

# the ``urbangrid`` script is urbangrid.cli:main; the full shell is used where the test is
# about it (one command to start, the base install), the service's own module elsewhere
# (same register(), without importing the simulation: faster)
URBANGRID = [sys.executable, "-m", "urbangrid.cli"]
SERVICE = [sys.executable, "-m", "urbangrid.service"]


def ug(*args, shell=True, **kw):
    cmd = URBANGRID if shell else SERVICE
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=120, **kw)


def test_one_command_start_keys_and_refusal(tmp_path):
    db = f"sqlite:///{tmp_path / 'svc.db'}"
    made = ug("keys", "create", "--role", "intake", "--name", "front desk", "--db", db)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("ug_") and " " not in key
    listed = ug("keys", "list", "--db", db, shell=False)
    key_id = key.split("_")[1]
    assert key_id in listed.stdout and "intake" in listed.stdout
    assert key.split("_", 2)[2] not in listed.stdout
    # stored hashed: the secret is nowhere in the database files
    secret = key.split("_", 2)[2].encode()
    for f in tmp_path.glob("svc.db*"):
        assert secret not in f.read_bytes(), f

    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([*URBANGRID, "serve", "--port", str(port), "--db", db],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        form = {"service_code": "exposed_garbage", "lat": INSIDE[0], "long": INSIDE[1]}
        assert_error(httpx.post(url + "/requests.json", data=form), 403, "api_key")
        r = httpx.post(url + "/requests.json", data=dict(form, api_key=key))
        assert r.status_code == 201, r.text
        rid = r.json()[0]["service_request_id"]
        httpx.get(url + f"/requests/{rid}.json", params={"api_key": key})
        revoked = ug("keys", "revoke", key_id, "--db", db, shell=False)
        assert revoked.returncode == 0 and key_id in revoked.stdout
        assert_error(httpx.post(url + "/requests.json", data=dict(form, api_key=key)), 403,
                     "revoked")
        assert ug("keys", "revoke", key_id, "--db", db, shell=False).returncode == 2
        # the command line's key changes are in the audit trail (role "cli", no key)
        engine = sa.create_engine(db)
        with engine.connect() as conn:
            cli_events = conn.execute(sa.text(
                "SELECT kind, note FROM events WHERE role = 'cli' ORDER BY id")).all()
        engine.dispose()
        assert [(k, n.split()[0]) for k, n in cli_events] == [("key_create", key_id),
                                                              ("key_revoke", key_id)]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "GET /requests/" in text and "api_key=***" in text  # the access log ran
    assert key.split("_", 2)[2] not in text and key not in text


def test_live_server_logs_hold_no_secret(live):
    for role, key in live.keys.items():
        live.http.get("/requests.json", params={"api_key": key, "page_size": 1})
        live.http.get("/assignments", params={"api_key": key})
        live.http.post("/requests.json", data={"api_key": key, "service_code": "x",
                                               "lat": 0, "long": 0})
        del role
    time.sleep(0.3)
    text = live.server.log()
    assert "api_key=***" in text
    for key in live.keys.values():
        assert key.split("_", 2)[2] not in text


def test_base_install_without_the_extra(tmp_path):
    """The shell still works when fastapi/uvicorn/sqlalchemy are missing; serve says why."""
    block = tmp_path / "sitecustomize.py"
    block.write_text(
        "import sys\n"
        "class _Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('fastapi', 'uvicorn', 'sqlalchemy', 'alembic'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, _Block())\n")
    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    s = ug("serve", "--port", "1", env=env)  # builds the whole parser: every register()
    assert s.returncode == 2
    assert "service" in s.stderr and "extra" in s.stderr and "Traceback" not in s.stderr


def test_migrations_match_the_table_definitions(any_db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from urbangrid.service import Store
    from urbangrid.service.db import metadata

    store = Store(any_db)
    store.migrate()
    store.migrate()  # idempotent
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
        version = conn.execute(sa.text("select version_num from alembic_version")).scalar_one()
    store.dispose()
    assert diff == [] and version == "0004"


@pytest.mark.parametrize(("args", "words"), [
    (["--policy", "nope"], ("unknown dispatch policy", "mcf")),
    (["--db", "foo://x"], ("--db", "cannot open")),
])
def test_serve_refuses_bad_settings_in_one_line(args, words):
    r = ug("serve", "--port", "1", *args, shell=False)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert all(w in r.stderr for w in words), r.stderr


def test_migration_0002_keeps_the_rows_of_0001(any_db):
    """Requests stored under the first schema survive the upgrade that lets a request
    have no point (batch mode copies the table on SQLite)."""
    from alembic import command
    from alembic.config import Config

    from urbangrid.service import Store
    from urbangrid.service.db import requests

    store = Store(any_db)
    cfg = Config()
    cfg.set_main_option("script_location",
                        str(resources.files("urbangrid.service") / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(sa.text(
            "INSERT INTO requests (service_code, status, stage, lat, lon, cell, requested, "
            "updated, deadline, priority, work_seconds) VALUES ('exposed_garbage', 'open', "
            "'received', 31.25, 121.45, 7, 1.0, 1.0, 2.0, 1.0, 60.0)"))
    store.migrate()
    with store.engine.begin() as conn:
        (row,) = conn.execute(sa.select(requests)).all()
        conn.execute(requests.insert().values(
            service_code="exposed_garbage", status="open", stage="received", lat=None,
            lon=None, cell=None, address_string="by address", requested=2.0, updated=2.0,
            deadline=3.0, priority=1.0, work_seconds=60.0))
    store.dispose()
    assert (row.lat, row.lon, row.cell, row.address_id) == (31.25, 121.45, 7, None)
