"""Request ids, Prometheus metrics and structured (JSON) logs.

:class:`RequestContext` gives every request an id (the caller's ``X-Request-ID`` when it
is a short token of letters, digits and ``._-``, else a new random one), answers it in
the ``X-Request-ID`` header, makes it the ``request_id`` of every log record written
while the request runs (the access log line included), and counts the request in the
application's Prometheus registry by method, route template and status, with its
duration. :func:`configure_logging` writes the log as one JSON object per line
(python-json-logger) or as text.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from prometheus_client import CollectorRegistry, Counter, Histogram

__all__ = ["Metrics", "RequestContext", "configure_logging", "request_id"]

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "urbangrid_request_id", default=None)
_GIVEN_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Metrics:
    """The Prometheus metrics of one application (its own registry, so that several
    applications in one process, as in the tests, do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "urbangrid_http_requests", "HTTP requests answered",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "urbangrid_http_request_duration_seconds", "time to answer an HTTP request",
            ["method", "route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))
        self.rounds = Counter("urbangrid_dispatch_rounds", "live dispatch rounds run",
                              registry=self.registry)
        self.assigned = Counter("urbangrid_dispatch_assigned",
                                "requests assigned by live dispatch rounds",
                                registry=self.registry)


class RequestContext:
    """ASGI middleware: request id, its log context, and the request's metrics."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", [])
                      if k == b"x-request-id"), "")
        rid = given if _GIVEN_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        status = [500]
        t0 = time.perf_counter()

        async def tagged(message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = dict(message, headers=[*message.get("headers", []),
                                                 (b"x-request-id", rid.encode())])
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status[0])).inc()
            self.metrics.latency.labels(scope["method"], route).observe(
                time.perf_counter() - t0)
            request_id.reset(token)


class _WithRequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(fmt: str = "json", level: int = logging.INFO) -> None:
    """The root logger writes to stderr as JSON lines (``fmt="json"``: time, level,
    logger, message, request_id) or as text; every record carries the request id."""
    handler = logging.StreamHandler()
    handler.addFilter(_WithRequestId())
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
