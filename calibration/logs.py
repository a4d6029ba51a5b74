"""Read and clean a real service-request log (Open311 GeoReport Bulk, 12345 …).

Reading (:func:`read_log`) maps the file's columns onto the fields :data:`FIELDS`, named
as in Open311 Bulk, directly or through a mapping (:func:`load_mapping`; ``"12345"``
selects the packaged ``data/columns_12345.toml`` for Chinese 12345 / 网格 exports:
上报时间, 结案时间, 大类名称, 小类名称, 街道 …).

Cleaning (:func:`clean_log`) reports every count and drops no row silently: times with
a UTC offset are converted to the log's local zone (``timezone``; without one, the most
common offset, with a warning); unparseable request times are dropped (an error above
5 % of rows); duplicate request ids (or identical rows) are dropped; a close time before
the request time is *repaired* to "close time unknown" (the row still counts for volume,
mix and space, not for handling time); missing or impossible coordinates are kept
without a location; with a user boundary, requests outside it are dropped (another
jurisdiction's), without one, locations farther than twice the 99th-percentile distance
from the median point are removed as outliers.

Which days of a log count (:func:`full_days`, :func:`holiday_dates`) is decided here
too, for the fit and the validation alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from urbangrid.errors import InputError

__all__ = [
    "CHANNEL_KEYWORDS",
    "FIELDS",
    "CleanLog",
    "ColumnMapping",
    "check_timezone",
    "clean_log",
    "full_days",
    "holiday_dates",
    "load_mapping",
    "parse_period",
    "read_log",
]

log = logging.getLogger(__name__)

#: Fields the calibration reads, by their Open311 GeoReport Bulk name (``subdistrict`` and
#: ``service_group`` are this project's additions for 街道 and 大类).
FIELDS = ("service_request_id", "requested_datetime", "updated_datetime", "closed_date",
          "status_description", "source", "service_name", "service_group",
          "agency_responsible", "address", "subdistrict", "lat", "long")
_REQUIRED = ("requested_datetime", "service_name")

#: Default keywords sending a ``source`` value to a discovery channel (first match wins in
#: this order; no match means a citizen request, ``hotline``).
CHANNEL_KEYWORDS: dict[str, tuple[str, ...]] = {
    "iot": ("sensor", "iot", "camera", "video", "automatic"),
    "patrol": ("driver self report", "self report", "inspector", "patrol", "field crew",
               "staff", "proactive"),
    "other": ("council", "mayor", "dept_ref", "elected", "order from"),
    "hotline": ("call", "phone", "app", "web", "self service", "email", "twitter", "text"),
}

_MAX_BAD_TIME_SHARE = 0.05  # unparseable times above this share are an error


# --------------------------------------------------------------------------- mapping
@dataclass(frozen=True)
class ColumnMapping:
    """Which log column holds each field, and how to read the log.

    Attributes
    ----------
    columns
        ``{field: (candidate column names, first present wins)}`` for :data:`FIELDS`.
    timezone
        IANA zone the log's local times are in (None: naive times are local; times with
        an offset are converted to their most common offset).
    source_crs
        Datum of ``lat``/``long``: ``wgs84``, ``gcj02`` or ``bd09``.
    calendar
        ``weekdays`` or ``chinese``: the scenario's working-day rule.
    holidays
        None, ``"us"`` (US federal), ``"cn"`` (official Chinese) or comma-separated ISO
        dates: days whose volume is fitted separately from the weekday factors.
    channels
        ``{channel: keywords}`` mapping ``source`` values to discovery channels.
    source
        Where the mapping came from (for messages).
    """

    columns: dict[str, tuple[str, ...]]
    timezone: str | None = None
    source_crs: str = "wgs84"
    calendar: str = "weekdays"
    holidays: str | None = None
    channels: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(CHANNEL_KEYWORDS))
    source: str = "Open311 GeoReport Bulk names"

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (stored in the calibration file)."""
        return {"columns": {k: list(v) for k, v in self.columns.items()},
                "timezone": self.timezone, "source_crs": self.source_crs,
                "calendar": self.calendar, "holidays": self.holidays,
                "channels": {k: list(v) for k, v in self.channels.items()},
                "source": self.source}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ColumnMapping:
        return cls(columns={k: tuple(v) for k, v in d["columns"].items()},
                   timezone=d.get("timezone"), source_crs=d.get("source_crs", "wgs84"),
                   calendar=d.get("calendar", "weekdays"), holidays=d.get("holidays"),
                   channels={k: tuple(v) for k, v in d.get("channels", {}).items()}
                   or dict(CHANNEL_KEYWORDS),
                   source=d.get("source", "calibration file"))


def _open311_mapping() -> ColumnMapping:
    cols = {f: (f,) for f in FIELDS}
    cols["subdistrict"] = ()
    cols["service_group"] = ("service_group",)
    return ColumnMapping(columns=cols)


def load_mapping(spec: str | Path | None = None) -> ColumnMapping:
    """The column mapping named by ``spec``.

    Parameters
    ----------
    spec
        None for the Open311 Bulk names, ``"12345"`` for the packaged Chinese 12345 /
        网格 layout, or a TOML file with ``[columns]`` (field = name or list of names),
        optional ``[options]`` (``timezone``, ``source_crs``, ``calendar``,
        ``holidays``) and ``[channels]`` (channel = list of keywords).

    Raises
    ------
    InputError
        A missing or invalid file, an unknown field or option, a wrong value type.
    """
    if spec is None:
        return _open311_mapping()
    if str(spec) in ("12345", "columns_12345"):
        text = (resources.files("urbangrid.calibration") / "data"
                / "columns_12345.toml").read_text(encoding="utf-8")
        src = "columns_12345.toml (built-in)"
    else:
        p = Path(spec)
        if not p.is_file():
            raise InputError(f"column mapping file not found: {p}", source=str(p))
        text = p.read_text(encoding="utf-8-sig")
        src = str(p)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", source=src) from None
    unknown = set(data) - {"columns", "options", "channels"}
    if unknown:
        raise InputError(f"unknown tables {sorted(unknown)} (allowed: columns, options, "
                         "channels)", source=src)
    base = _open311_mapping()
    cols = dict(base.columns)
    for key, value in data.get("columns", {}).items():
        if key not in FIELDS:
            raise InputError(f"columns.{key}: unknown field (allowed: {', '.join(FIELDS)})",
                             source=src)
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
            raise InputError(f"columns.{key} = {value!r}: give a column name or a list of "
                             "names", source=src)
        cols[key] = tuple(names)
    opts = data.get("options", {})
    bad = set(opts) - {"timezone", "source_crs", "calendar", "holidays"}
    if bad:
        raise InputError(f"options: unknown keys {sorted(bad)} (allowed: timezone, "
                         "source_crs, calendar, holidays)", source=src)
    if opts.get("calendar", "weekdays") not in ("weekdays", "chinese"):
        raise InputError(f"options.calendar = {opts['calendar']!r}: use 'weekdays' or "
                         "'chinese'", source=src)
    if opts.get("source_crs", "wgs84") not in ("wgs84", "gcj02", "bd09", "EPSG:4326"):
        raise InputError(f"options.source_crs = {opts['source_crs']!r}: use wgs84, gcj02 "
                         "or bd09", source=src)
    tz = opts.get("timezone")
    if tz is not None:
        check_timezone(tz, src)
    channels = dict(CHANNEL_KEYWORDS)
    for key, value in data.get("channels", {}).items():
        if key not in CHANNEL_KEYWORDS:
            raise InputError(f"channels.{key}: unknown channel (iot, patrol, hotline, "
                             "other)", source=src)
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise InputError(f"channels.{key}: give a list of keywords", source=src)
        channels[key] = tuple(value)
    # Keep the matching order iot, patrol, other, hotline.
    channels = {k: channels[k] for k in CHANNEL_KEYWORDS}
    return ColumnMapping(columns=cols, timezone=tz,
                         source_crs=opts.get("source_crs", "wgs84").replace(
                             "EPSG:4326", "wgs84"),
                         calendar=opts.get("calendar", "weekdays"),
                         holidays=opts.get("holidays"), channels=channels, source=src)


def check_timezone(tz: str, src: str | None) -> None:
    """Raise :class:`InputError` (naming ``src``) unless ``tz`` is an IANA time zone."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"timezone {tz!r} is not an IANA time zone such as "
                         "'America/Los_Angeles' or 'Asia/Shanghai'", source=src) from None


# --------------------------------------------------------------------------- reading
def read_log(path: str | Path, mapping: ColumnMapping | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet log and return its mapped columns under the field names.

    Returns
    -------
    pandas.DataFrame
        One column per field of :data:`FIELDS` found in the file (values as read).

    Raises
    ------
    InputError
        Missing or unreadable file, empty file, or required fields
        (``requested_datetime``, ``service_name``) absent.
    """
    mapping = mapping or _open311_mapping()
    p = Path(path)
    if not p.is_file():
        raise InputError(f"log file not found: {p}", source=str(p))
    if p.stat().st_size == 0:
        raise InputError("the log file is empty", source=str(p))
    suffix = p.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        elif suffix in (".csv", ".txt", ".tsv"):
            df = _read_csv(p, sep="\t" if suffix == ".tsv" else ",")
        else:
            raise InputError(f"unsupported log format {suffix!r}: use CSV or Parquet "
                             "(save spreadsheets as CSV, UTF-8 or GB18030)", source=str(p))
    except InputError:
        raise
    except Exception as exc:  # pyarrow / pandas parse errors
        raise InputError(f"cannot read the log: {exc}", source=str(p)) from None
    if df.shape[0] == 0:
        raise InputError("the log has a header but no rows", source=str(p))
    out = {}
    for f in FIELDS:
        for name in mapping.columns.get(f, ()):
            if name in df.columns:
                out[f] = df[name]
                break
    missing = [f for f in _REQUIRED if f not in out]
    if missing:
        wanted = {f: list(mapping.columns.get(f, ())) for f in missing}
        raise InputError(f"required columns missing: {wanted} (mapping: {mapping.source}); "
                         f"the file has {list(map(str, df.columns))[:30]}; pass --columns "
                         "with a mapping file", source=str(p))
    return pd.DataFrame(out)


def _read_csv(p: Path, sep: str) -> pd.DataFrame:
    # Chinese exports are often GB18030 rather than UTF-8.
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(p, sep=sep, dtype=str, encoding=enc, keep_default_na=True)
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise InputError("the log file is empty", source=str(p)) from None
    raise InputError("cannot decode the file as UTF-8 or GB18030", source=str(p))


# --------------------------------------------------------------------------- cleaning
@dataclass
class CleanLog:
    """A cleaned log in the calibration's standard columns.

    ``frame`` columns: ``requested`` / ``closed`` (naive local datetimes, ``closed`` NaT
    when open or unknown), ``closed_known`` (bool), ``channel``, ``source``,
    ``service_name``, ``group``, ``agency``, ``lat``, ``lon`` (NaN without a location),
    ``subdistrict``. ``counts`` holds every cleaning count; ``extract_time`` is the
    latest time stamp in the log (open requests are censored there).
    """

    frame: pd.DataFrame
    counts: dict[str, int]
    timezone: str | None
    extract_time: pd.Timestamp
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last request time."""
        r = self.frame["requested"]
        return r.min(), r.max()


_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})\s*$")
_OFFSET_ANY = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")


def _parse_times(s: pd.Series, tz: str | None, name: str, src: str,
                 notes: list[str]) -> pd.Series:
    """Naive local datetimes; NaT where empty or unparseable."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        target = tz or str(s.dt.tz)
        return s.dt.tz_convert(target).dt.tz_localize(None).astype("datetime64[ns]")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s.astype("datetime64[ns]")
    txt = s.astype("string").str.strip()
    txt = txt.mask(txt == "")
    aware = txt.str.contains(_OFFSET_ANY, na=False)
    if aware.any():
        parsed = pd.to_datetime(txt, errors="coerce", utc=True, format="mixed")
        if tz is None:
            # No zone given: use the most common UTC offset as a fixed zone.
            offs = txt[aware].str.extract(_OFFSET)[0].str.replace("Z", "+00:00")
            off = offs.mode().iloc[0]
            off = off if ":" in off else off[:3] + ":" + off[3:]
            sign = 1 if off[0] == "+" else -1
            delta = dt.timedelta(hours=int(off[1:3]), minutes=int(off[4:6])) * sign
            zone = dt.timezone(delta)
            notes.append(f"{name}: times carry UTC offsets and no timezone was given; "
                         f"converted to the most common offset {off} (no daylight saving)")
            log.warning(notes[-1])
            out = parsed.dt.tz_convert(zone).dt.tz_localize(None)
        else:
            out = parsed.dt.tz_convert(tz).dt.tz_localize(None)
        # Mixed naive and aware values: naive ones are already local.
        naive = ~aware & txt.notna()
        if naive.any():
            out = out.where(~naive, pd.to_datetime(txt.where(naive), errors="coerce",
                                                   format="mixed"))
        return out.astype("datetime64[ns]")
    return pd.to_datetime(txt, errors="coerce", format="mixed").astype("datetime64[ns]")


def _channel_of(source: pd.Series, keywords: dict[str, tuple[str, ...]]) -> np.ndarray:
    values = source.astype("string").fillna("").str.lower()
    uniq = values.unique()
    lut = {}
    for v in uniq:
        ch = "hotline"
        for name, words in keywords.items():
            if any(w.lower() in v for w in words):
                ch = name
                break
        lut[v] = ch
    return values.map(lut).to_numpy(dtype=object)


def parse_period(spec: str | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``"START,END"`` (local dates or date-times, END exclusive) → timestamps."""
    if not spec:
        return None
    parts = [x.strip() for x in str(spec).split(",")]
    try:
        if len(parts) != 2:
            raise ValueError
        a, b = pd.Timestamp(parts[0]), pd.Timestamp(parts[1])
    except ValueError:
        raise InputError(f"--period {spec!r}: give START,END such as "
                         "2017-12-27,2018-01-05 (END exclusive)") from None
    if b <= a:
        raise InputError(f"--period {spec!r}: END must be after START")
    return a, b


def clean_log(raw: pd.DataFrame, mapping: ColumnMapping | None = None, *,
              source: str = "log", timezone: str | None = None,
              boundary: Any = None, period: tuple[pd.Timestamp, pd.Timestamp] | None = None
              ) -> CleanLog:
    """Clean a log read by :func:`read_log`; the rules are in the module docstring.

    Parameters
    ----------
    boundary
        Optional shapely (multi)polygon in WGS84: requests located outside are dropped.
    period
        Optional ``(start, end)`` local times: requests made outside ``[start, end)`` are
        left out and counted (``outside_period``), e.g. to fit on one run of a log and
        validate on another.

    Raises
    ------
    InputError
        Unparseable request times above 5 % of rows (naming the column and an example),
        no usable row left, or every located request outside ``boundary``.
    """
    mapping = mapping or _open311_mapping()
    tz = timezone or mapping.timezone
    if tz:
        check_timezone(tz, source)
    notes: list[str] = []
    counts: dict[str, int] = {"rows_read": int(len(raw))}
    df = raw.reset_index(drop=True)
    req = _parse_times(df["requested_datetime"], tz, "requested_datetime", source, notes)
    bad = req.isna()
    counts["requested_unparseable"] = int(bad.sum())
    if bad.mean() > _MAX_BAD_TIME_SHARE:
        i = int(np.flatnonzero(bad.to_numpy())[0])
        mapped = mapping.columns["requested_datetime"]
        raise InputError(
            f"column {mapped[0] if len(mapped) == 1 else 'requested_datetime'!s}: "
            f"{int(bad.sum())} of {len(df)} request times cannot be parsed as dates "
            f"(row {i + 2}: {df['requested_datetime'].iloc[i]!r})", source=source)
    closed = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    closed_raw = None
    if "closed_date" in df:
        closed_raw = df["closed_date"]
        closed = _parse_times(closed_raw, tz, "closed_date", source, notes)
    if "updated_datetime" in df:
        upd = _parse_times(df["updated_datetime"], tz, "updated_datetime", source, notes)
        # Open311: for closed requests updated_datetime is the close time.
        if "status_description" in df:
            is_closed = df["status_description"].astype("string").str.lower().str.contains(
                "closed|close|结案|办结|cancel", na=False, regex=True)
            closed = closed.where(closed.notna() | ~is_closed.to_numpy(), upd)
    else:
        upd = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    if closed_raw is not None:
        nonempty = closed_raw.notna() & (closed_raw.astype("string").str.strip() != "")
        cbad = nonempty.to_numpy() & closed.isna().to_numpy()
        counts["closed_unparseable"] = int(cbad.sum())
        if cbad.mean() > _MAX_BAD_TIME_SHARE:
            i = int(np.flatnonzero(cbad)[0])
            raise InputError(f"closed_date: {int(cbad.sum())} of {len(df)} close times "
                             f"cannot be parsed (row {i + 2}: {closed_raw.iloc[i]!r})",
                             source=source)
    else:
        counts["closed_unparseable"] = 0
    keep = ~bad.to_numpy()
    if period is not None:
        inside = ((req >= period[0]) & (req < period[1])).to_numpy()
        counts["outside_period"] = int((keep & ~inside).sum())
        keep &= inside
        if not keep.any():
            raise InputError(f"no request in the period {period[0]} – {period[1]}",
                             source=source)
    # Duplicates: the same request id, else identical rows.
    if "service_request_id" in df:
        dup = df["service_request_id"].astype("string").duplicated(keep="first") & \
            df["service_request_id"].notna()
    else:
        key = pd.DataFrame({"r": req, "s": df["service_name"].astype("string"),
                            **{c: df[c] for c in ("lat", "long", "address") if c in df}})
        dup = key.duplicated(keep="first")
    dup = dup.to_numpy() & keep
    counts["duplicates"] = int(dup.sum())
    keep &= ~dup
    neg = (closed < req).to_numpy() & keep
    counts["closed_before_created"] = int(neg.sum())
    closed = closed.mask(pd.Series(neg, index=df.index))
    # Locations.
    lat = np.array(pd.to_numeric(df["lat"], errors="coerce"), dtype=float) if "lat" in df \
        else np.full(len(df), np.nan)
    lon = np.array(pd.to_numeric(df["long"], errors="coerce"), dtype=float) if "long" in df \
        else np.full(len(df), np.nan)
    impossible = ~((np.abs(lat) <= 90) & (np.abs(lon) <= 180)) | ((lat == 0) & (lon == 0))
    lat[impossible] = np.nan
    lon[impossible] = np.nan
    has = ~np.isnan(lat)
    if mapping.source_crs in ("gcj02", "bd09") and has.any():
        from urbangrid.grid.coords import to_wgs84

        la, lo = to_wgs84(lat[has], lon[has], mapping.source_crs)
        lat[has], lon[has] = la, lo
    counts["no_coordinates"] = int((~has & keep).sum())
    if boundary is not None:
        import shapely

        inside = np.zeros(len(df), dtype=bool)
        inside[has] = shapely.contains_xy(boundary, lon[has], lat[has])
        outside = has & ~inside & keep
        counts["outside_boundary"] = int(outside.sum())
        counts["outside_area_outliers"] = 0
        if (has & keep).any() and not (has & keep & inside).any():
            raise InputError(f"all {int((has & keep).sum())} located requests lie outside "
                             "the boundary: wrong boundary, or coordinates swapped or in "
                             "another datum (options.source_crs)", source=source)
        keep &= ~outside
    else:
        counts["outside_boundary"] = 0
        out = np.zeros(len(df), dtype=bool)
        sel = has & keep
        if sel.sum() >= 10:
            mlat, mlon = np.median(lat[sel]), np.median(lon[sel])
            d = _km(lat, lon, mlat, mlon)
            lim = 2.0 * np.quantile(d[sel], 0.99)
            out = sel & (d > lim)
        counts["outside_area_outliers"] = int(out.sum())
        lat[out] = np.nan
        lon[out] = np.nan
    if not keep.any():
        raise InputError("no usable request left after cleaning", source=source)
    src_col = df["source"] if "source" in df else pd.Series([""] * len(df))
    channel = _channel_of(src_col, mapping.channels)
    counts["source_missing"] = int((src_col.isna().to_numpy() & keep).sum())
    name = df["service_name"].astype("string").str.strip()
    counts["service_name_missing"] = int((name.isna().to_numpy() & keep).sum())
    name = name.fillna("(no type)")
    frame = pd.DataFrame({
        "requested": req, "closed": closed,
        "channel": channel,
        "source": src_col.astype("string").fillna("(none)"),
        "service_name": name,
        "group": (df["service_group"].astype("string").fillna("")
                  if "service_group" in df else ""),
        "agency": (df["agency_responsible"].astype("string").fillna("")
                   if "agency_responsible" in df else ""),
        "lat": lat, "lon": lon,
        "subdistrict": (df["subdistrict"].astype("string").fillna("")
                        if "subdistrict" in df else ""),
    })[keep].reset_index(drop=True)
    frame["closed_known"] = frame["closed"].notna()
    counts["rows_used"] = int(len(frame))
    counts["rows_dropped"] = counts["rows_read"] - counts["rows_used"]
    stamps = [frame["requested"].max(), frame["closed"].max()]
    if "updated_datetime" in df:
        stamps.append(upd[keep].max())
    extract = max(t for t in stamps if pd.notna(t))
    return CleanLog(frame=frame, counts=counts, timezone=tz, extract_time=extract,
                    source=source, notes=notes)


def _km(lat, lon, lat0, lon0):
    """Equirectangular distance in km (accurate to < 1 % over a city)."""
    x = np.radians(np.asarray(lon) - lon0) * math.cos(math.radians(lat0)) * 6371.0
    y = np.radians(np.asarray(lat) - lat0) * 6371.0
    return np.hypot(x, y)


# --------------------------------------------------------------------------- days
def holiday_dates(spec: str | None, d0: dt.date, d1: dt.date) -> set[dt.date]:
    """Public holidays between ``d0`` and ``d1`` under ``spec``: ``"us"`` (US federal),
    ``"cn"`` (official Chinese, weekdays only) or comma-separated ISO dates."""
    if not spec:
        return set()
    if spec == "us":
        from pandas.tseries.holiday import USFederalHolidayCalendar

        return {t.date() for t in USFederalHolidayCalendar().holidays(d0, d1)}
    if spec == "cn":
        import chinese_calendar

        out = set()
        d = d0
        while d <= d1:
            try:
                if chinese_calendar.is_holiday(d) and d.weekday() < 5:
                    out.add(d)
            except NotImplementedError:
                pass
            d += dt.timedelta(days=1)
        return out
    try:
        return {dt.date.fromisoformat(x.strip()) for x in spec.split(",") if x.strip()}
    except ValueError:
        raise InputError(f"holidays = {spec!r}: use 'us', 'cn' or comma-separated dates "
                         "YYYY-MM-DD") from None


_EDGE = pd.Timedelta(hours=2)


def full_days(requested: pd.Series, t0: pd.Timestamp, t1: pd.Timestamp) -> list[dt.date]:
    """Calendar days the window ``[t0, t1]`` covers.

    The first and last days count when the window misses less than two hours of them
    (a log of a whole week whose first request came at 00:48 still covers that day);
    a log cut in mid-day (a row-limited extract) does not.
    """
    first = t0.normalize() if t0 - t0.normalize() < _EDGE else \
        t0.normalize() + pd.Timedelta(days=1)
    end_day = t1.normalize()
    last = end_day if end_day + pd.Timedelta(days=1) - t1 < _EDGE else \
        end_day - pd.Timedelta(days=1)
    days = pd.date_range(first.normalize(), last, freq="D")
    return [d.date() for d in days]
