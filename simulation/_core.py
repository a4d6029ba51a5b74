"""The case life cycle as a compiled event loop (Numba): the model's hot path.

SimPy drives the daily arrivals; everything a case and a crew do (registration,
forwarding, preparation, signing, the crew's queue, travel and work, shifts and
hand-over, verification, call-back, re-work, work orders) and the dispatcher's rounds
(its ticks and urgent requests) run here, in one compiled call per stretch of simulated
time, on its own event heap. A built-in policy's rounds are decided and applied here
through its compiled form (:mod:`urbangrid.optimizer.compiled`); other policies' rounds
are handed to Python (:func:`run_until` returns). One Python-level SimPy event per
life-cycle stage cost about 5 µs of interpreter time, and a round through Python about
100 µs of glue; here a stage costs well under one (benchmarks/RESULTS.md, "simulation").

The state is a tuple of NumPy arrays the model owns (:class:`~._model.Model` builds it,
see ``CoreState`` below); the functions here mutate it in place. Rows of the 2-D blocks
are named by the ``*_COLUMNS`` tuples, and the Python side reads and writes the same
memory through views, so nothing is copied between the two.

Semantics the Python side relies on:

- events at equal times run in the order they were scheduled (a sequence number breaks
  ties, as SimPy's event id does);
- :func:`run_until` processes events with time ``< until`` and the dispatch rounds due
  before it: at each tick once every event at or before it has run, at a dispatch
  request (an urgent case entering the pool under ``on_events = "urgent"``, any pool
  entry or freed slot under ``"all"``) once every event at its time has run. It returns
  early with ``DISPATCH`` or ``OFFERED`` when a round needs the Python policy, and with
  ``SPACE`` when a buffer needs room, before touching it;
- random variates for repeated attempts come from pre-drawn buffers in a fixed order,
  refilled by the caller from the run's ``repeat`` stream (same seed, same run).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from urbangrid.optimizer.compiled import KERNEL_FILES, decide

from urbangrid._numba_cache import forget_if_changed

from . import _kernels
from ._kernels import gather_travel

# ----------------------------------------------------------------------------- layout
#: Case columns, one 2-D block per dtype, ``block[case, column]`` (columns in this order:
#: the fields of one case share cache lines, which is what the event loop reads).
CASE_F64 = ("t_occur", "t_report", "t_register", "t_dispatch", "t_close", "t_pool",
            "deadline", "t_order", "pool_rank", "pool_queued")
CASE_F32 = ("order_limit_wd", "d_register", "d_sign", "d_prep", "d_work", "d_verify",
            "d_callback", "d_feedback", "u_loop")
CASE_I32 = ("cell", "team", "qnext")
CASE_I16 = ("category", "n_misroute", "n_rework", "n_reopen", "n_extension", "n_attempt",
            "hop")
CASE_I8 = ("channel", "status", "resolved", "satisfied", "on_spot", "order_wait")
CASE_I64 = ("pool_seq",)
#: Internal case columns (not part of a run's output): the team-queue link, the next
#: forwarding hop, and the pool order (-priority, queue time, sequence number).
CASE_INTERNAL = ("qnext", "hop", "pool_rank", "pool_queued", "pool_seq")

(T_OCCUR, T_REPORT, T_REGISTER, T_DISPATCH, T_CLOSE, T_POOL, DEADLINE, T_ORDER,
 POOL_RANK, POOL_QUEUED) = range(len(CASE_F64))
PSEQ = 0
(ORDER_LIMIT_WD, D_REGISTER, D_SIGN, D_PREP, D_WORK, D_VERIFY, D_CALLBACK, D_FEEDBACK,
 U_LOOP) = range(len(CASE_F32))
CELL, TEAM, QNEXT = range(len(CASE_I32))
CATEGORY, N_MISROUTE, N_REWORK, N_REOPEN, N_EXTENSION, N_ATTEMPT, HOP = range(len(CASE_I16))
CHANNEL, STATUS, RESOLVED, SATISFIED, ON_SPOT, ORDER_WAIT = range(len(CASE_I8))

#: Team columns: float64 and int64 blocks.
TEAM_F64 = ("free_at", "shift_start", "shift_end", "busy_s", "travel_s", "task_start",
            "task_travel")
TEAM_I64 = ("skills", "area", "home", "cell", "mode", "pattern", "capacity", "kind",
            "load", "slots", "tasks", "busy", "waking", "qhead", "qtail", "stack")
FREE_AT, SHIFT_START, SHIFT_END, BUSY_S, TRAVEL_S, TASK_START, TASK_TRAVEL = range(7)
(SKILLS, AREA, HOME, TCELL, MODE, PATTERN, CAPACITY, KIND, LOAD, SLOTS, TASKS, BUSY,
 WAKING, QHEAD, QTAIL, STACK) = range(len(TEAM_I64))

#: Positions in the state tuple ``st`` (mutable) and the inputs tuple ``fx`` (read-only).
(ST_CF, ST_CG, ST_CI, ST_CS, ST_CB, ST_CL, ST_TF, ST_TI, ST_HT, ST_HS, ST_HP, ST_LT, ST_LC,
 ST_LK, ST_LM, ST_ST, ST_SC, ST_SK, ST_SM, ST_U, ST_Z, ST_I, ST_F, ST_TRAVEL,
 ST_POOL_HEAP, ST_POOL_N) = range(26)
(FX_P, FX_Q, FX_CAT, FX_CUM, FX_WORKDAY, FX_FORWARD, FX_SURGES, FX_PAT_START, FX_PAT_END,
 FX_PAT_OFF, FX_INSP_START, FX_INSP_END, FX_CELL_SUB, FX_CAT_BIT) = range(14)

#: Counters (int64 vector ``I``) and float scalars (``F``).
(H_N, H_SEQ, L_N, S_N, POOL_SEQ, U_CUR, Z_CUR, REQ_PRIO, N_EV, N_WAIT,
 POOL_MAX, ROUND_PRIO, NEED, N_ROUNDS, N_COMPILED) = range(15)
N_COUNTERS = 15
_L_N, _S_N = np.int64(L_N), np.int64(S_N)  # non-literal (see EVENT_NAMES)
INSP_S, INSP_E, REQ_T, NEXT_TICK, ROUND_T = range(5)
N_FLOATS = 5
#: ``I[REQ_PRIO]`` when no dispatch round is requested.
NO_REQUEST = 1 << 30

#: Parameters (float64 vector ``P``) and flags (int64 vector ``Q``). The score weights
#: (``P_W_*``, ScoreWeights' order) and the compiled policy's fields (``Q_POLICY`` ..
#: ``Q_POL_BUDGET``, ``P_POL_*``, CompiledPolicy's order) are runs the model fills as
#: slices.
(P_SIGN, P_FAST_SIGN, P_MISROUTE, P_RETURN, P_FEEDBACK, P_VERIFY, P_FAST_VERIFY,
 P_REWORK, P_CALLBACK, P_SATISFY, P_REOPEN, P_EXT_PROB, P_EXT_MEAN, P_T_STATS, P_T_END,
 P_T_STOP, P_LOOKAHEAD, P_DAY_OFFSET, P_WORK_START, P_DAY_LENGTH, P_OTHER_BOOST,
 P_TICK, P_W_TRAVEL, P_W_WAIT, P_W_LATENESS, P_W_BALANCE, P_W_REASSIGNMENT, P_W_DEFER,
 P_POL_SCALE, P_POL_INT_BUDGET) = range(30)
N_PARAMS = 30
(Q_LEGACY, Q_IOT_FAST, Q_HANDOVER, Q_ON_EVENTS, Q_MAX_EXT, Q_MAX_REOPEN, Q_MARGIN,
 Q_N_BITS, Q_PER_SLOT, Q_AREA_BOUND, Q_POLICY, Q_POL_CANDIDATES, Q_POL_MAX_TASKS,
 Q_POL_MAX_ELEMENTS, Q_POL_MAX_ROUNDS, Q_POL_BUDGET) = range(16)
N_FLAGS = 16
#: ``Q[Q_POLICY]`` of a policy without a compiled form (rounds are handed to Python).
PYTHON_POLICY = 0
ON_EVENTS_CODES = ("none", "urgent", "all")

#: Category table rows (float64 block ``CAT``).
C_RES, C_WORK_MEAN, C_WORK_CV, C_WORK_DIST, C_PRIO = range(5)
WORK_DISTS = ("exp", "lognormal", "fixed")

# Event kinds of the core's heap (payload = case or team * 16 + kind).
(EV_REGISTER, EV_FORWARDED, EV_PREPARED, EV_SIGNED, EV_RETURNED, EV_WAKE, EV_WORK_DONE,
 EV_UNRESOLVED, EV_REPOOL, EV_VERIFIED, EV_CALLBACK, EV_ORDER_DONE) = range(12)
_KIND_BITS = 16

#: Return codes of :func:`run_until`.
DONE, DISPATCH, SPACE, OFFERED = range(4)

#: Event types of the log (int8 codes); ``EVENT_NAMES[code]`` is the name.
EVENT_NAMES = (
    "reported", "registered", "invalid", "fixed_on_spot", "forwarded", "dispatched",
    "signed", "returned", "prepared", "travel", "arrived", "work_done", "unresolved",
    "extended", "parked", "verified", "rework", "callback_ok", "callback_bad", "reopened",
    "closed", "handed_back",
)
# The codes are NumPy scalars, not ints: Numba compiles a function once per distinct
# *literal* int argument, so `_log(..., CLOSED, -1)` with plain ints compiled `_log`
# twenty times over (and the cold start took longer).
(REPORTED, REGISTERED, INVALID, FIXED_ON_SPOT, FORWARDED, DISPATCHED, SIGNED, RETURNED,
 PREPARED, TRAVEL, ARRIVED, WORK_DONE, UNRESOLVED, EXTENDED, PARKED, VERIFIED, REWORK,
 CALLBACK_OK, CALLBACK_BAD, REOPENED, CLOSED, HANDED_BACK) = (
     np.int64(k) for k in range(len(EVENT_NAMES)))
#: "no team" in the log, and the other int arguments passed as constants.
NO_TEAM = np.int64(-1)
_ZERO = np.int64(0)
_URGENT = np.int64(3)
#: Case status codes; ``STATUS_NAMES[code]`` is the name.
STATUS_NAMES = ("new", "registered", "waiting", "assigned", "in_progress", "closed",
                "parked", "invalid")
(S_NEW, S_REGISTERED, S_WAITING, S_ASSIGNED, S_PROGRESS, S_CLOSED, S_PARKED,
 S_INVALID) = range(len(STATUS_NAMES))
#: Channel codes (``catalogue.CHANNELS`` order).
IOT, PATROL, HOTLINE, OTHER = range(4)

DAY = 86400.0

# The event handlers and the helpers LLVM would keep as calls are inlined at Numba's
# level (`_inline`): a call with the state and inputs tuples increfs and decrefs their 40
# arrays (atomic operations in Numba's runtime). The numpy error model drops the
# ZeroDivisionError branches; no divisor here can be zero (day length, pool count,
# constants). Measurements: MODEL.md, "Engine and speed".
_jit = numba.njit(cache=True, nogil=True, error_model="numpy")
_inline = numba.njit(cache=True, nogil=True, inline="always", error_model="numpy")


# ----------------------------------------------------------------------------- heap
@_jit
def _push(st, t, payload):  # pragma: no cover - compiled
    ht, hs, hp, I = st[ST_HT], st[ST_HS], st[ST_HP], st[ST_I]
    n = I[H_N]
    seq = I[H_SEQ]
    I[H_SEQ] = seq + 1
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
    I[H_N] = n + 1


@_jit
def _pop(st):  # pragma: no cover - compiled
    """Remove the earliest event; returns its payload (its time is ``ht[0]`` before)."""
    ht, hs, hp, I = st[ST_HT], st[ST_HS], st[ST_HP], st[ST_I]
    top = hp[0]
    n = I[H_N] - 1
    I[H_N] = n
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
def push_many(st, times, kind, first_arg):  # pragma: no cover - compiled
    """Schedule ``kind`` for args ``first_arg, first_arg + 1, ...`` at ``times``."""
    for k in range(times.shape[0]):
        _push(st, times[k], (first_arg + k) * _KIND_BITS + kind)


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
    _append(st[ST_LT], st[ST_LC], st[ST_LK], st[ST_LM], st[ST_I], _L_N, t, c, kind, team)


@_jit
def _log_side(st, t, c, kind, team):  # pragma: no cover - compiled
    """A row logged ahead of (or behind) its time, merged into order after the run."""
    _append(st[ST_ST], st[ST_SC], st[ST_SK], st[ST_SM], st[ST_I], _S_N, t, c, kind, team)


# ----------------------------------------------------------------------------- random
@_jit
def _u(st):  # pragma: no cover - compiled
    I = st[ST_I]
    k = I[U_CUR]
    I[U_CUR] = k + 1
    return st[ST_U][k]


@_jit
def _z(st):  # pragma: no cover - compiled
    I = st[ST_I]
    k = I[Z_CUR]
    I[Z_CUR] = k + 1
    return st[ST_Z][k]


@_jit
def _exp(st, mean):  # pragma: no cover - compiled
    if mean > 0.0:
        return -mean * math.log(1.0 - _u(st))
    return 0.0


# ----------------------------------------------------------------------------- calendar
@_jit
def _add_working(fx, t, seconds):  # pragma: no cover - compiled
    """``WorkCalendar.add_working`` for one time (same arithmetic)."""
    P, cum, workday = fx[FX_P], fx[FX_CUM], fx[FX_WORKDAY]
    n_days = workday.shape[0]
    off = P[P_DAY_OFFSET]
    length = P[P_DAY_LENGTH]
    d = math.floor((t - off) / DAY)
    d = min(max(d, 0), n_days - 1)
    tod = t - (off + DAY * d)
    inside = min(max(tod - P[P_WORK_START], 0.0), length)
    target = cum[d] + (inside if workday[d] else 0.0) + seconds
    k = np.searchsorted(cum[1:], target)
    if k >= n_days:
        extra = (target - cum[n_days]) / length
        return off + DAY * n_days + extra * DAY
    return off + DAY * k + P[P_WORK_START] + (target - cum[k])


@_inline
def _after(st, fx, now, d):  # pragma: no cover - compiled
    """Time ``d`` seconds after ``now``: working time under ``legacy``, else calendar."""
    if fx[FX_Q][Q_LEGACY]:
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
    off = fx[FX_PAT_OFF]
    return _window(fx[FX_PAT_START], fx[FX_PAT_END], off[p], off[p + 1], t)


@_jit
def _travel_factor(fx, t):  # pragma: no cover - compiled
    surges = fx[FX_SURGES]
    f = 1.0
    for k in range(surges.shape[0]):
        if surges[k, 0] <= t < surges[k, 1]:
            f *= surges[k, 2]
    return f


# ----------------------------------------------------------------------------- life cycle
@_jit
def _request(st, now, min_prio):  # pragma: no cover - compiled
    I, F = st[ST_I], st[ST_F]
    if I[REQ_PRIO] == NO_REQUEST:
        F[REQ_T] = now
        I[REQ_PRIO] = min_prio
    elif min_prio < I[REQ_PRIO]:
        I[REQ_PRIO] = min_prio


@_jit
def _pool_less(st, a, b):  # pragma: no cover - compiled
    """Whether case ``a`` comes before ``b`` in a pool: higher priority, then earlier
    queue time, then earlier filing."""
    CF = st[ST_CF]
    ra = CF[a, POOL_RANK]
    rb = CF[b, POOL_RANK]
    if ra != rb:
        return ra < rb
    qa = CF[a, POOL_QUEUED]
    qb = CF[b, POOL_QUEUED]
    if qa != qb:
        return qa < qb
    return st[ST_CL][a, PSEQ] < st[ST_CL][b, PSEQ]


@_jit
def _pool_push(st, p, c):  # pragma: no cover - compiled
    """Put case ``c`` in pool ``p`` (row ``p`` of the pool heaps)."""
    heap, size, I = st[ST_POOL_HEAP], st[ST_POOL_N], st[ST_I]
    i = size[p]
    size[p] = i + 1
    if i + 1 > I[POOL_MAX]:
        I[POOL_MAX] = i + 1
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
    heap, size = st[ST_POOL_HEAP], st[ST_POOL_N]
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
    n_areas = st[ST_POOL_N].shape[0] // fx[FX_Q][Q_N_BITS]
    p = fx[FX_CAT_BIT][st[ST_CS][c, CATEGORY]] * n_areas + fx[FX_CELL_SUB][st[ST_CI][c, CELL]]
    _pool_push(st, p, c)
    st[ST_I][N_WAIT] += 1


@_inline
def _to_pool(st, fx, c, now, queued_at):  # pragma: no cover - compiled
    """Put case ``c`` in its (skill, sub-district) pool, ordered by priority, then
    ``queued_at``, then filing order."""
    CF, CS, CB, CL, I = st[ST_CF], st[ST_CS], st[ST_CB], st[ST_CL], st[ST_I]
    CB[c, STATUS] = S_WAITING
    if math.isnan(CF[c, T_POOL]):
        CF[c, T_POOL] = now
    prio = fx[FX_CAT][C_PRIO, CS[c, CATEGORY]]
    if CB[c, CHANNEL] == OTHER:
        prio += fx[FX_P][P_OTHER_BOOST]
    CF[c, POOL_RANK] = -prio
    CF[c, POOL_QUEUED] = queued_at
    seq = I[POOL_SEQ] + 1
    I[POOL_SEQ] = seq
    CL[c, PSEQ] = seq
    _repool(st, fx, c)
    on = fx[FX_Q][Q_ON_EVENTS]
    if on == 2:
        _request(st, now, _ZERO)
    elif on == 1 and prio >= 3:
        _request(st, now, _URGENT)


@_inline
def _route(st, fx, c, hop, now):  # pragma: no cover - compiled
    """Forwarding hops (legacy hierarchy), preparation, then the dispatch pool."""
    CG, CS = st[ST_CG], st[ST_CS]
    fwd = fx[FX_FORWARD]
    if hop < fwd.shape[0]:
        d = _exp(st, fwd[hop])
        CS[c, HOP] = hop + 1
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + EV_FORWARDED)
        return
    d = CG[c, D_PREP] if CS[c, N_ATTEMPT] == 0 else 0.0
    if d > 0:
        # Coordination by the handling unit before a crew can be sent; holds no crew.
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + EV_PREPARED)
    else:
        _to_pool(st, fx, c, now, now)


@_inline
def _on_register(st, fx, c, now):  # pragma: no cover - compiled
    CF, CB = st[ST_CF], st[ST_CB]
    _log_side(st, CF[c, T_REPORT], c, REPORTED, NO_TEAM)
    _log(st, now, c, REGISTERED, NO_TEAM)
    if CB[c, STATUS] == S_INVALID:
        CF[c, T_CLOSE] = now
        _log(st, now, c, INVALID, NO_TEAM)
        return
    CB[c, STATUS] = S_REGISTERED
    if CB[c, ON_SPOT]:
        CF[c, T_CLOSE] = now
        CB[c, STATUS] = S_CLOSED
        CB[c, RESOLVED] = 1
        _log(st, now, c, FIXED_ON_SPOT, NO_TEAM)
        _log(st, now, c, CLOSED, NO_TEAM)
        return
    _route(st, fx, c, _ZERO, now)


@_inline
def _release(st, fx, j, now):  # pragma: no cover - compiled
    TI = st[ST_TI]
    TI[LOAD, j] -= 1
    TI[SLOTS, j] += 1
    if fx[FX_Q][Q_ON_EVENTS] == 2:
        _request(st, now, _ZERO)


@_jit
def _sign_time(st, fx, j, now, d):  # pragma: no cover - compiled
    """When the order is signed: ``d`` after ``now``; under ``legacy``, ``d`` of team
    ``j``'s duty time (an office-hours crew's unit signs in office hours)."""
    if not fx[FX_Q][Q_LEGACY]:
        return now + d
    TF, TI = st[ST_TF], st[ST_TI]
    s = TF[SHIFT_START, j]
    e = TF[SHIFT_END, j]
    t = now if now > s else s
    if t + d <= e:
        return t + d
    rest = t + d - e
    s2, e2 = _pattern_window(fx, TI[PATTERN, j], e)
    return s2 + min(rest, e2 - s2)


@_jit
def assign_batch(st, fx, now, ids, team, team_id, travel, task_cell):  # pragma: no cover
    """Apply a policy's answer: task ``i`` (case ``ids[i]``) goes to team
    ``team_id[team[i]]`` with estimated travel ``travel[team[i], task_cell[i]]``, in
    order, while that team has a free slot. Tasks left out (``team[i] < 0``) or beyond a
    team's free slots go back to their pool, in line where they were. Returns the mask
    of tasks dispatched."""
    CF, CG, CI, CS, CB = st[ST_CF], st[ST_CG], st[ST_CI], st[ST_CS], st[ST_CB]
    TF, TI = st[ST_TF], st[ST_TI]
    P, Q, CAT = fx[FX_P], fx[FX_Q], fx[FX_CAT]
    done = np.zeros(ids.shape[0], dtype=np.bool_)
    for i in range(ids.shape[0]):
        c = ids[i]
        k = team[i]
        j = team_id[k] if k >= 0 else -1
        if j < 0 or TI[SLOTS, j] <= 0:
            _repool(st, fx, c)
            continue
        done[i] = True
        CB[c, STATUS] = S_ASSIGNED
        CI[c, TEAM] = j
        if math.isnan(CF[c, T_DISPATCH]):
            CF[c, T_DISPATCH] = now
        TI[LOAD, j] += 1
        TI[SLOTS, j] -= 1
        fa = TF[FREE_AT, j]
        TF[FREE_AT, j] = ((fa if fa > now else now) + np.float64(travel[k, task_cell[i]])
                          + CAT[C_WORK_MEAN, CS[c, CATEGORY]])
        _log(st, now, c, DISPATCHED, j)
        if CS[c, N_ATTEMPT] == 0:
            d = np.float64(CG[c, D_SIGN])
        elif Q[Q_IOT_FAST] and CB[c, CHANNEL] == IOT:
            d = _exp(st, P[P_FAST_SIGN])
        else:
            d = _exp(st, P[P_SIGN])
        _push(st, _sign_time(st, fx, j, now, d), c * _KIND_BITS + EV_SIGNED)
    return done


@_jit
def offer(st, fx, now, min_prio):  # pragma: no cover - compiled
    """The first half of a dispatch round: bring stale shift windows up to date, find
    the teams with a free slot that are on duty within the look-ahead, and take the
    round's tasks out of the pools.

    Each skill is offered at most ``batch_per_slot`` tasks per free slot of that skill,
    pools with the most urgent head first; with area-bound crews each (skill,
    sub-district) pool also at most that many per free slot that may serve it (own-area
    plus district-wide crews). ``min_prio`` > 0 offers only tasks of at least that
    priority (urgent rounds). Returns the case ids in offer order and their snapshot
    (:func:`_snapshot`; no tasks: empty ids).
    """
    CF, I = st[ST_CF], st[ST_I]
    Q = fx[FX_Q]
    per = Q[Q_PER_SLOT]
    bound = Q[Q_AREA_BOUND]
    heap, size = st[ST_POOL_HEAP], st[ST_POOL_N]
    n_pools = size.shape[0]
    n_areas = n_pools // Q[Q_N_BITS]
    cand, skill_left, avail = _candidates(st, fx, now)
    k = cand.shape[0]
    ids = np.empty(min(I[N_WAIT], skill_left.sum()), dtype=np.int64)
    if k == 0 or ids.shape[0] == 0:
        ids = ids[:0]
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
    n = 0
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
            I[N_WAIT] -= 1
    ids = ids[:n]
    return ids, _snapshot(st, fx, now, cand, ids)


@_jit
def _candidates(st, fx, now):  # pragma: no cover - compiled
    """Bring stale shift windows up to date; the teams with a free slot on duty within
    the look-ahead, and per skill the tasks a round may offer (``batch_per_slot`` per
    free slot) and, per (skill, area or district-wide), the free slots. Calling it twice
    at the same ``now`` gives the same answer."""
    TF, TI = st[ST_TF], st[ST_TI]
    P, Q = fx[FX_P], fx[FX_Q]
    n_bits = Q[Q_N_BITS]
    per = Q[Q_PER_SLOT]
    n_areas = st[ST_POOL_N].shape[0] // n_bits
    m = TF.shape[1]
    horizon = now + P[P_LOOKAHEAD]
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
    crews get +inf outside their area.
    """
    CF, CI, CS, TF, TI = st[ST_CF], st[ST_CI], st[ST_CS], st[ST_TF], st[ST_TI]
    CAT, cell_sub, cat_bit = fx[FX_CAT], fx[FX_CELL_SUB], fx[FX_CAT_BIT]
    bound = fx[FX_Q][Q_AREA_BOUND]
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
        work[i] = CAT[C_WORK_MEAN, k]
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
    travel = gather_travel(st[ST_TRAVEL], TI[STACK][teams], TI[TCELL][teams], uc,
                           TI[SKILLS][teams], cell_skill)
    if fx[FX_SURGES].shape[0]:
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
            travel)


@_inline
def _draw_work(st, fx, k):  # pragma: no cover - compiled
    CAT = fx[FX_CAT]
    mean = CAT[C_WORK_MEAN, k]
    dist = CAT[C_WORK_DIST, k]
    if dist == 0:
        return _exp(st, mean)
    if dist == 2:
        return mean
    cv = CAT[C_WORK_CV, k]
    s2 = math.log1p(cv * cv)
    return mean * math.exp(math.sqrt(s2) * _z(st) - s2 / 2.0)


@_jit
def _queue_append(st, j, c):  # pragma: no cover - compiled
    CI, TI = st[ST_CI], st[ST_TI]
    CI[c, QNEXT] = -1
    tail = TI[QTAIL, j]
    if tail < 0:
        TI[QHEAD, j] = c
    else:
        CI[tail, QNEXT] = c
    TI[QTAIL, j] = c


@_jit
def _queue_pop(st, j):  # pragma: no cover - compiled
    CI, TI = st[ST_CI], st[ST_TI]
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
    CF, CG, CI, CS = st[ST_CF], st[ST_CG], st[ST_CI], st[ST_CS]
    TF, TI = st[ST_TF], st[ST_TI]
    P, Q = fx[FX_P], fx[FX_Q]
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
        if Q[Q_HANDOVER] and start - now > P[P_LOOKAHEAD]:
            # Shift over: unstarted tasks go back to the pool for the next crew on duty,
            # in line where they were (their first pool time), not behind newer ones.
            TF[FREE_AT, j] = start
            while TI[QHEAD, j] >= 0:
                c = _queue_pop(st, j)
                _log(st, now, c, HANDED_BACK, j)
                _release(st, fx, j, now)
                _to_pool(st, fx, c, now, CF[c, T_POOL])
            return
        # Off duty: the queue waits for the next shift.
        if not TI[WAKING, j]:
            TI[WAKING, j] = 1
            _push(st, start, j * _KIND_BITS + EV_WAKE)
        return
    c = _queue_pop(st, j)
    TI[BUSY, j] = 1
    cell = CI[c, CELL]
    tt = np.float64(st[ST_TRAVEL][TI[STACK, j], cell, TI[TCELL, j]])
    if fx[FX_SURGES].shape[0]:
        tt *= _travel_factor(fx, now)
    if CS[c, N_ATTEMPT] == 0:
        w = np.float64(CG[c, D_WORK])
    else:
        w = _draw_work(st, fx, CS[c, CATEGORY])
    TF[TASK_START, j] = now
    TF[TASK_TRAVEL, j] = tt
    # The team heads for the task: the dispatcher sees it at its destination.
    TI[TCELL, j] = cell
    _log(st, now, c, TRAVEL, j)
    if now + tt < P[P_T_STOP]:
        _log_side(st, now + tt, c, ARRIVED, j)
    _push(st, now + (tt + w), c * _KIND_BITS + EV_WORK_DONE)


@_inline
def _on_signed(st, fx, c, now):  # pragma: no cover - compiled
    CG, CI, CS, CB, TI = st[ST_CG], st[ST_CI], st[ST_CS], st[ST_CB], st[ST_TI]
    P = fx[FX_P]
    j = np.int64(CI[c, TEAM])
    _log(st, now, c, SIGNED, j)
    u = np.float64(CG[c, U_LOOP]) if CS[c, N_ATTEMPT] == 0 else _u(st)
    if u < P[P_MISROUTE]:
        # The unit declines the order at signing (退单): the crew never starts it, so its
        # slot is free now; only the paperwork of the return takes time.
        _release(st, fx, j, now)
        d = _exp(st, P[P_RETURN])
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + EV_RETURNED)
        return
    CB[c, STATUS] = S_PROGRESS
    _queue_append(st, j, c)
    if not TI[BUSY, j]:
        _team_next(st, fx, j, now)


@_inline
def _on_returned(st, fx, c, now):  # pragma: no cover - compiled
    CI, CS = st[ST_CI], st[ST_CS]
    _log(st, now, c, RETURNED, np.int64(CI[c, TEAM]))
    CS[c, N_MISROUTE] += 1
    CS[c, N_ATTEMPT] += 1
    CI[c, TEAM] = -1
    if fx[FX_Q][Q_LEGACY]:
        _route(st, fx, c, _ZERO, now)
    else:
        _to_pool(st, fx, c, now, now)


@_inline
def _close(st, c, now):  # pragma: no cover - compiled
    CF, CB = st[ST_CF], st[ST_CB]
    t_order = CF[c, T_ORDER]
    if t_order > now:
        # The work order is still being processed beside the crew visit (NaN compares
        # false: no order stage); the case closes when it is done.
        CB[c, ORDER_WAIT] = 1
        _push(st, t_order, c * _KIND_BITS + EV_ORDER_DONE)
        return
    CB[c, STATUS] = S_CLOSED
    CB[c, RESOLVED] = 1
    CF[c, T_CLOSE] = now
    _log(st, now, c, CLOSED, NO_TEAM)


@_inline
def _on_work_done(st, fx, c, now):  # pragma: no cover - compiled
    CG, CI, CS, CB, TF, TI = st[ST_CG], st[ST_CI], st[ST_CS], st[ST_CB], st[ST_TF], st[ST_TI]
    P, Q, CAT, F = fx[FX_P], fx[FX_Q], fx[FX_CAT], st[ST_F]
    j = np.int64(CI[c, TEAM])
    _log(st, now, c, WORK_DONE, j)
    t0 = TF[TASK_START, j]
    lo = t0 if t0 > P[P_T_STATS] else P[P_T_STATS]
    hi = now if now < P[P_T_END] else P[P_T_END]
    if hi > lo:
        TF[BUSY_S, j] += hi - lo
        tr_end = min(t0 + TF[TASK_TRAVEL, j], hi)
        if tr_end > lo:
            TF[TRAVEL_S, j] += tr_end - lo
    if now <= P[P_T_END]:
        TI[TASKS, j] += 1
    _release(st, fx, j, now)
    _team_next(st, fx, j, now)
    first = CS[c, N_ATTEMPT] == 0
    fb = np.float64(CG[c, D_FEEDBACK]) if first else _exp(st, P[P_FEEDBACK])
    if _u(st) < CAT[C_RES, CS[c, CATEGORY]]:
        if Q[Q_IOT_FAST] and CB[c, CHANNEL] == IOT:
            # Feedback, then the detecting camera or sensor confirms (any hour).
            d = np.float64(CG[c, D_VERIFY]) if first else _exp(st, P[P_FAST_VERIFY])
            _push(st, now + (fb + d), c * _KIND_BITS + EV_VERIFIED)
            return
        # Feedback, then an inspector on duty re-checks on site (one event).
        t_fb = now + fb
        s = F[INSP_S]
        if t_fb < s or t_fb >= F[INSP_E]:
            s, e = _window(fx[FX_INSP_START], fx[FX_INSP_END], _ZERO,
                           np.int64(fx[FX_INSP_START].shape[0]), t_fb)
            if t_fb >= F[INSP_E]:
                F[INSP_S] = s
                F[INSP_E] = e
        d = np.float64(CG[c, D_VERIFY]) if first else _exp(st, P[P_VERIFY])
        _push(st, now + ((s - now if s > t_fb else fb) + d), c * _KIND_BITS + EV_VERIFIED)
    else:
        _push(st, now + fb, c * _KIND_BITS + EV_UNRESOLVED)


@_inline
def _on_unresolved(st, fx, c, now):  # pragma: no cover - compiled
    CF, CI, CS, CB = st[ST_CF], st[ST_CI], st[ST_CS], st[ST_CB]
    P, Q = fx[FX_P], fx[FX_Q]
    _log(st, now, c, UNRESOLVED, np.int64(CI[c, TEAM]))
    if CS[c, N_EXTENSION] < Q[Q_MAX_EXT] and _u(st) < P[P_EXT_PROB]:
        CS[c, N_EXTENSION] += 1
        CS[c, N_ATTEMPT] += 1
        _log(st, now, c, EXTENDED, NO_TEAM)
        d = _exp(st, P[P_EXT_MEAN])
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + EV_REPOOL)
    else:
        CB[c, STATUS] = S_PARKED
        CB[c, RESOLVED] = 0
        CF[c, T_CLOSE] = now
        _log(st, now, c, PARKED, NO_TEAM)


@_inline
def _on_verified(st, fx, c, now):  # pragma: no cover - compiled
    CG, CS, CB = st[ST_CG], st[ST_CS], st[ST_CB]
    P = fx[FX_P]
    if _u(st) < P[P_REWORK]:
        CS[c, N_REWORK] += 1
        CS[c, N_ATTEMPT] += 1
        _log(st, now, c, REWORK, NO_TEAM)
        _to_pool(st, fx, c, now, now)
        return
    _log(st, now, c, VERIFIED, NO_TEAM)
    if CB[c, CHANNEL] == HOTLINE:
        if CS[c, N_REOPEN] == 0:
            d = np.float64(CG[c, D_CALLBACK])
        else:
            d = _exp(st, P[P_CALLBACK])
        _push(st, _after(st, fx, now, d), c * _KIND_BITS + EV_CALLBACK)
    else:
        _close(st, c, now)


@_inline
def _on_callback(st, fx, c, now):  # pragma: no cover - compiled
    CS, CB = st[ST_CS], st[ST_CB]
    P, Q = fx[FX_P], fx[FX_Q]
    if _u(st) < P[P_SATISFY]:
        CB[c, SATISFIED] = 1
        _log(st, now, c, CALLBACK_OK, NO_TEAM)
        _close(st, c, now)
        return
    CB[c, SATISFIED] = 0
    _log(st, now, c, CALLBACK_BAD, NO_TEAM)
    if CS[c, N_REOPEN] < Q[Q_MAX_REOPEN] and _u(st) < P[P_REOPEN]:
        CS[c, N_REOPEN] += 1
        CS[c, N_ATTEMPT] += 1
        _log(st, now, c, REOPENED, NO_TEAM)
        _to_pool(st, fx, c, now, now)
    else:
        _close(st, c, now)


@_jit
def _compiled_round(st, fx, now, min_prio):  # pragma: no cover - compiled
    """A dispatch round decided by the policy's compiled form
    (:func:`urbangrid.optimizer.compiled.decide`) and applied here. Returns the offered
    case ids when the policy would take another path for this snapshot (nothing applied:
    the caller hands the round to the Python policy), else an empty array."""
    I, P, Q = st[ST_I], fx[FX_P], fx[FX_Q]
    if I[N_WAIT] == 0:
        return np.empty(0, dtype=np.int64)
    ids, snap = offer(st, fx, now, min_prio)
    n = ids.shape[0]
    if n == 0:
        return ids
    (inv, task_skill, task_area, deadline, prio, work, teams, team_skills, free_at, capacity,
     shift_start, shift_end, load, area, travel) = snap
    none = np.full(n, -1, dtype=np.int32)  # task_current, task_pinned
    team = np.empty(n, dtype=np.int32)
    status = decide(Q[Q_POLICY], Q[Q_POL_CANDIDATES], Q[Q_POL_MAX_TASKS],
                    Q[Q_POL_MAX_ELEMENTS], P[P_POL_SCALE], Q[Q_POL_MAX_ROUNDS],
                    Q[Q_POL_BUDGET], P[P_POL_INT_BUDGET], now, inv, task_skill, work,
                    task_area, deadline, prio, none, none, travel, team_skills, area, free_at,
                    shift_start, shift_end, capacity, load,
                    np.zeros((1, 1), dtype=np.float32), False, P[P_W_TRAVEL], P[P_W_WAIT],
                    P[P_W_LATENESS], P[P_W_BALANCE], P[P_W_REASSIGNMENT], P[P_W_DEFER], team)
    if status != 0:
        return ids
    I[N_COMPILED] += 1
    assign_batch(st, fx, now, ids, team.astype(np.int64), teams, travel, inv)
    return ids[:0]


@_jit
def run_until(st, fx, until):  # pragma: no cover - compiled
    """Process events with time ``< until`` and the dispatch rounds due before it.

    A round is due at an urgent request's time once every event at that time has run,
    and at each dispatcher tick (every ``P_TICK`` seconds from 0) once every event at or
    before the tick has run; a request's round comes before a tick's at the same time.
    With a compiled policy the round runs here (:func:`_compiled_round`).

    Returns ``(code, ids)``: ``DONE``; ``DISPATCH``, a round for the Python policy is due
    at ``F[ROUND_T]`` with minimum priority ``I[ROUND_PRIO]`` (nothing offered yet);
    ``OFFERED``, the compiled policy handed back the round at ``F[ROUND_T]`` whose tasks
    ``ids`` it took from the pools (the caller decides and applies it); ``SPACE``, a
    buffer needs room (``I[NEED]`` rows and events beyond the margin) before the next
    event or round. ``ids`` is empty but for ``OFFERED``.
    """
    ht, I, F, P = st[ST_HT], st[ST_I], st[ST_F], fx[FX_P]
    margin = fx[FX_Q][Q_MARGIN]
    compiled = fx[FX_Q][Q_POLICY] != PYTHON_POLICY
    tick = P[P_TICK]
    cap_heap = ht.shape[0]
    cap_log = st[ST_LT].shape[0]
    cap_side = st[ST_ST].shape[0]
    cap_u = st[ST_U].shape[0]
    cap_z = st[ST_Z].shape[0]
    cap_pool = st[ST_POOL_HEAP].shape[1]
    none = np.empty(0, dtype=np.int64)
    while True:
        t = ht[0] if I[H_N] > 0 else np.inf
        is_request = I[REQ_PRIO] != NO_REQUEST and t > F[REQ_T]
        if is_request or (tick > 0 and F[NEXT_TICK] < until and t > F[NEXT_TICK]):
            now = F[REQ_T] if is_request else F[NEXT_TICK]
            prio = I[REQ_PRIO] if is_request else 0
            if compiled:
                # room for the round's worst case: every waiting task logged and signed
                need = margin + I[N_WAIT]
                if (cap_heap - I[H_N] < need or cap_log - I[L_N] < need
                        or cap_u - I[U_CUR] < need or cap_z - I[Z_CUR] < need):
                    I[NEED] = I[N_WAIT]
                    return SPACE, none
            if is_request:
                I[REQ_PRIO] = NO_REQUEST
            else:
                F[NEXT_TICK] += tick
            I[N_ROUNDS] += 1
            F[ROUND_T] = now
            if not compiled:
                I[ROUND_PRIO] = prio
                return DISPATCH, none
            ids = _compiled_round(st, fx, now, prio)
            if ids.shape[0]:
                return OFFERED, ids
            continue
        if I[H_N] == 0 or t >= until:
            break
        if (cap_heap - I[H_N] < margin or cap_log - I[L_N] < margin
                or cap_side - I[S_N] < margin or cap_pool - I[POOL_MAX] < margin
                or cap_u - I[U_CUR] < margin or cap_z - I[Z_CUR] < margin):
            return SPACE, none
        payload = _pop(st)
        kind = payload % _KIND_BITS
        x = payload // _KIND_BITS
        I[N_EV] += 1
        if kind == EV_REGISTER:
            _on_register(st, fx, x, t)
        elif kind == EV_SIGNED:
            _on_signed(st, fx, x, t)
        elif kind == EV_WORK_DONE:
            _on_work_done(st, fx, x, t)
        elif kind == EV_VERIFIED:
            _on_verified(st, fx, x, t)
        elif kind == EV_CALLBACK:
            _on_callback(st, fx, x, t)
        elif kind == EV_ORDER_DONE:
            _close(st, x, t)
        elif kind == EV_PREPARED:
            _log(st, t, x, PREPARED, NO_TEAM)
            _to_pool(st, fx, x, t, t)
        elif kind == EV_FORWARDED:
            _log(st, t, x, FORWARDED, NO_TEAM)
            _route(st, fx, x, np.int64(st[ST_CS][x, HOP]), t)
        elif kind == EV_WAKE:
            st[ST_TI][WAKING, x] = 0
            if not st[ST_TI][BUSY, x]:
                _team_next(st, fx, x, t)
        elif kind == EV_RETURNED:
            _on_returned(st, fx, x, t)
        elif kind == EV_UNRESOLVED:
            _on_unresolved(st, fx, x, t)
        elif kind == EV_REPOOL:
            _to_pool(st, fx, x, t, t)
    return DONE, none


# The cached loop embeds the optimizer's kernels and gather_travel: drop it when their
# files change (Numba's cache would not notice, see urbangrid._numba_cache).
forget_if_changed(run_until, __file__, [*KERNEL_FILES, _kernels.__file__])
