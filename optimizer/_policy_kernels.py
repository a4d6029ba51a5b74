"""Numba kernels of the per-call work every dispatch round pays: one compiled path,
:func:`dispatch`, decides a round of a built-in policy (``nearest``, ``legacy``: their
task loops; ``mcf``: scores, candidate flow and pricing of a small batch) and fills its
record (:func:`finish_core`, also :func:`_common.finish`'s).

The simulation calls a policy on small batches (a median of 3 tasks x 100 teams on
Jing'an), where a NumPy version spends its time in per-call overhead of dozens of small
array operations, not in arithmetic. Each kernel here does the same arithmetic as the
NumPy code it replaces, in the same order and in float64, so the results are bitwise
equal: the tests compare :func:`dispatch` with the readable references
(``policies._sequential_reference``, ``_common.finish_numpy``, ``solver._solve_steps``).
Arrays, scalars and named tuples of those only, so every kernel also runs as plain
Python under ``NUMBA_DISABLE_JIT=1``.

Reason codes are :class:`~urbangrid.optimizer.DeferReason` values, repeated as
constants because compiled code cannot read an enum (a test compares the two).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from urbangrid._numba_cache import forget_if_changed

from . import _kernels
from ._kernels import (
    BAD_COSTS,
    OPTIMAL,
    FlowParams,
    FlowResult,
    _candidates_ssp,
    flow_knobs,
    flow_scale,
    scale_for,
    scan_finite,
    score_small,
    skill_classes,
)

_NO_QUALIFIED_TEAM = 1
_UNREACHABLE = 2
_OFF_SHIFT = 3
_NO_CAPACITY = 4
_CHEAPER_TO_DEFER = 5
_OUT_OF_AREA = 6
_IMAX = np.iinfo(np.int64).max

#: :func:`dispatch`'s policy kinds (``compiled.CompiledPolicy.kind``).
KIND_NEAREST = 1
KIND_LEGACY = 2
KIND_MCF = 3

#: :attr:`Outcome.status` beyond the flow's (``_kernels.OPTIMAL`` .. ``BAD_COSTS``): a
#: pinned task, or a batch the one-call path does not take (``mcf`` beyond
#: ``FlowParams.max_tasks`` / ``max_elements``, no task, no team, an unknown kind).
PINNED = 4
NOT_SMALL = 5


class Batch(NamedTuple):
    """A :class:`~urbangrid.optimizer.DispatchProblem` as the kernels read it: its arrays
    (same names, ``team_*`` / ``task_*``), ``cell_travel`` (a 1 x 1 stand-in when
    ``use_cell_travel`` is False) and the :class:`~urbangrid.optimizer.ScoreWeights` as
    ``w_*``. ``_common.batch_of`` builds it from a problem; compiled code builds it by
    keyword."""

    now: float
    task_cell: np.ndarray
    task_skill: np.ndarray
    task_work: np.ndarray
    task_area: np.ndarray
    task_deadline: np.ndarray
    task_priority: np.ndarray
    task_current: np.ndarray
    task_pinned: np.ndarray
    travel: np.ndarray
    team_skills: np.ndarray
    team_area: np.ndarray
    team_free_at: np.ndarray
    team_shift_start: np.ndarray
    team_shift_end: np.ndarray
    team_capacity: np.ndarray
    team_load: np.ndarray
    cell_travel: np.ndarray
    use_cell_travel: bool
    w_travel: float
    w_wait: float
    w_lateness: float
    w_balance: float
    w_reassignment: float
    w_defer: float


class Record(NamedTuple):
    """The arrays of an :class:`~urbangrid.optimizer.Assignment` a kernel fills (length
    n): ``team`` (int32), ``cost`` (float64), ``reason`` (int8), ``eta`` (float64),
    ``pos`` (int32, the task's place in its team's sequence)."""

    team: np.ndarray
    cost: np.ndarray
    reason: np.ndarray
    eta: np.ndarray
    pos: np.ndarray


class Outcome(NamedTuple):
    """What :func:`dispatch` returns: ``status`` (``_kernels.OPTIMAL`` = done, else why
    nothing was done: the flow's status, :data:`PINNED` or :data:`NOT_SMALL`), the
    ``mcf`` flow's :class:`~._kernels.FlowResult` (zeros for the sequential policies)
    and the record's counts (0 without a record)."""

    status: int
    flow: FlowResult
    assigned: int
    deferred: int
    slot_pairs: int


@njit(cache=True, inline="always")
def _reach(b, j, c, start):
    """How far the qualified team ``j`` gets towards a task in cell ``c``, as the reason
    it would give for not taking it: UNREACHABLE, OFF_SHIFT (reachable, arrives after its
    shift ends) or NO_CAPACITY (arrives on shift). Over several teams the largest code is
    the task's reason: the later the test some team passes, the weaker the reason
    (``nearest``, ``legacy`` and :func:`finish_core` all derive theirs this way)."""
    t = np.float64(b.travel[j, c])
    if not np.isfinite(t):
        return _UNREACHABLE
    if start[j] + t <= b.team_shift_end[j]:
        return _NO_CAPACITY
    return _OFF_SHIFT


@njit(cache=True)
def _why_not(b, c, sk, start):
    """Why no team took a task in cell ``c`` needing skills ``sk`` (``nearest``):
    NO_QUALIFIED_TEAM, else the best :func:`_reach` of its qualified teams."""
    r = _NO_QUALIFIED_TEAM
    for j in range(b.team_skills.shape[0]):
        if (b.team_skills[j] & sk) == sk:
            r = max(r, _reach(b, j, c, start))
    return r


@njit(cache=True)
def qualified_lists(task_skill, team_skills):
    """The teams with every skill of each distinct task skill mask, in index order:
    ``(cls, start, teams)``, task ``i``'s are ``teams[start[cls[i]]:start[cls[i] + 1]]``
    (``cls`` from :func:`~._kernels.skill_classes`)."""
    m = team_skills.shape[0]
    cls, masks = skill_classes(task_skill)
    k = masks.shape[0]
    start = np.zeros(k + 1, np.int64)
    for q in range(k):
        sk = masks[q]
        cnt = 0
        for j in range(m):
            if (team_skills[j] & sk) == sk:
                cnt += 1
        start[q + 1] = start[q] + cnt
    teams = np.empty(start[k], np.int64)
    for q in range(k):
        sk = masks[q]
        w = start[q]
        for j in range(m):
            if (team_skills[j] & sk) == sk:
                teams[w] = j
                w += 1
    return cls, start, teams


@njit(cache=True)
def keep_current(b, order, start, cap, load, team):
    """The sequential policies do not re-plan a crew's queue: each re-offered task of
    ``order`` (``task_current >= 0``, not pinned) stays with its current team while that
    team can still take it (qualified, capacity left, reaches it by its shift end), in
    ``order``; the team's ``start`` moves on by travel + work, its ``cap`` drops and its
    ``load`` rises by one. The others keep ``team = -1`` for the task loop. Kept first,
    so that a queued task holds its place against new ones (as a crew that has it
    would)."""
    for k in range(order.shape[0]):
        i = order[k]
        j = b.task_current[i]
        if team[i] >= 0 or j < 0:
            continue
        sk = b.task_skill[i]
        a = start[j] + np.float64(b.travel[j, b.task_cell[i]])
        if (b.team_skills[j] & sk) == sk and cap[j] > 0 and a <= b.team_shift_end[j] \
                and a < np.inf:
            team[i] = j
            cap[j] -= 1
            load[j] += 1
            start[j] = a + b.task_work[i]


@njit(cache=True)
def nearest_loop(b, order, start, cap, team, reason):
    """``nearest``: each task of ``order`` without a team yet (pinned or kept ones have
    theirs) to the qualified team with capacity whose arrival ``start + travel`` is
    earliest and not after its shift end (first such team on ties); that team's
    ``start`` moves on by travel + work, its ``cap`` drops by one.
    ``team``/``reason``/``start``/``cap`` are updated in place."""
    travel, team_skills, end = b.travel, b.team_skills, b.team_shift_end
    m = team_skills.shape[0]
    for k in range(order.shape[0]):
        i = order[k]
        if team[i] >= 0:
            continue
        c = b.task_cell[i]
        sk = b.task_skill[i]
        best = np.inf
        bj = -1
        for j in range(m):
            if (team_skills[j] & sk) != sk or cap[j] <= 0:
                continue
            a = start[j] + np.float64(travel[j, c])
            # `a < best` (best starts at inf) also rules out an unreachable cell (inf
            # travel) for a team whose shift never ends (inf <= inf)
            if a <= end[j] and a < best:
                best = a
                bj = j
        if bj >= 0:
            team[i] = bj
            cap[bj] -= 1
            start[bj] = start[bj] + np.float64(travel[bj, c]) + b.task_work[i]
        else:
            reason[i] = _why_not(b, c, sk, start)


@njit(cache=True)
def legacy_loop(b, order, start, cap, load, team, reason):
    """``legacy``: each task of ``order`` without a team yet to the feasible team of its own area
    with the fewest queued tasks (``load``, first on ties), else to such a district-wide
    team (``team_area == -1``); ``load``/``start``/``cap``/``team``/``reason`` updated in
    place. Each task scans only its qualified teams (:func:`qualified_lists`): on the
    backlog batches of an area-bound district (300 tasks, 400 teams, most tasks deferred)
    a third of the work."""
    cls, qstart, qteams = qualified_lists(b.task_skill, b.team_skills)
    for k in range(order.shape[0]):
        i = order[k]
        if team[i] >= 0:
            continue
        c = b.task_cell[i]
        ta = b.task_area[i]
        lo = qstart[cls[i]]
        hi = qstart[cls[i] + 1]
        bh = _IMAX
        jh = -1
        bw = _IMAX
        jw = -1
        for t in range(lo, hi):
            j = qteams[t]
            a = start[j] + np.float64(b.travel[j, c])
            if cap[j] <= 0 or not (a <= b.team_shift_end[j] and a < np.inf):
                continue
            if b.team_area[j] == ta:
                if load[j] < bh:
                    bh = load[j]
                    jh = j
            elif b.team_area[j] == -1:
                if load[j] < bw:
                    bw = load[j]
                    jw = j
        j = jh if jh >= 0 else jw
        if j >= 0:
            load[j] += 1
            team[i] = j
            cap[j] -= 1
            start[j] = start[j] + np.float64(b.travel[j, c]) + b.task_work[i]
            continue
        # why not: as _why_not over the qualified teams of the task's area or
        # district-wide; OUT_OF_AREA when qualified teams exist only elsewhere
        r = _NO_QUALIFIED_TEAM
        for t in range(lo, hi):
            j = qteams[t]
            if b.team_area[j] == ta or b.team_area[j] == -1:
                r = max(r, _reach(b, j, c, start))
        reason[i] = _OUT_OF_AREA if r == _NO_QUALIFIED_TEAM and hi > lo else r


@njit(cache=True)
def _defer_one(now, work, deadline, priority, w_lateness, w_defer):  # pragma: no cover
    x = now + work - deadline
    late = x if 0.0 < x < np.inf else 0.0  # finite lateness only (problem.defer_cost)
    return w_defer * priority + w_lateness * priority * late


@njit(cache=True)
def defer_costs(now, task_work, task_deadline, task_priority, w_lateness,
                w_defer):  # pragma: no cover - compiled
    """``DispatchProblem.defer_cost`` (same arithmetic, same order)."""
    n = task_priority.shape[0]
    out = np.empty(n)
    for i in range(n):
        out[i] = _defer_one(now, task_work[i], task_deadline[i], task_priority[i],
                            w_lateness, w_defer)
    return out


@njit(cache=True)
def finish_core(given, seq, start, b, out):
    """The arrays of :func:`_common.finish` for the one-crew assignment ``out.team`` of
    the :class:`Batch` ``b``, filled in place: ``out.cost`` (pair score or defer cost),
    ``out.reason`` (``given`` where > 0, else derived from feasibility and the capacity
    left), ``out.eta`` and ``out.pos`` (each team works its tasks in the order of
    ``seq``, a permutation of all tasks, from ``start``). Returns ``(assigned, deferred,
    slot_pairs)`` with ``slot_pairs = sum(used * (used - 1) // 2)`` over the teams' batch
    loads. Same operations in the same order as the NumPy version."""
    team, cost, reason, eta, pos = out
    pinned, capacity = b.task_pinned, b.team_capacity
    team_load, team_skills, task_skill = b.team_load, b.team_skills, b.task_skill
    task_cell, task_work, task_deadline = b.task_cell, b.task_work, b.task_deadline
    task_priority, task_current, travel = b.task_priority, b.task_current, b.travel
    cell_travel, use_cell_travel, now = b.cell_travel, b.use_cell_travel, b.now
    w_travel, w_wait, w_lateness = b.w_travel, b.w_wait, b.w_lateness
    w_balance, w_reassignment, w_defer = b.w_balance, b.w_reassignment, b.w_defer
    n = team.shape[0]
    m = start.shape[0]
    used = np.zeros(m, np.int64)
    n_assigned = 0
    for i in range(n):
        j = team[i]
        if j < 0:
            cost[i] = _defer_one(now, task_work[i], task_deadline[i], task_priority[i],
                                 w_lateness, w_defer)
            continue
        n_assigned += 1
        if pinned[i] < 0:
            used[j] += 1
        s = start[j]
        tr = np.float64(travel[j, task_cell[i]])
        x = s + tr + task_work[i] - task_deadline[i]
        late = x if (x >= 0.0 or x != x) else 0.0  # np.maximum(x, 0.0), NaN kept
        cur = task_current[i]
        moved = 1.0 if (cur >= 0 and cur != j) else 0.0
        cost[i] = (w_travel * tr + w_wait * (s - now) + w_lateness * task_priority[i] * late
                   + w_balance * team_load[j] + w_reassignment * moved)
    pairs = 0
    for j in range(m):
        pairs += used[j] * (used[j] - 1) // 2
    for i in range(n):
        eta[i] = np.nan
        pos[i] = -1
        if team[i] >= 0:
            reason[i] = 0
            continue
        if given[i] > 0:
            reason[i] = given[i]
            continue
        c = task_cell[i]
        sk = task_skill[i]
        r = _NO_QUALIFIED_TEAM
        for j in range(m):
            if (team_skills[j] & sk) != sk:
                continue
            code = _reach(b, j, c, start)
            if code == _NO_CAPACITY and capacity[j] - used[j] > 0:
                code = _CHEAPER_TO_DEFER  # on shift with room left: deferring was cheaper
            if code > r:
                r = code
                if r == _CHEAPER_TO_DEFER:
                    break
        reason[i] = r
    if n_assigned == 0:
        return 0, n, pairs
    # each team's tasks in seq order: a stable counting sort of seq by team
    head = np.zeros(m + 1, np.int64)
    for i in range(n):
        if team[i] >= 0:
            head[team[i] + 1] += 1
    for j in range(m):
        head[j + 1] += head[j]
    ordered = np.empty(n_assigned, np.int64)
    for q in range(seq.shape[0]):
        i = seq[q]
        j = team[i]
        if j >= 0:
            ordered[head[j]] = i
            head[j] += 1
    csum = 0.0
    base = 0.0
    prev_team = -1
    prev_i = -1
    first_g = 0
    for g in range(n_assigned):
        i = ordered[g]
        j = team[i]
        first = j != prev_team
        if first or not use_cell_travel:
            leg = np.float64(travel[j, task_cell[i]])
        else:
            leg = np.float64(cell_travel[task_cell[prev_i], task_cell[i]])
        step = leg + (0.0 if first else task_work[prev_i])
        csum = step if g == 0 else csum + step
        if first:
            base = csum - step
            first_g = g
        eta[i] = start[j] + csum - base
        pos[i] = g - first_g
        prev_team = j
        prev_i = i
    return n_assigned, n - n_assigned, pairs


@njit(cache=True)
def _before(a, b, priority, deadline):
    # the order of _common.priority_order: higher priority, earlier deadline, lower index
    if priority[a] != priority[b]:
        return priority[a] > priority[b]
    if deadline[a] != deadline[b]:
        return deadline[a] < deadline[b]
    return a < b


@njit(cache=True)
def priority_order(priority, deadline):
    """Task indices by descending priority, then earliest deadline, then index (a merge
    sort; the key is a total order without NaN, so any correct sort gives the one answer
    ``np.lexsort`` gives)."""
    n = priority.shape[0]
    a = np.arange(n)
    b = np.empty(n, np.int64)
    width = 1
    while width < n:
        lo = 0
        while lo < n:
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                if _before(a[j], a[i], priority, deadline):
                    b[k] = a[j]
                    j += 1
                else:
                    b[k] = a[i]
                    i += 1
                k += 1
            while i < mid:
                b[k] = a[i]
                i += 1
                k += 1
            while j < hi:
                b[k] = a[j]
                j += 1
                k += 1
            lo = hi
        a, b = b, a
        width *= 2
    return a


@njit(cache=True)
def team_start(free_at, shift_start, now):
    """:meth:`DispatchProblem.team_start`: ``max(max(free_at, shift_start), now)`` as
    ``np.maximum`` computes it (a NaN operand gives NaN)."""
    m = free_at.shape[0]
    start = np.empty(m, np.float64)
    for j in range(m):
        a = free_at[j]
        b = shift_start[j]
        x = a if (a >= b or a != a) else b
        start[j] = x if (x >= now or x != x) else now
    return start


@njit(cache=True, inline="always")
def sequential(legacy, b, record, out):
    """``nearest`` (or with ``legacy`` the ``legacy`` policy) on the :class:`Batch` ``b``:
    pinned tasks keep their team, re-offered ones stay where they are queued while they
    can (:func:`keep_current`), the others go in :func:`priority_order` through the
    task loop, which moves a copy of the team start times on (the record reads the
    original). Fills ``out`` and returns :func:`finish_core`'s ``(assigned, deferred,
    slot_pairs)``; without ``record`` only ``out.team`` (returns zeros)."""
    n = b.task_cell.shape[0]
    team = out.team
    for i in range(n):
        team[i] = b.task_pinned[i]  # pinned tasks keep their team, the others are -1
    order = priority_order(b.task_priority, b.task_deadline)
    why = np.zeros(n, np.int8)
    start0 = team_start(b.team_free_at, b.team_shift_start, b.now)
    start = start0.copy()
    cap = b.team_capacity.astype(np.int64)
    load = b.team_load.astype(np.int64)
    keep_current(b, order, start, cap, load, team)
    if legacy:
        legacy_loop(b, order, start, cap, load, team, why)
    else:
        nearest_loop(b, order, start, cap, team, why)
    if not record:  # the caller reads only `team`
        return 0, 0, 0
    return finish_core(why, order, start0, b, out)


@njit(cache=True)
def _no_flow(status, scale):
    # the FlowResult of a round that ran no flow
    return FlowResult(status, 0.0, 0, 0, 0, 0, 0, 0, 0, np.zeros(0, np.int64), scale)


@njit(cache=True, inline="always")
def mcf_small(b, flow, record, out):
    """``solve(p, "mcf")`` of a batch without pinned tasks: the scores
    (:func:`~._kernels.score_small`), the checks and cost scale of ``assign``, the
    candidate flow with pricing (the kernel of :func:`~._kernels.candidate_flow`) and
    the record (:func:`finish_core`, tasks in :func:`priority_order`), each the kernel
    the Python path calls, on the arrays it gives it. Returns an :class:`Outcome`; when
    its status is not OPTIMAL nothing is filled in (the caller takes the general
    path)."""
    n = b.task_cell.shape[0]
    m = b.team_free_at.shape[0]
    for i in range(n):
        if b.task_pinned[i] >= 0:
            return Outcome(PINNED, _no_flow(PINNED, flow.scale), 0, 0, 0)
    costs = np.empty((n, m), np.float32)
    offset = np.empty(m, np.float64)
    score_small(b.travel, b.task_cell, b.now, b.team_free_at, b.team_shift_start,
                b.team_shift_end, b.team_load, b.team_skills, b.task_skill, b.task_work,
                b.task_deadline, b.task_priority, b.task_current, b.w_travel, b.w_wait,
                b.w_lateness, b.w_balance, b.w_reassignment, offset, costs)
    defer = defer_costs(b.now, b.task_work, b.task_deadline, b.task_priority, b.w_lateness,
                        b.w_defer)
    capacity = b.team_capacity.astype(np.int64)
    # assign()'s checks and the finite entries of each row, in one pass over the scores
    cmax, bad, fstart, fcols = scan_finite(costs)
    for j in range(m):
        if not np.isfinite(offset[j]):
            bad = True
    if bad:
        scale = scale_for(cmax, n, capacity, defer, b.w_balance, flow.scale, flow.int_budget)
        return Outcome(BAD_COSTS, _no_flow(BAD_COSTS, scale), 0, 0, 0)
    scale, cmax = flow_scale(costs, cmax, n, capacity, defer, b.w_balance, flow)
    k, r, margin, repair_max = flow_knobs(flow, n, scale)
    got = _candidates_ssp(costs, fstart, fcols, capacity, defer, b.w_balance, cmax, offset,
                          scale, k, r, margin, repair_max, flow.max_rounds,
                          flow.budget_per_arc, out.team)
    if got.status != OPTIMAL or not record:  # without a record the caller reads `team`
        return Outcome(got.status, got, 0, 0, 0)
    start = team_start(b.team_free_at, b.team_shift_start, b.now)
    seq = priority_order(b.task_priority, b.task_deadline)
    assigned, deferred, pairs = finish_core(np.zeros(n, np.int8), seq, start, b, out)
    return Outcome(OPTIMAL, got, assigned, deferred, pairs)


# dispatch, sequential and mcf_small are inlined where they are called (Numba IR): a call
# that passes the records on costs about a tenth of a one-task round
@njit(cache=True, inline="always")
def dispatch(kind, b, flow, record, out):
    """One dispatch round of a built-in policy on the :class:`Batch` ``b``: ``out.team``
    (int32, length n) receives the teams the policy's
    :class:`~urbangrid.optimizer.Assignment` holds, computed by the kernel the policy
    calls, on the same arrays; with ``record`` the rest of ``out`` too (the record's
    arrays). ``nearest`` and ``legacy`` (``kind``) by :func:`sequential`; ``mcf`` by
    :func:`mcf_small` with the knobs of ``flow`` (:class:`~._kernels.FlowParams`) where
    ``solve`` takes that path: a batch of at most ``flow.max_tasks`` tasks and fewer
    than ``flow.max_elements`` task x team pairs, without pinned tasks.

    Returns an :class:`Outcome`: status OPTIMAL when ``out`` is filled, else why the
    policy takes another path for this batch (nothing filled in): NOT_SMALL, PINNED,
    or the flow's status (stopped before a proven optimum, bad costs).
    """
    n = b.task_cell.shape[0]
    m = b.team_free_at.shape[0]
    if kind == KIND_NEAREST or kind == KIND_LEGACY:
        assigned, deferred, pairs = sequential(kind == KIND_LEGACY, b, record, out)
        return Outcome(OPTIMAL, _no_flow(OPTIMAL, flow.scale), assigned, deferred, pairs)
    if kind != KIND_MCF or not (0 < n <= flow.max_tasks and 0 < m
                                and n * m < flow.max_elements):
        return Outcome(NOT_SMALL, _no_flow(NOT_SMALL, flow.scale), 0, 0, 0)
    return mcf_small(b, flow, record, out)


# dispatch_flat's argument runs (field counts of the records)
_BATCH_END = len(Batch._fields)
_FLOW_END = _BATCH_END + len(FlowParams._fields)


@njit(cache=True)
def dispatch_flat(kind, *fields):
    """:func:`dispatch` with a record, for a Python caller: the records flattened. The
    arguments are ``*batch, *flow, *out`` (:class:`Batch`, :class:`~._kernels.FlowParams`,
    :class:`Record`), the result is ``(status, assigned, deferred, slot_pairs,
    *flow_result)`` (``_common.compiled_round`` names the parts again): named tuples
    cross between Python and compiled code field by field through Python, ~1.5 us for a
    batch and as much for an :class:`Outcome`, half of a one-task ``nearest`` round."""
    got = dispatch(kind, Batch(*fields[:_BATCH_END]),
                   FlowParams(*fields[_BATCH_END:_FLOW_END]), True,
                   Record(*fields[_FLOW_END:]))
    f = got.flow
    return (got.status, got.assigned, got.deferred, got.slot_pairs, f.status, f.lower_bound,
            f.arcs_initial, f.arcs_slots, f.arcs_final, f.ssp_scans, f.flow_solves,
            f.pricing_rounds, f.incremental_rounds, f.negative_arcs, f.scale)


@njit(cache=True)
def decide_batch(kind, flow, b, team):
    """A built-in policy's teams for one snapshot, for a caller that is itself compiled:
    :func:`dispatch` without a record, ``kind`` and ``flow`` from the policy's
    ``compiled.CompiledPolicy``. Returns 0 when ``team`` (int32, length n) is filled,
    1 when the policy would take another path for this snapshot (the caller then calls
    the Python policy)."""
    out = Record(team, np.empty(0, np.float64), np.empty(0, np.int8),
                 np.empty(0, np.float64), np.empty(0, np.int32))
    return 0 if dispatch(kind, b, flow, False, out).status == OPTIMAL else 1


# This file's cached kernels embed the scoring and flow kernels of _kernels.py: drop them
# when that file changes (Numba's cache would not notice, see urbangrid._numba_cache).
forget_if_changed(decide_batch, __file__, [_kernels.__file__])
