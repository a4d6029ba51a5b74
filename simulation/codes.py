"""The codes of the model's outputs: event types of the log, case statuses, channels.

Each is an :class:`enum.IntEnum` whose values are the integers stored in the event log
and the case table (``kind``, ``status``, ``channel`` columns) and whose lower-case
names are the labels written to Parquet; the compiled core uses the same members, so a
code has one home. Never renumber a member: stored logs would change meaning; add new
ones at the end.
"""

from __future__ import annotations

from enum import IntEnum

from urbangrid.catalogue import CHANNELS

__all__ = ["CHANNEL_CODES", "EVENT_NAMES", "STATUS_NAMES", "Channel", "Event", "Status"]


class Event(IntEnum):
    """Event types of the log (``kind`` column)."""

    REPORTED = 0
    REGISTERED = 1
    INVALID = 2
    FIXED_ON_SPOT = 3
    FORWARDED = 4
    DISPATCHED = 5
    SIGNED = 6
    RETURNED = 7
    PREPARED = 8
    TRAVEL = 9
    ARRIVED = 10
    WORK_DONE = 11
    UNRESOLVED = 12
    EXTENDED = 13
    PARKED = 14
    VERIFIED = 15
    REWORK = 16
    CALLBACK_OK = 17
    CALLBACK_BAD = 18
    REOPENED = 19
    CLOSED = 20
    HANDED_BACK = 21
    # work orders, logged by the order processes
    ROUTED = 22           #: a dispatching office sends the order on (派单)
    CONTACTED = 23        #: the unit reached the caller
    FIELD_REQUESTED = 24  #: the unit sends a crew (the case enters the dispatch pool)
    FIELD_DONE = 25       #: the crew part ended (verified or not)
    REPLIED = 26          #: the unit replies (答复)
    ESCALATED = 27        #: replied after the deadline: escalated (督办)
    REDO = 28             #: second attempt after a dissatisfied callback (重办)
    # dispatch
    POSTPONED = 29        #: a policy held the task out of the pool until a time it chose
    # multi-crew tasks (catalogue ``crews`` > 1): the extra crews; the first crew is the
    # task's ``team`` and logs its life cycle as any crew does
    CREW_JOINED = 30      #: an extra crew is committed to the task (with its dispatch)
    CREW_RELEASED = 31    #: ... freed before the work began (returned, handed back, re-offered)
    CREW_CALLED = 32      #: ... called by the first crew starting out: it comes next
    CREW_DONE = 33        #: ... the joint work ended (logged at that time)


class Status(IntEnum):
    """Case status (``status`` column)."""

    NEW = 0
    REGISTERED = 1
    WAITING = 2
    ASSIGNED = 3
    IN_PROGRESS = 4
    CLOSED = 5
    PARKED = 6
    INVALID = 7


#: Discovery channels (``channel`` column), in the catalogue's order.
Channel = IntEnum("Channel", [c.upper() for c in CHANNELS], start=0, module=__name__)
Channel.__doc__ = "Discovery channel of a case (``channel`` column)."

#: ``EVENT_NAMES[code]`` is the label of an event type, ``STATUS_NAMES[code]`` of a status.
EVENT_NAMES = tuple(e.name.lower() for e in Event)
STATUS_NAMES = tuple(s.name.lower() for s in Status)
CHANNEL_CODES = {c.name.lower(): c for c in Channel}
