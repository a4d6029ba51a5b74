"""Organisations that handle work orders, as SimPy resources with office hours.

An :class:`Office` is a hotline centre, a dispatching office, a sub-district office or a
department: ``staff`` people (a priority resource of SimPy events) who each handle one
piece of work at a time, on duty round the clock or in working hours of working days,
taking queued work in the order of its priority (first come, first served, or earliest
deadline first). A piece of work holds one staff member for its work content counted in
the office's duty time: work that does not fit before closing goes on the next working
morning, and work granted while the office is closed starts when it opens. Nothing is
pre-empted: people finish what they started.

This is the low-volume, logic-heavy side of the model (a few thousand pieces of work a
day), so it is plain SimPy; the crews' high-volume life cycle is the compiled core.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import numpy as np
import simpy

from urbangrid.calendar import WorkCalendar

__all__ = ["DeferredTimeout", "Office", "OfficeStats"]


class DeferredTimeout(simpy.Event):
    """A timeout whose delay is known only later: pending until :meth:`schedule` sets it
    (as :class:`simpy.Timeout` schedules itself). A queued piece of work waits for one,
    scheduled at the piece's end when a person takes it; a work order waits for one
    while its crew is out, scheduled when the crews' core hands the case back."""

    def schedule(self, delay: float) -> None:
        """Trigger the event ``delay`` seconds from now."""
        self._ok = True
        self._value = None
        self.env.schedule(self, simpy.events.NORMAL, delay)


@dataclass
class OfficeStats:
    """What an office saw, for the per-organisation table (counts and seconds; work that
    started in the statistics window, from ``t_stats`` to ``t_end``)."""

    arrivals: int = 0          #: pieces of work requested in the window
    started: int = 0           #: pieces started in the window
    queue_s: float = 0.0       #: total seconds from request to start (started pieces)
    busy_s: float = 0.0        #: staff-seconds of work inside the window
    orders: int = 0            #: orders this office handled to a reply (handling units)
    on_time: int = 0           #: ... of which replied by their deadline
    returned: int = 0          #: misrouted orders it sent back (退单)
    extended: int = 0          #: orders it asked to extend (延期), approved


class Office:
    """One organisation's staff and hours.

    Parameters
    ----------
    env
        The model's SimPy environment (its clock).
    name, kind
        Identifier and kind (``hotline``, ``dispatch``, ``subdistrict``, ``department``,
        ``company``).
    staff
        People handling this office's work.
    office_hours
        True: working hours of working days of ``calendar``; False: round the clock.
    calendar
        The run's working-day calendar.
    t_stats, t_end
        The statistics window.
    """

    def __init__(self, env: simpy.Environment, name: str, kind: str, staff: int,
                 office_hours: bool, calendar: WorkCalendar, t_stats: float,
                 t_end: float) -> None:
        if staff < 1:
            raise ValueError(f"office {name!r} needs at least one staff member, got {staff}")
        self.env = env
        self.name = name
        self.kind = kind
        self.staff = int(staff)
        self.office_hours = bool(office_hours)
        self.cal = calendar
        self.t_stats = t_stats
        self.t_end = t_end
        # The people as a counting resource with a priority queue of pending work: work
        # that finds someone free starts at once (one SimPy event: its timeout); queued
        # work is started by the person who frees up (``(priority, request time, seq)``
        # order, as simpy.PriorityResource), so nothing is pre-empted.
        self._open = self._close = -math.inf  # the cached working period
        self.busy = 0
        # (priority, request time, seq, DeferredTimeout, seconds, on_start) per piece
        self._queue: list[tuple] = []
        self._seq = 0
        self.stats = OfficeStats()

    def end_of(self, start: float, seconds: float) -> float:
        """When ``seconds`` of work started at ``start`` (on duty) are done in duty
        time."""
        if not self.office_hours:
            return start + seconds
        if self._open <= start and start + seconds <= self._close:
            return start + seconds  # within today's hours (the usual case)
        return self.cal.add_working_scalar(start, seconds)

    def next_on_duty(self, t: float) -> float:
        """``t`` when on duty, else the next opening."""
        if not self.office_hours:
            return t
        if self._open <= t < self._close:
            return t
        start = self.cal.next_working_scalar(t)
        # cache the working period that contains `start` (a working day's hours)
        cal = self.cal
        midnight = cal.day_offset + 86400.0 * math.floor((start - cal.day_offset) / 86400.0)
        self._open = midnight + cal.work_start
        self._close = midnight + cal.work_end
        return start

    def request(self, seconds: float, priority: float = 0.0, stage: str = "",
                on_start=None, at: float = -math.inf) -> DeferredTimeout:
        """A piece of work: wait for a staff member (by ``priority``, lower first, then
        request time) and hold them for ``seconds`` of duty time; with ``at`` in the
        future, ask for one then. Returns the event of the piece's end: a process
        yields it.
        ``on_start(end)``, if given, is called when the work starts, with its end.
        (``stage`` names the work in the order's process; it is not counted.)

        The end is scheduled by the request when someone is free, else by the person
        who takes the piece from the queue; when it comes, that person takes the next
        piece or is free (the event's first callback, so before the waiting process
        resumes). A request ``at`` a later time is made by a timeout's callback, not by
        resuming the process. (An event rather than a sub-process: no generator to
        create and delegate through for each of the orders' millions of pieces.)"""
        env = self.env
        done = DeferredTimeout(env)
        done.callbacks.append(self._release)
        if at > env.now:
            env.timeout(at - env.now).callbacks.append(
                lambda _: self._request(done, seconds, priority, on_start))
        else:
            self._request(done, seconds, priority, on_start)
        return done

    def work(self, seconds: float, priority: float = 0.0, stage: str = "",
             on_start=None, at: float = -math.inf):
        """Process: :meth:`request` as a generator (``env.process(office.work(...))``
        or ``yield from``)."""
        yield self.request(seconds, priority, stage, on_start, at)

    def _release(self, _end: DeferredTimeout) -> None:
        """A piece ended: its person takes the next piece of work, or is free."""
        if self._queue:
            _, t_next, _, done, seconds, on_start = heapq.heappop(self._queue)
            done.schedule(self._begin(t_next, seconds, on_start) - self.env.now)
        else:
            self.busy -= 1

    def _request(self, done: DeferredTimeout, seconds: float, priority: float,
                 on_start) -> None:
        """A piece of work asks for a person now: one free starts it (``done`` at its
        end), else it joins the queue."""
        t_req = self.env.now
        if self.t_stats <= t_req < self.t_end:
            self.stats.arrivals += 1
        if self.busy < self.staff and not self._queue:
            self.busy += 1
            done.schedule(self._begin(t_req, seconds, on_start) - t_req)
        else:
            self._seq += 1
            heapq.heappush(self._queue, (priority, t_req, self._seq, done, seconds,
                                         on_start))

    def _begin(self, t_req: float, seconds: float, on_start) -> float:
        """A person starts ``seconds`` of work requested at ``t_req`` (now, or at the
        next opening when off duty): count it and return its end."""
        if self.office_hours:
            start = self.next_on_duty(self.env.now)
            end = self.end_of(start, seconds)
        else:
            start = self.env.now
            end = start + seconds
        st = self.stats
        t_stats, t_end = self.t_stats, self.t_end
        if t_stats <= start < t_end:
            st.started += 1
            st.queue_s += start - t_req
        if t_stats <= start and end <= t_end:
            st.busy_s += seconds  # the work is `seconds` of duty time
        else:
            lo = start if start > t_stats else t_stats
            hi = end if end < t_end else t_end
            if hi > lo:
                st.busy_s += self._duty_seconds(lo, hi)
        if on_start is not None:
            on_start(end)
        return end

    def _duty_seconds(self, t0: float, t1: float) -> float:
        if not self.office_hours:
            return t1 - t0
        return self.cal.working_seconds_scalar(t1) - self.cal.working_seconds_scalar(t0)

    def duty_seconds(self, t0: float, t1: float) -> float:
        """Seconds this office is on duty between ``t0`` and ``t1`` (one person)."""
        return self._duty_seconds(t0, t1)

    def table_row(self) -> dict[str, float]:
        """The office's line of the per-organisation table (see :class:`OfficeStats`)."""
        s = self.stats
        window = self.t_end - self.t_stats
        duty = self.staff * self.duty_seconds(self.t_stats, self.t_end)
        days = window / 86400.0 if window > 0 else np.nan
        return {
            "kind": self.kind,
            "staff": self.staff,
            "office_hours": self.office_hours,
            "arrivals_per_day": s.arrivals / days if days else np.nan,
            "utilisation": s.busy_s / duty if duty > 0 else np.nan,
            "queue_hours_mean": s.queue_s / s.started / 3600.0 if s.started else np.nan,
            # Little's law over the window: mean number of pieces waiting for a person.
            "queue_mean": s.queue_s / window if window > 0 else np.nan,
            "orders": s.orders,
            "returned": s.returned,
            "extended": s.extended,
            "on_time_rate": s.on_time / s.orders if s.orders else np.nan,
        }
