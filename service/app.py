"""The HTTP application: Open311 GeoReport v2 (XML and JSON), live dispatch, ``POST
/dispatch``, the audit trail and key administration, operations (health, metrics).

:func:`create_app` builds a FastAPI application around one database, one district and the
case catalogue. At start it applies the migrations and starts the dispatch loop, which
picks up whatever the database holds: open requests and assignments survive a restart.

Open311 conventions: errors are a list of ``{code, description}`` (JSON, or XML for the
``.xml`` calls) with status 400 (bad input, naming the field), 403 (missing, invalid or
insufficient ``api_key``), 404, 409, 413 (body too large), 415 (content type) or 429
(rate limit); ``POST /requests.json`` takes form-encoded or multipart fields (a JSON
object is accepted too) and answers ``[{service_request_id, ...}]``. Keys go in
``api_key`` (query or form field) or in an ``X-API-Key`` header, and are checked before
a body is read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from urbangrid.calendar import CHINA_TZ
from urbangrid.errors import InputError

from . import schemas as S
from .attributes import check_attributes, form_attributes, load_attributes
from .auth import Principal, create_key, list_keys, revoke_key, verify_key
from .catalogue import load_services
from .console import add_console, cookie_key
from .db import Store
from .formats import OPEN311_XML, Open311Formats
from .ledger import PERSONAL, Actor, Conflict, Ledger, NotFound
from .media import MEDIA_TYPES, FileMediaStore, MediaStore, sniff_media_type
from .observability import Metrics, RequestContext
from .stateless import dispatch_tables

__all__ = ["ServiceConfig", "create_app"]

log = logging.getLogger("urbangrid.service")

#: when the API last changed (the discovery document's changeset)
API_CHANGESET = "2026-12-07T00:00:00Z"
JSON = ("application/json",)
FORM = ("application/x-www-form-urlencoded", "multipart/form-data")
#: ids are ASCII digits only (``str.isdigit`` also accepts "²" and Arabic-Indic "١")
_ID_TEXT = re.compile(r"[0-9]{1,20}")
#: the id columns are 32-bit INTEGER on PostgreSQL: a larger id cannot exist
MAX_ID = 2**31 - 1
NINETY_DAYS = 90 * 86400.0
_DISPATCHERS = ("dispatcher", "admin")
_INTAKE = ("intake", "dispatcher", "admin")
_ADMIN = ("admin",)


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of one service instance.

    Parameters
    ----------
    db
        SQLAlchemy URL (``sqlite:///path`` or ``postgresql://...``).
    district
        ``"jingan"`` or a sub-district boundary file.
    resolution
        H3 resolution of the district's cells.
    dispatch_interval
        Seconds between dispatch rounds; 0 disables the loop (rounds only on
        ``POST /dispatch/run``).
    policy
        Dispatch policy name (:func:`urbangrid.optimizer.get_policy`).
    jurisdiction_id
        The one jurisdiction served; other values are refused with 400.
    max_body_bytes
        The size limit of every request body (413 beyond it), except ``POST /dispatch``'s.
    dispatch_body_bytes
        The size limit of ``POST /dispatch``'s body (tables of up to 20,000 tasks).
    clock
        The time now in POSIX seconds (:class:`Ledger`'s clock; tests and replays).
    cors_origins
        Origins whose browser pages may call the API (CORS); empty: none (default).
    rate_limit
        Calls allowed per key (``limits`` notation, e.g. ``"600/minute"``)
        in each server process (default 6000/minute: 100/s, far above one client's need);
        ``None``: unlimited. Calls without a key are not counted.
    retention_days
        Personal fields (name, email, phone, device, account) of requests filed more
        than this many days ago are erased by the dispatch loop; ``None``: kept.
    media_dir, media_max_bytes
        Where uploaded images (multipart ``media``) are stored and their size limit;
        ``None`` (default): no files are taken (400), links as ``media_url`` only.
    contact, key_service
        The discovery document's contact and where keys come from.
    """

    db: str = "sqlite:///urbangrid-service.db"
    district: str = "jingan"
    resolution: int = 10
    dispatch_interval: float = 5.0
    policy: str = "mcf"
    jurisdiction_id: str = "jingan"
    max_body_bytes: int = 64 * 1024
    dispatch_body_bytes: int = 8 * 1024 * 1024
    clock: Callable[[], float] = time.time
    cors_origins: tuple[str, ...] = ()
    rate_limit: str | None = "6000/minute"
    retention_days: float | None = None
    media_dir: str | None = None
    media_max_bytes: int = 5 * 1024 * 1024
    contact: str = "the operator of this endpoint"
    key_service: str = "API keys are issued by the operator (urbangrid keys create)"


@dataclass(frozen=True)
class Access:
    """Who may call an endpoint and what body it takes, checked by :class:`GuardedRoute`
    before the body is read.

    Parameters
    ----------
    roles
        Key roles allowed; empty: anyone (a key, when given, must still be valid).
    body
        Content types of the body; empty: the endpoint reads no body.
    key_in_body
        The key may come as the Open311 form field ``api_key``: without a key in the
        header or query, the key check waits for the (size-limited) body.
    max_body
        The body's size limit in bytes; ``None``: the service's ``max_body_bytes``.
    """

    roles: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    key_in_body: bool = False
    max_body: int | None = None


def access(roles: tuple[str, ...] = (), body: tuple[str, ...] = (), key_in_body=False,
           max_body: int | None = None):
    """Mark an endpoint with its :class:`Access` (apply below the route decorator)."""
    def mark(fn):
        fn.access = Access(tuple(roles), tuple(body), key_in_body, max_body)
        return fn
    return mark


class BodyTooLarge(StarletteHTTPException):
    """The body grew past the limit while it streamed (no ``Content-Length``): a 413
    (an HTTP exception, so that FastAPI's body parsing passes it on unchanged)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


def limited_receive(receive, limit: int):
    """``receive`` that raises :class:`BodyTooLarge` once the body passes ``limit``."""
    size = 0

    async def wrapped():
        nonlocal size
        message = await receive()
        if message["type"] == "http.request":
            size += len(message.get("body", b""))
            if size > limit:
                raise BodyTooLarge(limit)
        return message

    return wrapped


class ApiError(Exception):
    """An Open311 error response."""

    def __init__(self, status: int, description: str, headers: dict | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.headers = status, description, headers


def _error(status: int, description: str, headers=None) -> JSONResponse:
    return JSONResponse([{"code": status, "description": description}], status_code=status,
                        headers=headers)


def actor_of(p: Principal) -> Actor:
    """The audit trail's record of a caller: the key's public id and role."""
    return Actor(p.key_id, p.role)


def parse_id(value: str) -> int | None:
    """A request or team id from its text: ASCII digits within the id column's range
    (``None`` otherwise, which the callers answer as "not found": no such row can exist)."""
    if not _ID_TEXT.fullmatch(value):
        return None
    n = int(value)
    return n if n <= MAX_ID else None


def iso(t: float | None) -> str | None:
    """Epoch seconds as ISO 8601 with a timezone (Open311 requires one)."""
    if t is None:
        return None
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")


def parse_time(value: str, field: str) -> float:
    """ISO 8601 date-time with a timezone to epoch seconds; 400 naming ``field``."""
    try:
        t = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"{field}: {value!r} is not an ISO 8601 date-time") from None
    if t.tzinfo is None:
        raise ApiError(400, f"{field}: {value!r} needs a timezone (Z or +HH:MM)")
    return t.timestamp()


_W3C_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")


def parse_w3c(value: str, field: str, *, end: bool = False) -> float:
    """A W3C date-time (what Open311 filters take) to epoch seconds; 400 naming ``field``.

    A date-time needs a time zone (:func:`parse_time`); a date alone (``2026-12-01``,
    ``2026-12``, ``2026``) is that day, month or year in China Standard Time, the
    jurisdiction's zone: from its start, or with ``end`` through its end.
    """
    m = _W3C_DATE.fullmatch(value)
    if m is None:
        return parse_time(value, field)
    year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
    try:
        first = dt.datetime(year, month, day, tzinfo=CHINA_TZ)
    except ValueError:
        raise ApiError(400, f"{field}: {value!r} is not a date") from None
    if not end:
        return first.timestamp()
    if m[3]:
        after = first + dt.timedelta(days=1)
    elif m[2]:
        after = (first + dt.timedelta(days=32)).replace(day=1)
    else:
        after = first.replace(year=year + 1)
    return after.timestamp()


class _RedactKeys(logging.Filter):
    """Remove ``api_key`` values from access-log lines (keys are secrets)."""

    _pat = re.compile(r"(api_key=)[^&\s\"]*", re.I)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._pat.sub(r"\1***", a) if isinstance(a, str) else a
                                for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = self._pat.sub(r"\1***", record.msg)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error", "urbangrid.service"):
        lg = logging.getLogger(name)
        if not any(isinstance(f, _RedactKeys) for f in lg.filters):
            lg.addFilter(_RedactKeys())


def failure_summary(exc: BaseException) -> str:
    """What the log may say about an unexpected exception: its type, for a database
    error the driver's error class and SQLSTATE, and the traceback's frames, never an
    exception message. Messages quote request data (a database error's DETAIL holds the
    failing row with name and email; ``int('²')`` quotes the input), and personal fields
    never reach the log."""
    import traceback

    from sqlalchemy.exc import DBAPIError

    what = type(exc).__name__
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorname", "")
        what += f" ({type(exc.orig).__name__}{f', SQLSTATE {code}' if code else ''})"
    frames = "".join(traceback.format_tb(exc.__traceback__))
    return f"{what}; message withheld (it may quote request data)\n{frames}"


class _GuardMiddleware:
    """Outermost checks of every HTTP request (a plain ASGI middleware):

    - a query parameter holding a NUL byte is a 400 naming it (PostgreSQL text cannot
      hold NUL; the bodies' text fields are checked by their models);
    - an unexpected exception is answered with an Open311 500 and logged once, through
      :func:`failure_summary` (Starlette's last-resort handler would log the traceback a
      second time, message included).
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from urllib.parse import parse_qsl

        query = scope.get("query_string", b"").decode("latin-1")
        for name, value in parse_qsl(query, keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                shown = name.replace("\x00", "\\x00")
                await _error(400, f"{shown}: contains a NUL byte")(scope, receive, send)
                return
        started = False

        async def tracked(message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            log.error("%s %s failed: %s", scope.get("method"), scope.get("path"),
                      failure_summary(exc))
            if not started:
                await _error(500, "internal error (logged)")(scope, receive, send)


class _DispatchLoop:
    def __init__(self, ledger: Ledger, interval: float, metrics: Metrics,
                 retention_days: float | None = None) -> None:
        self.ledger, self.interval, self.metrics = ledger, interval, metrics
        self.retention_days = retention_days
        self.next_retention = 0.0  # the rule runs at most hourly: a scan of old requests
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="dispatch", daemon=True)

    def _run(self) -> None:
        while True:
            try:
                r = self.ledger.dispatch_once()
                self.metrics.rounds.inc()
                self.metrics.assigned.inc(r.assigned)
                if self.retention_days is not None and time.monotonic() >= self.next_retention:
                    self.ledger.anonymise_older_than(self.retention_days)
                    self.next_retention = time.monotonic() + 3600.0
            except Exception as exc:  # keep dispatching after a bad round; cause logged
                log.error("dispatch round failed: %s", failure_summary(exc))
            if self.stop.wait(self.interval):
                return


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    """The FastAPI application of one service instance (see :class:`ServiceConfig`)."""
    config = config or ServiceConfig()
    state: dict = {}
    services = load_services()  # the built-in catalogue: also the OpenAPI enums
    attributes = load_attributes(services)  # the service definitions' extra fields
    media: MediaStore | None = FileMediaStore(config.media_dir) if config.media_dir else None
    # intake's body carries an uploaded image when media are stored
    intake_body = max(config.max_body_bytes, config.media_max_bytes + 64 * 1024) \
        if media is not None else config.max_body_bytes
    limiter = rate_item = None
    if config.rate_limit:
        import limits

        try:
            rate_item = limits.parse(config.rate_limit)
        except ValueError:
            raise InputError(f"rate_limit: {config.rate_limit!r} is not a rate like "
                             "'600/minute'") from None
        limiter = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        from urbangrid.grid import District

        install_log_redaction()
        store = Store(config.db)
        store.migrate()
        if config.district in ("", "jingan"):
            district = District.jingan(config.resolution)
        else:
            district = District.from_files(config.district, resolution=config.resolution)
        ledger = Ledger(store, district, services, policy=config.policy,
                        clock=config.clock)
        state.update(store=store, ledger=ledger, district=district,
                     head=store.head_revision())
        app.state.store, app.state.ledger = store, ledger  # for operators' tools and tests
        loop = None
        if config.dispatch_interval > 0:
            loop = _DispatchLoop(ledger, config.dispatch_interval, metrics,
                                 config.retention_days)
            loop.thread.start()
        log.info("service ready: %s, %d cells, db %s", config.district, district.n_cells,
                 store.engine.url.render_as_string(hide_password=True))
        try:
            yield
        finally:
            if loop is not None:
                loop.stop.set()
                loop.thread.join(timeout=30)
            store.dispose()

    app = FastAPI(title="urbangrid dispatch service", version="1.0",
                  description=__doc__, lifespan=lifespan)

    # ------------------------------------------------------------------ errors
    @app.exception_handler(ApiError)
    async def _api_error(_req, exc: ApiError):
        return _error(exc.status, exc.description, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req, exc: RequestValidationError):
        return _error(400, _describe(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException):
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            # one path may be served by several routes (GET and POST /requests.json):
            # Allow lists the methods of all of them (RFC 9110)
            methods = sorted({m for r in app.routes if getattr(r, "methods", None)
                              and r.path_regex.match(req.url.path) for m in r.methods})
            headers["Allow"] = ", ".join(methods)
        return _error(exc.status_code, str(exc.detail), headers or None)

    @app.exception_handler(InputError)
    async def _input(_req, exc: InputError):
        return _error(400, str(exc))

    metrics = Metrics()
    app.add_middleware(_GuardMiddleware)
    app.add_middleware(RequestContext, metrics=metrics)
    app.add_middleware(Open311Formats)  # outside the guard: its errors become XML too
    if config.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(config.cors_origins),
                           allow_methods=["GET", "POST", "PUT", "DELETE", "HEAD"],
                           allow_headers=["X-API-Key", "Idempotency-Key", "Content-Type"],
                           expose_headers=["X-Total-Count", "Link", "Retry-After"])

    # -------------------------------------------------------------- helpers
    def ledger() -> Ledger:
        return state["ledger"]

    def principal(request: Request, api_key: str | None) -> Principal | None:
        checked = request.scope.get("urbangrid.principal")
        if checked is not None:  # GuardedRoute checked the key already
            return checked
        key = api_key or request.headers.get("x-api-key") or cookie_key(request)
        if not key:
            return None
        p = verify_key(state["store"], key)
        if p is None:
            raise ApiError(403, "api_key is invalid or revoked")
        rate_limit(p)
        request.scope["urbangrid.principal"] = p  # one check (and one hit) per request
        return p

    def rate_limit(p: Principal) -> None:
        """Count a call against the key's limit (``ServiceConfig.rate_limit``, a moving
        window per key and server process); 429 with ``Retry-After`` past it."""
        if limiter is None:
            return
        if not limiter.hit(rate_item, p.key_id):
            reset = limiter.get_window_stats(rate_item, p.key_id).reset_time
            wait = max(1, int(np.ceil(reset - time.time())))
            raise ApiError(429, f"api_key {p.key_id}: more than {config.rate_limit} calls; "
                                f"retry in {wait} s", headers={"Retry-After": str(wait)})

    def require(request: Request, api_key: str | None, roles: tuple[str, ...]) -> Principal:
        p = principal(request, api_key)
        if p is None:
            raise ApiError(403, "api_key is missing: this call needs a key")
        if p.role not in roles:
            raise ApiError(403, f"api_key role {p.role!r} may not do this "
                                f"(needs {' or '.join(roles)})")
        return p

    class GuardedRoute(APIRoute):
        """A route that, before FastAPI reads and parses the body, refuses (in order):
        a declared body larger than the route's limit (413), a body of a content type
        the endpoint does not take (415), a missing, invalid or insufficient key given
        in the header or query (403). A body sent without ``Content-Length`` is cut off
        at the limit while it streams (also a 413).
        """

        def get_route_handler(self):
            handler = super().get_route_handler()
            rules: Access = getattr(self.endpoint, "access", Access())

            limit = rules.max_body or config.max_body_bytes

            async def guarded(request: Request):
                declared = request.headers.get("content-length", "")
                if declared.isascii() and declared.isdigit() and int(declared) > limit:
                    raise ApiError(413, f"request body is larger than {limit} bytes")
                has_body = (declared not in ("", "0")
                            or "transfer-encoding" in request.headers)
                if rules.body and has_body:
                    ctype = request.headers.get("content-type", "").split(";")[0].strip()
                    if ctype.lower() not in rules.body:
                        raise ApiError(415, f"Content-Type: {ctype or 'none'!r} is not taken "
                                            f"here (send {' or '.join(rules.body)})")
                if rules.roles:
                    key = (request.query_params.get("api_key")
                           or request.headers.get("x-api-key") or cookie_key(request))
                    if key or not rules.key_in_body:
                        request.scope["urbangrid.principal"] = await run_in_threadpool(
                            require, request, key, rules.roles)
                return await handler(Request(request.scope,
                                             limited_receive(request.receive, limit),
                                             request._send))


            return guarded

    app.router.route_class = GuardedRoute

    def inside(lat: float, lon: float, field: str) -> None:
        if ledger().district.cell_of(np.array([lat]), np.array([lon]))[0] < 0:
            raise ApiError(400, f"{field}: ({lat}, {lon}) lies outside the district")

    def address_point(address_id: str) -> tuple[float, float]:
        """The point of an ``address_id``: the district's address register is its H3
        cells, so an address id is a cell id and its point the cell's centre."""
        cells = ledger().district.cells
        hit = np.flatnonzero(cells["h3"].to_numpy() == address_id.lower())
        if not hit.size:
            raise ApiError(400, f"address_id: {address_id!r} is not an address of the "
                                "district (its addresses are the H3 cell ids of the grid)")
        k = int(hit[0])
        return float(cells["lat"].iloc[k]), float(cells["lon"].iloc[k])

    def jurisdiction(value: str | None) -> None:
        if value not in (None, "", config.jurisdiction_id):
            raise ApiError(400, f"jurisdiction_id: unknown {value!r} "
                                f"(this endpoint serves {config.jurisdiction_id!r})")

    def request_out(row, personal: bool) -> dict:
        svc = ledger().services.get(row.service_code)
        out = {
            "service_request_id": str(row.id), "status": row.status,
            "status_notes": row.status_notes, "stage": row.stage,
            "service_name": svc.name if svc else None, "service_code": row.service_code,
            "description": row.description, "agency_responsible": row.agency_responsible,
            "service_notice": row.service_notice,
            "requested_datetime": iso(row.requested), "updated_datetime": iso(row.updated),
            "expected_datetime": iso(row.expected), "deadline_datetime": iso(row.deadline),
            "address": row.address_string,
            "address_id": row.address_id, "zipcode": None, "lat": row.lat, "long": row.lon,
            "media_url": row.media_url,
        }
        if personal:  # attributes too: they may identify someone (a licence plate)
            out.update({k: getattr(row, k) for k in PERSONAL})
            out["attributes"] = json.loads(row.attributes) if row.attributes else {}
        return out

    def can_see_personal(request: Request, api_key: str | None) -> bool:
        p = principal(request, api_key)
        return p is not None and p.role in _DISPATCHERS

    def request_id(value: str) -> int:
        rid = parse_id(value)
        if rid is None:
            raise ApiError(404, f"service_request_id {value!r} not found")
        return rid

    # the key's two places are the OpenAPI document's security schemes, not a parameter
    KEY = Query(None, max_length=200, include_in_schema=False)
    JUR = Query(None, max_length=64)
    TEAM_ID = Path(ge=0, le=MAX_ID, description="the team's id (a 32-bit column)")

    # ------------------------------------------------------------------ open311
    @app.get("/services.json", tags=["open311"], responses={200: {"model": list[S.ServiceOut]}})
    def services_list(jurisdiction_id: str | None = JUR):
        jurisdiction(jurisdiction_id)
        return [dict(s.open311(), metadata=bool(attributes.get(s.code)))
                for s in ledger().services.values()]

    @app.get("/services/{service_code}.json", tags=["open311"],
             responses={200: {"model": S.ServiceDefinition}})
    def service_definition(service_code: str, jurisdiction_id: str | None = JUR):
        jurisdiction(jurisdiction_id)
        if service_code not in ledger().services:
            raise ApiError(404, f"service_code {service_code!r} not found")
        return {"service_code": service_code,
                "attributes": [a.open311() for a in attributes.get(service_code, ())]}

    def store_media(request: Request, uploads: list[Upload], raw: dict) -> str:
        """Store the one ``media`` file of an intake form; its URL becomes the request's
        ``media_url``. 400 naming the field for any other file, a second file, a file
        beside a ``media_url``, a file that is no JPEG, PNG or WebP image, and any file
        when the service stores no media (``media_dir`` unset)."""
        if media is None:
            raise ApiError(400, f"{uploads[0].field}: this service stores no files; give "
                                "the file's address as media_url")
        if len(uploads) > 1 or uploads[0].field != "media":
            name = uploads[-1].field if uploads[0].field == "media" else uploads[0].field
            raise ApiError(400, f"{name}: one file, in the field 'media'")
        if raw.get("media_url"):
            raise ApiError(400, "media: a file or a media_url, not both")
        data = uploads[0].data
        mtype = sniff_media_type(data)
        if mtype is None:
            raise ApiError(400, "media: not a JPEG, PNG or WebP image")
        if len(data) > config.media_max_bytes:
            raise ApiError(413, f"media: larger than {config.media_max_bytes} bytes")
        media_id = media.put(data, mtype)
        return f"{str(request.base_url).rstrip('/')}/media/{media_id}"

    @app.get("/media/{media_id}", tags=["open311"], response_class=Response,
             responses={200: {"content": {t: {"schema": {"type": "string",
                                                         "format": "binary"}}
                                          for t in MEDIA_TYPES},
                              "description": "the uploaded image"}})
    def get_media(media_id: str = Path(max_length=80)):
        """A request's uploaded image (its ``media_url``)."""
        found = media.get(media_id) if media is not None else None
        if found is None:
            raise ApiError(404, f"media {media_id!r} not found")
        data, mtype = found
        return Response(data, media_type=mtype,
                        headers={"Cache-Control": "public, max-age=31536000, immutable"})

    @app.get("/tokens/{token}.json", tags=["open311"], responses={200: {"model": list[dict]}})
    def token_lookup(token: str = Path(max_length=200), jurisdiction_id: str | None = JUR):
        """Open311 #4: a token's request id. Every service here is ``realtime`` (intake
        answers with the id itself), so no token is ever issued: always 404."""
        jurisdiction(jurisdiction_id)
        raise ApiError(404, f"token {token!r} not found: every service is realtime, "
                            "POST /requests answers with the service_request_id")

    @app.get("/discovery.json", tags=["open311"])
    def discovery(request: Request):
        """Open311 service discovery: this endpoint, its formats, contact and keys."""
        url = str(request.base_url).rstrip("/")
        return {"changeset": API_CHANGESET, "contact": config.contact,
                "key_service": config.key_service,
                "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                               "url": url, "changeset": API_CHANGESET, "type": "production",
                               "formats": ["text/xml", "application/json"]}]}

    @app.post("/requests.json", tags=["open311"], status_code=201,
              responses={201: {"model": list[S.RequestCreated]},
                         200: {"model": list[S.RequestCreated],
                               "description": "replay of an idempotency key"}},
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/x-www-form-urlencoded": {
                      "schema": {"$ref": "#/components/schemas/RequestIn"}},
                  "application/json": {"schema": {"$ref": "#/components/schemas/RequestIn"}},
              }}})
    @access(roles=_INTAKE, body=(*FORM, *JSON), key_in_body=True, max_body=intake_body)
    async def post_request(request: Request):
        body = await request.body()  # limited by GuardedRoute (413)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype == "application/json":
            raw = parse_json(body)
            if not isinstance(raw, dict):
                raise ApiError(400, "body must be a JSON object of request fields")
        elif ctype in FORM:
            raw, uploads = read_form(body, request.headers["content-type"])
            if uploads:
                raw["media_url"] = store_media(request, uploads, raw)
        else:  # GuardedRoute let only FORM and JSON through: here, an empty body
            raw = {}
        key = raw.get("api_key") if isinstance(raw.get("api_key"), str) else None
        key = key or request.query_params.get("api_key")
        if not (key or request.headers.get("x-api-key")):
            raise ApiError(403, "api_key is missing: this call needs a key")
        try:
            fields = S.RequestIn.model_validate(raw)
        except ValidationError as exc:
            raise ApiError(400, _describe(exc.errors())) from None
        jurisdiction(fields.jurisdiction_id)
        lg = ledger()
        if fields.service_code not in lg.services:
            raise ApiError(400, f"service_code: unknown {fields.service_code!r} "
                                "(see /services.json)")
        lat, lon = fields.lat, fields.long
        if lat is None and fields.address_id is not None:
            lat, lon = address_point(fields.address_id)
        if lat is not None:
            inside(lat, lon, "lat/long")
        idem = request.headers.get("idempotency-key") or fields.idempotency_key
        if idem is not None and not 0 < len(idem) <= 200:
            raise ApiError(400, "Idempotency-Key: 1 to 200 characters")
        extra = check_attributes(fields.service_code, attributes.get(fields.service_code, ()),
                                 form_attributes(raw))
        values = fields.model_dump(exclude={"api_key", "jurisdiction_id", "idempotency_key",
                                            "long", "attribute"})
        values.update(lat=lat, lon=lon, attributes=json.dumps(
            extra, ensure_ascii=False, sort_keys=True) if extra else None)

        def intake() -> tuple[int, bool]:
            # the key check reads the database too: both off the event loop, in one hop
            p = require(request, key, _INTAKE)
            return lg.create_request(values, owner=p.id, idem_key=idem, actor=actor_of(p))

        try:
            rid, created = await run_in_threadpool(intake)
        except Conflict as exc:
            raise ApiError(409, f"idempotency_key: {exc}") from None
        return JSONResponse([{"service_request_id": str(rid), "service_notice": None,
                              "account_id": fields.account_id}],
                            status_code=201 if created else 200)

    @app.get("/requests.json", tags=["open311"], responses={200: {"model": list[S.RequestOut]}})
    def get_requests(
        request: Request,
        # ASCII patterns keep a URL within the server's request-line limit (h11: 16 KiB)
        service_request_id: str | None = Query(None, max_length=2000,
                                               pattern=r"^[0-9, ]*$"),
        service_code: str | None = Query(None, max_length=2000,
                                         pattern=r"^[A-Za-z0-9_.,\- ]*$"),
        start_date: str | None = Query(None, max_length=40),
        end_date: str | None = Query(None, max_length=40),
        status: str | None = Query(None, max_length=20),
        page: int = Query(1, ge=1, le=1_000_000),
        page_size: int = Query(1000, ge=1, le=1000),
        jurisdiction_id: str | None = JUR,
        api_key: str | None = KEY,
    ):
        jurisdiction(jurisdiction_id)
        personal = can_see_personal(request, api_key)
        ids = None
        if service_request_id:
            parts = [s.strip() for s in service_request_id.split(",") if s.strip()]
            if not all(_ID_TEXT.fullmatch(s) for s in parts):
                raise ApiError(400, "service_request_id: a comma-separated list of ids "
                                    "(ASCII digits)")
            # an id beyond the id column's range cannot exist: it matches nothing
            ids = [int(s) for s in parts if int(s) <= MAX_ID]
        codes = [c.strip() for c in service_code.split(",") if c.strip()] if service_code \
            else None
        statuses = [s.strip() for s in status.split(",") if s.strip()] if status else []
        if any(s not in ("open", "closed") for s in statuses):
            raise ApiError(400, f"status: {status!r} (use open or closed)")
        st = statuses[0] if len(statuses) == 1 else None
        now = dt.datetime.now(dt.UTC).timestamp()
        start = parse_w3c(start_date, "start_date") if start_date else None
        end = parse_w3c(end_date, "end_date", end=True) if end_date else None
        if start is None and end is None:
            start, end = now - NINETY_DAYS, None
        elif start is None:
            start = end - NINETY_DAYS
        elif end is None:
            end = start + NINETY_DAYS
        if end is not None and end < start:
            raise ApiError(400, "end_date: before start_date")
        if end is not None and end - start > NINETY_DAYS:
            raise ApiError(400, "end_date: the date range may span at most 90 days")
        rows, total = ledger().query_requests(ids=ids, codes=codes, start=start, end=end,
                                              status=st, page=page, page_size=page_size)
        return JSONResponse([request_out(r, personal) for r in rows],
                            headers=page_headers(request, page, page_size, total))

    @app.get("/requests/{service_request_id}.json", tags=["open311"],
             responses={200: {"model": list[S.RequestOut]}})
    def get_request(request: Request, service_request_id: str,
                    jurisdiction_id: str | None = JUR, api_key: str | None = KEY):
        jurisdiction(jurisdiction_id)
        personal = can_see_personal(request, api_key)
        try:
            row = ledger().get_request(request_id(service_request_id))
        except NotFound as exc:
            raise ApiError(404, str(exc)) from None
        return JSONResponse([request_out(row, personal)])

    # ------------------------------------------------------------ live dispatch
    @app.post("/requests/{service_request_id}/status", tags=["dispatch"],
              responses={200: {"model": list[S.RequestOut]}})
    @access(_DISPATCHERS, JSON)
    def update_status(request: Request, service_request_id: str, body: S.StatusIn,
                      api_key: str | None = KEY):
        p = require(request, api_key, _DISPATCHERS)
        rid = request_id(service_request_id)
        changes = body.model_dump(exclude_unset=True)
        if "expected_datetime" in changes:
            v = changes.pop("expected_datetime")
            changes["expected"] = parse_time(v, "expected_datetime") if v else None
        if changes.get("lat") is not None:
            inside(changes["lat"], changes["long"], "lat/long")
            changes["lon"] = changes.pop("long")
        else:
            changes.pop("lat", None), changes.pop("long", None)
        try:
            ledger().update_status(rid, changes, actor=actor_of(p))
            row = ledger().get_request(rid)
        except NotFound as exc:
            raise ApiError(404, str(exc)) from None
        return JSONResponse([request_out(row, True)])

    @app.post("/requests/{service_request_id}/assign", tags=["dispatch"],
              responses={200: {"model": list[S.RequestOut]}})
    @access(_DISPATCHERS, JSON)
    def assign_by_hand(request: Request, service_request_id: str, body: S.AssignIn,
                       api_key: str | None = KEY):
        """Assign (or re-assign) a request to a team by hand: the team's assignment
        replaces any active one and the optimizer leaves the request where it is put."""
        p = require(request, api_key, _DISPATCHERS)
        rid = request_id(service_request_id)
        try:
            ledger().assign_by_hand(rid, body.team_id, body.note, actor=actor_of(p))
            row = ledger().get_request(rid)
        except NotFound as exc:
            raise ApiError(404, str(exc)) from None
        except Conflict as exc:
            raise ApiError(409, str(exc)) from None
        return JSONResponse([request_out(row, True)])

    @app.get("/requests/{service_request_id}/events.json", tags=["dispatch"])
    @access(_DISPATCHERS)
    def request_events(request: Request, service_request_id: str, api_key: str | None = KEY):
        require(request, api_key, _DISPATCHERS)
        try:
            rows = ledger().events_of(request_id(service_request_id))
        except NotFound as exc:
            raise ApiError(404, str(exc)) from None
        return [{"kind": r.kind, "at": iso(r.at), "team_id": r.team_id, "note": r.note}
                for r in rows]

    @app.put("/teams/{team_id}", tags=["dispatch"], responses={
        200: {"model": S.TeamOut, "description": "the team's report replaced"},
        201: {"model": S.TeamOut, "description": "a new team"}})
    @access(_DISPATCHERS, JSON)
    def put_team(request: Request, body: S.TeamIn, team_id: int = TEAM_ID,
                 api_key: str | None = KEY):
        p = require(request, api_key, _DISPATCHERS)
        lg = ledger()
        unknown = [s for s in body.skills if s not in lg.skill_bit]
        if unknown:
            raise ApiError(400, f"skills: unknown {unknown[0]!r} (known: "
                                f"{', '.join(lg.skill_bit)})")
        if body.mode not in lg.district.speeds_kmh:
            raise ApiError(400, f"mode: unknown {body.mode!r} (known: "
                                f"{', '.join(lg.district.speeds_kmh)})")
        if lg.district.cell_of(np.array([body.lat]), np.array([body.lon]))[0] < 0:
            raise ApiError(400, f"lat/lon: ({body.lat}, {body.lon}) lies outside the district")
        start = parse_time(body.shift_start, "shift_start")
        end = parse_time(body.shift_end, "shift_end")
        if end <= start:
            raise ApiError(400, "shift_end: must be after shift_start")
        fields = dict(name=body.name, lat=body.lat, lon=body.lon,
                      skills=";".join(body.skills), capacity=body.capacity,
                      shift_start=start, shift_end=end, state=body.state, mode=body.mode,
                      free_at=parse_time(body.free_at, "free_at") if body.free_at else None)
        created = lg.put_team(team_id, fields, actor=actor_of(p))
        out = next(t for t in teams_out() if t["id"] == team_id)
        return JSONResponse(out, status_code=201 if created else 200)

    def teams_out() -> list[dict]:
        lg = ledger()
        load: dict[int, int] = {}
        for a in lg.list_assignments():
            load[a.team_id] = load.get(a.team_id, 0) + 1
        return [{"id": t.id, "name": t.name, "lat": t.lat, "lon": t.lon,
                 "skills": t.skills.split(";"), "capacity": t.capacity,
                 "shift_start": iso(t.shift_start), "shift_end": iso(t.shift_end),
                 "state": t.state, "free_at": iso(t.free_at), "mode": t.mode,
                 "updated_datetime": iso(t.updated), "active_assignments": load.get(t.id, 0)}
                for t in lg.list_teams()]

    @app.get("/teams", tags=["dispatch"], responses={200: {"model": list[S.TeamOut]}})
    @access(_DISPATCHERS)
    def get_teams(request: Request, api_key: str | None = KEY):
        require(request, api_key, _DISPATCHERS)
        return teams_out()

    @app.post("/teams/{team_id}/actions", tags=["dispatch"])
    @access(_DISPATCHERS, JSON)
    def team_action(request: Request, body: S.ActionIn, team_id: int = TEAM_ID,
                    api_key: str | None = KEY):
        p = require(request, api_key, _DISPATCHERS)
        rid = request_id(body.service_request_id)
        try:
            after = ledger().team_action(team_id, rid, body.action, body.note,
                                         actor=actor_of(p))
        except NotFound as exc:
            raise ApiError(404, str(exc)) from None
        except Conflict as exc:
            raise ApiError(409, str(exc)) from None
        return {"team_id": team_id, "service_request_id": str(rid), "state": after}

    @app.get("/assignments", tags=["dispatch"],
             responses={200: {"model": list[S.AssignmentOut]}})
    @access(_DISPATCHERS)
    def get_assignments(request: Request, state: str = Query("active", pattern="^(active|all)$"),
                        team_id: int | None = Query(None, ge=0, le=MAX_ID),
                        api_key: str | None = KEY):
        require(request, api_key, _DISPATCHERS)
        rows = ledger().list_assignments(active_only=state == "active", team=team_id)
        return [{"assignment_id": a.id, "service_request_id": str(a.request_id),
                 "team_id": a.team_id, "state": a.state, "assigned_datetime": iso(a.assigned),
                 "eta_datetime": iso(a.eta), "cost": a.cost,
                 "updated_datetime": iso(a.updated)} for a in rows]

    @app.post("/dispatch/run", tags=["dispatch"])
    @access(_DISPATCHERS)
    def run_round(request: Request, api_key: str | None = KEY):
        """Run one live dispatch round now (the loop also runs every few seconds)."""
        p = require(request, api_key, _DISPATCHERS)
        r = ledger().dispatch_once(actor=actor_of(p))
        metrics.rounds.inc()
        metrics.assigned.inc(r.assigned)
        return {"open_requests": r.open_requests, "teams": r.teams, "assigned": r.assigned,
                "deferred": r.deferred, "seconds": r.seconds}

    @app.post("/dispatch", tags=["dispatch"], responses={200: {"model": S.DispatchOut}})
    @access(_DISPATCHERS, JSON, max_body=config.dispatch_body_bytes)
    def dispatch(request: Request, body: S.DispatchIn, api_key: str | None = KEY):
        """Stateless: the contract of ``urbangrid dispatch`` (tasks and teams as rows)."""
        require(request, api_key, _DISPATCHERS)
        return dispatch_tables(
            state["district"], body.tasks, body.teams, now=body.now, method=body.method,
            mode=body.mode, skills=body.skills, time_limit=body.time_limit, seed=body.seed,
            routes=body.routes)

    add_console(app, state, principal)

    # ------------------------------------------------------------------ admin
    @app.post("/keys", tags=["admin"], status_code=201, responses={201: {"model": S.KeyOut}})
    @access(_ADMIN, JSON)
    def create_api_key(request: Request, body: S.KeyIn, api_key: str | None = KEY):
        """Create a key; the answer holds it once (only its digest is stored)."""
        p = require(request, api_key, _ADMIN)
        key = create_key(state["store"], body.role, body.name)
        key_id = key.split("_")[1]
        ledger().record("key_create", actor_of(p), note=f"{key_id} {body.role}")
        return JSONResponse(dict(key_out(key_id), key=key), status_code=201)

    def key_out(key_id: str) -> dict:
        row = next(r for r in list_keys(state["store"]) if r["key_id"] == key_id)
        return {"key_id": row["key_id"], "role": row["role"], "name": row["name"],
                "created_datetime": iso(row["created"]),
                "revoked_datetime": iso(row["revoked"])}

    @app.get("/keys", tags=["admin"], responses={200: {"model": list[S.KeyOut]}})
    @access(_ADMIN)
    def get_api_keys(request: Request, api_key: str | None = KEY):
        """Every key's public part (never a secret)."""
        require(request, api_key, _ADMIN)
        return [key_out(r["key_id"]) for r in list_keys(state["store"])]

    @app.delete("/keys/{key_id}", tags=["admin"], responses={200: {"model": S.KeyOut}})
    @access(_ADMIN)
    def revoke_api_key(request: Request, key_id: str = Path(pattern=r"^[0-9a-f]{1,32}$"),
                       api_key: str | None = KEY):
        """Revoke a key by its public id (404 if no such active key)."""
        p = require(request, api_key, _ADMIN)
        if not revoke_key(state["store"], key_id):
            raise ApiError(404, f"key_id {key_id!r}: no such active key")
        ledger().record("key_revoke", actor_of(p), note=key_id)
        return key_out(key_id)

    @app.get("/audit", tags=["admin"], responses={200: {"model": list[S.AuditOut]}})
    @access(_ADMIN)
    def audit(request: Request, since: str | None = Query(None, max_length=40),
              until: str | None = Query(None, max_length=40),
              kind: str | None = Query(None, max_length=16, pattern=r"^[a-z_]+$"),
              key_id: str | None = Query(None, max_length=32, pattern=r"^[0-9a-f]+$"),
              service_request_id: str | None = Query(None, max_length=20,
                                                     pattern=r"^[0-9]+$"),
              page: int = Query(1, ge=1, le=1_000_000),
              page_size: int = Query(100, ge=1, le=1000), api_key: str | None = KEY):
        """The audit trail, newest first: every event with the key id and role that
        caused it (``system``: the dispatch loop). ``X-Total-Count`` holds the count."""
        require(request, api_key, _ADMIN)
        rid = None
        if service_request_id is not None:
            rid = parse_id(service_request_id)
            if rid is None:
                return JSONResponse([], headers={"X-Total-Count": "0"})
        rows, total = ledger().audit(
            since=parse_w3c(since, "since") if since else None,
            until=parse_w3c(until, "until", end=True) if until else None,
            kind=kind, key_id=key_id, request_id=rid, page=page, page_size=page_size)
        return JSONResponse([{
            "id": r.id, "at": iso(r.at), "kind": r.kind,
            "service_request_id": None if r.request_id is None else str(r.request_id),
            "team_id": r.team_id, "key_id": r.key_id, "role": r.role, "note": r.note}
            for r in rows], headers=page_headers(request, page, page_size, total))

    def database_check() -> tuple[bool, str]:
        if "store" not in state:
            return False, "starting"
        try:
            revision = state["store"].schema_revision()
        except Exception as exc:  # any failure to answer: the check says which kind
            log.warning("database check failed: %s", failure_summary(exc).splitlines()[0])
            return False, f"unavailable ({type(exc).__name__})"
        if revision != state["head"]:
            return False, f"schema at {revision}, code needs {state['head']}"
        return True, "ok"

    @app.get("/metrics", tags=["service"], response_class=Response,
             responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                              "description": "Prometheus text format"}})
    def prometheus_metrics():
        """Prometheus metrics: HTTP requests by method, route and status, their duration,
        dispatch rounds and assignments (this server process)."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/health", tags=["service"], responses={
        503: {"description": "the database does not answer (or lags the code's schema)"}})
    def health():
        """Liveness with the database: 200 when a query answers, else 503."""
        ok, what = database_check()
        return JSONResponse({"status": "ok" if ok else "unavailable", "database": what},
                            status_code=200 if ok else 503)

    @app.get("/ready", tags=["service"], responses={
        503: {"description": "not ready: database or ledger not available"}})
    def ready():
        """Readiness: the database answers at the code's schema and the ledger (district,
        catalogue, policy) is loaded; 503 otherwise, e.g. while starting or when the
        database is gone (a load balancer sends no traffic then)."""
        ok, what = database_check()
        loaded = "ledger" in state
        body = {"status": "ready" if ok and loaded else "not ready", "database": what,
                "ledger": "loaded" if loaded else "loading"}
        return JSONResponse(body, status_code=200 if ok and loaded else 503)

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        comps = doc.setdefault("components", {}).setdefault("schemas", {})
        comps["RequestIn"] = S.RequestIn.model_json_schema(
            ref_template="#/components/schemas/{model}")
        comps["Error"] = S.Error.model_json_schema()
        document_access(doc, app.routes)
        document_links(doc)
        document_xml_twins(doc)
        document_allowed_values(doc, config.jurisdiction_id, list(services),
                                list(dict.fromkeys(s.skill for s in services.values())))
        for name in ("HTTPValidationError", "ValidationError"):
            comps.pop(name, None)
        app.openapi_schema = doc
        return doc

    app.openapi = openapi
    return app


#: the security schemes of the OpenAPI document: the key's two places
SECURITY_SCHEMES = {
    "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": "api_key"},
}
_ERR = {"content": {"application/json": {"schema": {
    "type": "array", "items": {"$ref": "#/components/schemas/Error"}}}}}


def document_access(doc: dict, routes) -> None:
    """Security and error responses of every operation, from its :class:`Access`: the
    key schemes (required when the endpoint has roles, optional otherwise, where a key
    shows personal fields), 400/403/404/409 for every call, 413/415 where a body is
    taken. FastAPI's 422 is never sent (validation errors are Open311 400s)."""
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    rules = {(m.lower(), r.path_format): getattr(r.endpoint, "access", Access())
             for r in routes if isinstance(r, APIRoute) for m in r.methods}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            rule = rules.get((method, path), Access())
            keyed = [{"ApiKeyHeader": []}, {"ApiKeyQuery": []}]
            op["security"] = keyed if rule.roles else [{}, *keyed]
            if rule.roles:
                op["x-roles"] = list(rule.roles)
            resp = op.setdefault("responses", {})
            resp.pop("422", None)
            resp["400"] = dict(_ERR, description="invalid input (the field is named)")
            resp["403"] = dict(_ERR, description="missing, invalid or insufficient api_key")
            resp["404"] = dict(_ERR, description="not found")
            resp["409"] = dict(_ERR, description="conflicts with the current state")
            resp["429"] = dict(_ERR, description="the key's rate limit (see Retry-After)")
            if rule.body:
                resp["413"] = dict(_ERR, description="request body too large")
                resp["415"] = dict(_ERR, description="unsupported Content-Type")


def document_links(doc: dict) -> None:
    """OpenAPI links (stateful tests follow them): a created request's id feeds the calls
    that take one, a team's id the team's actions."""
    paths = doc["paths"]
    rid = {"service_request_id": "$response.body#/0/service_request_id"}
    created = paths["/requests.json"]["post"]["responses"]["201"]
    created["links"] = {
        name: {"operationId": paths[path][method]["operationId"], "parameters": rid}
        for name, path, method in (
            ("GetRequest", "/requests/{service_request_id}.json", "get"),
            ("GetEvents", "/requests/{service_request_id}/events.json", "get"),
            ("UpdateStatus", "/requests/{service_request_id}/status", "post"))}
    team = {"team_id": "$request.path.team_id"}
    for status in ("200", "201"):
        paths["/teams/{team_id}"]["put"]["responses"][status]["links"] = {
            "TeamAction": {"operationId": paths["/teams/{team_id}/actions"]["post"][
                "operationId"], "parameters": team}}


def document_xml_twins(doc: dict) -> None:
    """The ``.xml`` twin of every Open311 call (:mod:`.formats`): the same operation,
    answering ``text/xml``."""
    import copy

    for path in list(doc["paths"]):
        twin = path.removesuffix(".json") + ".xml"
        if not path.endswith(".json") or not any(p.fullmatch(
                twin.replace("{", "").replace("}", "")) for p, _, _ in OPEN311_XML):
            continue
        ops = copy.deepcopy(doc["paths"][path])
        for op in ops.values():
            op["operationId"] = op.get("operationId", "") + "_xml"
            for resp in op.get("responses", {}).values():
                if "content" in resp:
                    resp["content"] = {"text/xml": {"schema": {"type": "string"}}}
        doc["paths"][twin] = ops


def document_allowed_values(doc: dict, jurisdiction_id: str, codes: list[str],
                            skills: list[str]) -> None:
    """The allowed values JSON Schema can state, as enums: the one jurisdiction, the
    service codes (path parameter and request field) and the team skills."""
    for ops in doc["paths"].values():
        for op in ops.values():
            for param in op.get("parameters", []):
                if param["name"] == "jurisdiction_id":
                    param["schema"] = {"type": "string", "enum": [jurisdiction_id]}
                elif param["name"] == "service_code" and param["in"] == "path":
                    param["schema"] = {"type": "string", "enum": codes}
    comps = doc["components"]["schemas"]
    comps["RequestIn"]["properties"]["service_code"]["enum"] = codes
    jur = comps["RequestIn"]["properties"]["jurisdiction_id"]
    jur.pop("type", None)
    jur["anyOf"] = [{"type": "string", "enum": [jurisdiction_id]}, {"type": "null"}]
    comps["TeamIn"]["properties"]["skills"]["items"]["enum"] = skills


@dataclass(frozen=True)
class Upload:
    """A file of a multipart form."""

    field: str
    file_name: str
    data: bytes


def read_form(body: bytes, content_type: str) -> tuple[dict, list[Upload]]:
    """The fields of a form body (``application/x-www-form-urlencoded`` or
    ``multipart/form-data``, parsed by python-multipart), decoded as strict UTF-8.

    400 naming the field for invalid UTF-8 (Starlette's form parser silently reads it as
    Latin-1) and for a field given twice (but ``name[]``, a list). Returns the fields and
    the files (:class:`Upload`): the caller stores or refuses each, never drops one.
    """
    import io
    from urllib.parse import unquote_to_bytes

    import python_multipart
    from python_multipart.exceptions import FormParserError

    fields, files = [], []
    try:
        python_multipart.parse_form({"Content-Type": content_type.encode("latin-1")},
                                    io.BytesIO(body), fields.append, files.append)
    except (FormParserError, ValueError, UnicodeError):
        raise ApiError(400, "body: not a well-formed form") from None
    uploads = []
    for f in files:
        f.file_object.seek(0)
        uploads.append(Upload((f.field_name or b"").decode("utf-8", "replace"),
                              (f.file_name or b"").decode("utf-8", "replace"),
                              f.file_object.read()))
        f.close()
    urlencoded = content_type.split(";")[0].strip().lower() == FORM[0]

    def text(raw: bytes | None, what: str) -> str:
        raw = raw or b""
        if urlencoded:
            raw = unquote_to_bytes(raw.replace(b"+", b" "))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, f"{what}: not valid UTF-8") from None

    out: dict[str, str | list[str]] = {}
    for f in fields:
        name = text(f.field_name, "field name")
        value = text(f.value, name)
        if name.endswith("[]"):  # a list field (an attribute's multivaluelist)
            out.setdefault(name, []).append(value)
        elif name in out:
            raise ApiError(400, f"{name}: given more than once")
        else:
            out[name] = value
    return out, uploads


def parse_json(body: bytes):
    """A JSON body; 400 for invalid JSON or UTF-8, and for nesting so deep that the
    parser gives up (``RecursionError``, e.g. 30,000 ``[``: a 400, not a 500)."""
    try:
        return json.loads(body or b"null")
    except (ValueError, RecursionError):
        raise ApiError(400, "body is not valid JSON (UTF-8, nested at most a few hundred "
                            "levels)") from None


def page_headers(request: Request, page: int, page_size: int, total: int) -> dict:
    """Pagination metadata: ``X-Total-Count`` and an RFC 8288 ``Link`` header with the
    ``first``, ``prev``, ``next`` and ``last`` pages (same query, other ``page``)."""
    last = max(1, -(-total // page_size))
    links = {"first": 1, "last": last}
    if page > 1:
        links["prev"] = min(page - 1, last)
    if page < last:
        links["next"] = page + 1
    url = request.url.remove_query_params("api_key")  # never a key in a link
    link = ", ".join(f'<{url.include_query_params(page=n, page_size=page_size)}>; rel="{rel}"'
                     for rel, n in links.items())
    return {"X-Total-Count": str(total), "Link": link}


def _describe(errors) -> str:
    """First validation error as ``field: message``."""
    parts = []
    for e in list(errors)[:3]:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path")]
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        if loc:
            parts.append(f"{'.'.join(loc)}: {msg}")
        else:  # a rule of the whole body names its fields itself
            parts.append(msg if ":" in msg else f"body: {msg}")
    return "; ".join(parts)
