"""Numba kernels of the per-call work every dispatch tick pays: the sequential policies'
task loops (``nearest``, ``legacy``), the final record (:func:`_common.finish`) and the
whole ``mcf`` solve of a small batch in one call (:func:`mcf_batch`).

The simulation calls a policy on small batches (a median of 3 tasks x 100 teams on
Jing'an), where a NumPy version spends its time in per-call overhead of dozens of small
array operations, not in arithmetic. Each kernel here does the same arithmetic as the
NumPy code it replaces, in the same order and in float64, so the results are bitwise
equal (``tests/optimizer/test_opt_fastpath.py`` compares them with the readable
versions kept in ``policies.py`` and ``_common.py``). Arrays and scalars only, so every
kernel also runs as plain Python under ``NUMBA_DISABLE_JIT=1``.

Reason codes are :class:`~urbangrid.optimizer.DeferReason` values, repeated as
constants because compiled code cannot read an enum.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from urbangrid._numba_cache import forget_if_changed

from . import _kernels
from ._kernels import assign_small, dense_network, flow_teams, score_small, skill_classes

_NO_QUALIFIED_TEAM = 1
_UNREACHABLE = 2
_OFF_SHIFT = 3
_NO_CAPACITY = 4
_CHEAPER_TO_DEFER = 5
_OUT_OF_AREA = 6
_IMAX = np.iinfo(np.int64).max


@njit(cache=True)
def _why_not(c, sk, travel, team_skills, start, end):
    """Why no team took a task: the first test failed by every team in
    ``qualified -> reachable -> arrives on shift``, else NO_CAPACITY (``nearest``;
    ``legacy_loop`` asks the same over its own area's teams)."""
    any_q = False
    any_reach = False
    any_shift = False
    for j in range(team_skills.shape[0]):
        if (team_skills[j] & sk) != sk:
            continue
        any_q = True
        t = np.float64(travel[j, c])
        if not np.isfinite(t):
            continue
        any_reach = True
        if start[j] + t <= end[j]:
            any_shift = True
    if not any_q:
        return _NO_QUALIFIED_TEAM
    if not any_reach:
        return _UNREACHABLE
    if not any_shift:
        return _OFF_SHIFT
    return _NO_CAPACITY


@njit(cache=True)
def nearest_loop(order, pinned, task_cell, task_skill, task_work, travel, team_skills, start,
                 end, cap, team, reason):
    """``nearest``: each task of ``order`` not pinned (``pinned < 0``) to the qualified
    team with capacity whose arrival ``start + travel`` is earliest and not after its
    shift end (first such team on ties); that team's ``start`` moves on by travel + work,
    its ``cap`` drops by one. ``team``/``reason``/``start``/``cap`` are updated in place."""
    m = team_skills.shape[0]
    for k in range(order.shape[0]):
        i = order[k]
        if pinned[i] >= 0:
            continue
        c = task_cell[i]
        sk = task_skill[i]
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
            start[bj] = start[bj] + np.float64(travel[bj, c]) + task_work[i]
        else:
            reason[i] = _why_not(c, sk, travel, team_skills, start, end)


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
def legacy_loop(order, pinned, task_cell, task_skill, task_work, task_area, travel,
                team_skills, team_area, start, end, cap, load, team, reason):
    """``legacy``: each task of ``order`` not pinned to the feasible team of its own area
    with the fewest queued tasks (``load``, first on ties), else to such a district-wide
    team (``team_area == -1``); ``load``/``start``/``cap``/``team``/``reason`` updated in
    place. Each task scans only its qualified teams (:func:`qualified_lists`), in index
    order as a scan of all teams that skips the others: on the backlog batches of an
    area-bound district (300 tasks, 400 teams, most tasks deferred) a third of the work."""
    cls, qstart, qteams = qualified_lists(task_skill, team_skills)
    for k in range(order.shape[0]):
        i = order[k]
        if pinned[i] >= 0:
            continue
        c = task_cell[i]
        ta = task_area[i]
        lo = qstart[cls[i]]
        hi = qstart[cls[i] + 1]
        bh = _IMAX
        jh = -1
        bw = _IMAX
        jw = -1
        for t in range(lo, hi):
            j = qteams[t]
            a = start[j] + np.float64(travel[j, c])
            if cap[j] <= 0 or not (a <= end[j] and a < np.inf):
                continue
            if team_area[j] == ta:
                if load[j] < bh:
                    bh = load[j]
                    jh = j
            elif team_area[j] == -1:
                if load[j] < bw:
                    bw = load[j]
                    jw = j
        j = jh if jh >= 0 else jw
        if j >= 0:
            load[j] += 1
            team[i] = j
            cap[j] -= 1
            start[j] = start[j] + np.float64(travel[j, c]) + task_work[i]
            continue
        # why not: as _why_not over the qualified teams of the task's area or
        # district-wide; OUT_OF_AREA when qualified teams exist only elsewhere
        any_local = False
        any_reach = False
        any_shift = False
        for t in range(lo, hi):
            j = qteams[t]
            if team_area[j] != ta and team_area[j] != -1:
                continue
            any_local = True
            tr = np.float64(travel[j, c])
            if not np.isfinite(tr):
                continue
            any_reach = True
            if start[j] + tr <= end[j]:
                any_shift = True
        if not any_local:
            reason[i] = _OUT_OF_AREA if hi > lo else _NO_QUALIFIED_TEAM
        elif not any_reach:
            reason[i] = _UNREACHABLE
        elif not any_shift:
            reason[i] = _OFF_SHIFT
        else:
            reason[i] = _NO_CAPACITY


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
def finish_core(team, pinned, given, seq, now, start, end, capacity, team_load, team_skills,
                task_skill, task_cell, task_work, task_deadline, task_priority, task_current,
                travel, cell_travel, use_cell_travel, w_travel, w_wait, w_lateness,
                w_balance, w_reassignment, w_defer, cost, reason, eta, pos):
    """The arrays of :func:`_common.finish` for one-crew assignments, filled in place:
    ``cost`` (pair score or defer cost), ``reason`` (``given`` where > 0, else derived
    from feasibility and the capacity left), ``eta`` and ``pos`` (each team works its
    tasks in the order of ``seq``, a permutation of all tasks). Returns ``(assigned,
    deferred, slot_pairs)`` with ``slot_pairs = sum(used * (used - 1) // 2)`` over the
    teams' batch loads. Same operations in the same order as the NumPy version."""
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
            t = np.float64(travel[j, c])
            code = _UNREACHABLE
            if np.isfinite(t):
                code = _OFF_SHIFT
                if start[j] + t <= end[j]:
                    code = _CHEAPER_TO_DEFER if capacity[j] - used[j] > 0 else _NO_CAPACITY
            # the best code any team reaches: the later the test a team passes, the
            # weaker the reason (CHEAPER_TO_DEFER > NO_CAPACITY > OFF_SHIFT > ...)
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
def mcf_small(travel, task_cell, now, free_at, shift_start, shift_end, team_load, team_skills,
              task_skill, task_work, task_deadline, task_priority, task_current, task_pinned,
              capacity, cell_travel, use_cell_travel, w_travel, w_wait, w_lateness, w_balance,
              w_reassignment, w_defer, k, scale, max_rounds, r, price_margin,
              incremental_max, budget_per_arc, int_budget, record, team, cost, reason, eta,
              pos):
    """``solve(p, "mcf")`` of a batch without pinned tasks, in one call: the scores
    (:func:`~._kernels.score_small`), the candidate flow with pricing
    (:func:`~._kernels.assign_small`) and the record (:func:`finish_core`, tasks in
    :func:`priority_order`), each the kernel the Python path calls, with the arrays that
    path gives it. ``team``, ``cost``, ``reason``, ``eta``, ``pos`` (length n) receive the
    record's arrays; without ``record`` only ``team`` is filled (the record's counts are
    then 0).

    Returns ``(status, bound, arcs_initial, arcs_slots, arcs_final, ssp_scans,
    flow_solves, rounds, incremental_rounds, negative_arcs, scale, assigned, deferred,
    slot_pairs)``; status 0 = done (the rest as :func:`~._kernels.assign_small` and
    :func:`finish_core` return them), 4 = a pinned task, else the flow kernel's status:
    in both cases nothing is filled in and the caller takes the general path.
    """
    n = task_cell.shape[0]
    m = free_at.shape[0]
    none = np.zeros(0, np.int64)
    for i in range(n):
        if task_pinned[i] >= 0:
            return 4, 0.0, 0, 0, 0, 0, 0, 0, 0, none, scale, 0, 0, 0
    costs = np.empty((n, m), np.float32)
    offset = np.empty(m, np.float64)
    score_small(travel, task_cell, now, free_at, shift_start, shift_end, team_load,
                team_skills, task_skill, task_work, task_deadline, task_priority,
                task_current, w_travel, w_wait, w_lateness, w_balance, w_reassignment,
                offset, costs)
    defer = defer_costs(now, task_work, task_deadline, task_priority, w_lateness, w_defer)
    (status, bound, arcs_initial, arcs_slots, arcs_final, scans, solves, rounds, incremental,
     negative, scale) = assign_small(costs, capacity.astype(np.int64), defer, w_balance, k,
                                     offset, scale, max_rounds, r, price_margin,
                                     incremental_max, budget_per_arc, int_budget, team)
    if status != 0:
        return status, 0.0, 0, 0, 0, 0, 0, 0, 0, none, scale, 0, 0, 0
    if not record:  # the caller reads only `team`
        return (0, bound, arcs_initial, arcs_slots, arcs_final, scans, solves, rounds,
                incremental, negative, scale, 0, 0, 0)
    start = team_start(free_at, shift_start, now)
    seq = priority_order(task_priority, task_deadline)
    assigned, deferred, pairs = finish_core(
        team, task_pinned, np.zeros(n, np.int8), seq, now, start, shift_end, capacity,
        team_load, team_skills, task_skill, task_cell, task_work, task_deadline,
        task_priority, task_current, travel, cell_travel, use_cell_travel, w_travel, w_wait,
        w_lateness, w_balance, w_reassignment, w_defer, cost, reason, eta, pos)
    return (0, bound, arcs_initial, arcs_slots, arcs_final, scans, solves, rounds, incremental,
            negative, scale, assigned, deferred, pairs)


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


@njit(cache=True)
def sequential(legacy, now, task_cell, task_skill, task_work, task_area, task_deadline,
               task_priority, task_current, task_pinned, travel, team_skills, team_area,
               free_at, shift_start, shift_end, capacity, team_load, cell_travel,
               use_cell_travel, w_travel, w_wait, w_lateness, w_balance, w_reassignment,
               w_defer, record, team, cost, reason, eta, pos):
    """``nearest`` (or with ``legacy`` the ``legacy`` policy) and its record in one call:
    what ``policies._sequential`` did with NumPy glue between :func:`priority_order`,
    the task loop and :func:`finish_core`, on the same arrays (the loop moves a copy of
    the team start times on, the record reads the original). ``team``, ``cost``,
    ``reason``, ``eta``, ``pos`` receive the record's arrays; returns ``finish_core``'s
    ``(assigned, deferred, slot_pairs)``. Without ``record`` only ``team`` is filled
    (returns zeros)."""
    n = task_cell.shape[0]
    for i in range(n):
        team[i] = task_pinned[i]  # pinned tasks keep their team, the others are -1
    order = priority_order(task_priority, task_deadline)
    why = np.zeros(n, np.int8)
    start0 = team_start(free_at, shift_start, now)
    start = start0.copy()
    cap = capacity.astype(np.int64)
    if legacy:
        legacy_loop(order, task_pinned, task_cell, task_skill, task_work, task_area, travel,
                    team_skills, team_area, start, shift_end, cap, team_load.astype(np.int64),
                    team, why)
    else:
        nearest_loop(order, task_pinned, task_cell, task_skill, task_work, travel,
                     team_skills, start, shift_end, cap, team, why)
    if not record:  # the caller reads only `team`
        return 0, 0, 0
    return finish_core(team, task_pinned, why, order, now, start0, shift_end, capacity,
                       team_load, team_skills, task_skill, task_cell, task_work,
                       task_deadline, task_priority, task_current, travel, cell_travel,
                       use_cell_travel, w_travel, w_wait, w_lateness, w_balance,
                       w_reassignment, w_defer, cost, reason, eta, pos)


@njit(cache=True)
def mcf_dense_arcs(travel, task_cell, now, free_at, shift_start, shift_end, team_load,
                   team_skills, task_skill, task_work, task_deadline, task_priority,
                   task_current, task_pinned, capacity, w_travel, w_wait, w_lateness,
                   w_balance, w_reassignment, w_defer, scale, int_budget):
    """First half of ``solve(p, "mcf_dense")`` (and of ``"mcf"`` when the candidates
    cover every team) for a batch without pinned tasks: the scores
    (:func:`~._kernels.score_small`) and the arcs OR-Tools gets
    (:func:`~._kernels.dense_network`), as the Python path builds them. Returns
    ``(status, scale, n_pairs, n_slots, tails, heads, caps, costs)``; status 0 = done,
    3 = NaN or -inf costs, 4 = a pinned task (the caller then takes the general path)."""
    n = task_cell.shape[0]
    m = free_at.shape[0]
    for i in range(n):
        if task_pinned[i] >= 0:
            e32 = np.zeros(0, np.int32)
            e64 = np.zeros(0, np.int64)
            return 4, scale, 0, 0, e32, e32, e64, e64
    costs = np.empty((n, m), np.float32)
    offset = np.empty(m, np.float64)
    score_small(travel, task_cell, now, free_at, shift_start, shift_end, team_load,
                team_skills, task_skill, task_work, task_deadline, task_priority,
                task_current, w_travel, w_wait, w_lateness, w_balance, w_reassignment,
                offset, costs)
    defer = defer_costs(now, task_work, task_deadline, task_priority, w_lateness, w_defer)
    ok, scale, n_pairs, n_slots, tails, heads, caps, arc_costs = dense_network(
        costs, capacity.astype(np.int64), defer, w_balance, scale, int_budget)
    return (0 if ok else 3), scale, n_pairs, n_slots, tails, heads, caps, arc_costs


@njit(cache=True)
def mcf_dense_record(flows, tails, heads, arc_costs, n_pairs, now, task_cell, free_at,
                     shift_start, shift_end, team_load, team_skills, task_skill, task_work,
                     task_deadline, task_priority, task_current, task_pinned, capacity,
                     travel, cell_travel, use_cell_travel, w_travel, w_wait, w_lateness,
                     w_balance, w_reassignment, w_defer, team, cost, reason, eta, pos):
    """Second half of :func:`mcf_dense_arcs`'s solve, after OR-Tools: each task's team
    (:func:`~._kernels.flow_teams`) and the record (:func:`finish_core`, tasks in
    :func:`priority_order`). Returns ``(scaled optimum, assigned, deferred,
    slot_pairs)``."""
    n = task_cell.shape[0]
    opt = flow_teams(flows, tails, heads, arc_costs, n_pairs, n, team)
    start = team_start(free_at, shift_start, now)
    seq = priority_order(task_priority, task_deadline)
    assigned, deferred, pairs = finish_core(
        team, task_pinned, np.zeros(n, np.int8), seq, now, start, shift_end, capacity,
        team_load, team_skills, task_skill, task_cell, task_work, task_deadline,
        task_priority, task_current, travel, cell_travel, use_cell_travel, w_travel, w_wait,
        w_lateness, w_balance, w_reassignment, w_defer, cost, reason, eta, pos)
    return opt, assigned, deferred, pairs


MODE_FLOW = 0
MODE_DENSE_ARCS = 1
MODE_DENSE_RECORD = 2


@njit(cache=True)
def mcf_batch(mode, travel, task_cell, now, free_at, shift_start, shift_end, team_load,
              team_skills, task_skill, task_work, task_deadline, task_priority, task_current,
              task_pinned, capacity, cell_travel, use_cell_travel, w_travel, w_wait,
              w_lateness, w_balance, w_reassignment, w_defer, k, scale, max_rounds, r,
              price_margin, incremental_max, budget_per_arc, int_budget, flows, tails, heads,
              arc_costs, n_pairs, team, cost, reason, eta, pos):
    """One entry point for :func:`mcf_small` (``mode`` MODE_FLOW), :func:`mcf_dense_arcs`
    (MODE_DENSE_ARCS) and :func:`mcf_dense_record` (MODE_DENSE_RECORD, given OR-Tools'
    ``flows`` on ``tails``, ``heads``, ``arc_costs`` with ``n_pairs`` pair arcs), so
    that a process loads one compiled library for every small ``mcf`` batch: each
    separately compiled kernel carries its own copy of the scoring and record code, and
    loading one from the cache costs ~3 ms per 100 lines of source (measured: the dense
    pair 21 ms on the simulation's first batch of <= 8 teams).

    Returns ``(status, bound, arcs_initial, arcs_slots, arcs_final, ssp_scans,
    flow_solves, rounds, incremental_rounds, negative_arcs, scale, assigned, deferred,
    slot_pairs, optimum, tails, heads, caps, costs)``, each field as the mode's kernel
    returns it, 0 or empty where it returns none.
    """
    e32 = np.zeros(0, np.int32)
    e64 = np.zeros(0, np.int64)
    if mode == MODE_FLOW:
        (status, bound, arcs_initial, arcs_slots, arcs_final, scans, solves, rounds,
         incremental, negative, scale, assigned, deferred, pairs) = mcf_small(
            travel, task_cell, now, free_at, shift_start, shift_end, team_load, team_skills,
            task_skill, task_work, task_deadline, task_priority, task_current, task_pinned,
            capacity, cell_travel, use_cell_travel, w_travel, w_wait, w_lateness, w_balance,
            w_reassignment, w_defer, k, scale, max_rounds, r, price_margin,
            incremental_max, budget_per_arc, int_budget, True, team, cost, reason, eta, pos)
        return (status, bound, arcs_initial, arcs_slots, arcs_final, scans, solves, rounds,
                incremental, negative, scale, assigned, deferred, pairs, 0, e32, e32, e64,
                e64)
    if mode == MODE_DENSE_ARCS:
        status, scale, n_pairs_out, n_slots, tails_out, heads_out, caps, costs_out = (
            mcf_dense_arcs(travel, task_cell, now, free_at, shift_start, shift_end,
                           team_load, team_skills, task_skill, task_work, task_deadline,
                           task_priority, task_current, task_pinned, capacity, w_travel,
                           w_wait, w_lateness, w_balance, w_reassignment, w_defer, scale,
                           int_budget))
        return (status, 0.0, n_pairs_out, n_slots, n_pairs_out, 0, 0, 0, 0, e64, scale, 0, 0,
                0, 0, tails_out, heads_out, caps, costs_out)
    opt, assigned, deferred, pairs = mcf_dense_record(
        flows, tails, heads, arc_costs, n_pairs, now, task_cell, free_at, shift_start,
        shift_end, team_load, team_skills, task_skill, task_work, task_deadline,
        task_priority, task_current, task_pinned, capacity, travel, cell_travel,
        use_cell_travel, w_travel, w_wait, w_lateness, w_balance, w_reassignment, w_defer,
        team, cost, reason, eta, pos)
    return (0, 0.0, 0, 0, 0, 0, 0, 0, 0, e64, scale, assigned, deferred, pairs, opt, e32,
            e32, e64, e64)


#: :func:`decide`'s policy kinds (``compiled.CompiledPolicy.kind``).
KIND_NEAREST = 1
KIND_LEGACY = 2
KIND_MCF = 3


@njit(cache=True)
def decide(kind, candidates, max_tasks, max_elements, scale, max_rounds, budget_per_arc,
           int_budget, now, task_cell, task_skill, task_work, task_area, task_deadline,
           task_priority, task_current, task_pinned, travel, team_skills, team_area, free_at,
           shift_start, shift_end, capacity, team_load, cell_travel, use_cell_travel,
           w_travel, w_wait, w_lateness, w_balance, w_reassignment, w_defer, team):
    """A built-in policy's teams for one snapshot, for a caller that is itself compiled
    (the simulation's event loop): ``team`` (int32, length n) receives what the policy's
    :class:`~urbangrid.optimizer.Assignment` would hold in ``team``, computed by the
    kernel the policy calls, on the same arrays, with the same constants
    (``compiled.CompiledPolicy`` carries them): ``nearest`` and ``legacy`` by
    :func:`sequential`, ``mcf`` by :func:`mcf_small` where ``solve`` takes that path.

    Returns 0 when ``team`` is filled; 1 when the policy would take another path for this
    snapshot (``mcf``: a batch beyond ``max_tasks`` / ``max_elements``, no team, a pinned
    task, or a flow that stopped before a proven optimum): the caller then calls the
    Python policy.
    """
    n = task_cell.shape[0]
    m = free_at.shape[0]
    # the record's arrays: never written without `record`
    cost = np.empty(0, np.float64)
    reason = np.empty(0, np.int8)
    eta = np.empty(0, np.float64)
    pos = np.empty(0, np.int32)
    if kind == KIND_NEAREST or kind == KIND_LEGACY:
        sequential(kind == KIND_LEGACY, now, task_cell, task_skill, task_work, task_area,
                   task_deadline, task_priority, task_current, task_pinned, travel,
                   team_skills, team_area, free_at, shift_start, shift_end, capacity,
                   team_load, cell_travel, use_cell_travel, w_travel, w_wait, w_lateness,
                   w_balance, w_reassignment, w_defer, False, team, cost, reason, eta, pos)
        return 0
    if kind != KIND_MCF or not (0 < n <= max_tasks and 0 < m and n * m < max_elements):
        return 1
    k = max(candidates, 1)
    got = mcf_small(travel, task_cell, now, free_at, shift_start, shift_end, team_load,
                    team_skills, task_skill, task_work, task_deadline, task_priority,
                    task_current, task_pinned, capacity, cell_travel, use_cell_travel,
                    w_travel, w_wait, w_lateness, w_balance, w_reassignment, w_defer, k,
                    scale, max_rounds, k, 0.0, max(64, n // 40), budget_per_arc, int_budget,
                    False, team, cost, reason, eta, pos)
    return 0 if got[0] == 0 else 1


# This file's cached kernels embed the scoring and flow kernels of _kernels.py: drop them
# when that file changes (Numba's cache would not notice, see urbangrid._numba_cache).
forget_if_changed(decide, __file__, [_kernels.__file__])
