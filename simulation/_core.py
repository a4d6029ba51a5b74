"""The crew life cycle as a compiled event loop (Numba): the model's hot path.

Everything a case and a crew do (registration, forwarding, preparation, signing, the
crew's queue, travel and work, shifts and hand-over, verification, call-back, re-work,
work orders) and the dispatcher's rounds (its ticks and urgent requests) run here, in
one compiled call per stretch of simulated time, on the core's own event heap. About
40 k such events a simulated day make this the volume the engine must be fast at; a
Python-level event per stage would cost more than the whole stage costs here. A
built-in policy's rounds are decided and applied here through its compiled form
(:mod:`urbangrid.optimizer.compiled`); other policies' rounds are handed to Python
(:func:`run_until` returns).

The records the functions share are named tuples (Numba compiles attribute access to a
field offset): :class:`CoreState` (the mutable arrays the model owns; the functions
mutate them in place), :class:`CoreInputs` (read-only arrays and the
:class:`Params`), and the codes are :class:`enum.IntEnum` members (:class:`Due` for
the heap's events, :mod:`.codes` for the log's). Rows of the 2-D blocks are named by the
``*_COLUMNS`` tuples, and the Python side reads and writes the same memory through
views, so nothing is copied between the two. With ``NUMBA_DISABLE_JIT=1`` every
function here runs as the plain Python it is written in (a test runs the toy model that
way), which is the core's readable reference.

Semantics the Python side relies on:

- events at equal times run in the order they were scheduled (a sequence number breaks
  ties, as SimPy's event id does);
- :func:`run_until` processes events with time ``< until`` and the dispatch rounds due
  before it: at each tick once every event at or before it has run, at a dispatch
  request (an urgent case entering the pool under ``on_events = "urgent"``, any pool
  entry or freed slot under ``"all"``) once every event at its time has run. It returns
  early with ``Stop.DISPATCH`` or ``Stop.OFFERED`` when a round needs the Python policy,
  and with ``Stop.SPACE`` when a buffer needs room, before touching it;
- random variates for repeated attempts come from pre-drawn buffers in a fixed order,
  refilled by the caller from the run's ``repeat`` stream (same seed, same run).
"""

from __future__ import annotations

import math
import typing
from enum import IntEnum
from typing import NamedTuple

import numba
import numpy as np

from urbangrid._numba_cache import forget_if_changed
from urbangrid.optimizer.compiled import KERNEL_FILES, Batch, FlowParams, decide_batch

from . import _kernels
from ._kernels import gather_travel, work_time_compiled
from .codes import Channel, Event, Status

# ----------------------------------------------------------------------------- layout
#: Case columns, one 2-D block per dtype, ``block[case, column]`` (columns in this order:
#: the fields of one case share cache lines, which is what the event loop reads).
CASE_F64 = ("t_occur", "t_report", "t_register", "t_dispatch", "t_close", "t_pool",
            "deadline", "pool_rank", "pool_queued")
CASE_F32 = ("d_register", "d_sign", "d_prep", "d_work", "d_verify", "d_feedback", "u_loop")
CASE_I32 = ("cell", "team", "qnext")
CASE_I16 = ("category", "n_misroute", "n_rework", "n_reopen", "n_extension", "n_attempt",
            "hop", "unit", "n_return")
CASE_I8 = ("channel", "status", "resolved", "satisfied", "on_spot", "order_type")
CASE_I64 = ("pool_seq", "route_key")
#: Internal case columns (not part of a run's output): the team-queue link, the next
#: forwarding hop, the pool order (-priority, queue time, sequence number) and the
#: position a routing policy gave the task in its team's sequence (``route_key``).
CASE_INTERNAL = ("qnext", "hop", "pool_rank", "pool_queued", "pool_seq", "route_key")

(T_OCCUR, T_REPORT, T_REGISTER, T_DISPATCH, T_CLOSE, T_POOL, DEADLINE, POOL_RANK,
 POOL_QUEUED) = range(len(CASE_F64))
PSEQ, RKEY = range(len(CASE_I64))
#: ``route_key = round * ROUTE_ROUND + position``: a task routed in a dispatch round
#: goes, in its team's queue, before the tasks of the same round the policy's sequence
#: puts after it (``Assignment.order``); -1 = not routed (the queue is first signed,
#: first served). Positions stay below it (a round offers at most a few thousand tasks).
ROUTE_BITS = 24
ROUTE_ROUND = 1 << ROUTE_BITS
D_REGISTER, D_SIGN, D_PREP, D_WORK, D_VERIFY, D_FEEDBACK, U_LOOP = range(len(CASE_F32))
CELL, TEAM, QNEXT = range(len(CASE_I32))
(CATEGORY, N_MISROUTE, N_REWORK, N_REOPEN, N_EXTENSION, N_ATTEMPT, HOP, UNIT,
 N_RETURN) = range(len(CASE_I16))
CHANNEL, STATUS, RESOLVED, SATISFIED, ON_SPOT, ORDER_TYPE = range(len(CASE_I8))

#: Team columns: float64 and int64 blocks, ``block[column, team]``. ``task_end`` is when
#: the team's current work ends (its task's ``WORK_DONE``; once called to a multi-crew
#: task, that task's ``CREW_DONE``); ``join`` the
#: multi-crew task the team is committed to as an extra crew (-1: none; at most one at a
#: time), ``called`` 1 once that task's first crew has set out, and then ``join_at`` and
#: ``join_travel`` when the team leaves for it and its trip.
TEAM_F64 = ("free_at", "shift_start", "shift_end", "busy_s", "travel_s", "task_start",
            "task_travel", "task_end", "join_at", "join_travel")
TEAM_I64 = ("skills", "area", "home", "cell", "mode", "pattern", "capacity", "kind",
            "load", "slots", "tasks", "busy", "waking", "qhead", "qtail", "stack", "doing",
            "join", "called")
(FREE_AT, SHIFT_START, SHIFT_END, BUSY_S, TRAVEL_S, TASK_START, TASK_TRAVEL, TASK_END,
 JOIN_AT, JOIN_TRAVEL) = range(len(TEAM_F64))
(SKILLS, AREA, HOME, TCELL, MODE, PATTERN, CAPACITY, KIND, LOAD, SLOTS, TASKS, BUSY,
 WAKING, QHEAD, QTAIL, STACK, DOING, JOIN, CALLED) = range(len(TEAM_I64))


class Count(IntEnum):
    """Slots of the int64 vector ``CoreState.counters``."""

    H_N = 0          #: events on the heap
    H_SEQ = 1        #: next heap sequence number (ties at equal times)
    L_N = 2          #: rows in the main log
    S_N = 3          #: rows in the side log
    POOL_SEQ = 4     #: next pool sequence number
    U_CUR = 5        #: next uniform variate in ``u``
    Z_CUR = 6        #: next normal variate in ``z``
    REQ_PRIO = 7     #: minimum priority of the pending round request (NO_REQUEST: none)
    N_EV = 8         #: events processed
    N_WAIT = 9       #: cases waiting in the pools
    POOL_MAX = 10    #: largest pool size so far
    ROUND_PRIO = 11  #: minimum priority of the round handed to Python
    NEED = 12        #: rows a round handed back for room needs
    N_ROUNDS = 13    #: rounds held
    N_COMPILED = 14  #: rounds decided by the compiled policy
    N_HANDOFF = 15   #: work orders whose crew part ended, waiting in ``handoff``
    TZ_CUR = 16      #: next normal variate in ``tz``


class Mark(IntEnum):
    """Slots of the float64 vector ``CoreState.marks`` (times)."""

    INSP_S = 0     #: start of the inspectors' current duty window
    INSP_E = 1     #: its end
    REQ_T = 2      #: time of the pending round request
    NEXT_TICK = 3  #: the dispatcher's next tick
    ROUND_T = 4    #: time of the round handed to Python
    HOLD = 5       #: the core stops here to let the work orders react to a handoff
    REACHED = 6    #: every event and round before this time has run


#: ``counters[Count.REQ_PRIO]`` when no dispatch round is requested.
NO_REQUEST = 1 << 30


class Due(IntEnum):
    """What an event on the core's heap does (payload = case or team * 16 + member)."""

    REGISTER = 0     #: a reported case is registered
    FORWARDED = 1    #: a forwarding hop arrives (legacy hierarchy)
    PREPARED = 2     #: the handling unit's preparation ends
    SIGNED = 3       #: the unit signs the order
    RETURNED = 4     #: a declined order is back at the dispatcher
    WAKE = 5         #: a crew's shift starts (payload: team)
    WORK_DONE = 6    #: travel and work end
    UNRESOLVED = 7   #: the unit reports an unresolved attempt
    REPOOL = 8       #: an extension ends, the case goes back to its pool
    VERIFIED = 9     #: the inspector (or the camera) confirms
    FIELD = 10       #: a work order's handling unit sends a crew (case enters the pool)
    RELEASE = 11     #: a postponed task goes back to its pool, in line where it was
    CREW_DONE = 12   #: an extra crew's part of a multi-crew task ends (payload: team)


_KIND_BITS = 16


class Stop(IntEnum):
    """Why :func:`run_until` returned."""

    DONE = 0      #: every event before ``until`` ran
    DISPATCH = 1  #: a round for the Python policy is due
    SPACE = 2     #: a buffer needs room first
    OFFERED = 3   #: the compiled policy handed an offered round back


#: ``Params.on_events`` codes.
ON_EVENTS_CODES = ("none", "urgent", "all")
#: ``Params.policy`` of a policy without a compiled form (rounds go to Python).
PYTHON_POLICY = 0
#: Work-time distributions, ``CategoryTable.work_dist`` codes.
WORK_DISTS = ("exp", "lognormal", "fixed")


class Weights(NamedTuple):
    """The dispatch cost's weights (``urbangrid.optimizer.ScoreWeights``' fields)."""

    travel: float
    wait: float
    lateness: float
    balance: float
    reassignment: float
    defer: float


class Params(NamedTuple):
    """The run's scalar parameters and switches (seconds, probabilities, counts)."""

    sign: float          #: mean time to sign for an order, repeat attempts
    fast_sign: float     #: the same in the IoT fast lane
    misroute: float      #: probability the unit declines the order (退单)
    return_mean: float   #: mean paperwork time of a return
    feedback: float      #: mean time to report back after work, repeat attempts
    verify: float        #: mean inspector verification delay, repeat attempts
    fast_verify: float   #: the same by the detecting camera or sensor
    rework: float        #: probability verification fails
    handoff_hold: float  #: how far past a work order's handoff the core may run
    ext_prob: float      #: probability an unresolved attempt gets an extension
    ext_mean: float      #: mean extension time
    t_stats: float       #: end of the warm-up (team statistics start)
    t_end: float         #: end of the statistics window
    t_stop: float        #: end of the run (after the drain)
    lookahead: float     #: a crew takes orders this long before its shift starts
    day_offset: float    #: the calendar's day 0 midnight (``WorkCalendar.day_offset``)
    work_start: float    #: working hours start, seconds after midnight
    day_length: float    #: working seconds per working day
    other_boost: float   #: priority added to orders from above
    tick: float          #: dispatcher interval (0: rounds on requests only)
    legacy: bool         #: office-hours process: waits count working time
    iot_fast: bool       #: the IoT fast lane
    handover: bool       #: unstarted tasks go back to the pool at shift end
    on_events: int       #: ON_EVENTS_CODES index: which pool entries request a round
    max_ext: int         #: extensions per case
    margin: int          #: room every buffer keeps before an event
    n_bits: int          #: skills (pools per sub-district)
    per_slot: int        #: tasks a round offers per free slot
    area_bound: bool     #: crews serve only their own sub-district
    travel_sigma: float  #: sigma of the lognormal per-trip travel factor (0: none)
    policy: int          #: the compiled policy's kind (PYTHON_POLICY: none)
    weights: Weights
    reoffer: bool        #: rounds re-offer the queued, unstarted tasks of crews on duty


def typed(record):
    """``record`` (one of the named tuples above) with every scalar field cast to its
    annotated type, nested records too: a run's records then always have the same Numba
    type, so the core is compiled (and cached) once."""
    hints = typing.get_type_hints(type(record))
    out = {}
    for name, value in zip(record._fields, record, strict=True):
        kind = hints[name]
        out[name] = typed(value) if hasattr(value, "_fields") else kind(value)
    return type(record)(**out)


class CategoryTable(NamedTuple):
    """Per-category arrays (index: category)."""

    resolution: np.ndarray  #: probability an attempt resolves the case
    work_mean: np.ndarray   #: mean on-site work, seconds
    work_cv: np.ndarray     #: its coefficient of variation
    work_dist: np.ndarray   #: WORK_DISTS code
    priority: np.ndarray    #: dispatch priority
    crews: np.ndarray       #: crews the on-site work needs at once (int64)


class CoreInputs(NamedTuple):
    """The core's read-only inputs."""

    params: Params
    flow: FlowParams         #: the compiled policy's min-cost-flow knobs
    cat: CategoryTable
    cal_cum: np.ndarray      #: working seconds before each calendar day
    cal_workday: np.ndarray  #: working-day flags
    forward: np.ndarray      #: mean time of each forwarding hop (legacy)
    surges: np.ndarray       #: travel surges (start, end, factor)
    pat_start: np.ndarray    #: shift patterns' duty windows, concatenated ...
    pat_end: np.ndarray
    pat_off: np.ndarray      #: ... pattern p's windows are [pat_off[p], pat_off[p + 1])
    insp_start: np.ndarray   #: the inspectors' duty windows
    insp_end: np.ndarray
    cell_sub: np.ndarray     #: sub-district of each cell
    cat_bit: np.ndarray      #: skill bit of each category


class CoreState(NamedTuple):
    """The core's mutable arrays (the model rebuilds the tuple when a buffer grows)."""

    case_f64: np.ndarray     #: case blocks, columns CASE_F64 ... CASE_I64
    case_f32: np.ndarray
    case_i32: np.ndarray
    case_i16: np.ndarray
    case_i8: np.ndarray
    case_i64: np.ndarray
    team_f64: np.ndarray     #: team blocks, rows TEAM_F64, TEAM_I64
    team_i64: np.ndarray
    heap_t: np.ndarray       #: the event heap: times, sequence numbers, payloads
    heap_seq: np.ndarray
    heap_payload: np.ndarray
    log_t: np.ndarray        #: the main log (time order): time, case, Event, team
    log_case: np.ndarray
    log_kind: np.ndarray
    log_team: np.ndarray
    side_t: np.ndarray       #: rows logged at another time, merged after the run
    side_case: np.ndarray
    side_kind: np.ndarray
    side_team: np.ndarray
    handoff: np.ndarray      #: work-order cases whose crew part ended (Count.N_HANDOFF)
    handoff_t: np.ndarray    #: ... and when
    u: np.ndarray            #: uniform variates for repeat attempts
    z: np.ndarray            #: standard normal variates for repeat attempts
    tz: np.ndarray           #: standard normal variates for the trips' travel factors
    counters: np.ndarray     #: int64, indexed by Count
    marks: np.ndarray        #: float64, indexed by Mark
    travel: np.ndarray       #: destination-major travel matrices (mode, to, from)
    pool_heap: np.ndarray    #: one heap of case ids per (skill, sub-district) pool
    pool_size: np.ndarray


#: "no team" in the log.
NO_TEAM = np.int64(-1)
# Plain ints passed to compiled helpers are NumPy scalars: Numba compiles a function once
# per distinct *literal* int argument.
_ZERO = np.int64(0)
_URGENT = np.int64(3)

DAY = 86400.0

# The event handlers and the helpers LLVM would keep as calls are inlined at Numba's
# level (`_inline`): a call with the state and inputs tuples increfs and decrefs their
# arrays (atomic operations in Numba's runtime). The numpy error model drops the
# ZeroDivisionError branches; no divisor here can be zero (day length, pool count,
# constants).
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_inline = numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")


# ----------------------------------------------------------------------------- heap
@_jit
def _push(st, t, payload):  # pragma: no cover - compiled
    ht, hs, hp, I = st.heap_t, st.heap_seq, st.heap_payload, st.counters
    n = I[Count.H_N]
    seq = I[Count.H_SEQ]
    I[Count.H_SEQ] = seq + 1
    i = n
    while i > 0:
        parent = (i - 1) >> 1
        pt = ht[parent]
        if pt < t or (pt == t and hs[parent] < seq):
            break
        ht[i] = pt
        hs[i] = hs[parent]
        hp[i] = hp[parent]
        i = parent
    ht[i] = t
    hs[i] = seq
    hp[i] = payload
    I[Count.H_N] = n + 1


@_jit
def _pop(st):  # pragma: no cover - compiled
    """Remove the earliest event; returns its payload (its time is ``ht[0]`` before)."""
    ht, hs, hp, I = st.heap_t, st.heap_seq, st.heap_payload, st.counters
    top = hp[0]
    n = I[Count.H_N] - 1
    I[Count.H_N] = n
    if n == 0:
        return top
    t = ht[n]
    s = hs[n]
    p = hp[n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        right = child + 1
        if right < n and (ht[right] < ht[child]
                          or (ht[right] == ht[child] and hs[right] < hs[child])):
            child = right
        ct = ht[child]
        if t < ct or (t == ct and s < hs[child]):
            break
        ht[i] = ct
        hs[i] = hs[child]
        hp[i] = hp[child]
        i = child
    ht[i] = t
    hs[i] = s
    hp[i] = p
    return top


@_jit
def push_many(st, times, kind, args):  # pragma: no cover - compiled
    """Schedule ``kind`` for ``args[k]`` (cases or teams) at ``times[k]``."""
    for k in range(times.shape[0]):
        _push(st, times[k], args[k] * _KIND_BITS + kind)


# ----------------------------------------------------------------------------- logs
@_jit
def _append(t_col, c_col, k_col, m_col, I, counter, t, c, kind, team):  # pragma: no cover
    n = I[counter]
    t_col[n] = t
    c_col[n] = c
    k_col[n] = kind
    m_col[n] = team
    I[counter] = n + 1


@_jit
def _log(st, t, c, kind, team):  # pragma: no cover - compiled
    """A row of the main log (time order)."""
    _append(st.log_t, st.log_case, st.log_kind, st.log_team, st.counters, Count.L_N, t, c,
            kind, team)


@_jit
def _log_side(st, t, c, kind, team):  # pragma: no cover - compiled
    """A row logged ahead of (or behind) its time, merged into order after the run."""
    _append(st.side_t, st.side_case, st.side_kind, st.side_team, st.counters, Count.S_N, t,
            c, kind, team)


# ----------------------------------------------------------------------------- random
@_jit
def _u(st):  # pragma: no cover - compiled
    I = st.counters
    k = I[Count.U_CUR]
    I[Count.U_CUR] = k + 1
    return st.u[k]


@_jit
def _z(st):  # pragma: no cover - compiled
    I = st.counters
    k = I[Count.Z_CUR]
    I[Count.Z_CUR] = k + 1
    return st.z[k]


@_jit
def _trip_factor(st, sigma):  # pragma: no cover - compiled
    """A trip's travel-time factor: lognormal with mean 1 and log-sd ``sigma``
    (``scenario.travel``), from its own stream ``tz``."""
    I = st.counters
    k = I[Count.TZ_CUR]
    I[Count.TZ_CUR] = k + 1
    return math.exp(sigma * st.tz[k] - 0.5 * sigma * sigma)


@_jit
def _exp(st, mean):  # pragma: no cover - compiled
    if mean > 0.0:
        return -mean * math.log(1.0 - _u(st))
    return 0.0


# ----------------------------------------------------------------------------- calendar
@_jit
def _add_working(fx, t, seconds):  # pragma: no cover - compiled
    """``WorkCalendar.add_working`` for one time (same arithmetic)."""
    prm, cum, workday = fx.params, fx.cal_cum, fx.cal_workday
    n_days = workday.shape[0]
    off = prm.day_offset
    length = prm.day_length
    d = math.floor((t - off) / DAY)
    d = min(max(d, 0), n_days - 1)
    tod = t - (off + DAY * d)
    inside = min(max(tod - prm.work_start, 0.0), length)
    target = cum[d] + (inside if workday[d] else 0.0) + seconds
    k = np.searchsorted(cum[1:], target)
    if k >= n_days:
        extra = (target - cum[n_days]) / length
        return off + DAY * n_days + extra * DAY
    return off + DAY * k + prm.work_start + (target - cum[k])


@_inline
def _after(st, fx, now, d):  # pragma: no cover - compiled
    """Time ``d`` seconds after ``now``: working time under ``legacy``, else calendar."""
    if fx.params.legacy:
        return _add_working(fx, now, d)
    return now + d


@_jit
def _window(start, end, lo, hi, t):  # pragma: no cover - compiled
    """``ShiftWindows.window_at`` on ``start[lo:hi]``, ``end[lo:hi]``."""
    i = lo + np.searchsorted(end[lo:hi], t, side="right")
    if i >= hi:
        return np.inf, np.inf
    return start[i], end[i]


@_jit
def _pattern_window(fx, p, t):  # pragma: no cover - compiled
    off = fx.pat_off
    return _window(fx.pat_start, fx.pat_end, off[p], off[p + 1], t)


@_jit
def _travel_factor(fx, t):  # pragma: no cover - compiled
    surges = fx.surges
    f = 1.0
    for k in range(surges.shape[0]):
        if surges[k, 0] <= t < surges[k, 1]:
            f *= surges[k, 2]
    return f


# ----------------------------------------------------------------------------- life cycle
@_jit
def _request(st, now, min_prio):  # pragma: no cover - compiled
    I, F = st.counters, st.marks
    if I[Count.REQ_PRIO] == NO_REQUEST:
        F[Mark.REQ_T] = now
        I[Count.REQ_PRIO] = min_prio
    elif min_prio < I[Count.REQ_PRIO]:
        I[Count.REQ_PRIO] = min_prio


@_jit
def _pool_less(st, a, b):  # pragma: no cover - compiled
    """Whether case ``a`` comes before ``b`` in a pool: higher priority, then earlier
    queue time, then earlier filing."""
    CF = st.case_f64
    ra = CF[a, POOL_RANK]
    rb = CF[b, POOL_RANK]
    if ra != rb:
        return ra < rb
    qa = CF[a, POOL_QUEUED]
    qb = CF[b, POOL_QUEUED]
    if qa != qb:
        return qa < qb
    return st.case_i64[a, PSEQ] < st.case_i64[b, PSEQ]


@_jit
def _pool_push(st, p, c):  # pragma: no cover - compiled
    """Put case ``c`` in pool ``p`` (row ``p`` of the pool heaps)."""
    heap, size, I = st.pool_heap, st.pool_size, st.counters
    i = size[p]
    size[p] = i + 1
    if i + 1 > I[Count.POOL_MAX]:
        I[Count.POOL_MAX] = i + 1
    while i > 0:
        parent = (i - 1) >> 1
        q = heap[p, parent]
        if not _pool_less(st, c, q):
            break
        heap[p, i] = q
        i = parent
    heap[p, i] = c


@_jit
def _pool_pop(st, p):  # pragma: no cover - compiled
    """Take the first case out of pool ``p``."""
    heap, size = st.pool_heap, st.pool_size
    top = heap[p, 0]
    n = size[p] - 1
    size[p] = n
    if n == 0:
        return top
    last = heap[p, n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            break
        if child + 1 < n and _pool_less(st, heap[p, child + 1], heap[p, child]):
            child += 1
        if not _pool_less(st, heap[p, child], last):
            break
        heap[p, i] = heap[p, child]
        i = child
    heap[p, i] = last
    return top


@_inline
def _repool(st, fx, c):  # pragma: no cover - compiled
    """Put case ``c`` back in its pool with its existing order key."""
    n_areas = st.pool_size.shape[0] // fx.params.n_bits
    p = fx.cat_bit[st.case_i16[c, CATEGORY]] * n_areas + fx.cell_sub[st.case_i32[c, CELL]]
    _pool_push(st, p, c)
    st.counters[Count.N_WAIT] += 1


@_inline
def _to_pool(st, fx, c, now, queued_at):  # pragma: no cover - compiled
    """Put case ``c`` in its (skill, sub-district) pool, ordered by priority, then
    ``queued_at``, then filing order."""
    CF, CS, CB, CL, I = st.case_f64, st.case_i16, st.case_i8, st.case_i64, st.counters
    CB[c, STATUS] = Status.WAITING
    if math.isnan(CF[c, T_POOL]):
        CF[c, T_POOL] = now
    prio = fx.cat.priority[CS[c, CATEGORY]]
    if CB[c, CHANNEL] == Channel.OTHER:
        prio += fx.params.other_boost
    CF[c, POOL_RANK] = -prio
    CF[c, POOL_QUEUED] = queued_at
    seq = I[Count.POOL_SEQ] + 1
    I[Count.POOL_SEQ] = seq
    CL[c, PSEQ] = seq
    _repool(st, fx, c)
    on = fx.params.on_events
    if on == 2:
        _request(st, now, _ZERO)
    elif on == 1 and prio >= 3:
        _request(st, now, _URGENT)


@_inline
def _route(st, fx, c, hop, now):  # pragma: no cover - compiled
    """Forwarding hops (legacy hierarchy), preparation, then the dispatch pool."""
    CG, CS = st.case_f32, st.case_i16
    fwd = fx.forward
    if hop < fwd.shape[0]:
        d = _exp(st, fwd[hop])
        CS[c, HOP] = hop + 1
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + Due.FORWARDED)
        return
    d = CG[c, D_PREP] if CS[c, N_ATTEMPT] == 0 else 0.0
    if d > 0:
        # Coordination by the handling unit before a crew can be sent; holds no crew.
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + Due.PREPARED)
    else:
        _to_pool(st, fx, c, now, now)


@_inline
def _on_register(st, fx, c, now):  # pragma: no cover - compiled
    CF, CB = st.case_f64, st.case_i8
    _log_side(st, CF[c, T_REPORT], c, Event.REPORTED, NO_TEAM)
    _log(st, now, c, Event.REGISTERED, NO_TEAM)
    if CB[c, STATUS] == Status.INVALID:
        CF[c, T_CLOSE] = now
        _log(st, now, c, Event.INVALID, NO_TEAM)
        return
    CB[c, STATUS] = Status.REGISTERED
    if CB[c, ON_SPOT]:
        CF[c, T_CLOSE] = now
        CB[c, STATUS] = Status.CLOSED
        CB[c, RESOLVED] = 1
        _log(st, now, c, Event.FIXED_ON_SPOT, NO_TEAM)
        _log(st, now, c, Event.CLOSED, NO_TEAM)
        return
    _route(st, fx, c, _ZERO, now)


@_inline
def _release(st, fx, j, now):  # pragma: no cover - compiled
    TI = st.team_i64
    TI[LOAD, j] -= 1
    TI[SLOTS, j] += 1
    if fx.params.on_events == 2:
        _request(st, now, _ZERO)


@_jit
def _drop_crews(st, fx, c, now):  # pragma: no cover - compiled
    """Free the extra crews committed to multi-crew task ``c`` (``join``): the task left
    its first crew's queue before the work began (declined at signing, handed back at
    the shift's end, re-offered), so it will be staffed again when it is dispatched
    again. A rare event: one pass over the teams."""
    TI = st.team_i64
    for j in range(TI.shape[1]):
        if TI[JOIN, j] == c:
            TI[JOIN, j] = -1
            _log(st, now, c, Event.CREW_RELEASED, np.int64(j))
            _release(st, fx, np.int64(j), now)


@_jit
def _sign_time(st, fx, j, now, d):  # pragma: no cover - compiled
    """When the order is signed: ``d`` after ``now``; under ``legacy``, ``d`` of team
    ``j``'s duty time (an office-hours crew's unit signs in office hours)."""
    if not fx.params.legacy:
        return now + d
    TF, TI = st.team_f64, st.team_i64
    s = TF[SHIFT_START, j]
    e = TF[SHIFT_END, j]
    t = now if now > s else s
    if t + d <= e:
        return t + d
    rest = t + d - e
    s2, e2 = _pattern_window(fx, TI[PATTERN, j], e)
    return s2 + min(rest, e2 - s2)


#: ``assign_batch``'s team of a task the policy postponed (:func:`postpone` holds it).
HELD = -2


@_jit
def postpone(st, now, ids, until):  # pragma: no cover - compiled
    """Hold tasks ``ids`` (taken out of their pools by :func:`offer`) until ``until``:
    each goes back to its pool then, in line where it was (``Due.RELEASE``); the same
    call to :func:`assign_batch` must give them the team :data:`HELD`."""
    for i in range(ids.shape[0]):
        c = ids[i]
        if st.case_i8[c, STATUS] == Status.IN_PROGRESS:
            _give_back(st, c, now)
        _log(st, now, c, Event.POSTPONED, NO_TEAM)
        _push(st, until[i], c * _KIND_BITS + Due.RELEASE)


@_inline
def _give_back(st, c, now):  # pragma: no cover - compiled
    """A re-offered task (:func:`_pull_back`) leaves its team: it is waiting again."""
    _log(st, now, c, Event.HANDED_BACK, np.int64(st.case_i32[c, TEAM]))
    st.case_i8[c, STATUS] = Status.WAITING


@_jit
def assign_batch(st, fx, now, ids, team, team_id, travel, task_cell, crew_ptr,
                 crew_team):  # pragma: no cover - compiled
    """Apply a policy's answer: task ``i`` (case ``ids[i]``) goes to team
    ``team_id[team[i]]`` with estimated travel ``travel[team[i], task_cell[i]]``, in
    order, while that team has a free slot. Tasks left out (``team[i] < 0``) or beyond a
    team's free slots go back to their pool, in line where they were, except those of
    team :data:`HELD` (postponed: :func:`postpone`). Returns the mask of tasks
    dispatched.

    A multi-crew task (category ``crews`` = k > 1) takes its k - 1 extra crews from
    ``crew_team[crew_ptr[i]:crew_ptr[i + 1]]`` (snapshot team indices, as ``team``): each
    is committed to it (``join``, a slot taken, event ``crew_joined``) and comes when the
    first crew sets out for it (:func:`_call_crews`). It is dispatched only if it gets
    all of them, each with a free slot and no other multi-crew task committed, else it
    goes back to its pool as a task beyond its team's slots does. One pending
    multi-crew task per extra crew keeps crews from waiting on each other in a circle:
    an extra crew only ever finishes its current task before it comes.

    A re-offered task (status ``in_progress``, :func:`_pull_back`) that the policy gives
    to its team stays: it takes its slot again and goes back into the team's queue in
    :func:`requeue`, after the caller has set the round's route keys (re-offered tasks
    come first in ``ids``, so their slots are still free unless the policy moved other
    queued tasks there: then it goes back to its pool). Moved to another team it is
    handed back (event ``handed_back``, its old team) and dispatched like any task, the
    new team signing for it. Left out (deferred) or postponed, it is handed back to its
    pool: the answer is applied as :func:`urbangrid.optimizer.evaluate` prices it (a
    deferral at the defer cost, not a keep at a pair cost the policy did not choose)."""
    CF, CG, CI, CS, CB = st.case_f64, st.case_f32, st.case_i32, st.case_i16, st.case_i8
    TF, TI = st.team_f64, st.team_i64
    prm, CAT = fx.params, fx.cat
    done = np.zeros(ids.shape[0], dtype=np.bool_)
    for i in range(ids.shape[0]):
        c = ids[i]
        k = team[i]
        if k == HELD:
            continue  # postponed: the caller scheduled its release (postpone)
        j = team_id[k] if k >= 0 else -1
        pulled = CB[c, STATUS] == Status.IN_PROGRESS
        extra = CAT.crews[CS[c, CATEGORY]] - 1
        if j < 0 or TI[SLOTS, j] <= 0 or (extra > 0 and not _crews_free(
                st, team_id, crew_team, crew_ptr[i], crew_ptr[i + 1], j, extra)):
            if pulled:
                _give_back(st, c, now)
            _repool(st, fx, c)
            continue
        done[i] = True
        if pulled and CI[c, TEAM] == j:
            TI[LOAD, j] += 1
            TI[SLOTS, j] -= 1
            fa = TF[FREE_AT, j]
            TF[FREE_AT, j] = ((fa if fa > now else now) + np.float64(travel[k, task_cell[i]])
                              + CAT.work_mean[CS[c, CATEGORY]])
            if extra > 0:
                _join_crews(st, fx, now, c, team_id, crew_team, crew_ptr[i], extra, travel,
                            task_cell[i])
            continue
        if pulled:
            _give_back(st, c, now)
        CB[c, STATUS] = Status.ASSIGNED
        st.case_i64[c, RKEY] = -1  # the caller sets it when the policy sequenced the round
        CI[c, TEAM] = j
        if math.isnan(CF[c, T_DISPATCH]):
            CF[c, T_DISPATCH] = now
        TI[LOAD, j] += 1
        TI[SLOTS, j] -= 1
        fa = TF[FREE_AT, j]
        TF[FREE_AT, j] = ((fa if fa > now else now) + np.float64(travel[k, task_cell[i]])
                          + CAT.work_mean[CS[c, CATEGORY]])
        _log(st, now, c, Event.DISPATCHED, j)
        if extra > 0:
            _join_crews(st, fx, now, c, team_id, crew_team, crew_ptr[i], extra, travel,
                        task_cell[i])
        if CS[c, N_ATTEMPT] == 0:
            d = np.float64(CG[c, D_SIGN])
        elif prm.iot_fast and CB[c, CHANNEL] == Channel.IOT:
            d = _exp(st, prm.fast_sign)
        else:
            d = _exp(st, prm.sign)
        _push(st, _sign_time(st, fx, j, now, d), c * _KIND_BITS + Due.SIGNED)
    return done


@_jit
def _crews_free(st, team_id, crew_team, a, b, j, extra):  # pragma: no cover - compiled
    """Whether the answer gives a multi-crew task ``extra`` distinct extra crews in
    ``crew_team[a:b]`` (its first ``extra`` entries), none of them its first crew ``j``,
    each with a free slot and no multi-crew task committed."""
    TI = st.team_i64
    if b - a < extra:
        return False
    for x in range(a, a + extra):
        k = crew_team[x]
        if k < 0:
            return False
        j2 = team_id[k]
        if j2 == j or TI[SLOTS, j2] <= 0 or TI[JOIN, j2] >= 0:
            return False
        for y in range(a, x):
            if crew_team[y] == k:
                return False
    return True


@_jit
def _join_crews(st, fx, now, c, team_id, crew_team, a, extra, travel,
                cell):  # pragma: no cover - compiled
    """Commit the extra crews ``crew_team[a:a + extra]`` to multi-crew task ``c``."""
    TF, TI = st.team_f64, st.team_i64
    w = fx.cat.work_mean[st.case_i16[c, CATEGORY]]
    for x in range(a, a + extra):
        k = crew_team[x]
        j2 = team_id[k]
        TI[JOIN, j2] = c
        TI[CALLED, j2] = 0
        TI[LOAD, j2] += 1
        TI[SLOTS, j2] -= 1
        fa = TF[FREE_AT, j2]
        TF[FREE_AT, j2] = (fa if fa > now else now) + np.float64(travel[k, cell]) + w
        _log(st, now, c, Event.CREW_JOINED, np.int64(j2))


@_jit
def requeue(st, fx, now, ids, done):  # pragma: no cover - compiled
    """The re-offered tasks among ``ids`` that stayed with their team (``done`` and
    still ``in_progress``: :func:`assign_batch`) go back into its queue, in the order
    of ``ids`` and by the route keys the caller set for the round."""
    CI, CB, TI = st.case_i32, st.case_i8, st.team_i64
    for i in range(ids.shape[0]):
        c = ids[i]
        if done[i] and CB[c, STATUS] == Status.IN_PROGRESS:
            j = np.int64(CI[c, TEAM])
            _queue_append(st, j, c)
            if not TI[BUSY, j]:
                _team_next(st, fx, j, now)


@_jit
def _pull_back(st, fx, now):  # pragma: no cover - compiled
    """Take the queued, unstarted tasks of the crews on duty within the look-ahead
    out of their queues for the round to re-offer (``Params.reoffer``): each frees its
    slot and keeps its team (``team``) and status ``in_progress``, the marks of a
    re-offered task; the team's free time becomes the expected end of the task in
    progress. A started task is never re-offered (it is pinned). Returns the case
    ids, team by team in queue order."""
    CS, CL = st.case_i16, st.case_i64
    TF, TI = st.team_f64, st.team_i64
    prm = fx.params
    horizon = now + prm.lookahead
    m = TF.shape[1]
    n = 0
    for j in range(m):
        n += TI[LOAD, j]
    out = np.empty(n, dtype=np.int64)
    n = 0
    for j in range(m):
        if TI[QHEAD, j] < 0:
            continue
        if TF[SHIFT_END, j] <= now:
            s, e = _pattern_window(fx, TI[PATTERN, j], now)
            TF[SHIFT_START, j] = s
            TF[SHIFT_END, j] = e
        if TF[SHIFT_START, j] > horizon:
            continue  # off duty: its queue waits for its shift (or its hand-over)
        while TI[QHEAD, j] >= 0:
            c = _queue_pop(st, j)
            CL[c, RKEY] = -1
            TI[LOAD, j] -= 1
            TI[SLOTS, j] += 1
            if fx.cat.crews[CS[c, CATEGORY]] > 1:
                _drop_crews(st, fx, c, now)
            out[n] = c
            n += 1
        if TI[BUSY, j]:
            d = TI[DOING, j]
            TF[FREE_AT, j] = (TF[TASK_START, j] + TF[TASK_TRAVEL, j]
                              + fx.cat.work_mean[CS[d, CATEGORY]])
        else:
            TF[FREE_AT, j] = now
    return out[:n]


@_jit
def offer(st, fx, now, min_prio):  # pragma: no cover - compiled
    """The first half of a dispatch round: bring stale shift windows up to date, find
    the teams with a free slot that are on duty within the look-ahead, and take the
    round's tasks out of the pools.

    Each skill is offered at most ``batch_per_slot`` tasks per free slot of that skill,
    pools with the most urgent head first; with area-bound crews each (skill,
    sub-district) pool also at most that many per free slot that may serve it (own-area
    plus district-wide crews). ``min_prio`` > 0 offers only tasks of at least that
    priority (urgent rounds). With ``Params.reoffer`` the queued, unstarted tasks of the
    crews on duty come first (:func:`_pull_back`), whatever their priority. Returns the
    case ids in offer order and their snapshot (:func:`_snapshot`; no tasks: empty ids).
    """
    CF, I = st.case_f64, st.counters
    prm = fx.params
    per = prm.per_slot
    bound = prm.area_bound
    heap, size = st.pool_heap, st.pool_size
    n_pools = size.shape[0]
    n_areas = n_pools // prm.n_bits
    pulled = _pull_back(st, fx, now) if prm.reoffer else np.empty(0, dtype=np.int64)
    n = pulled.shape[0]
    cand, skill_left, avail = _candidates(st, fx, now)
    k = cand.shape[0]
    ids = np.empty(n + min(I[Count.N_WAIT], skill_left.sum()), dtype=np.int64)
    ids[:n] = pulled
    if k == 0 or ids.shape[0] == n:
        ids = ids[:n]
        return ids, _snapshot(st, fx, now, cand, ids)
    # pools by their head, most urgent first (insertion sort: a few hundred pools). Pools
    # the round cannot take from (no free slot of their skill, head below min_prio) stay
    # out: the loop below would skip them, and each comparison reads two cases' rows.
    heads = np.empty(n_pools, dtype=np.int64)
    hn = 0
    for p in range(n_pools):
        if size[p] > 0 and skill_left[p // n_areas] > 0 and (
                -CF[heap[p, 0], POOL_RANK] >= min_prio):
            c = heap[p, 0]
            i = hn
            while i > 0 and _pool_less(st, c, heap[heads[i - 1], 0]):
                heads[i] = heads[i - 1]
                i -= 1
            heads[i] = p
            hn += 1
    for h in range(hn):
        p = heads[h]
        if -CF[heap[p, 0], POOL_RANK] < min_prio:
            break
        sk = p // n_areas
        left = skill_left[sk]
        if left <= 0:
            continue
        take = min(size[p], left)
        if bound:
            take = min(take, (avail[sk, p % n_areas] + avail[sk, n_areas]) * per)
        if take <= 0:
            continue
        skill_left[sk] = left - take
        for _ in range(take):
            if -CF[heap[p, 0], POOL_RANK] < min_prio:
                break
            ids[n] = _pool_pop(st, p)
            n += 1
            I[Count.N_WAIT] -= 1
    ids = ids[:n]
    return ids, _snapshot(st, fx, now, cand, ids)


@_jit
def _candidates(st, fx, now):  # pragma: no cover - compiled
    """Bring stale shift windows up to date; the teams with a free slot on duty within
    the look-ahead, and per skill the tasks a round may offer (``batch_per_slot`` per
    free slot) and, per (skill, area or district-wide), the free slots. Calling it twice
    at the same ``now`` gives the same answer."""
    TF, TI = st.team_f64, st.team_i64
    prm = fx.params
    n_bits = prm.n_bits
    per = prm.per_slot
    n_areas = st.pool_size.shape[0] // n_bits
    m = TF.shape[1]
    horizon = now + prm.lookahead
    cand = np.empty(m, dtype=np.int64)
    skill_left = np.zeros(n_bits, dtype=np.int64)
    avail = np.zeros((n_bits, n_areas + 1), dtype=np.int64)
    k = 0
    for j in range(m):
        if TF[SHIFT_END, j] <= now:
            s, e = _pattern_window(fx, TI[PATTERN, j], now)
            TF[SHIFT_START, j] = s
            TF[SHIFT_END, j] = e
        slots = TI[SLOTS, j]
        if slots > 0 and TF[SHIFT_START, j] <= horizon:
            cand[k] = j
            k += 1
            skills = TI[SKILLS, j]
            area = TI[AREA, j]
            for b in range(n_bits):
                if (skills >> b) & 1:
                    skill_left[b] += slots * per
                    avail[b, area if area >= 0 else n_areas] += slots
    return cand[:k], skill_left, avail


@_jit
def snapshot(st, fx, now, ids):  # pragma: no cover - compiled
    """The snapshot :func:`offer` returned with ``ids`` at ``now``, again (for a round
    :func:`run_until` offered and hands to Python: nothing changed in between)."""
    cand, _, _ = _candidates(st, fx, now)
    return _snapshot(st, fx, now, cand, ids)


@_jit
def _snapshot(st, fx, now, cand, ids):  # pragma: no cover - compiled
    """The arrays of a dispatch snapshot for tasks ``ids`` and candidate teams ``cand``.

    Only teams that could take one of the tasks enter (a skill some task needs; with
    area-bound crews, district-wide or own area among the tasks'). Travel is gathered
    from the destination-major matrices for the pairs where the team has a skill a task
    in the cell needs, +inf elsewhere (the policies read only those,
    ``DispatchProblem.travel``), times the travel factor of the surges in force; area-bound
    crews get +inf outside their area. ``current`` is a re-offered task's team
    (:func:`_pull_back`) as a snapshot index, -1 for the others (``task_current``).
    """
    CF, CI, CS, TF, TI = st.case_f64, st.case_i32, st.case_i16, st.team_f64, st.team_i64
    CAT, cell_sub, cat_bit = fx.cat, fx.cell_sub, fx.cat_bit
    bound = fx.params.area_bound
    n = ids.shape[0]
    cells = np.empty(n, dtype=np.int64)
    task_skill = np.empty(n, dtype=np.int64)
    task_area = np.empty(n, dtype=np.int32)
    deadline = np.empty(n)
    prio = np.empty(n)
    work = np.empty(n)
    need = 0
    for i in range(n):
        c = ids[i]
        cell = CI[c, CELL]
        k = CS[c, CATEGORY]
        cells[i] = cell
        task_skill[i] = np.int64(1) << cat_bit[k]
        need |= task_skill[i]
        task_area[i] = cell_sub[cell]
        deadline[i] = CF[c, DEADLINE]
        prio[i] = -CF[c, POOL_RANK]
        work[i] = CAT.work_mean[k]
    uc = np.unique(cells)
    inv = np.searchsorted(uc, cells).astype(np.int32)
    cell_skill = np.zeros(uc.shape[0], dtype=np.int64)
    for i in range(n):
        cell_skill[inv[i]] |= task_skill[i]
    keep = np.zeros(cand.shape[0], dtype=np.bool_)
    for q in range(cand.shape[0]):
        j = cand[q]
        if TI[SKILLS, j] & need:
            a = TI[AREA, j]
            if not bound or a < 0:
                keep[q] = True
            else:
                for i in range(n):
                    if task_area[i] == a:
                        keep[q] = True
                        break
    teams = cand[keep]
    m = teams.shape[0]
    current = np.full(n, -1, dtype=np.int32)
    if fx.params.reoffer:
        pos = np.full(TF.shape[1], -1, dtype=np.int32)
        for q in range(m):
            pos[teams[q]] = q
        for i in range(n):
            c = ids[i]
            if st.case_i8[c, STATUS] == Status.IN_PROGRESS:
                current[i] = pos[CI[c, TEAM]]
    travel = gather_travel(st.travel, TI[STACK][teams], TI[TCELL][teams], uc,
                           TI[SKILLS][teams], cell_skill)
    if fx.surges.shape[0]:
        f = _travel_factor(fx, now)
        if f != 1.0:
            travel *= np.float32(f)
    if bound:
        for q in range(m):
            a = TI[AREA, teams[q]]
            if a >= 0:
                for k in range(uc.shape[0]):
                    if cell_sub[uc[k]] != a:
                        travel[q, k] = np.inf
    free_at = np.empty(m)
    capacity = np.empty(m, dtype=np.int32)
    load = np.empty(m, dtype=np.int32)
    area = np.empty(m, dtype=np.int32)
    for q in range(m):
        j = teams[q]
        fa = TF[FREE_AT, j]
        free_at[q] = fa if fa > now else now
        capacity[q] = TI[SLOTS, j]
        load[q] = TI[LOAD, j]
        area[q] = TI[AREA, j]
    return (inv, task_skill, task_area, deadline, prio, work, teams, TI[SKILLS][teams],
            free_at, capacity, TF[SHIFT_START][teams], TF[SHIFT_END][teams], load, area,
            travel, current)


@_inline
def _draw_work(st, fx, k):  # pragma: no cover - compiled
    """A repeat attempt's work time for category ``k`` (:func:`._kernels.work_time`, the
    rule the first attempts are drawn with), reading only the variate it needs."""
    CAT = fx.cat
    dist = CAT.work_dist[k]
    mean = CAT.work_mean[k]
    # as _exp: no variate for an exponential of mean 0
    e = -math.log(1.0 - _u(st)) if dist == 0 and mean > 0.0 else 0.0
    z = _z(st) if dist == 1 else 0.0
    return work_time_compiled(dist, mean, CAT.work_cv[k], e, z)


@_jit
def _queue_append(st, j, c):  # pragma: no cover - compiled
    """Queue the signed order ``c`` at team ``j``: at the tail, except that a task the
    policy sequenced (``route_key`` >= 0) goes before the queued, unstarted tasks of its
    own round that the sequence puts after it (orders are signed in random order; the
    route is the crew's order of work)."""
    CI, TI, CL = st.case_i32, st.team_i64, st.case_i64
    key = CL[c, RKEY]
    prev = TI[QTAIL, j]
    nxt = np.int64(-1)
    if key >= 0:
        prev = -1
        nxt = TI[QHEAD, j]
        while nxt >= 0:
            k = CL[nxt, RKEY]
            if k > key and (k >> ROUTE_BITS) == (key >> ROUTE_BITS):
                break
            prev = nxt
            nxt = np.int64(CI[nxt, QNEXT])
    CI[c, QNEXT] = nxt
    if prev < 0:
        TI[QHEAD, j] = c
    else:
        CI[prev, QNEXT] = c
    if nxt < 0:
        TI[QTAIL, j] = c


@_jit
def _queue_pop(st, j):  # pragma: no cover - compiled
    CI, TI = st.case_i32, st.team_i64
    c = TI[QHEAD, j]
    nxt = CI[c, QNEXT]
    TI[QHEAD, j] = nxt
    if nxt < 0:
        TI[QTAIL, j] = -1
    return c


@_inline
def _team_next(st, fx, j, now):  # pragma: no cover - compiled
    """Team ``j`` starts its next queued task, waits for its shift, or (hand-over) gives
    its unstarted tasks back to the pool when its shift is over."""
    CF, CG, CI, CS = st.case_f64, st.case_f32, st.case_i32, st.case_i16
    TF, TI = st.team_f64, st.team_i64
    prm = fx.params
    if TI[CALLED, j]:
        # a multi-crew task's first crew has set out: this crew goes next, whatever
        # its queue holds (its part was planned when it was called, _call_crews)
        _help(st, j)
        return
    if TI[QHEAD, j] < 0:
        TI[BUSY, j] = 0
        TF[FREE_AT, j] = now
        return
    if TF[SHIFT_END, j] <= now:
        s, e = _pattern_window(fx, TI[PATTERN, j], now)
        TF[SHIFT_START, j] = s
        TF[SHIFT_END, j] = e
    start = TF[SHIFT_START, j]
    if start > now:
        TI[BUSY, j] = 0
        if prm.handover and start - now > prm.lookahead:
            # Shift over: unstarted tasks go back to the pool for the next crew on duty,
            # in line where they were (their first pool time), not behind newer ones.
            TF[FREE_AT, j] = start
            while TI[QHEAD, j] >= 0:
                c = _queue_pop(st, j)
                _log(st, now, c, Event.HANDED_BACK, j)
                _release(st, fx, j, now)
                if fx.cat.crews[CS[c, CATEGORY]] > 1:
                    _drop_crews(st, fx, c, now)
                _to_pool(st, fx, c, now, CF[c, T_POOL])
            return
        # Off duty: the queue waits for the next shift.
        if not TI[WAKING, j]:
            TI[WAKING, j] = 1
            _push(st, start, j * _KIND_BITS + Due.WAKE)
        return
    c = _queue_pop(st, j)
    TI[BUSY, j] = 1
    TI[DOING, j] = c
    cell = CI[c, CELL]
    tt = np.float64(st.travel[TI[STACK, j], cell, TI[TCELL, j]])
    if fx.surges.shape[0]:
        tt *= _travel_factor(fx, now)
    if prm.travel_sigma > 0.0:
        # the trip takes its own time; the dispatcher planned with the expected one
        tt *= _trip_factor(st, prm.travel_sigma)
    if CS[c, N_ATTEMPT] == 0:
        w = np.float64(CG[c, D_WORK])
    else:
        w = _draw_work(st, fx, CS[c, CATEGORY])
    TF[TASK_START, j] = now
    TF[TASK_TRAVEL, j] = tt
    # The team heads for the task: the dispatcher sees it at its destination.
    TI[TCELL, j] = cell
    _log(st, now, c, Event.TRAVEL, j)
    if now + tt < prm.t_stop:
        _log_side(st, now + tt, c, Event.ARRIVED, j)
    if fx.cat.crews[CS[c, CATEGORY]] > 1:
        end = _call_crews(st, fx, c, cell, now, now + tt, w)
    else:
        end = now + (tt + w)
    TF[TASK_END, j] = end
    _push(st, end, c * _KIND_BITS + Due.WORK_DONE)


@_jit
def _call_crews(st, fx, c, cell, now, arrive, w):  # pragma: no cover - compiled
    """The first crew of multi-crew task ``c`` sets out at ``now`` and arrives at
    ``arrive``: each extra crew committed to it is called (``crew_called``) and comes
    when it is free, after its current task (or at its shift's start, if off duty);
    the work (``w`` seconds) begins when the last crew is there and holds every crew
    until it ends (``Due.CREW_DONE`` for the extra ones). Returns when it ends. Each
    crew's time, waiting on site included, counts as busy."""
    TF, TI = st.team_f64, st.team_i64
    prm = fx.params
    f = _travel_factor(fx, now) if fx.surges.shape[0] else 1.0
    m = TF.shape[1]
    for j in range(m):
        if TI[JOIN, j] != c:
            continue
        if TI[BUSY, j]:
            a = TF[TASK_END, j]
        else:
            if TF[SHIFT_END, j] <= now:
                s, e = _pattern_window(fx, TI[PATTERN, j], now)
                TF[SHIFT_START, j] = s
                TF[SHIFT_END, j] = e
            a = TF[SHIFT_START, j] if TF[SHIFT_START, j] > now else now
        tt = np.float64(st.travel[TI[STACK, j], cell, TI[TCELL, j]]) * f
        if prm.travel_sigma > 0.0:
            tt *= _trip_factor(st, prm.travel_sigma)
        TI[CALLED, j] = 1
        TF[JOIN_AT, j] = a
        TF[JOIN_TRAVEL, j] = tt
        _log(st, now, c, Event.CREW_CALLED, np.int64(j))
        if a + tt > arrive:
            arrive = a + tt
    end = arrive + w
    for j in range(m):
        if TI[JOIN, j] == c:
            if not TI[BUSY, j]:
                _help(st, np.int64(j))
            TF[TASK_END, j] = end
            _push(st, end, np.int64(j) * _KIND_BITS + Due.CREW_DONE)
    return end


@_jit
def _help(st, j):  # pragma: no cover - compiled
    """Called crew ``j`` is now on its way to its multi-crew task (``join``)."""
    TF, TI = st.team_f64, st.team_i64
    c = TI[JOIN, j]
    TI[BUSY, j] = 1
    TI[DOING, j] = c
    TF[TASK_START, j] = TF[JOIN_AT, j]
    TF[TASK_TRAVEL, j] = TF[JOIN_TRAVEL, j]
    TI[TCELL, j] = st.case_i32[c, CELL]


@_inline
def _count_busy(st, fx, j, now):  # pragma: no cover - compiled
    """Add team ``j``'s task that ends at ``now`` to its statistics (the part inside the
    statistics window)."""
    TF, TI, prm = st.team_f64, st.team_i64, fx.params
    t0 = TF[TASK_START, j]
    lo = t0 if t0 > prm.t_stats else prm.t_stats
    hi = now if now < prm.t_end else prm.t_end
    if hi > lo:
        TF[BUSY_S, j] += hi - lo
        tr_end = min(t0 + TF[TASK_TRAVEL, j], hi)
        if tr_end > lo:
            TF[TRAVEL_S, j] += tr_end - lo
    if now <= prm.t_end:
        TI[TASKS, j] += 1


@_inline
def _on_crew_done(st, fx, j, now):  # pragma: no cover - compiled
    """Extra crew ``j``'s part of its multi-crew task ended (with the first crew's)."""
    TI = st.team_i64
    _log(st, now, np.int64(TI[JOIN, j]), Event.CREW_DONE, j)
    _count_busy(st, fx, j, now)
    TI[JOIN, j] = -1
    TI[CALLED, j] = 0
    _release(st, fx, j, now)
    _team_next(st, fx, j, now)


@_inline
def _on_signed(st, fx, c, now):  # pragma: no cover - compiled
    CG, CI, CS, CB, TI = st.case_f32, st.case_i32, st.case_i16, st.case_i8, st.team_i64
    prm = fx.params
    j = np.int64(CI[c, TEAM])
    _log(st, now, c, Event.SIGNED, j)
    u = np.float64(CG[c, U_LOOP]) if CS[c, N_ATTEMPT] == 0 else _u(st)
    if u < prm.misroute:
        # The unit declines the order at signing (退单): the crew never starts it, so its
        # slot is free now; only the paperwork of the return takes time.
        _release(st, fx, j, now)
        if fx.cat.crews[CS[c, CATEGORY]] > 1:
            _drop_crews(st, fx, c, now)
        d = _exp(st, prm.return_mean)
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + Due.RETURNED)
        return
    CB[c, STATUS] = Status.IN_PROGRESS
    _queue_append(st, j, c)
    if not TI[BUSY, j]:
        _team_next(st, fx, j, now)


@_inline
def _on_returned(st, fx, c, now):  # pragma: no cover - compiled
    CI, CS = st.case_i32, st.case_i16
    _log(st, now, c, Event.RETURNED, np.int64(CI[c, TEAM]))
    CS[c, N_MISROUTE] += 1
    CS[c, N_ATTEMPT] += 1
    CI[c, TEAM] = -1
    if fx.params.legacy and st.case_i8[c, ORDER_TYPE] < 0:
        _route(st, fx, c, _ZERO, now)
    else:
        _to_pool(st, fx, c, now, now)


@_inline
def _close(st, c, now):  # pragma: no cover - compiled
    CF, CB = st.case_f64, st.case_i8
    CB[c, STATUS] = Status.CLOSED
    CB[c, RESOLVED] = 1
    CF[c, T_CLOSE] = now
    _log(st, now, c, Event.CLOSED, NO_TEAM)


@_inline
def _handoff(st, fx, c, now, resolved):  # pragma: no cover - compiled
    """The crew part of work order ``c`` ended (``resolved`` or not): hand the case back
    to its order process. The core may run on for ``Params.handoff_hold`` seconds, the
    least time the process takes before it can touch the core again (the unit's reply)."""
    I, F = st.counters, st.marks
    st.case_i8[c, RESOLVED] = resolved
    st.case_i8[c, STATUS] = Status.IN_PROGRESS
    k = I[Count.N_HANDOFF]
    st.handoff[k] = c
    st.handoff_t[k] = now
    I[Count.N_HANDOFF] = k + 1
    hold = now + fx.params.handoff_hold
    if hold < F[Mark.HOLD]:
        F[Mark.HOLD] = hold


@_inline
def _on_work_done(st, fx, c, now):  # pragma: no cover - compiled
    CG, CI, CS, CB = st.case_f32, st.case_i32, st.case_i16, st.case_i8
    prm, CAT, F = fx.params, fx.cat, st.marks
    j = np.int64(CI[c, TEAM])
    _log(st, now, c, Event.WORK_DONE, j)
    _count_busy(st, fx, j, now)
    _release(st, fx, j, now)
    _team_next(st, fx, j, now)
    first = CS[c, N_ATTEMPT] == 0
    fb = np.float64(CG[c, D_FEEDBACK]) if first else _exp(st, prm.feedback)
    if _u(st) < CAT.resolution[CS[c, CATEGORY]]:
        if prm.iot_fast and CB[c, CHANNEL] == Channel.IOT:
            # Feedback, then the detecting camera or sensor confirms (any hour).
            d = np.float64(CG[c, D_VERIFY]) if first else _exp(st, prm.fast_verify)
            _push(st, now + (fb + d), c * _KIND_BITS + Due.VERIFIED)
            return
        # Feedback, then an inspector on duty re-checks on site (one event).
        t_fb = now + fb
        s = F[Mark.INSP_S]
        if t_fb < s or t_fb >= F[Mark.INSP_E]:
            s, e = _window(fx.insp_start, fx.insp_end, _ZERO,
                           np.int64(fx.insp_start.shape[0]), t_fb)
            if t_fb >= F[Mark.INSP_E]:
                F[Mark.INSP_S] = s
                F[Mark.INSP_E] = e
        d = np.float64(CG[c, D_VERIFY]) if first else _exp(st, prm.verify)
        _push(st, now + ((s - now if s > t_fb else fb) + d), c * _KIND_BITS + Due.VERIFIED)
    else:
        _push(st, now + fb, c * _KIND_BITS + Due.UNRESOLVED)


@_inline
def _on_unresolved(st, fx, c, now):  # pragma: no cover - compiled
    CF, CI, CS, CB = st.case_f64, st.case_i32, st.case_i16, st.case_i8
    prm = fx.params
    _log(st, now, c, Event.UNRESOLVED, np.int64(CI[c, TEAM]))
    if CB[c, ORDER_TYPE] >= 0:
        # a work order: its handling unit decides what happens next
        _handoff(st, fx, c, now, 0)
        return
    if CS[c, N_EXTENSION] < prm.max_ext and _u(st) < prm.ext_prob:
        CS[c, N_EXTENSION] += 1
        CS[c, N_ATTEMPT] += 1
        _log(st, now, c, Event.EXTENDED, NO_TEAM)
        d = _exp(st, prm.ext_mean)
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + Due.REPOOL)
    else:
        CB[c, STATUS] = Status.PARKED
        CB[c, RESOLVED] = 0
        CF[c, T_CLOSE] = now
        _log(st, now, c, Event.PARKED, NO_TEAM)


@_inline
def _on_verified(st, fx, c, now):  # pragma: no cover - compiled
    CS, CB = st.case_i16, st.case_i8
    prm = fx.params
    if _u(st) < prm.rework:
        CS[c, N_REWORK] += 1
        CS[c, N_ATTEMPT] += 1
        _log(st, now, c, Event.REWORK, NO_TEAM)
        _to_pool(st, fx, c, now, now)
        return
    _log(st, now, c, Event.VERIFIED, NO_TEAM)
    if CB[c, ORDER_TYPE] >= 0:
        _handoff(st, fx, c, now, 1)
    else:
        _close(st, c, now)


@_jit
def _compiled_round(st, fx, now, min_prio):  # pragma: no cover - compiled
    """A dispatch round decided by the policy's compiled form
    (:func:`urbangrid.optimizer.compiled.decide_batch`) and applied here. Returns the offered
    case ids when the policy would take another path for this snapshot (nothing applied:
    the caller hands the round to the Python policy), else an empty array."""
    I, prm = st.counters, fx.params
    if I[Count.N_WAIT] == 0:
        return np.empty(0, dtype=np.int64)
    ids, snap = offer(st, fx, now, min_prio)
    n = ids.shape[0]
    if n == 0:
        return ids
    (inv, task_skill, task_area, deadline, prio, work, teams, team_skills, free_at, capacity,
     shift_start, shift_end, load, area, travel, current) = snap
    none = np.full(n, -1, dtype=np.int32)  # task_pinned: a started task is never offered
    team = np.empty(n, dtype=np.int32)
    w = prm.weights
    batch = Batch(now=now, task_cell=inv, task_skill=task_skill, task_work=work,
                  task_area=task_area, task_deadline=deadline, task_priority=prio,
                  task_current=current, task_pinned=none, travel=travel, team_skills=team_skills,
                  team_area=area, team_free_at=free_at, team_shift_start=shift_start,
                  team_shift_end=shift_end, team_capacity=capacity, team_load=load,
                  cell_travel=np.zeros((1, 1), dtype=np.float32), use_cell_travel=False,
                  w_travel=w.travel, w_wait=w.wait, w_lateness=w.lateness,
                  w_balance=w.balance, w_reassignment=w.reassignment, w_defer=w.defer)
    status = decide_batch(prm.policy, fx.flow, batch, team)
    if status != 0:
        return ids
    I[Count.N_COMPILED] += 1
    done = assign_batch(st, fx, now, ids, team.astype(np.int64), teams, travel, inv,
                        np.zeros(n + 1, dtype=np.int64), np.empty(0, dtype=np.int64))
    if prm.reoffer:
        requeue(st, fx, now, ids, done)
    return ids[:0]


@_jit
def run_until(st, fx, until):  # pragma: no cover - compiled
    """Process events with time ``< until`` and the dispatch rounds due before it; a work
    order handed back (``handoff``) lowers ``until`` to ``marks[Mark.HOLD]``. On ``DONE``
    every event and round before ``marks[Mark.REACHED]`` has run.

    A round is due at an urgent request's time once every event at that time has run,
    and at each dispatcher tick (every ``Params.tick`` seconds from 0) once every event at
    or before the tick has run; a request's round comes before a tick's at the same time.
    With a compiled policy the round runs here (:func:`_compiled_round`).

    Returns ``(code, ids)``, ``code`` a :class:`Stop`: ``DONE``; ``DISPATCH``, a round for
    the Python policy is due at ``marks[Mark.ROUND_T]`` with minimum priority
    ``counters[Count.ROUND_PRIO]`` (nothing offered yet); ``OFFERED``, the compiled policy
    handed back the round at ``marks[Mark.ROUND_T]`` whose tasks ``ids`` it took from the
    pools (the caller decides and applies it); ``SPACE``, a buffer needs room
    (``counters[Count.NEED]`` rows and events beyond the margin) before the next event or
    round. ``ids`` is empty but for ``OFFERED``.
    """
    ht, I, F, prm = st.heap_t, st.counters, st.marks, fx.params
    margin = prm.margin
    compiled = prm.policy != PYTHON_POLICY
    tick = prm.tick
    cap_heap = ht.shape[0]
    cap_log = st.log_t.shape[0]
    cap_side = st.side_t.shape[0]
    cap_u = st.u.shape[0]
    cap_z = st.z.shape[0]
    cap_tz = st.tz.shape[0]
    cap_pool = st.pool_heap.shape[1]
    cap_hand = st.handoff.shape[0]
    none = np.empty(0, dtype=np.int64)
    while True:
        # a work order handed back holds the core until its process has reacted
        lim = until if until < F[Mark.HOLD] else F[Mark.HOLD]
        t = ht[0] if I[Count.H_N] > 0 else np.inf
        is_request = I[Count.REQ_PRIO] != NO_REQUEST and t > F[Mark.REQ_T]
        if is_request or (tick > 0 and F[Mark.NEXT_TICK] < lim and t > F[Mark.NEXT_TICK]):
            now = F[Mark.REQ_T] if is_request else F[Mark.NEXT_TICK]
            prio = I[Count.REQ_PRIO] if is_request else 0
            if compiled:
                # room for the round's worst case: every waiting task logged and signed,
                # and every re-offered one (at most the crews' load) handed back too
                need = margin + I[Count.N_WAIT]
                if prm.reoffer:
                    need += 2 * st.team_i64[LOAD].sum()
                if (cap_heap - I[Count.H_N] < need or cap_log - I[Count.L_N] < need
                        or cap_u - I[Count.U_CUR] < need or cap_z - I[Count.Z_CUR] < need):
                    I[Count.NEED] = need - margin
                    return Stop.SPACE, none
            if is_request:
                I[Count.REQ_PRIO] = NO_REQUEST
            else:
                F[Mark.NEXT_TICK] += tick
            I[Count.N_ROUNDS] += 1
            F[Mark.ROUND_T] = now
            if not compiled:
                I[Count.ROUND_PRIO] = prio
                return Stop.DISPATCH, none
            ids = _compiled_round(st, fx, now, prio)
            if ids.shape[0]:
                return Stop.OFFERED, ids
            continue
        if I[Count.H_N] == 0 or t >= lim:
            F[Mark.REACHED] = lim
            break
        if (cap_heap - I[Count.H_N] < margin or cap_log - I[Count.L_N] < margin
                or cap_side - I[Count.S_N] < margin or cap_pool - I[Count.POOL_MAX] < margin
                or cap_u - I[Count.U_CUR] < margin or cap_z - I[Count.Z_CUR] < margin
                or cap_tz - I[Count.TZ_CUR] < margin or cap_hand - I[Count.N_HANDOFF] < 2):
            return Stop.SPACE, none
        payload = _pop(st)
        kind = payload % _KIND_BITS
        x = payload // _KIND_BITS
        I[Count.N_EV] += 1
        if kind == Due.REGISTER:
            _on_register(st, fx, x, t)
        elif kind == Due.SIGNED:
            _on_signed(st, fx, x, t)
        elif kind == Due.WORK_DONE:
            _on_work_done(st, fx, x, t)
        elif kind == Due.VERIFIED:
            _on_verified(st, fx, x, t)
        elif kind == Due.FIELD:
            _log(st, t, x, Event.FIELD_REQUESTED, NO_TEAM)
            _to_pool(st, fx, x, t, t)
        elif kind == Due.PREPARED:
            _log(st, t, x, Event.PREPARED, NO_TEAM)
            _to_pool(st, fx, x, t, t)
        elif kind == Due.FORWARDED:
            _log(st, t, x, Event.FORWARDED, NO_TEAM)
            _route(st, fx, x, np.int64(st.case_i16[x, HOP]), t)
        elif kind == Due.WAKE:
            st.team_i64[WAKING, x] = 0
            if not st.team_i64[BUSY, x]:
                _team_next(st, fx, x, t)
        elif kind == Due.RETURNED:
            _on_returned(st, fx, x, t)
        elif kind == Due.UNRESOLVED:
            _on_unresolved(st, fx, x, t)
        elif kind == Due.REPOOL:
            _to_pool(st, fx, x, t, t)
        elif kind == Due.RELEASE:
            _repool(st, fx, x)
        elif kind == Due.CREW_DONE:
            _on_crew_done(st, fx, x, t)
    return Stop.DONE, none


# The cached loop embeds the optimizer's kernels and gather_travel: drop it when their
# files change (Numba's cache would not notice, see urbangrid._numba_cache).
forget_if_changed(run_until, __file__, [*KERNEL_FILES, _kernels.__file__])
