"""Working-day calendar and working-time arithmetic.

Simulation time is seconds since the run's start (local time, Asia/Shanghai, midnight of
the start date is ``0`` only when the run starts at midnight; in general day ``d`` begins at
``day_offset + 86400 * d``). A :class:`WorkCalendar` knows, for every day of the run plus
a margin, whether it is a working day, and converts between calendar time and *working
time* (seconds counted only inside working hours of working days).

It is part of the light domain layer: the simulation, the calibration and the live
service count working time with it, and it imports neither SimPy nor Numba.

Working days follow the official Chinese calendar (public holidays and the weekend
make-up working days, 调休) from the maintained ``chinese_calendar`` package, which
covers 2004 – 2026. For dates outside the package's range the calendar falls back to
Monday – Friday and logs one warning naming the years concerned.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["CHINA_TZ", "DAY", "ShiftWindows", "WorkCalendar", "is_chinese_workday"]

log = logging.getLogger(__name__)

DAY = 86400.0
#: Local time of the calendar: China Standard Time, UTC+8 (no daylight saving since 1991).
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")


def is_chinese_workday(dates: list[dt.date], *, rule: str = "chinese") -> np.ndarray:
    """Working-day flags for ``dates``.

    Parameters
    ----------
    dates
        Calendar dates.
    rule
        ``"chinese"``: official Chinese working days (holidays and 调休 make-up days),
        falling back to Monday – Friday outside the years the ``chinese_calendar``
        package covers (with a warning); ``"weekdays"``: Monday – Friday.

    Returns
    -------
    numpy.ndarray
        Boolean flags, one per date.
    """
    flags = np.array([d.weekday() < 5 for d in dates], dtype=bool)
    if rule == "weekdays":
        return flags
    if rule != "chinese":
        raise ValueError(f"unknown calendar rule {rule!r}")
    import chinese_calendar

    missing: set[int] = set()
    for i, d in enumerate(dates):
        try:
            flags[i] = chinese_calendar.is_workday(d)
        except NotImplementedError:
            missing.add(d.year)
    if missing:
        log.warning(
            "chinese_calendar has no data for %s; using Monday-Friday working days there",
            ", ".join(str(y) for y in sorted(missing)),
        )
    return flags


@dataclass(frozen=True)
class ShiftWindows:
    """On-duty windows of one shift pattern, as sorted absolute ``[start, end)`` seconds.

    A 24/7 pattern is one window covering everything.
    """

    start: np.ndarray
    end: np.ndarray

    def window_at(self, t: float) -> tuple[float, float]:
        """The window containing ``t``, or the next one after ``t``."""
        i = int(np.searchsorted(self.end, t, side="right"))
        if i >= len(self.end):
            return (np.inf, np.inf)
        return (float(self.start[i]), float(self.end[i]))

    def windows_at(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised :meth:`window_at`."""
        i = np.searchsorted(self.end, t, side="right")
        s = np.append(self.start, np.inf)
        e = np.append(self.end, np.inf)
        return s[i], e[i]

    def on_duty_seconds(self, t0: float, t1: float) -> float:
        """Seconds on duty between ``t0`` and ``t1``."""
        return float(np.clip(np.minimum(self.end, t1) - np.maximum(self.start, t0), 0, None).sum())


class WorkCalendar:
    """Working days and working hours over a simulation run.

    Parameters
    ----------
    start
        Local date-time of simulation time 0.
    days
        Number of days to cover (the run horizon plus a margin for deadlines).
    work_start, work_end
        Working hours each working day, seconds after midnight.
    rule
        ``"chinese"`` or ``"weekdays"``, see :func:`is_chinese_workday`.
    """

    def __init__(
        self,
        start: dt.datetime,
        days: int,
        *,
        work_start: float = 9 * 3600.0,
        work_end: float = 17 * 3600.0,
        rule: str = "chinese",
    ) -> None:
        if not 0 <= work_start < work_end <= DAY:
            raise ValueError("working hours must satisfy 0 <= start < end <= 24 h")
        self.start = start
        midnight = dt.datetime.combine(start.date(), dt.time())
        # Seconds from simulation time 0 back to the midnight that opens day 0.
        self.day_offset = -(start - midnight).total_seconds()
        self.n_days = int(days) + 2
        dates = [start.date() + dt.timedelta(days=i) for i in range(self.n_days)]
        self.dates = dates
        self.workday = is_chinese_workday(dates, rule=rule)
        self.work_start = float(work_start)
        self.work_end = float(work_end)
        self.day_length = self.work_end - self.work_start
        per_day = self.workday * self.day_length
        # cum[d] = working seconds before day d.
        self.cum = np.concatenate([[0.0], np.cumsum(per_day)])
        # Python copies for the scalar fast path used once per event by the legacy process.
        self._cum_l = self.cum.tolist()
        self._ends_l = self._cum_l[1:]
        self._work_l = self.workday.tolist()

    # -- calendar days -------------------------------------------------------------
    def day_index(self, t: np.ndarray | float) -> np.ndarray:
        """Calendar day number (0 = start date) of simulation time(s) ``t``."""
        return np.floor((np.asarray(t, dtype=float) - self.day_offset) / DAY).astype(np.int64)

    def day_start(self, d: int) -> float:
        """Simulation time of midnight opening day ``d``."""
        return self.day_offset + DAY * d

    # -- working time ----------------------------------------------------------------
    def working_seconds(self, t: np.ndarray | float) -> np.ndarray:
        """Working seconds elapsed from day 0's midnight to ``t`` (vectorised)."""
        t = np.asarray(t, dtype=float)
        d = np.clip(self.day_index(t), 0, self.n_days - 1)
        tod = t - (self.day_offset + DAY * d)
        inside = np.clip(tod - self.work_start, 0.0, self.day_length)
        return self.cum[d] + self.workday[d] * inside

    def working_days_between(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        """Working days (working seconds / length of a working day) from ``t0`` to ``t1``."""
        return (self.working_seconds(t1) - self.working_seconds(t0)) / self.day_length

    def add_working(
        self, t: np.ndarray | float, seconds: np.ndarray | float, *, _side: str = "left"
    ) -> np.ndarray:
        """The time at which ``seconds`` of working time after ``t`` have elapsed.

        When the result falls exactly on the end of a working day it stays there (not the
        next morning). Beyond the calendar's range, working time is extrapolated at one
        working day per calendar day.
        """
        target = self.working_seconds(t) + np.asarray(seconds, dtype=float)
        # First day whose cumulative end reaches target.
        ends = self.cum[1:]
        d = np.searchsorted(ends, target, side=_side)
        over = d >= self.n_days
        dc = np.minimum(d, self.n_days - 1)
        within = target - self.cum[dc]
        res = self.day_offset + DAY * dc + self.work_start + within
        if np.any(over):
            extra = (target - self.cum[-1]) / self.day_length
            res = np.where(over, self.day_offset + DAY * self.n_days + extra * DAY, res)
        return res

    def add_working_scalar(self, t: float, seconds: float) -> float:
        """:meth:`add_working` for one time, in plain Python (about 1 µs, no NumPy)."""
        target = self.working_seconds_scalar(t) + seconds
        k = bisect.bisect_left(self._ends_l, target)
        if k >= self.n_days:
            extra = (target - self._cum_l[-1]) / self.day_length
            return self.day_offset + DAY * self.n_days + extra * DAY
        return self.day_offset + DAY * k + self.work_start + (target - self._cum_l[k])

    def working_seconds_scalar(self, t: float) -> float:
        """:meth:`working_seconds` for one time, in plain Python."""
        d = math.floor((t - self.day_offset) / DAY)
        d = min(max(d, 0), self.n_days - 1)
        tod = t - (self.day_offset + DAY * d)
        inside = min(max(tod - self.work_start, 0.0), self.day_length)
        return self._cum_l[d] + (inside if self._work_l[d] else 0.0)

    def next_working_scalar(self, t: float) -> float:
        """:meth:`next_working` for one time, in plain Python: ``t`` inside working
        hours, else the start of the next working hours."""
        target = self.working_seconds_scalar(t)
        k = bisect.bisect_right(self._ends_l, target)
        if k >= self.n_days:
            extra = (target - self._cum_l[-1]) / self.day_length
            return self.day_offset + DAY * self.n_days + extra * DAY
        return max(t, self.day_offset + DAY * k + self.work_start + (target - self._cum_l[k]))

    def is_working(self, t: float) -> bool:
        """Whether ``t`` is inside working hours of a working day."""
        d = int(self.day_index(t))
        if not 0 <= d < self.n_days or not self.workday[d]:
            return False
        tod = t - self.day_start(d)
        return self.work_start <= tod < self.work_end

    def next_working(self, t: np.ndarray | float) -> np.ndarray:
        """``t`` itself when inside working hours, else the next working-hours start."""
        res = self.add_working(t, 0.0, _side="right")
        return res if np.ndim(t) else float(res)

    # -- shifts ---------------------------------------------------------------------
    def shift_windows(self, days: str, start: float, hours: float) -> ShiftWindows:
        """On-duty windows of a daily shift.

        Parameters
        ----------
        days
            ``"all"`` (every day) or ``"working"`` (working days only).
        start
            Shift start, seconds after midnight.
        hours
            Shift length in hours (24 on all days means always on duty).
        """
        dur = hours * 3600.0
        if days == "all" and dur >= DAY:
            return ShiftWindows(np.array([-np.inf]), np.array([np.inf]))
        idx = np.arange(-1, self.n_days)
        if days == "working":
            keep = np.concatenate([[False], self.workday])
            idx = idx[keep]
        s = self.day_offset + DAY * idx + start
        e = s + dur
        # Merge windows that touch (e.g. 24 h shifts on consecutive working days).
        if len(s) > 1:
            gap = s[1:] > e[:-1]
            first = np.concatenate([[True], gap])
            last = np.concatenate([gap, [True]])
            s, e = s[first], e[last]
        return ShiftWindows(s.astype(float), e.astype(float))
