"""``urbangrid serve`` and ``urbangrid keys``: the service's command line.

FastAPI, uvicorn and SQLAlchemy come with the optional ``service`` extra; they are
imported inside the handlers so that ``register`` works (and the rest of the command
line keeps working) in a base install.
"""

from __future__ import annotations

import argparse
import logging
import os

__all__ = ["register"]

DEFAULT_DB = "sqlite:///urbangrid-service.db"
log = logging.getLogger("urbangrid.service")


def _db_default() -> str:
    return os.environ.get("URBANGRID_DB", DEFAULT_DB)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``serve`` and ``keys`` to the ``urbangrid`` command line."""
    p = subparsers.add_parser(
        "serve", help="run the dispatch service (Open311 intake, live dispatch)",
        description="Start the HTTP dispatch service: Open311 GeoReport v2 intake, live "
        "dispatch of open requests to teams, POST /dispatch. Needs the 'service' extra.")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8311, help="port (default 8311)")
    p.add_argument("--db", default=None, metavar="URL",
                   help=f"database URL, sqlite:///path or postgresql://... "
                        f"(default $URBANGRID_DB or {DEFAULT_DB})")
    p.add_argument("--district", default="jingan", metavar="jingan|FILE",
                   help="built-in 'jingan' (default) or a sub-district boundary file")
    p.add_argument("--resolution", type=int, default=10, help="H3 resolution (default 10)")
    p.add_argument("--dispatch-interval", type=float, default=5.0, metavar="S",
                   help="seconds between dispatch rounds, 0 = only on request (default 5)")
    p.add_argument("--policy", default="mcf", help="dispatch policy (default mcf)")
    p.add_argument("--rate-limit", default="6000/minute", metavar="RATE",
                   help="calls per key and server process, e.g. 600/minute; 'none' = "
                        "unlimited (default 6000/minute)")
    p.add_argument("--retention-days", type=float, default=None, metavar="N",
                   help="erase the personal fields of requests filed more than N days ago "
                        "(default: keep them)")
    p.add_argument("--cors-origin", action="append", default=[], metavar="URL",
                   help="an origin whose pages may call the API (repeatable; default none)")
    p.add_argument("--media-dir", default=None, metavar="DIR",
                   help="store images uploaded with requests (multipart 'media', JPEG/PNG/"
                        "WebP, at most 5 MiB) in DIR and serve them as media_url (default: "
                        "no uploads, links only)")
    p.add_argument("--log-format", choices=("json", "text"), default="json",
                   help="log lines as JSON objects with request ids (default) or text")
    p.set_defaults(func=run_serve)

    k = subparsers.add_parser("keys", help="manage the service's API keys",
                              description="Create, list and revoke API keys (stored hashed).")
    ks = k.add_subparsers(dest="keys_command", required=True)
    c = ks.add_parser("create", help="create a key; it is printed once, on the last line")
    c.add_argument("--role", required=True, choices=("intake", "dispatcher", "admin"))
    c.add_argument("--name", default="", help="a label (who holds the key)")
    c.add_argument("--db", default=None, metavar="URL")
    c.set_defaults(func=run_keys)
    ls = ks.add_parser("list", help="list keys (ids, roles; never secrets)")
    ls.add_argument("--db", default=None, metavar="URL")
    ls.set_defaults(func=run_keys)
    r = ks.add_parser("revoke", help="revoke a key by its id (or the key itself)")
    r.add_argument("key_id")
    r.add_argument("--db", default=None, metavar="URL")
    r.set_defaults(func=run_keys)


def _need_extra():
    from urbangrid.errors import InputError

    try:
        import fastapi  # noqa: F401
        import sqlalchemy  # noqa: F401
        import uvicorn
    except ModuleNotFoundError as exc:
        raise InputError(f"the service needs the 'service' extra ({exc.name} is missing): "
                         "pip install 'urbangrid[service]'") from None
    return uvicorn


def run_serve(args: argparse.Namespace) -> int:
    uvicorn = _need_extra()
    from urbangrid.errors import InputError

    from .app import ServiceConfig, create_app, install_log_redaction
    from .observability import configure_logging

    if args.retention_days is not None and not args.retention_days > 0:
        raise InputError(f"--retention-days: must be > 0, got {args.retention_days:g}")
    rate = None if args.rate_limit.lower() == "none" else args.rate_limit
    config = ServiceConfig(db=args.db or _db_default(), district=args.district,
                           resolution=args.resolution,
                           dispatch_interval=args.dispatch_interval, policy=args.policy,
                           rate_limit=rate, retention_days=args.retention_days,
                           cors_origins=tuple(args.cors_origin), media_dir=args.media_dir)
    configure_logging(args.log_format)
    install_log_redaction()
    _check_serve_args(config)
    try:
        app = create_app(config)
    except InputError as exc:
        raise InputError(f"--rate-limit: {exc}") from None
    # log_config=None: uvicorn's loggers write through the root handler (JSON lines)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", log_config=None)
    return 0


def _check_serve_args(config) -> None:
    """Refuse bad settings with one line before uvicorn starts (not a startup traceback)."""
    from pathlib import Path

    import sqlalchemy as sa

    from urbangrid.errors import InputError
    from urbangrid.optimizer import get_policy

    from .db import Store

    get_policy(config.policy)  # InputError naming the known policies
    if config.district not in ("", "jingan") and not Path(config.district).exists():
        raise InputError(f"--district: no such file {config.district!r} (or use 'jingan')")
    try:
        store = Store(config.db)
        store.migrate()
        store.dispose()
    except (sa.exc.SQLAlchemyError, OSError, ValueError) as exc:
        raise InputError(f"--db: cannot open the database: {type(exc).__name__}: "
                         f"{str(exc).splitlines()[0]}") from None


def run_keys(args: argparse.Namespace) -> int:
    _need_extra()
    import datetime as dt

    from .auth import create_key, list_keys, revoke_key
    from .db import Store, record_event

    # the audit trail names the operator's command line as role "cli" (no key)

    store = Store(args.db or _db_default())
    try:
        store.migrate()
        if args.keys_command == "create":
            key = create_key(store, args.role, args.name)
            record_event(store, "key_create", None, "cli", f"{key.split('_')[1]} {args.role}")
            print(f"created a {args.role} key; it is shown only now:")
            print(key)
        elif args.keys_command == "list":
            rows = list_keys(store)
            print(f"{'key_id':<14}{'role':<12}{'created':<22}{'revoked':<22}name")
            for r in rows:
                when = [dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
                        if t else "-" for t in (r["created"], r["revoked"])]
                print(f"{r['key_id']:<14}{r['role']:<12}{when[0]:<22}{when[1]:<22}{r['name']}")
        else:
            key_id = args.key_id.split("_")[1] if args.key_id.startswith("ug_") else args.key_id
            if not revoke_key(store, key_id):
                from urbangrid.errors import InputError

                raise InputError(f"no active key with id {key_id!r}")
            record_event(store, "key_revoke", None, "cli", key_id)
            print(f"revoked {key_id}")
    finally:
        store.dispose()
    return 0
