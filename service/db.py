"""Storage: the tables, the engine (SQLite in WAL mode or PostgreSQL) and the migrations.

Times are stored as float seconds since the Unix epoch (UTC): one representation that
compares and indexes the same way in SQLite and PostgreSQL, converted to ISO 8601 with a
timezone only at the HTTP boundary.

Statement parameters are hidden from SQLAlchemy's error texts and logs
(``hide_parameters``): they hold personal fields.

Every write goes through :meth:`Store.write`, a transaction committed before the caller
returns. SQLite serialises writers anyway; a process-wide lock makes them queue in Python
instead of spinning on ``SQLITE_BUSY`` (a deferred transaction that upgrades to a write
lock can deadlock against another one and fail instead of waiting).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["Store", "metadata", "normalise_url", "record_event"]

metadata = sa.MetaData()

api_keys = sa.Table(
    "api_keys", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("salt", sa.String(64), nullable=False),
    sa.Column("digest", sa.String(128), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("created", sa.Float, nullable=False),
    sa.Column("revoked", sa.Float, nullable=True),
)

requests = sa.Table(
    "requests", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("service_code", sa.String(64), nullable=False),
    sa.Column("status", sa.String(8), nullable=False),  # open / closed (Open311)
    sa.Column("stage", sa.String(16), nullable=False),  # received..resolved (ledger)
    sa.Column("description", sa.Text, nullable=True),
    # empty for a request located by address only (until a dispatcher places it)
    sa.Column("lat", sa.Float, nullable=True),
    sa.Column("lon", sa.Float, nullable=True),
    sa.Column("cell", sa.Integer, nullable=True),
    sa.Column("address_string", sa.String(500), nullable=True),
    sa.Column("media_url", sa.String(2000), nullable=True),
    sa.Column("first_name", sa.String(200), nullable=True),
    sa.Column("last_name", sa.String(200), nullable=True),
    sa.Column("email", sa.String(320), nullable=True),
    sa.Column("phone", sa.String(64), nullable=True),
    sa.Column("device_id", sa.String(200), nullable=True),
    sa.Column("account_id", sa.String(200), nullable=True),
    sa.Column("status_notes", sa.Text, nullable=True),
    sa.Column("agency_responsible", sa.String(200), nullable=True),
    sa.Column("service_notice", sa.String(500), nullable=True),
    sa.Column("requested", sa.Float, nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Column("expected", sa.Float, nullable=True),
    sa.Column("deadline", sa.Float, nullable=False),
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("work_seconds", sa.Float, nullable=False),
    sa.Column("idem_owner", sa.Integer, nullable=True),
    sa.Column("idem_key", sa.String(200), nullable=True),
    sa.Column("idem_hash", sa.String(64), nullable=True),
    sa.Column("address_id", sa.String(200), nullable=True),
    # the service definition's extra fields, {code: value} as JSON (attributes.toml)
    sa.Column("attributes", sa.Text, nullable=True),
    sa.UniqueConstraint("idem_owner", "idem_key", name="uq_requests_idempotency"),
    sa.Index("ix_requests_requested", "requested"),
    sa.Index("ix_requests_stage", "stage"),
)

teams = sa.Table(
    "teams", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("cell", sa.Integer, nullable=False),
    sa.Column("skills", sa.String(1000), nullable=False),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("shift_start", sa.Float, nullable=False),
    sa.Column("shift_end", sa.Float, nullable=False),
    sa.Column("state", sa.String(8), nullable=False),  # free / busy / off
    sa.Column("free_at", sa.Float, nullable=True),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("updated", sa.Float, nullable=False),
)

assignments = sa.Table(
    "assignments", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("teams.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # assigned/accepted/arrived/done/returned
    sa.Column("assigned", sa.Float, nullable=False),
    sa.Column("eta", sa.Float, nullable=True),
    sa.Column("cost", sa.Float, nullable=True),
    sa.Column("updated", sa.Float, nullable=False),
    sa.Index("ix_assignments_state", "state"),
    sa.Index("ix_assignments_request", "request_id"),
)

events = sa.Table(
    "events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.Integer, nullable=True),
    sa.Column("team_id", sa.Integer, nullable=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    # who: the key's public id and role (role "system", no key: the dispatch loop)
    sa.Column("key_id", sa.String(32), nullable=True),
    sa.Column("role", sa.String(16), nullable=True),
    sa.Index("ix_events_request", "request_id"),
    sa.Index("ix_events_at", "at"),
)


def record_event(store: Store, kind: str, key_id: str | None, role: str,
                 note: str | None = None, *, at: float | None = None) -> None:
    """An audit event of no request or team (a key created or revoked, by the API or the
    command line), committed before it returns."""
    import time

    with store.write() as conn:
        conn.execute(events.insert().values(kind=kind, at=time.time() if at is None else at,
                                            note=note, key_id=key_id, role=role))


def normalise_url(url: str) -> str:
    """``postgresql://`` means psycopg 3 (the driver the ``service`` extra installs)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; synchronous=FULL: a commit is on disk (fsync)
    # before it returns, so an acknowledged request survives a crash of the machine too.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


class Store:
    """The service's database: an engine, its migrations and transaction helpers.

    Parameters
    ----------
    url
        SQLAlchemy URL: ``sqlite:///path`` (default kind) or ``postgresql://...``.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            path = sa.engine.make_url(self.url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = sa.create_engine(
                self.url, connect_args={"check_same_thread": False, "timeout": 30},
                hide_parameters=True)
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = sa.create_engine(self.url, pool_size=10, max_overflow=20,
                                           pool_pre_ping=True, hide_parameters=True)
        self._write_lock = threading.Lock() if self.is_sqlite else None

    @staticmethod
    def _alembic_config():
        from alembic.config import Config

        cfg = Config()
        where = resources.files("urbangrid.service") / "migrations"
        cfg.set_main_option("script_location", str(where))
        return cfg

    def migrate(self) -> None:
        """Apply the Alembic migrations up to ``head`` (idempotent)."""
        logging.getLogger("alembic").setLevel(logging.WARNING)  # no per-plugin chatter
        from alembic import command

        cfg = self._alembic_config()
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def head_revision(self) -> str:
        """The newest migration this code knows."""
        from alembic.script import ScriptDirectory

        return ScriptDirectory.from_config(self._alembic_config()).get_current_head()

    def schema_revision(self) -> str | None:
        """The migration the database is at (a query: raises when it does not answer)."""
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction committed when the block ends (rolled back on an exception)."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
