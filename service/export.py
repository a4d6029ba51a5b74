"""The ledger as a log: Open311 GeoReport Bulk rows, the team roster and what happened.

``urbangrid replay --export bulk.csv`` writes :func:`ledger_log`'s rows: the columns
``urbangrid calibrate`` reads (calibration/logs.py) and ``demand.trace`` replays
(simulation/trace.py), so what the live service recorded can be calibrated on and
re-simulated: live → calibration → what-if.

Times in the ledger are epoch seconds; the log writes them as ISO 8601 in the district's
local time with its offset (+08:00). A request's ``closed_date`` is the time of the
change that closed it (its ``updated`` time while closed); ``dispatched`` is its first
dispatch, by a round or by hand. The roster is every team the ledger knows, with its
daily shift (the local time of day its recorded shift starts and its length).

This module reads the ledger only; it imports neither the simulation nor SimPy.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from urbangrid.calendar import CHINA_TZ
from urbangrid.errors import InputError

from .db import Store, events, requests, teams

__all__ = ["BULK_COLUMNS", "LIVE_SOURCE", "actual_kpis", "case_outcomes", "ledger_log",
           "ledger_roster", "local_iso", "log_times", "outcome_kpis"]

#: Columns of the exported log, in order (Open311 GeoReport Bulk names; ``dispatched``,
#: ``deadline`` and ``agency_responsible`` are what the live service adds).
BULK_COLUMNS = ("service_request_id", "requested_datetime", "updated_datetime",
                "closed_date", "status", "status_description", "service_code",
                "service_name", "agency_responsible", "lat", "long", "source",
                "dispatched_datetime", "deadline_datetime")

#: Where live requests come from: citizens reporting through Open311 clients, which the
#: centre dispatches straight to crews (the model's ``other`` channel).
LIVE_SOURCE = "other"


def local_iso(t: float | None) -> str:
    """Epoch seconds as local ISO 8601 with its offset; ``""`` for none."""
    if t is None or not np.isfinite(t):
        return ""
    return dt.datetime.fromtimestamp(float(t), CHINA_TZ).isoformat(timespec="seconds")


def _epoch(value: dt.datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=CHINA_TZ)
    return value.timestamp()


def ledger_log(store: Store, t0: dt.datetime | None = None, t1: dt.datetime | None = None,
               names: dict[str, str] | None = None) -> pd.DataFrame:
    """The requests received in ``[t0, t1)`` (naive times are local), one row each, in
    order of receipt, with :data:`BULK_COLUMNS` (``names``: service name by code)."""
    lo, hi = _epoch(t0), _epoch(t1)
    if lo is not None and hi is not None and hi <= lo:
        raise InputError(f"--to ({local_iso(hi)}) must be after --from ({local_iso(lo)})")
    where = []
    if lo is not None:
        where.append(requests.c.requested >= lo)
    if hi is not None:
        where.append(requests.c.requested < hi)
    first_dispatch = (sa.select(events.c.request_id, sa.func.min(events.c.at).label("at"))
                      .where(events.c.kind.in_(("dispatched", "assigned")))
                      .group_by(events.c.request_id)
                      .subquery())
    q = (sa.select(requests.c.id, requests.c.requested, requests.c.updated,
                   requests.c.status, requests.c.stage, requests.c.service_code,
                   requests.c.agency_responsible, requests.c.lat, requests.c.lon,
                   requests.c.deadline, first_dispatch.c.at.label("dispatched"))
         .select_from(requests.outerjoin(first_dispatch,
                                         first_dispatch.c.request_id == requests.c.id))
         .where(*where).order_by(requests.c.requested, requests.c.id))
    with store.read() as conn:
        rows = conn.execute(q).all()
    names = names or {}
    closed = [r.status == "closed" for r in rows]
    return pd.DataFrame({
        "service_request_id": [str(r.id) for r in rows],
        "requested_datetime": [local_iso(r.requested) for r in rows],
        "updated_datetime": [local_iso(r.updated) for r in rows],
        "closed_date": [local_iso(r.updated) if c else "" for r, c in zip(rows, closed,
                                                                           strict=True)],
        "status": [r.status for r in rows],
        "status_description": [r.stage for r in rows],
        "service_code": [r.service_code for r in rows],
        "service_name": [names.get(r.service_code, r.service_code) for r in rows],
        "agency_responsible": [r.agency_responsible or "" for r in rows],
        "lat": [r.lat for r in rows],
        "long": [r.lon for r in rows],
        "source": [LIVE_SOURCE] * len(rows),
        "dispatched_datetime": [local_iso(r.dispatched) for r in rows],
        "deadline_datetime": [local_iso(r.deadline) for r in rows],
    }, columns=list(BULK_COLUMNS))


def ledger_roster(store: Store) -> pd.DataFrame:
    """Every team: name, skills, capacity, mode and its daily shift (local ``HH:MM``
    start and hours, from its recorded shift)."""
    with store.read() as conn:
        rows = conn.execute(sa.select(teams).order_by(teams.c.id)).all()
    start = [dt.datetime.fromtimestamp(r.shift_start, CHINA_TZ) for r in rows]
    return pd.DataFrame({
        "team_id": [r.id for r in rows],
        "name": [r.name or f"team {r.id}" for r in rows],
        "skills": [tuple(sorted(s for s in r.skills.split(",") if s)) for r in rows],
        "capacity": [r.capacity for r in rows],
        "mode": [r.mode for r in rows],
        "shift_start": [s.strftime("%H:%M") for s in start],
        "shift_hours": [min(24.0, max(0.0, (r.shift_end - r.shift_start) / 3600.0))
                        for r in rows],
    })


def outcome_kpis(t_req: np.ndarray, t_close: np.ndarray, t_due: np.ndarray,
                 t_dispatch: np.ndarray) -> dict[str, float]:
    """What happened to requests, from their epoch times (NaN: never): one definition
    for the ledger's record and for its replay.

    ``cases_created``, ``cases_closed``, ``cases_open_end`` (open when the record ends),
    ``dispatched`` (reached a team), ``handling_days_calendar_mean`` (receipt to closing,
    closed requests), ``same_day_rate`` (closed on the local calendar day of receipt, of
    all requests), ``on_time_rate`` (closed by the deadline, of all requests).
    """
    closed = np.isfinite(t_close)
    n = int(t_req.shape[0])
    days = (t_close - t_req) / 86400.0
    same, on_time = case_outcomes(t_req, t_close, t_due)
    return {
        "cases_created": float(n),
        "cases_closed": float(closed.sum()),
        "cases_open_end": float(n - closed.sum()),
        "dispatched": float(np.isfinite(t_dispatch).sum()),
        "handling_days_calendar_mean": float(days[closed].mean()) if closed.any() else np.nan,
        "same_day_rate": float(same.mean()) if n else np.nan,
        "on_time_rate": float(on_time.mean()) if n else np.nan,
    }


def case_outcomes(t_req: np.ndarray, t_close: np.ndarray, t_due: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Per request: closed on its local day of receipt, and closed by its deadline."""
    off = CHINA_TZ.utcoffset(None).total_seconds()
    closed = np.isfinite(t_close)
    with np.errstate(invalid="ignore"):
        same = closed & (np.floor((t_close + off) / 86400.0) == np.floor((t_req + off) / 86400.0))
        on_time = closed & (t_close <= t_due)
    return same, on_time


def log_times(log: pd.DataFrame) -> dict[str, np.ndarray]:
    """Epoch seconds of a :func:`ledger_log`'s times (NaN where empty)."""
    return {k: _seconds(log[c]) for k, c in (
        ("requested", "requested_datetime"), ("closed", "closed_date"),
        ("deadline", "deadline_datetime"), ("dispatched", "dispatched_datetime"))}


def actual_kpis(log: pd.DataFrame) -> dict[str, float]:
    """:func:`outcome_kpis` of a :func:`ledger_log`, computed from the log alone."""
    t = log_times(log)
    return outcome_kpis(t["requested"], t["closed"], t["deadline"], t["dispatched"])


def _seconds(col: pd.Series) -> np.ndarray:
    """Epoch seconds of ISO texts with an offset (``""``: NaN)."""
    out = np.full(len(col), np.nan)
    for i, v in enumerate(col.tolist()):
        if v:
            out[i] = dt.datetime.fromisoformat(v).timestamp()
    return out
