"""Fixtures: real server processes on loopback ports, keys, and databases.

The SQLite database is a file in a temporary folder. PostgreSQL tests need a server URL
in ``URBANGRID_TEST_POSTGRES_URL`` (``tests/service/start_postgres.sh`` starts one and
prints it); each test gets a fresh database on it and is skipped when the variable is
unset or the server does not answer.
"""

from __future__ import annotations

import os
import uuid

import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi) is not installed")
pytest.importorskip("sqlalchemy", reason="the service extra (sqlalchemy) is not installed")

import httpx  # noqa: E402

from benchmarks.service_load import start_server  # noqa: E402
from tests.service.svc_helpers import PG_ENV, make_keys  # noqa: E402


def _pg_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need a server: set {PG_ENV} "
                    "(tests/service/start_postgres.sh starts one and prints the URL)")
    return url


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database (dropped afterwards)."""
    import psycopg

    admin = _pg_admin_url()
    name = f"ug_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {PG_ENV} does not answer: {exc}")
    base, _, _ = admin.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request, tmp_path):
    """The same storage test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    return request.getfixturevalue("pg_url")


class Running:
    """A server process with its keys and an HTTP client."""

    def __init__(self, server, keys):
        self.server, self.keys = server, keys
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=30)

    def close(self):
        self.http.close()
        self.server.stop()


def _running(tmp_path_factory, name):
    tmp = tmp_path_factory.mktemp(name)
    db = f"sqlite:///{tmp / 'live.db'}"
    keys = make_keys(db)
    server = start_server(db, tmp / "server.log", extra=["--dispatch-interval", "1"])
    return Running(server, keys)


@pytest.fixture(scope="session")
def live(tmp_path_factory):
    """A server process on SQLite with a 1-second dispatch loop, shared by the session
    (tests that need a quiet server of their own use ``own_server``)."""
    r = _running(tmp_path_factory, "live")
    yield r
    r.close()


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """A server process of the test module's own (e.g. to know every team it has)."""
    r = _running(tmp_path_factory, "own")
    yield r
    r.close()


class InProcess:
    """The application in this process (Starlette's test client: the whole ASGI stack,
    no socket), with one key per role; logs reach pytest's ``caplog``."""

    def __init__(self, db: str, **config):
        from fastapi.testclient import TestClient

        from urbangrid.service import ServiceConfig, create_app

        self.keys = make_keys(db)
        self.app = create_app(ServiceConfig(db=db, dispatch_interval=0, **config))
        self.http = TestClient(self.app, raise_server_exceptions=False)
        self.http.__enter__()  # runs the lifespan: migrations, district, ledger

    def close(self):
        self.http.__exit__(None, None, None)


@pytest.fixture(scope="module")
def inproc(tmp_path_factory):
    """The application in-process on a SQLite file of the test module's own."""
    r = InProcess(f"sqlite:///{tmp_path_factory.mktemp('inproc') / 'svc.db'}")
    yield r
    r.close()


@pytest.fixture
def inproc_any(any_db):
    """The application in-process on a fresh SQLite or PostgreSQL database."""
    r = InProcess(any_db)
    yield r
    r.close()
