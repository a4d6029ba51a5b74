"""Shared constants and helpers of the service tests (imported by name: the test
folders are not packages)."""

from __future__ import annotations

PG_ENV = "URBANGRID_TEST_POSTGRES_URL"
INSIDE = (31.25, 121.45)  # a point inside Jing'an
SHIFT = {"shift_start": "2020-01-01T00:00:00Z", "shift_end": "2099-01-01T00:00:00Z"}


def make_keys(db: str) -> dict[str, str]:
    """Migrate ``db`` and create one key per role."""
    from urbangrid.service import Store, create_key

    store = Store(db)
    store.migrate()
    keys = {role: create_key(store, role, f"test {role}")
            for role in ("intake", "dispatcher", "admin")}
    store.dispose()
    return keys


def assert_error(r, status: int, *words: str) -> None:
    """``r`` is an Open311 error body with ``status`` whose description has ``words``."""
    assert r.status_code == status, r.text
    body = r.json()
    assert isinstance(body, list) and body[0]["code"] == status, body
    for w in words:
        assert w in body[0]["description"], body
