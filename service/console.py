"""The operations console at ``/console``: the district's vital signs for the duty room.

One page (``console/index.html``, ``console.js``, ``console.css``, no build step and no
third-party code) served by the same application as the API. It draws the district from
its own geometry (sub-district outlines, the union of their H3 cells, as SVG: no tiles,
no CDN), the open requests coloured by their age against their time limit, the teams at
their reported positions, the queue of open requests, the teams' current and next tasks
and the day's KPIs, refreshed by server-sent events whenever the ledger changes.

Log-in: the API key is posted once to ``POST /console/login`` and kept in an HttpOnly,
SameSite=Strict cookie (never in a URL, never readable by scripts); the API accepts that
cookie as it accepts the ``X-API-Key`` header, and for calls that change state only
together with the header ``X-Urbangrid-Console: 1``, which a page of another site cannot
send without the browser's CORS preflight (cross-site request forgery). The console's
data needs a dispatcher or admin key; actions (assign by hand, a dispatch round now, a
status with a note, a team off duty) are calls of the ordinary API, so they leave the
same events in the ledger as any other client's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from importlib import resources

import numpy as np
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from urbangrid.calendar import CHINA_TZ

from .db import assignments, events, requests, teams

__all__ = ["COOKIE", "CSRF_HEADER", "add_console", "console_state", "cookie_key",
           "district_geojson"]

#: The session cookie holding the API key.
COOKIE = "urbangrid_console"
#: Header the console sends with every call that changes state (see the module docstring).
CSRF_HEADER = "x-urbangrid-console"
_STATIC = {"index.html": "text/html; charset=utf-8",
           "console.js": "text/javascript; charset=utf-8",
           "console.css": "text/css; charset=utf-8"}
_ACTIVE = ("assigned", "accepted", "arrived")
#: Seconds between the stream's looks at the ledger (its last event id), and between two
#: states sent when nothing changed (the requests' ages move on; it also keeps proxies
#: from closing a quiet stream).
POLL_S, REFRESH_S = 1.0, 10.0


def cookie_key(request: Request) -> str | None:
    """The key in the console's cookie, for a call the console may make with it: any
    read, and a change only with :data:`CSRF_HEADER` (else ``None``: no key)."""
    key = request.cookies.get(COOKIE)
    if not key:
        return None
    if request.method not in ("GET", "HEAD") and request.headers.get(CSRF_HEADER) != "1":
        return None
    return key


def district_geojson(district) -> dict:
    """Sub-district outlines (the union of each one's cells) as GeoJSON, WGS-84."""
    import h3
    import shapely.geometry

    cells = district.cells
    subs = district.subdistricts
    index = np.asarray(district.subdistrict_index)
    features = []
    for k, row in enumerate(subs.itertuples(index=False)):
        members = cells["h3"].to_numpy()[index == k].tolist()
        if not members:
            continue
        shape = shapely.geometry.shape(h3.cells_to_geo(members))
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(shape),
                         "properties": {"code": str(row.code), "name": str(row.name),
                                        "name_en": str(getattr(row, "name_en", "") or "")}})
    return {"type": "FeatureCollection", "features": features}


def _local_midnight(now: float) -> float:
    d = dt.datetime.fromtimestamp(now, CHINA_TZ)
    return d.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def console_state(ledger, district, now: float | None = None) -> dict:
    """What the console shows, read from the ledger in one go (see :func:`add_console`).

    KPIs of the local day so far: ``received``, ``dispatched`` (first dispatches),
    ``closed``, ``same_day`` (closed today of those received today, over received
    today), ``on_time`` (closed today by their deadline, over closed today) and
    ``backlog`` (open now)."""
    now = time.time() if now is None else now
    day0 = _local_midnight(now)
    subs = district.subdistricts
    sub_of = np.asarray(district.subdistrict_index)
    names = [str(n) for n in subs["name"]]
    names_en = [str(n) for n in subs["name_en"]] if "name_en" in subs else [""] * len(names)
    with ledger.store.read() as conn:
        open_rows = conn.execute(
            sa.select(requests.c.id, requests.c.service_code, requests.c.description,
                      requests.c.priority, requests.c.requested, requests.c.deadline,
                      requests.c.lat, requests.c.lon, requests.c.cell, requests.c.stage,
                      requests.c.agency_responsible)
            .where(requests.c.status == "open").order_by(requests.c.requested)).all()
        team_rows = conn.execute(sa.select(teams).order_by(teams.c.id)).all()
        active = conn.execute(sa.select(assignments).where(assignments.c.state.in_(_ACTIVE))
                              .order_by(assignments.c.assigned, assignments.c.id)).all()
        received = conn.execute(sa.select(sa.func.count()).select_from(requests)
                                .where(requests.c.requested >= day0)).scalar()
        closed_today = conn.execute(
            sa.select(requests.c.requested, requests.c.updated, requests.c.deadline)
            .where((requests.c.status == "closed") & (requests.c.updated >= day0))).all()
        first = (sa.select(events.c.request_id, sa.func.min(events.c.at).label("at"))
                 .where(events.c.kind.in_(("dispatched", "assigned")))
                 .group_by(events.c.request_id)
                 .subquery())
        dispatched = conn.execute(sa.select(sa.func.count()).select_from(first)
                                  .where(first.c.at >= day0)).scalar()
        version = conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0
    services = ledger.services
    reqs = []
    for r in open_rows:
        limit = max(r.deadline - r.requested, 1.0)
        svc = services.get(r.service_code)
        reqs.append({
            "service_request_id": str(r.id), "service_code": r.service_code,
            "service_name": svc.name if svc else r.service_code,
            "description": (r.description or "")[:120], "priority": r.priority,
            # a request filed by address alone has no cell (nor point) until it is placed
            "subdistrict": names[int(sub_of[r.cell])] if r.cell is not None
            and 0 <= r.cell < sub_of.size else "",
            "subdistrict_en": names_en[int(sub_of[r.cell])] if r.cell is not None
            and 0 <= r.cell < sub_of.size else "",
            "lat": r.lat, "long": r.lon, "stage": r.stage,
            "team": r.agency_responsible or "",
            "age_s": now - r.requested, "limit_s": limit,
            "age_of_limit": (now - r.requested) / limit})
    tasks: dict[int, list[dict]] = {}
    for a in active:
        tasks.setdefault(a.team_id, []).append(
            {"service_request_id": str(a.request_id), "state": a.state})
    team_out = []
    for t in team_rows:
        held = tasks.get(t.id, [])
        # the task in hand: one the team has arrived at or accepted, else the first
        current = next((x for x in held if x["state"] in ("arrived", "accepted")),
                       held[0] if held else None)
        team_out.append({
            "id": t.id, "name": t.name or f"team {t.id}", "lat": t.lat, "lon": t.lon,
            "state": "off" if t.state == "off" or t.shift_end <= now else
                     ("busy" if held else t.state),
            "skills": [s for s in t.skills.split(",") if s], "capacity": t.capacity,
            "current": current, "next": [x for x in held if x is not current]})
    n_closed = len(closed_today)
    same = sum(1 for r in closed_today if r.requested >= day0)
    on_time = sum(1 for r in closed_today if r.updated <= r.deadline)
    kpis = {"received": int(received), "dispatched": int(dispatched), "closed": n_closed,
            "same_day": same / received if received else None,
            "on_time": on_time / n_closed if n_closed else None,
            "backlog": len(open_rows)}
    return {"now": dt.datetime.fromtimestamp(now, CHINA_TZ).isoformat(timespec="seconds"),
            "version": int(version), "kpis": kpis, "requests": reqs, "teams": team_out}


def _version(store) -> int:
    """The ledger's last event id: every change of a request or a team adds one."""
    with store.read() as conn:
        return int(conn.execute(sa.select(sa.func.max(events.c.id))).scalar() or 0)


class LoginIn(BaseModel):
    api_key: str = Field(min_length=1, max_length=200)


def add_console(app: FastAPI, state: dict, principal, *, secure_cookie: bool = False) -> None:
    """Add the console's routes to ``app``: ``GET /console`` (the page, no data in it),
    its static files, ``POST /console/login`` and ``/console/logout``, and, for a
    dispatcher or admin key (cookie or header), ``GET /console/district.json``,
    ``/console/state`` and ``/console/stream`` (server-sent events: ``state`` whenever
    the ledger changes). ``principal(request, None)`` is the API's caller check."""
    cached: dict = {}

    def staff(request: Request):
        p = principal(request, None)
        if p is None or p.role not in ("dispatcher", "admin"):
            return None
        return p

    def denied() -> JSONResponse:
        return JSONResponse([{"code": 403, "description": "the console needs a dispatcher "
                              "or admin key: log in"}], status_code=403)

    def page(name: str) -> Response:
        body = (resources.files("urbangrid.service") / "console" / name).read_bytes()
        return Response(body, media_type=_STATIC[name],
                        headers={"Cache-Control": "no-cache",
                                 "Content-Security-Policy": "default-src 'self'; "
                                 "img-src 'self' data:; frame-ancestors 'none'"})

    @app.get("/console", include_in_schema=False)
    def console_page():
        return page("index.html")

    @app.get("/console/static/{name}", include_in_schema=False)
    def console_static(name: str):
        if name not in _STATIC or name == "index.html":
            return JSONResponse([{"code": 404, "description": f"{name!r} not found"}],
                                status_code=404)
        return page(name)

    @app.post("/console/login", tags=["console"], status_code=204)
    def console_login(body: LoginIn):
        from .auth import verify_key

        p = verify_key(state["store"], body.api_key)
        if p is None or p.role not in ("dispatcher", "admin"):
            return denied() if p is not None else JSONResponse(
                [{"code": 403, "description": "api_key is invalid or revoked"}],
                status_code=403)
        r = Response(status_code=204)
        r.set_cookie(COOKIE, body.api_key, httponly=True, samesite="strict",
                     secure=secure_cookie, path="/", max_age=12 * 3600)
        return r

    @app.post("/console/logout", tags=["console"], status_code=204)
    def console_logout():
        r = Response(status_code=204)
        r.delete_cookie(COOKIE, path="/")
        return r

    @app.get("/console/district.json", tags=["console"])
    def console_district(request: Request):
        if staff(request) is None:
            return denied()
        if "geo" not in cached:
            cached["geo"] = district_geojson(state["district"])
        return cached["geo"]

    @app.get("/console/state", tags=["console"])
    def console_state_route(request: Request):
        if staff(request) is None:
            return denied()
        return console_state(state["ledger"], state["district"])

    # not in the OpenAPI document: an event stream never ends, it is the page's channel
    @app.get("/console/stream", include_in_schema=False)
    async def console_stream(request: Request):
        if await run_in_threadpool(staff, request) is None:
            return denied()

        async def events_of():
            seen, quiet = None, 0.0
            while not await request.is_disconnected():
                version = await run_in_threadpool(_version, state["store"])
                if version != seen or quiet >= REFRESH_S:
                    # a change in the ledger, or ages that have moved on
                    doc = await run_in_threadpool(console_state, state["ledger"],
                                                  state["district"])
                    seen, quiet = version, 0.0
                    yield f"event: state\ndata: {json.dumps(doc)}\n\n"
                await asyncio.sleep(POLL_S)
                quiet += POLL_S

        return StreamingResponse(events_of(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})
