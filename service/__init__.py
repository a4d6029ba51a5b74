"""The dispatch service: Open311 intake, live dispatch, durable ledger, access control.

Needs the optional ``service`` extra (FastAPI, uvicorn, SQLAlchemy, Alembic). Entry
points: :func:`create_app` with a :class:`ServiceConfig` (``urbangrid serve`` runs it
under uvicorn), the key functions :func:`create_key` / :func:`verify_key`, and
:func:`run_load` / :func:`measure_load` (the bounded load measurement). Never imports SimPy.

The names are loaded on first use, so that ``urbangrid.service.cli`` (which registers the
commands) imports in a base install without the extra.
"""

import importlib

__all__ = [
    "ROLES",
    "Ledger",
    "ServiceConfig",
    "Store",
    "create_app",
    "create_key",
    "list_keys",
    "load_services",
    "measure_load",
    "revoke_key",
    "run_load",
    "start_server",
    "verify_key",
]

_WHERE = {
    "ServiceConfig": "app", "create_app": "app",
    "ROLES": "auth", "create_key": "auth", "list_keys": "auth", "revoke_key": "auth",
    "verify_key": "auth", "load_services": "catalogue", "Store": "db", "Ledger": "ledger",
    "measure_load": "loadtest", "run_load": "loadtest", "start_server": "loadtest",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
