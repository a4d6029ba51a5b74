"""Writing a run's records: the event log and the case table (Parquet)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from urbangrid.catalogue import CHANNELS

from .codes import EVENT_NAMES, STATUS_NAMES, Status
from .kpis import case_table_metrics

__all__ = ["SOURCE_LABELS", "case_arrow_table", "case_table", "event_table", "write_cases",
           "write_events"]

#: Open311 ``source`` label of each channel.
SOURCE_LABELS = {"iot": "IoT/video", "patrol": "Inspector patrol", "hotline": "Hotline 12345",
                 "other": "Order from above"}

_ROWS_PER_GROUP = 1 << 20
_CASE_ROWS_PER_GROUP = 1 << 18


def _dict_col(codes: np.ndarray, labels) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int16)),
                                          pa.array(list(labels)))


def event_table(result, lo: int = 0, hi: int | None = None) -> pa.Table:
    """Event log rows ``lo:hi`` as an Arrow table.

    Columns: ``case_id``, ``time_s`` (seconds since the run start), ``event``, ``channel``,
    ``category``, ``cell``, ``subdistrict``, ``team`` (-1 when no team).
    """
    ev = result.events
    hi = ev["time"].shape[0] if hi is None else hi
    case = ev["case"][lo:hi]
    c = result.cases
    cell = c["cell"][case]
    return pa.table({
        "case_id": pa.array(case),
        "time_s": pa.array(ev["time"][lo:hi]),
        "event": _dict_col(ev["kind"][lo:hi], EVENT_NAMES),
        "channel": _dict_col(c["channel"][case], CHANNELS),
        "category": _dict_col(c["category"][case], result.catalogue.code),
        "cell": pa.array(cell),
        "subdistrict": pa.array(result.space.subdistrict[cell]),
        "team": pa.array(ev["team"][lo:hi]),
    })


def write_events(result, path: str | Path) -> None:
    """Write the event log to Parquet in row groups (bounded memory for a year's run)."""
    n = result.n_events
    writer = None
    try:
        for lo in range(0, max(n, 1), _ROWS_PER_GROUP):
            t = event_table(result, lo, min(n, lo + _ROWS_PER_GROUP))
            if writer is None:
                writer = pq.ParquetWriter(str(path), t.schema, compression="zstd")
            writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()


def _datetimes(result, seconds: np.ndarray) -> pd.DatetimeIndex:
    start = pd.Timestamp(result.scenario.run.start_datetime, tz="Asia/Shanghai")
    return start + pd.to_timedelta(seconds, unit="s")


def _cat(codes: np.ndarray, labels) -> pd.Categorical:
    """Categorical column (repeated labels stored once: a year holds 2.4 M cases)."""
    labels = list(labels)
    uniq = list(dict.fromkeys(labels))
    remap = np.array([uniq.index(x) for x in labels] + [-1], dtype=np.int32)
    return pd.Categorical.from_codes(remap[np.where(codes >= 0, codes, len(labels))], uniq)


def case_table(result) -> pd.DataFrame:
    """One row per case, Open311 GeoReport Bulk columns first, then the project's own.

    Repeated text columns are pandas categoricals.
    """
    return pd.DataFrame(_case_columns(result))


def case_arrow_table(result, lo: int = 0, hi: int | None = None, metrics=None,
                     last=None) -> pa.Table:
    """:func:`case_table` (rows ``lo:hi``) as an Arrow table, without a DataFrame."""
    cols = {}
    for name, v in _case_columns(result, lo, hi, metrics, last).items():
        # Fixed Arrow types so that every row group has the same schema.
        if isinstance(v, pd.Categorical):
            codes = np.asarray(v.codes).astype(np.int32)
            cols[name] = pa.DictionaryArray.from_arrays(
                pa.array(codes, mask=codes < 0), pa.array(list(v.categories), pa.string()))
        elif isinstance(v, pd.DatetimeIndex):
            ns = v.as_unit("ns")
            cols[name] = pa.array(ns.asi8, mask=np.asarray(ns.isna()),
                                  type=pa.timestamp("ns", tz="Asia/Shanghai"))
        else:
            cols[name] = pa.array(v)
    return pa.table(cols)


def _last_event_time(result) -> np.ndarray:
    ev = result.events
    last = np.full(result.cases["status"].shape[0], np.nan)
    if ev["time"].size:
        # Events are in time order, so the last write per case wins.
        last[ev["case"]] = ev["time"]
    return last


def _request_ids(result, c: dict, lo: int, hi: int) -> np.ndarray:
    """``UG<case id>``, or for a case replayed from a trace the trace's own id."""
    ids = np.char.add("UG", np.arange(lo, hi).astype(str)).astype(object)
    trace_ids = getattr(result, "trace_ids", None)
    if trace_ids is not None and "trace_ref" in c:
        ref = c["trace_ref"]
        has = ref >= 0
        ids[has] = trace_ids[ref[has]]
    return ids.astype(str)


def _case_columns(result, lo: int = 0, hi: int | None = None, metrics=None,
                  last=None) -> dict:
    """Case-table columns of cases ``lo:hi``."""
    n_all = result.cases["status"].shape[0]
    hi = n_all if hi is None else hi
    sl = slice(lo, hi)
    c = {k: v[sl] for k, v in result.cases.items()}
    m = case_table_metrics(result) if metrics is None else metrics
    m = {k: v[sl] for k, v in m.items()}
    last = (_last_event_time(result) if last is None else last)[sl]
    st = c["status"].astype(np.int64)
    closed_like = (st == Status.CLOSED) | (st == Status.PARKED) | (st == Status.INVALID)
    desc_code = np.select(
        [st == Status.CLOSED, st == Status.PARKED, st == Status.INVALID, np.isnan(c["t_dispatch"])],
        [0, 1, 2, 3], 4)
    teams = result.teams
    cat = result.catalogue
    sp = result.space
    cell = c["cell"].astype(np.int64)
    sub = sp.subdistrict[cell].astype(np.int64)
    category = c["category"].astype(np.int64)
    channel = c["channel"].astype(np.int64)
    return {
        "service_request_id": _request_ids(result, c, lo, hi),
        "requested_datetime": _datetimes(result, c["t_report"]),
        "updated_datetime": _datetimes(result, last),
        "closed_date": _datetimes(result, np.where(st == Status.CLOSED, c["t_close"], np.nan)),
        "status": _cat(closed_like.astype(np.int64), ["open", "closed"]),
        "status_description": _cat(desc_code, ["Closed", "Hold (parked)", "Closed (invalid)",
                                               "Open", "Processing"]),
        "source": _cat(channel, [SOURCE_LABELS[x] for x in CHANNELS]),
        "service_code": _cat(category, cat.code),
        "service_name": _cat(category, cat.name_en),
        "service_subtype": _cat(category, cat.name_zh),
        "agency_responsible": _cat(c["team"].astype(np.int64), teams["name"]),
        "address": _cat(sub, sp.sub_names),
        "lat": sp.lat[cell],
        "long": sp.lon[cell],
        "case_id": np.arange(lo, hi, dtype=np.int64),
        "channel": _cat(channel, CHANNELS),
        "kind": _cat(category, cat.kind),
        "cell": cell.astype(np.int32),
        "h3": _cat(cell, sp.h3),
        "subdistrict": _cat(sub, sp.sub_codes),
        "state": _cat(st, STATUS_NAMES),
        "occurred_s": c["t_occur"], "reported_s": c["t_report"],
        "registered_s": c["t_register"], "pooled_s": c["t_pool"],
        "dispatched_s": c["t_dispatch"],
        "closed_s": np.where(st == Status.CLOSED, c["t_close"], np.nan),
        "parked_s": np.where(st == Status.PARKED, c["t_close"], np.nan),
        "deadline_s": m["deadline"],
        "handling_days_calendar": m["handling_days_calendar"],
        "handling_days_working": m["handling_days_working"],
        "same_day": m["same_day"], "on_time": m["on_time"],
        "resolved": c["resolved"], "satisfied": c["satisfied"],
        "on_the_spot": c["on_spot"].astype(bool),
        "misroutes": c["n_misroute"], "reworks": c["n_rework"],
        "reopened": c["n_reopen"], "extensions": c["n_extension"],
        "team": c["team"],
        "in_stats_window": (c["t_report"] >= result.t_stats) & (c["t_report"] < result.t_end),
    }


def write_cases(result, path: str | Path) -> None:
    """Write :func:`case_table` to Parquet, through Arrow in row groups (bounded memory)."""
    n = result.cases["status"].shape[0]
    metrics = case_table_metrics(result)
    last = _last_event_time(result)
    writer = None
    try:
        for lo in range(0, max(n, 1), _CASE_ROWS_PER_GROUP):
            t = case_arrow_table(result, lo, min(n, lo + _CASE_ROWS_PER_GROUP), metrics, last)
            if writer is None:
                writer = pq.ParquetWriter(str(path), t.schema, compression="zstd")
            writer.write_table(t)
    finally:
        if writer is not None:
            writer.close()
