"""The dispatch service: Open311 intake, live dispatch, durable ledger, access control.

Needs the optional ``service`` extra (FastAPI, uvicorn, SQLAlchemy, Alembic). Entry
points: :func:`create_app` with a :class:`ServiceConfig` (``urbangrid serve`` runs it
under uvicorn), the key functions :func:`create_key` / :func:`verify_key`, the request
types :func:`load_services`. Never imports SimPy or the simulation (the load measurement
lives in ``benchmarks/service_load.py``).

The names are loaded on first use, so that ``urbangrid.service.cli`` (which registers the
commands) imports in a base install without the extra.
"""

from urbangrid._lazy import attach

_WHERE = {
    "ServiceConfig": "app", "create_app": "app",
    "ROLES": "auth", "create_key": "auth", "list_keys": "auth", "revoke_key": "auth",
    "verify_key": "auth", "load_services": "catalogue", "Store": "db", "Ledger": "ledger",
}

__getattr__, __dir__, __all__ = attach(__name__, _WHERE)
