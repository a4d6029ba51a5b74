"""The work orders' SimPy environment: SimPy's clock with its event queue in two levels.

SimPy keeps every scheduled event in one binary heap. The work orders keep most of
theirs far ahead (a stage that waits days for its start, an order whose crew is out),
so on Jing'an the heap holds about 7,500 events and each of the year's ~5 million
steps sifts through 13 levels of it. Here only the events due before ``horizon``, the
end of the current window of :data:`WINDOW` seconds, are in the heap; later ones wait
in a list per window and join the heap when the clock reaches their window. Each
entry is SimPy's own ``(time, priority, id, event)``, so the events run in exactly the
order :class:`simpy.Environment` gives them (the simulation's fingerprints are the
same with either).

:meth:`Environment.run_before` runs the events due before a time in one loop (the
model's catch-up with its compiled core): SimPy's :meth:`~simpy.Environment.step`
inlined, without a method call and a ``peek`` per event. Its ``now`` is a plain
attribute rather than SimPy's property.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush

import simpy
from simpy.core import BoundClass, EmptySchedule, Infinity, StopSimulation
from simpy.events import NORMAL

__all__ = ["WINDOW", "Environment"]

#: Seconds of one window of the far level (an hour: a few hundred events each).
WINDOW = 3600.0


class Environment(simpy.Environment):
    """:class:`simpy.Environment` with a two-level event queue (see the module doc).

    Invariant: every scheduled event due before ``horizon`` is in the heap
    (``_queue``), every later one in ``_later[int(time // WINDOW)]`` (events at
    infinity under the key ``inf``, loaded last); the window numbers that hold events
    are in the heap ``_windows``. The heap's head is therefore the
    next event whenever the heap is not empty."""

    #: The current time as a plain attribute, kept equal to SimPy's ``_now`` (SimPy's
    #: ``now`` is a property; the orders read the clock about five times an event).
    now: float = 0.0

    def __init__(self, initial_time: float = 0.0) -> None:
        super().__init__(initial_time)
        self.now = self._now
        # SimPy binds ``timeout``, ``event``, ``process``, ... to the instance, but only
        # those of the instance's own class: bind the base class's too
        for name, obj in vars(simpy.Environment).items():
            if type(obj) is BoundClass:
                setattr(self, name, getattr(self, name))
        self._horizon = (initial_time // WINDOW + 1) * WINDOW
        self._later: dict[float, list] = {}
        self._windows: list[float] = []

    def schedule(self, event, priority=NORMAL, delay=0) -> None:
        t = self._now + delay
        entry = (t, priority, next(self._eid), event)
        if t < self._horizon or self._horizon == Infinity:
            # (with the window at infinity loaded, every event joins the heap)
            heappush(self._queue, entry)
            return
        # the window's number; infinity's comes after every finite one
        k = int(t // WINDOW) if t < Infinity else Infinity
        waiting = self._later.get(k)
        if waiting is None:
            self._later[k] = [entry]
            heappush(self._windows, k)
        else:
            waiting.append(entry)

    def _refill(self) -> bool:
        """Move the next window that holds events into the (empty) heap; False when
        none is left."""
        if not self._windows:
            return False
        k = heappop(self._windows)
        self._horizon = (k + 1) * WINDOW  # infinity for the window at infinity
        q = self._queue
        q.extend(self._later.pop(k))
        heapify(q)
        return True

    def peek(self) -> float:
        if not self._queue and not self._refill():
            return Infinity
        return self._queue[0][0]

    def step(self) -> None:
        # simpy.Environment.step, with the refill
        if not self._queue and not self._refill():
            raise EmptySchedule
        t, _, _, event = heappop(self._queue)
        self._now = self.now = t
        callbacks, event.callbacks = event.callbacks, None
        try:
            for callback in callbacks:
                callback(event)
        except StopSimulation:
            # as SimPy: the remaining callbacks run when the simulation resumes
            event.callbacks = callbacks[callbacks.index(callback) + 1:]
            self.schedule(event, -1)
            raise
        if not event._ok and not hasattr(event, "_defused"):
            _crash(event)

    def run_before(self, t: float) -> int:
        """Process every event due before ``t`` (:meth:`step` in one loop); returns how
        many. (No ``StopSimulation`` here: :meth:`run` with ``until`` uses
        :meth:`step`.)"""
        q = self._queue
        n = 0
        while q or self._refill():
            if q[0][0] >= t:
                break
            t_event, _, _, event = heappop(q)
            self._now = self.now = t_event
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                _crash(event)
            n += 1
        return n


def _crash(event) -> None:
    """A failed event nobody defused stops the run, as in SimPy: a copy of its exception
    with the original as the cause."""
    exc = type(event._value)(*event._value.args)
    exc.__cause__ = event._value
    raise exc
