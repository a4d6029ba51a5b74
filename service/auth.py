"""API keys: created once, stored as salted SHA-256 digests, checked in constant time.

A key reads ``ug_<key_id>_<secret>``. ``key_id`` (public, 12 hex digits) finds the row;
``secret`` (32 random bytes, URL-safe) is never stored, only ``sha256(salt || secret)``
with a per-key random salt. A 256-bit random secret needs no slow password hash: there is
nothing to guess by dictionary, and the salt keeps equal digests from revealing equal keys.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa

from .db import Store, api_keys

__all__ = ["ROLES", "Principal", "create_key", "list_keys", "revoke_key", "verify_key"]

#: intake: create requests; dispatcher: teams, dispatch, assignments, personal fields;
#: admin: everything (and keys through the CLI)
ROLES = ("intake", "dispatcher", "admin")


#: ``ug_<key_id>_<secret>``: hex key id, URL-safe base64 secret
_KEY_FORM = re.compile(r"ug_([0-9a-f]{1,32})_([A-Za-z0-9_-]{1,160})")


@dataclass(frozen=True)
class Principal:
    """The caller behind a verified key (never holds the secret)."""

    id: int
    key_id: str
    role: str


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode()).hexdigest()


def create_key(store: Store, role: str, name: str = "") -> str:
    """Create a key with ``role`` and return it; only its digest is stored."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_hex(16)
    with store.write() as conn:
        conn.execute(api_keys.insert().values(
            key_id=key_id, salt=salt, digest=_digest(salt, secret), role=role,
            name=name, created=time.time()))
    return f"ug_{key_id}_{secret}"


def verify_key(store: Store, key: str | None) -> Principal | None:
    """The principal of a valid, unrevoked key, else ``None``."""
    m = _KEY_FORM.fullmatch(key or "")
    if m is None:  # checked before the database sees it (no NUL or odd text in a query)
        return None
    key_id, secret = m.group(1), m.group(2)
    with store.read() as conn:
        row = conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id)).first()
    if row is None or row.revoked is not None:
        return None
    if not hmac.compare_digest(_digest(row.salt, secret), row.digest):
        return None
    return Principal(id=row.id, key_id=row.key_id, role=row.role)


def list_keys(store: Store) -> list[dict]:
    """Every key's public part: id, role, name, created, revoked (no secrets)."""
    with store.read() as conn:
        rows = conn.execute(sa.select(
            api_keys.c.key_id, api_keys.c.role, api_keys.c.name, api_keys.c.created,
            api_keys.c.revoked).order_by(api_keys.c.id)).all()
    return [dict(r._mapping) for r in rows]


def revoke_key(store: Store, key_id: str) -> bool:
    """Revoke by ``key_id`` (or a whole key); ``False`` if no such active key."""
    if key_id.startswith("ug_"):
        key_id = key_id.split("_", 2)[1]
    with store.write() as conn:
        res = conn.execute(api_keys.update().where(
            (api_keys.c.key_id == key_id) & api_keys.c.revoked.is_(None)).values(
            revoked=time.time()))
    return res.rowcount > 0
