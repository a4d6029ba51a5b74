"""Recorded arrivals: re-simulate exactly the cases of a log (``demand.trace``).

With ``demand.trace = "FILE"`` the run's arrivals are the rows of a recorded log instead
of the Poisson streams of :mod:`.demand`: each row is one case reported at its time, in
its place, of its category and channel; everything after the report (registration,
dispatch, crews, work orders) is the model's, so one log can be replayed under another
policy or staffing and compared case by case with what actually happened.

The file is CSV or Parquet with the Open311 GeoReport Bulk column names, the ones
``urbangrid calibrate`` reads and ``urbangrid replay --export`` writes:

``requested_datetime``
    ISO 8601 report time; with a UTC offset it is converted to the district's local
    time (Asia/Shanghai, as ``run.start``), without one it is read as local time.
``service_code``
    A category code of the run's catalogue.
``lat``, ``long``
    WGS-84 position, placed in the district cell that contains it (the H3 cell of the
    district's resolution; on a toy lattice the nearest cell centre within half a cell
    spacing). A position outside the district is an error, not a guess.
``source`` (optional)
    The channel: ``iot``, ``patrol``, ``hotline`` or ``other``, or the Open311 label
    :data:`~.output.SOURCE_LABELS` writes. Without the column every row is ``other``:
    cases the centre dispatches straight to crews, as the live service does.
``service_request_id`` (optional)
    Kept: the simulated case carries it as its ``service_request_id`` in ``cases.parquet``.

Rows are simulated when they fall in the run, ``[run.start, run.start + warm-up + days
+ drain)``; the others are counted and reported (:attr:`Trace.outside`), never dropped
silently. Demand settings that shape the Poisson streams (``cases_per_day``, channel
shares, surges, IoT coverage) have no effect on a traced run; the run's guards say so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from urbangrid.calendar import CHINA_TZ, DAY
from urbangrid.catalogue import CHANNELS, Catalogue
from urbangrid.errors import InputError

from .output import SOURCE_LABELS
from .space import Space

__all__ = ["TRACE_COLUMNS", "Trace", "read_trace"]

#: Columns a trace must have (``source`` and ``service_request_id`` are optional).
TRACE_COLUMNS = ("requested_datetime", "service_code", "lat", "long")
_DEFAULT_CHANNEL = "other"
_SHOW = 5  # offending rows named in an error


@dataclass(frozen=True)
class Trace:
    """The simulated rows of a trace, sorted by report time (stable: ties keep the
    file's order).

    Attributes
    ----------
    t
        Report time, simulation seconds from ``run.start``.
    cell, category, channel
        Cell index, catalogue index and index into :data:`CHANNELS` of each row.
    ids
        ``service_request_id`` of each row (the file's, else ``"row N"``: its line).
    row
        Each row's position in the file (0 = first data row).
    outside
        Rows not simulated because they fall before the run starts or after it ends.
    source
        The file.
    """

    t: np.ndarray
    cell: np.ndarray
    category: np.ndarray
    channel: np.ndarray
    ids: np.ndarray
    row: np.ndarray
    outside: int
    source: str

    def __len__(self) -> int:
        return int(self.t.shape[0])


def _rows(mask: np.ndarray) -> str:
    bad = np.flatnonzero(mask)
    shown = ", ".join(str(int(i) + 2) for i in bad[:_SHOW])  # +2: header and 1-based
    more = f" and {bad.size - _SHOW} more" if bad.size > _SHOW else ""
    return f"line(s) {shown}{more}"


def _read_table(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError("trace file not found", source=str(path))
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the trace: {exc}", source=str(path)) from None


def _times(col: pd.Series, start: dt.datetime, where: str) -> np.ndarray:
    """Seconds from ``start`` (naive local) of ISO 8601 texts, offset-aware or local."""
    text = col.astype(str).str.strip()
    out = np.full(text.shape[0], np.nan)
    origin = start.replace(tzinfo=CHINA_TZ)
    for i, v in enumerate(text.tolist()):
        try:
            t = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            continue
        if t.tzinfo is None:
            t = t.replace(tzinfo=CHINA_TZ)
        out[i] = (t - origin).total_seconds()
    bad = np.isnan(out)
    if bad.any():
        raise InputError(f"requested_datetime is not an ISO 8601 date-time at {_rows(bad)} "
                         f"(e.g. {text.iloc[int(np.flatnonzero(bad)[0])]!r}; write "
                         "2025-03-03T08:15:00+08:00)", source=where)
    return out


def _cells(lat: np.ndarray, lon: np.ndarray, space: Space, where: str) -> np.ndarray:
    """The district cell holding each point (see the module docstring)."""
    n = lat.shape[0]
    bad = ~(np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180))
    if bad.any():
        raise InputError(f"lat/long missing or not a WGS-84 position at {_rows(bad)}",
                         source=where)
    if space.h3 and space.h3[0]:
        import h3

        res = h3.get_resolution(space.h3[0])
        index = {h: i for i, h in enumerate(space.h3)}
        cell = np.array([index.get(h3.latlng_to_cell(float(a), float(b), res), -1)
                         for a, b in zip(lat, lon, strict=True)], dtype=np.int64)
    else:
        from scipy.spatial import cKDTree

        # local metres around the district (equirectangular: a district is small)
        k = np.cos(np.radians(float(np.mean(space.lat))))
        xy = np.column_stack([space.lon * k, space.lat]) * 111_320.0
        tree = cKDTree(xy)
        spacing = float(np.median(tree.query(xy, k=2)[0][:, 1])) if len(xy) > 1 else np.inf
        d, cell = tree.query(np.column_stack([lon * k, lat]) * 111_320.0)
        cell = np.where(d <= 0.5 * spacing, cell, -1) if n else cell
    out = cell < 0
    if out.any():
        raise InputError(f"position outside the district at {_rows(out)}", source=where)
    return cell.astype(np.int32)


def _channels(df: pd.DataFrame, where: str) -> np.ndarray:
    if "source" not in df.columns:
        return np.full(len(df), CHANNELS.index(_DEFAULT_CHANNEL), dtype=np.int8)
    names = {c: i for i, c in enumerate(CHANNELS)}
    names.update({label.lower(): CHANNELS.index(c) for c, label in SOURCE_LABELS.items()})
    src = df["source"].astype(str).str.strip().str.lower()
    ch = src.map(names)
    bad = ch.isna().to_numpy()
    if bad.any():
        raise InputError(
            f"source {src[bad].iloc[0]!r} is not a channel at {_rows(bad)} (use one of "
            f"{', '.join(CHANNELS)} or {', '.join(map(repr, SOURCE_LABELS.values()))})",
            source=where)
    return ch.to_numpy(dtype=np.int8)


def read_trace(path: str | Path, *, space: Space, catalogue: Catalogue,
               start: dt.datetime, t_stop: float) -> Trace:
    """Read a trace for a run starting at ``start`` (naive local) and ending at simulation
    time ``t_stop`` (see the module docstring).

    Raises
    ------
    InputError
        A missing or unreadable file, a missing column, an unparseable time, an unknown
        category or channel, or a position outside the district: each names the file,
        the column and the first offending lines.
    """
    path = Path(path)
    where = str(path)
    df = _read_table(path)
    missing = [c for c in TRACE_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(f"trace lacks column(s) {', '.join(missing)} (needs "
                         f"{', '.join(TRACE_COLUMNS)}; optional: source, service_request_id)",
                         source=where)
    t = _times(df["requested_datetime"], start, where)
    codes = {c: i for i, c in enumerate(catalogue.code)}
    code = df["service_code"].astype(str).str.strip()
    category = code.map(codes)
    unknown = category.isna().to_numpy()
    if unknown.any():
        raise InputError(
            f"service_code {code[unknown].iloc[0]!r} is not a category of the catalogue at "
            f"{_rows(unknown)} (codes: {', '.join(catalogue.code)})", source=where)
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(df["long"], errors="coerce").to_numpy(dtype=float)
    cell = _cells(lat, lon, space, where)
    channel = _channels(df, where)
    if "service_request_id" in df.columns:
        ids = df["service_request_id"].astype(str).to_numpy(dtype=object)
    else:
        ids = np.array([f"row {i + 2}" for i in range(len(df))], dtype=object)
    inside = (t >= 0.0) & (t < t_stop)
    rows = np.flatnonzero(inside)
    rows = rows[np.argsort(t[rows], kind="stable")]
    return Trace(t=t[rows], cell=cell[rows], category=category.to_numpy()[rows].astype(np.int16),
                 channel=channel[rows], ids=ids[rows], row=rows.astype(np.int64),
                 outside=int((~inside).sum()), source=where)


def day_slices(trace: Trace, day_offset: float, n_days: int) -> np.ndarray:
    """Row bounds of each calendar day: rows ``b[d]:b[d+1]`` are day ``d``'s."""
    edges = day_offset + DAY * np.arange(n_days + 1)
    return np.searchsorted(trace.t, edges, side="left")
