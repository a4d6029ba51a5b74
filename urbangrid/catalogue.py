"""The case catalogue: categories of cases after CJ/T 214-2007 (components 部件 / events 事件).

Domain data shared by the simulation, the calibration and the live service (this module
imports neither SimPy nor Numba). The default catalogue ships as
``data/catalogue/categories.csv`` (installed as ``urbangrid.data``); a scenario may name
its own file (same columns) and override single fields per category. Columns:

==================  ==================================================================
``code``            identifier (ASCII, unique)
``name_zh``         Chinese name; ``name_en`` English name
``kind``            ``component`` (部件) or ``event`` (事件)
``group``           CJ/T 214 major class (e.g. ``public utilities``, ``street order``)
``share``           relative frequency among all cases (normalised per kind, see
                    ``demand.event_share``)
``skill``           the skill a team needs to handle it (names a department)
``urgency``         ``urgent``, ``high`` or ``normal`` (dispatch priority 3 / 2 / 1)
``limit``           handling limit (number) in ``limit_unit``: ``calendar_hours``,
                    ``working_hours`` or ``working_days``
``work_dist``       on-site work-time distribution: ``exp``, ``lognormal`` or ``fixed``,
                    with ``work_mean_min`` (minutes) and ``work_cv`` (coefficient of variation)
``prep_hours``      mean coordination / preparation time between signing and the crew
                    being able to work (approvals, parts, contacting parties), lognormal with
                    ``prep_cv``; 0 for none
``resolution_prob`` probability a handling attempt resolves the case
``onspot_fixable``  1 when an inspector can fix it on the spot (举手之劳)
``onspot_prob``     optional: the probability that a patrol report of this category is
                    fixed on the spot (the log's own share, as ``urbangrid calibrate``
                    writes it); empty or absent = the patrol channel's
                    ``onspot_fix_prob`` (one figure for every fixable category).
                    ``onspot_fixable = 0`` rules it out, so a positive ``onspot_prob``
                    on a category that is not fixable is refused
``crews``           optional: how many crews the on-site work needs at once (a whole
                    number, 1 – 8; empty or absent = 1). A case of a category with more
                    than one is worked when all its crews are there, each busy until the
                    work ends; only a dispatch policy that staffs such tasks (``cpsat``)
                    can run a scenario that has them
``iot`` ``patrol``  affinity of each discovery channel for this category: a channel's
``hotline``         category mix is ``share × affinity`` normalised
``other``
==================  ==================================================================
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .calendar import CHINA_TZ, WorkCalendar
from .errors import InputError
from .tables import table_text

__all__ = ["CHANNELS", "Catalogue", "LIMIT_UNITS", "URGENCY_PRIORITY", "due_at", "due_times",
           "load_catalogue"]

CHANNELS = ("iot", "patrol", "hotline", "other")
LIMIT_UNITS = ("calendar_hours", "working_hours", "working_days")
URGENCY_PRIORITY = {"normal": 1, "high": 2, "urgent": 3}
WORK_DISTS = ("exp", "lognormal", "fixed")

_TEXT = ("code", "name_zh", "name_en", "kind", "group", "skill", "urgency", "limit_unit",
         "work_dist")
# Numeric columns with their allowed closed range.
_NUMERIC = {
    "share": (0.0, 1e6),
    "limit": (0.0, 1e4),
    "work_mean_min": (0.0, 1e5),
    "work_cv": (0.0, 10.0),
    "prep_hours": (0.0, 1e5),
    "prep_cv": (0.0, 10.0),
    "resolution_prob": (0.0, 1.0),
    "onspot_fixable": (0.0, 1.0),
    "iot": (0.0, 1e6),
    "patrol": (0.0, 1e6),
    "hotline": (0.0, 1e6),
    "other": (0.0, 1e6),
}
COLUMNS = _TEXT + tuple(_NUMERIC)
# Optional numeric columns: absent or empty = the value in _OPTIONAL_DEFAULT, else NaN
# (meaning "the scenario's figure").
_OPTIONAL = {"onspot_prob": (0.0, 1.0), "crews": (1.0, 8.0)}
_OPTIONAL_DEFAULT = {"crews": 1.0}


@dataclass(frozen=True)
class Catalogue:
    """Validated case categories as parallel arrays (row ``k`` = category ``k``)."""

    code: tuple[str, ...]
    name_zh: tuple[str, ...]
    name_en: tuple[str, ...]
    kind: tuple[str, ...]
    group: tuple[str, ...]
    skill: tuple[str, ...]
    share: np.ndarray
    urgency: tuple[str, ...]
    priority: np.ndarray
    limit: np.ndarray
    limit_unit: tuple[str, ...]
    work_dist: tuple[str, ...]
    work_mean_s: np.ndarray
    work_cv: np.ndarray
    prep_mean_s: np.ndarray
    prep_cv: np.ndarray
    resolution_prob: np.ndarray
    onspot_fixable: np.ndarray
    onspot_prob: np.ndarray  # NaN = the patrol channel's onspot_fix_prob
    crews: np.ndarray  # int64, crews the on-site work needs at once
    affinity: np.ndarray  # (n_categories, 4) in CHANNELS order
    source: str

    @property
    def n(self) -> int:
        """Number of categories."""
        return len(self.code)

    @cached_property
    def limit_unit_code(self) -> np.ndarray:
        """Index into :data:`LIMIT_UNITS` per category."""
        return np.array([LIMIT_UNITS.index(u) for u in self.limit_unit], dtype=np.int8)

    @property
    def skills(self) -> tuple[str, ...]:
        """Distinct skills, sorted (bit ``i`` of a skill mask is ``skills[i]``)."""
        return tuple(sorted(set(self.skill)))

    def skill_index(self) -> np.ndarray:
        """Index into :attr:`skills` for each category."""
        lookup = {s: i for i, s in enumerate(self.skills)}
        return np.array([lookup[s] for s in self.skill], dtype=np.int64)

    def onspot_probability(self, channel_prob: float) -> np.ndarray:
        """Probability per category that a patrol report is fixed on the spot: the
        category's ``onspot_prob`` where given, else ``channel_prob`` (the patrol
        channel's ``onspot_fix_prob``); 0 where the category is not fixable."""
        own = np.where(np.isnan(self.onspot_prob), channel_prob, self.onspot_prob)
        return np.where(self.onspot_fixable, own, 0.0)

    def channel_mix(self, event_share: float | None) -> np.ndarray:
        """Category probabilities per channel, shape ``(4, n)``.

        ``event_share`` rescales events vs components (None keeps the file's shares).
        """
        share = self.share.astype(float).copy()
        if event_share is not None:
            is_event = np.array([k == "event" for k in self.kind])
            se, sc = share[is_event].sum(), share[~is_event].sum()
            if se > 0:
                share[is_event] *= event_share / se
            if sc > 0:
                share[~is_event] *= (1.0 - event_share) / sc
        mix = share[None, :] * self.affinity.T
        tot = mix.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            mix = np.where(tot > 0, mix / np.where(tot > 0, tot, 1.0), 0.0)
        return mix

    def deadlines(self, cal: WorkCalendar, t_register: np.ndarray,
                  category: np.ndarray) -> np.ndarray:
        """Handling deadline of each case from its registration time and its category's
        limit (see :func:`due_times`)."""
        return due_times(cal, t_register, self.limit[category], self.limit_unit_code[category])


def _read_rows(path: Path | None) -> tuple[list[dict[str, str]], str]:
    text, source = table_text(path, "catalogue/categories.csv", "case catalogue file")
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InputError(f"case catalogue lacks columns {missing}", source=source)
    return list(reader), source


def load_catalogue(
    path: str | Path | None = None, overrides: dict[str, dict[str, Any]] | None = None
) -> Catalogue:
    """Read and validate a case catalogue.

    Parameters
    ----------
    path
        CSV file with the columns listed in this module's docstring; ``None`` for the
        built-in catalogue.
    overrides
        ``{category_code: {column: value}}`` applied after reading.

    Returns
    -------
    Catalogue

    Raises
    ------
    InputError
        On a missing file or column, an unknown category or column in ``overrides``,
        or a value of the wrong type or out of range (the message names row and column).
    """
    rows, source = _read_rows(Path(path) if path else None)
    if not rows:
        raise InputError("case catalogue has no categories", source=source)
    codes = [r["code"] for r in rows]
    if len(set(codes)) != len(codes):
        dup = sorted({c for c in codes if codes.count(c) > 1})
        raise InputError(f"duplicate category codes {dup}", source=source)
    for code, fields in (overrides or {}).items():
        if code not in codes:
            raise InputError(
                f"catalogue.overrides: unknown category {code!r} (known: {', '.join(codes)})",
                source=source,
            )
        for col, value in fields.items():
            if col not in (*COLUMNS, *_OPTIONAL) or col == "code":
                allowed = [c for c in (*COLUMNS, *_OPTIONAL) if c != "code"]
                raise InputError(
                    f"catalogue.overrides.{code}: unknown column {col!r} "
                    f"(allowed: {', '.join(allowed)})",
                    source=source,
                )
            rows[codes.index(code)][col] = str(value)

    num: dict[str, list[float]] = {c: [] for c in (*_NUMERIC, *_OPTIONAL)}
    for i, r in enumerate(rows):
        where = f"category {r['code']!r} (row {i + 2})"
        for col, (lo, hi) in (_NUMERIC | _OPTIONAL).items():
            raw = str(r.get(col) or "").strip()
            if col in _OPTIONAL and not raw:
                num[col].append(_OPTIONAL_DEFAULT.get(col, float("nan")))
                continue
            if raw.lower() in ("true", "false"):
                raw = "1" if raw.lower() == "true" else "0"
            try:
                v = float(raw)
            except ValueError:
                raise InputError(f"{where}: {col} = {r[col]!r} is not a number",
                                 source=source) from None
            if not (lo <= v <= hi) or not np.isfinite(v):
                raise InputError(f"{where}: {col} = {v} is outside the allowed range "
                                 f"[{lo:g}, {hi:g}]", source=source)
            num[col].append(v)
        checks = (("kind", ("component", "event")), ("urgency", tuple(URGENCY_PRIORITY)),
                  ("limit_unit", LIMIT_UNITS), ("work_dist", WORK_DISTS))
        for col, allowed in checks:
            if r[col] not in allowed:
                raise InputError(f"{where}: {col} = {r[col]!r} is not one of {list(allowed)}",
                                 source=source)
        if num["onspot_prob"][-1] > 0 and num["onspot_fixable"][-1] == 0:
            raise InputError(f"{where}: onspot_prob = {num['onspot_prob'][-1]:g} but "
                             "onspot_fixable = 0 (not fixable on the spot): set "
                             "onspot_fixable = 1, or onspot_prob = 0 or empty",
                             source=source)
        if num["crews"][-1] != int(num["crews"][-1]):
            raise InputError(f"{where}: crews = {num['crews'][-1]:g} is not a whole number",
                             source=source)
        if not r["skill"].strip():
            raise InputError(f"{where}: skill is empty", source=source)
        if float(r["limit"]) <= 0:
            raise InputError(f"{where}: limit must be > 0", source=source)
    n = len(rows)
    if n > 62:
        raise InputError(f"at most 62 categories are supported, got {n}", source=source)
    share = np.array(num["share"])
    if share.sum() <= 0:
        raise InputError("category shares sum to 0", source=source)
    affinity = np.column_stack([np.array(num[c]) for c in CHANNELS])
    cat = Catalogue(
        code=tuple(codes),
        name_zh=tuple(r["name_zh"] for r in rows),
        name_en=tuple(r["name_en"] for r in rows),
        kind=tuple(r["kind"] for r in rows),
        group=tuple(r["group"] for r in rows),
        skill=tuple(r["skill"].strip() for r in rows),
        share=share,
        urgency=tuple(r["urgency"] for r in rows),
        priority=np.array([URGENCY_PRIORITY[r["urgency"]] for r in rows], dtype=np.int64),
        limit=np.array(num["limit"]),
        limit_unit=tuple(r["limit_unit"] for r in rows),
        work_dist=tuple(r["work_dist"] for r in rows),
        work_mean_s=np.array(num["work_mean_min"]) * 60.0,
        work_cv=np.array(num["work_cv"]),
        prep_mean_s=np.array(num["prep_hours"]) * 3600.0,
        prep_cv=np.array(num["prep_cv"]),
        resolution_prob=np.array(num["resolution_prob"]),
        onspot_fixable=np.array(num["onspot_fixable"]) > 0,
        onspot_prob=np.array(num["onspot_prob"]),
        crews=np.array(num["crews"], dtype=np.int64),
        affinity=affinity,
        source=source,
    )
    if len(cat.skills) > 62:
        raise InputError("at most 62 distinct skills are supported", source=source)
    return cat


def due_times(cal: WorkCalendar, t: np.ndarray, limit: np.ndarray,
              unit_code: np.ndarray) -> np.ndarray:
    """The time ``limit`` (in :data:`LIMIT_UNITS` ``[unit_code]``) after each ``t``.

    Calendar hours count every hour; working hours and working days count only the
    working hours of working days (a working day is one ``cal.day_length`` of working
    time), so a limit set after hours starts to run the next working morning, and
    holidays and make-up working days (调休) follow ``cal``. NaN times stay NaN.
    """
    t = np.asarray(t, dtype=float)
    limit = np.broadcast_to(np.asarray(limit, dtype=float), t.shape)
    unit = np.broadcast_to(np.asarray(unit_code), t.shape)
    out = np.full(t.shape, np.nan)
    ok = ~np.isnan(t)
    a = ok & (unit == 0)
    out[a] = t[a] + limit[a] * 3600.0
    b = ok & (unit == 1)
    if b.any():
        out[b] = cal.add_working(t[b], limit[b] * 3600.0)
    c = ok & (unit == 2)
    if c.any():
        out[c] = cal.add_working(t[c], limit[c] * cal.day_length)
    return out


@lru_cache(maxsize=64)
def _calendar_from(day: dt.date, days: int, work_start: float, work_end: float,
                   rule: str) -> WorkCalendar:
    return WorkCalendar(dt.datetime.combine(day, dt.time()), days, work_start=work_start,
                        work_end=work_end, rule=rule)


def due_at(filed: dt.datetime, limit: float, unit: str, *, work_start: float = 9 * 3600.0,
           work_end: float = 17 * 3600.0, rule: str = "chinese") -> dt.datetime:
    """The deadline of a case filed at ``filed`` with a limit of ``limit`` ``unit``: the
    live counterpart of :func:`due_times`, on the same calendar rules.

    ``filed`` is read in China Standard Time when it carries a time zone (a naive time is
    taken as local); the answer is in China Standard Time.

    Examples
    --------
    A request filed on Friday 2026-12-04 at 16:30 with one working day is due on Monday
    at 16:30; on Friday 2026-10-09, the day before a make-up working Saturday, it is due
    on that Saturday.

    >>> due_at(dt.datetime(2026, 12, 4, 16, 30), 1, "working_days").isoformat()
    '2026-12-07T16:30:00+08:00'
    >>> due_at(dt.datetime(2026, 10, 9, 16, 30), 1, "working_days").isoformat()
    '2026-10-10T16:30:00+08:00'
    """
    if unit not in LIMIT_UNITS:
        raise InputError(f"unknown limit unit {unit!r} (one of {', '.join(LIMIT_UNITS)})")
    if not (limit >= 0 and np.isfinite(limit)):
        raise InputError(f"a limit must be a finite number >= 0, got {limit!r}")
    local = filed.astimezone(CHINA_TZ).replace(tzinfo=None) if filed.tzinfo else filed
    # Cover the limit with room for the longest holiday run (about 9 days at Spring
    # Festival) at every working week: 2 calendar days per working day and 30 over.
    hours_per_day = {"calendar_hours": 24.0, "working_hours": (work_end - work_start) / 3600.0,
                     "working_days": 1.0}[unit]
    span = limit / hours_per_day
    cal = _calendar_from(local.date(), int(np.ceil(2 * span)) + 30, float(work_start),
                         float(work_end), rule)
    t = (local - dt.datetime.combine(local.date(), dt.time())).total_seconds()
    due = due_times(cal, np.array([t]), np.array([limit]),
                    np.array([LIMIT_UNITS.index(unit)]))[0]
    return (dt.datetime.combine(local.date(), dt.time()) + dt.timedelta(seconds=float(due))
            ).replace(tzinfo=CHINA_TZ)
