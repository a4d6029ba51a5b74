"""Numba kernels: scoring, candidate selection, pricing, potentials, the candidate flow,
greedy; and the records they read and return (:class:`FlowParams`, :class:`FlowResult`).

Arrays, scalars and named tuples of those only (no ``numba.typed`` containers) so that
every kernel also runs as plain Python under ``NUMBA_DISABLE_JIT=1``; ``scoring.py`` and
``assignment.py`` wrap them and the tests compare each with a plain-Python reference.
The records are defined here, beside the kernels that read their fields, because a
compiled caller's cache is dropped when this file changes (``urbangrid._numba_cache``),
not when another one does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from urbangrid.errors import InputError

INF32 = np.float32(np.inf)


# Every row kernel below has two drivers: a ``prange`` one (parallel=True) for big
# matrices and a serial one for the small per-tick batches, where waking the thread pool
# costs more than the work (~1 ms per call on a busy 2-core machine).
PARALLEL_MIN_ELEMENTS = 1_000_000


class _FlowFields(NamedTuple):
    candidates: int
    price_add: int
    price_margin: float
    scale: float
    max_rounds: int
    incremental_max: int
    budget_per_arc: int
    int_budget: float
    max_tasks: int
    max_elements: int


class FlowParams(_FlowFields):
    """The knobs of the min-cost flow, shared by :func:`~urbangrid.optimizer.assign`,
    :func:`~urbangrid.optimizer.solve` and the policies' compiled form.

    A named tuple of numbers, checked on construction, so that compiled code takes it
    whole. None of the knobs changes the optimum, only how fast it is reached (and
    ``scale`` the rounding of the costs).

    Parameters
    ----------
    candidates
        Candidate teams per task in the first flow solve (>= 1): the ``candidates`` cheapest
        feasible teams, plus as many cheapest after subtracting the column offset (see
        :func:`~urbangrid.optimizer.assign`). Pricing adds any other arc that can improve,
        so the result is exact whatever this is. With at least as many candidates as teams
        every feasible pair is a candidate and pricing has nothing to add. CP-SAT also
        gives each task this many teams.
    price_add
        Arcs added per task and pricing round (the most negative ones); 0 (default): as
        many as ``candidates``.
    price_margin
        Pricing also brings along arcs whose reduced cost is below this margin (in cost
        units) for tasks that have a negative one, anticipating price moves.
    scale
        Integer cost resolution: costs are rounded to ``1 / scale`` (default 0.01
        seconds-equivalent), lowered when needed so that no intermediate value can
        overflow int64 (``int_budget``).
    max_rounds
        Pricing rounds before switching to the dense solve.
    incremental_max
        When a pricing round adds at most this many arcs, the flow is repaired in place
        (a bounded Dijkstra per new arc cancels any negative cycle it closes and updates
        the potentials) instead of being solved again. -1 (default):
        ``max(64, n_free_tasks // 40)``: a repair search can cover much of the graph (many
        reduced costs are zero), so a handful of arcs is cheaper to repair and thousands
        are cheaper to re-solve.
    budget_per_arc
        Arc scans per arc after which the compiled shortest paths give up and OR-Tools
        solves (congested networks, where each search crosses most of the graph).
    int_budget
        Bound on ``|cost| * scale * (nodes + 1) * (tasks + 1)`` (int64 max is 9.2e18).
    max_tasks
        Largest batch (free tasks) solved by compiled successive shortest paths; larger
        ones go to OR-Tools (``flow_solver="auto"``). Also the largest batch the
        one-call paths (:func:`~urbangrid.optimizer.solve`'s small batches, a compiled
        policy's rounds) take.
    max_elements
        The one-call paths also need fewer than this many task x team pairs (they run
        serial kernels; larger batches use the parallel ones).

    Raises
    ------
    InputError
        A knob of the wrong kind or out of range, named.
    """

    __slots__ = ()

    def __new__(cls, candidates: int = 8, price_add: int = 0, price_margin: float = 0.0,
                scale: float = 100.0, max_rounds: int = 25, incremental_max: int = -1,
                budget_per_arc: int = 40, int_budget: float = 2.0**61, max_tasks: int = 1000,
                max_elements: int = PARALLEL_MIN_ELEMENTS) -> FlowParams:
        ints = {"candidates": (candidates, 1), "price_add": (price_add, 0),
                "max_rounds": (max_rounds, 0), "incremental_max": (incremental_max, -1),
                "budget_per_arc": (budget_per_arc, 0), "max_tasks": (max_tasks, 0),
                "max_elements": (max_elements, 0)}
        for name, (v, low) in ints.items():
            # whole numbers only (a bool would also type differently in compiled code)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < low:
                raise InputError(f"FlowParams.{name} must be an integer >= {low}, got {v!r}")
        floats = {"price_margin": (price_margin, True), "scale": (scale, False),
                  "int_budget": (int_budget, False)}
        for name, (v, zero_ok) in floats.items():
            ok = isinstance(v, int | float | np.integer | np.floating) and not isinstance(
                v, bool) and np.isfinite(v) and (v >= 0 if zero_ok else v > 0)
            if not ok:
                raise InputError(f"FlowParams.{name} must be finite and "
                                 f"{'>= 0' if zero_ok else '> 0'}, got {v!r}")
        return super().__new__(cls, int(candidates), int(price_add), float(price_margin),
                               float(scale), int(max_rounds), int(incremental_max),
                               int(budget_per_arc), float(int_budget), int(max_tasks),
                               int(max_elements))

    @classmethod
    def _make(cls, iterable) -> FlowParams:
        # namedtuple's _replace builds through _make: check the new values too
        return cls(*iterable)

    def replace(self, **changes) -> FlowParams:
        """A copy with ``changes`` applied (checked as on construction)."""
        return self._replace(**changes)


def checked_time_limit(value, name: str = "time_limit") -> float | None:
    """``value`` as a time limit in seconds: None (no limit) or a number > 0, else
    :class:`InputError` naming ``name``. The one check of :func:`~urbangrid.optimizer.solve`,
    :func:`~urbangrid.optimizer.assign`, the ``mcf`` policies and ``urbangrid dispatch
    --time-limit``, so that none accepts a limit another refuses (a limit of 0 or less
    would end every solve before it starts)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InputError(f"{name} must be a number of seconds > 0 or None, got {value!r}")
    if not value > 0:  # NaN fails too
        raise InputError(f"{name} must be > 0 seconds, got {value!r}")
    return float(value)


class FlowResult(NamedTuple):
    """What the compiled candidate flow (:func:`candidate_flow`) returns.

    ``status``: :data:`OPTIMAL` (proven optimal: pricing found no negative arc),
    :data:`STOPPED` (not finished here: the shortest paths ran over budget or
    ``max_rounds`` pricing rounds were reached; the caller runs the Python loop, which
    switches to OR-Tools or the dense solve at the same point), :data:`NO_PATH` (a task
    without a path to the sink; cannot happen, every task has a defer arc) or
    :data:`BAD_COSTS` (NaN or -inf costs, a non-finite column offset). The other fields
    hold where the flow got to: its lower bound (optimum of the rounded costs minus
    their rounding), arc counts, shortest-path scans, flow solves, pricing rounds,
    in-place repairs, the negative arcs each round found and the cost scale used.
    """

    status: int
    lower_bound: float
    arcs_initial: int
    arcs_slots: int
    arcs_final: int
    ssp_scans: int
    flow_solves: int
    pricing_rounds: int
    incremental_rounds: int
    negative_arcs: np.ndarray
    scale: float


#: :attr:`FlowResult.status` values.
OPTIMAL, STOPPED, NO_PATH, BAD_COSTS = range(4)


# fast-math without "nnan"/"ninf": infinities mark infeasible pairs and must survive
_FASTMATH = {"contract", "reassoc", "nsz", "arcp"}


@njit(cache=True)
def skill_classes(task_skill):  # pragma: no cover - compiled
    """Tasks with equal skill masks form a class: ``(cls int64[n], masks int64[k])``,
    task ``i``'s mask is ``masks[cls[i]]``, classes in first-seen order. A batch has few
    (one per skill combination), so a linear search finds each task's."""
    n = task_skill.shape[0]
    cls = np.empty(n, np.int64)
    masks = np.empty(n, np.int64)
    k = 0
    last = -1
    for i in range(n):
        sk = task_skill[i]
        if last >= 0 and masks[last] == sk:
            cls[i] = last
            continue
        c = -1
        for q in range(k):
            if masks[q] == sk:
                c = q
                break
        if c < 0:
            masks[k] = sk
            c = k
            k += 1
        cls[i] = c
        last = c
    return cls, masks[:k]


@njit(cache=True)
def skill_reach(task_skill, team_skills, reach):
    """Fold the skill test into the reach test: ``(cls int32[n], table float32[k, m])``.

    ``cls`` are the tasks' :func:`skill_classes`; ``table[c, j]`` is team ``j``'s reach
    (longest feasible travel) if it has every skill of class ``c``, else ``-inf``. The
    scoring loop then needs one float32 compare per pair, ``travel <= table[cls[i], j]``,
    instead of an int64 mask test that halves its SIMD width.
    """
    m = team_skills.shape[0]
    cls, masks = skill_classes(task_skill)
    k = masks.shape[0]
    table = np.empty((k, m), np.float32)
    for q in range(k):
        sk = masks[q]
        for j in range(m):
            table[q, j] = reach[j] if (team_skills[j] & sk) == sk else -INF32
    return cls.astype(np.int32), table


@njit(cache=True, inline="always", fastmath=_FASTMATH)
def _score_row(trow, team_start, team_base, rrow, slack, wl, cur, w_travel, w_reassign,
               orow):
    # float32 throughout (times are relative to now): the loop is compute-bound, and
    # float32 doubles the SIMD width; scores keep ~7 significant digits. ``rrow`` is the
    # task's skill class row of :func:`skill_reach` (skills and shift end in one compare).
    m = trow.shape[0]
    zero = np.float32(0.0)
    extra = w_reassign if cur >= 0 else zero
    # branch-free body so that the loop vectorises; the reassignment term is added to
    # every team and taken back for the current one below
    for j in range(m):
        tr = trow[j]
        late = max(team_start[j] + tr + slack, zero)
        c = w_travel * tr + team_base[j] + wl * late + extra
        orow[j] = c if tr <= rrow[j] else INF32
    if cur >= 0 and orow[cur] < INF32:
        tr = trow[cur]
        late = max(team_start[cur] + tr + slack, zero)
        orow[cur] = w_travel * tr + team_base[cur] + wl * late


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def _score_par(row_of_task, table, team_start, team_base, cls, reach, task_slack,
               task_wlate, task_current, w_travel, w_reassign, out):
    for i in prange(row_of_task.shape[0]):
        _score_row(table[row_of_task[i]], team_start, team_base, reach[cls[i]],
                   task_slack[i], task_wlate[i], task_current[i], w_travel, w_reassign,
                   out[i])


@njit(cache=True, fastmath=_FASTMATH)
def _score_seq(row_of_task, table, team_start, team_base, cls, reach, task_slack,
               task_wlate, task_current, w_travel, w_reassign, out):
    for i in range(row_of_task.shape[0]):
        _score_row(table[row_of_task[i]], team_start, team_base, reach[cls[i]],
                   task_slack[i], task_wlate[i], task_current[i], w_travel, w_reassign,
                   out[i])


def score_stream(row_of_task, table, team_start, team_base, team_end, team_skills,
                 task_skill, task_slack, task_wlate, task_current, w_travel, w_reassign, out):
    """Fill ``out[i, j]`` with the score of task ``i`` x team ``j`` (inf if infeasible).

    ``table[u, j]`` is the travel from team ``j`` to the ``u``-th batch cell and
    ``row_of_task[i]`` the task's row in it; team times are relative to ``now``
    (``team_start``, ``team_end``), ``team_base`` holds the wait + load terms,
    ``task_slack = work - (deadline - now)``, ``task_wlate = lateness weight x priority``.
    Each task streams once over one contiguous table row and the per-team arrays and
    writes one contiguous output row: no per-element gather from the team x cell matrix.
    """
    f32 = np.float32
    cls, reach = skill_reach(task_skill, team_skills, _conservative_reach(team_start, team_end))
    f = _score_par if out.size >= PARALLEL_MIN_ELEMENTS else _score_seq
    f(row_of_task, table, team_start.astype(f32), team_base.astype(f32), cls, reach,
      task_slack.astype(f32), task_wlate.astype(f32), task_current, f32(w_travel),
      f32(w_reassign), out)
    return out


@njit(cache=True)
def score_small(travel, task_cell, now, free_at, shift_start, shift_end, team_load,
                team_skills, task_skill, task_work, task_deadline, task_priority,
                task_current, w_travel, w_wait, w_lateness, w_balance, w_reassign, base,
                out):
    """:func:`urbangrid.optimizer.score` for a small batch in one call: the team and task
    terms (float64, in the order ``scoring`` computes them with NumPy), the per-task
    travel rows, the skill classes, then the same row kernel (:func:`_score_seq`), so
    the matrix is bitwise that of :func:`score_stream`. ``base`` (float64[m]) receives
    the team offsets (wait + load terms, ``scoring.team_offset``)."""
    n = task_cell.shape[0]
    m = free_at.shape[0]
    f32 = np.float32
    start32 = np.empty(m, f32)
    base32 = np.empty(m, f32)
    reach = np.empty(m, f32)
    for j in range(m):
        a = free_at[j]
        b = shift_start[j]
        x = a if (a >= b or a != a) else b  # np.maximum, NaN kept
        x = x if (x >= now or x != x) else now
        st = x - now
        bj = w_wait * st + w_balance * team_load[j]
        base[j] = bj
        start32[j] = f32(st)
        base32[j] = f32(bj)
        # _conservative_reach: rounded down so that float32 feasibility implies float64
        r64 = (shift_end[j] - now) - st
        r = f32(r64)
        if np.float64(r) > r64:
            r = np.nextafter(r, f32(-np.inf))
        reach[j] = r
    slack32 = np.empty(n, f32)
    wlate32 = np.empty(n, f32)
    table = np.empty((n, m), f32)
    rows = np.empty(n, np.int32)
    for i in range(n):
        slack32[i] = f32(task_work[i] - (task_deadline[i] - now))
        wlate32[i] = f32(w_lateness * task_priority[i])
        rows[i] = i
        c = task_cell[i]
        for j in range(m):
            table[i, j] = travel[j, c]
    cls, rtab = skill_reach(task_skill, team_skills, reach)
    _score_seq(rows, table, start32, base32, cls, rtab, slack32, wlate32, task_current,
               f32(w_travel), f32(w_reassign), out)


def _conservative_reach(team_start, team_end):
    # arrival <= end  <=>  travel <= end - start: one compare per element. Rounded down
    # to float32 so that a pair feasible here is feasible in float64 arithmetic too.
    reach64 = team_end - team_start
    reach = reach64.astype(np.float32)
    up = reach.astype(np.float64) > reach64
    reach[up] = np.nextafter(reach[up], np.float32(-np.inf))
    return reach


@njit(cache=True)
def _gather_seq(travel, cells, out):
    for u in range(cells.shape[0]):
        c = cells[u]
        row = out[u]
        for j in range(travel.shape[0]):
            row[j] = travel[j, c]


@njit(cache=True, parallel=True)
def _gather_par(travel, cells, out):
    for u in prange(cells.shape[0]):
        c = cells[u]
        row = out[u]
        for j in range(travel.shape[0]):
            row[j] = travel[j, c]


def gather_table(travel, cells, out):
    """``out[u, j] = travel[j, cells[u]]``: the per-batch cell x team table. With sorted
    ``cells`` neighbouring rows read neighbouring columns, so the strided reads reuse
    cache lines, which beats reading ``travel`` along its rows block by block."""
    f = _gather_par if out.size >= PARALLEL_MIN_ELEMENTS else _gather_seq
    f(travel, cells, out)
    return out


@njit(cache=True, inline="always")
def _insert(best_v, best_j, cnt, k, v, j):
    """Insert ``(v, j)`` into the ascending buffer of ``cnt`` entries (capacity ``k``);
    equal values keep index order. Returns the new count."""
    if cnt == k and v >= best_v[k - 1]:
        return cnt
    p = cnt if cnt < k else k - 1
    while p > 0 and best_v[p - 1] > v:
        if p < k:
            best_v[p] = best_v[p - 1]
            best_j[p] = best_j[p - 1]
        p -= 1
    best_v[p] = v
    best_j[p] = j
    return cnt + 1 if cnt < k else cnt


@njit(cache=True)
def _topk_row(row, k, offset, out_row, best_v, best_j):
    # best_v / best_j: caller's scratch buffers of length k (no allocation per row)
    best_j[:] = -1
    cnt = 0
    # thr: k-th best so far. One well-predicted compare rejects most entries, infeasible
    # ones included (inf - offset = inf is never < thr)
    thr = np.inf
    for j in range(row.shape[0]):
        v = np.float64(row[j]) - offset[j]
        if v < thr:
            cnt = _insert(best_v, best_j, cnt, k, v, j)
            if cnt == k:
                thr = best_v[k - 1]
    for t in range(k):
        out_row[t] = best_j[t] if t < cnt else -1


@njit(cache=True)
def _cand_row(row, k, offset, zero, out_row, best_v, best_j, second):
    # the k cheapest, then the k cheapest after the offset that are not already in
    _topk_row(row, k, zero, out_row[:k], best_v, best_j)
    _topk_row(row, k, offset, second, best_v, best_j)
    _merge_second(out_row, second, k)


@njit(cache=True)
def _merge_second(out_row, second, k):
    # append the columns of ``second`` not already among the first k of ``out_row``,
    # then pad with -1
    w = k
    for t in range(k):
        j = second[t]
        if j < 0:
            break
        dup = False
        for u in range(k):
            if out_row[u] == j:
                dup = True
                break
        if not dup:
            out_row[w] = j
            w += 1
    for t in range(w, out_row.shape[0]):
        out_row[t] = -1


@njit(cache=True, parallel=True)
def _cand_par(cost, k, offset, out):
    zero = np.zeros(offset.shape[0])
    for i in prange(cost.shape[0]):
        _cand_row(cost[i], k, offset, zero, out[i], np.empty(k), np.empty(k, np.int32),
                  np.empty(k, np.int32))


@njit(cache=True)
def _cand_seq(cost, k, offset, out):
    zero = np.zeros(offset.shape[0])
    best_v = np.empty(k)
    best_j = np.empty(k, np.int32)
    second = np.empty(k, np.int32)
    for i in range(cost.shape[0]):
        _cand_row(cost[i], k, offset, zero, out[i], best_v, best_j, second)


def candidate_rows(cost, k, offset, out):
    """``out[i]`` (width ``2k``): the ``k`` cheapest feasible teams of task ``i``, then,
    without repeats, the ``k`` cheapest by ``cost[i, j] - offset[j]``; -1 padded."""
    f = _cand_par if cost.size >= PARALLEL_MIN_ELEMENTS else _cand_seq
    f(cost, int(k), np.asarray(offset, np.float64), out)
    return out


@njit(cache=True)
def _scan_row(row):
    # largest finite |value|, and whether a NaN or -inf occurs
    best = 0.0
    bad = False
    for j in range(row.shape[0]):
        v = np.float64(row[j])
        a = abs(v)
        if a < np.inf:
            if a > best:
                best = a
        elif not v > 0:  # NaN or -inf
            bad = True
    return best, bad


@njit(cache=True)
def _scan_seq(cost):
    best = 0.0
    bad = False
    for i in range(cost.shape[0]):
        b, x = _scan_row(cost[i])
        best = max(best, b)
        bad = bad or x
    return best, bad


@njit(cache=True, parallel=True)
def _scan_par(cost):
    n = cost.shape[0]
    part = np.zeros(n)
    flag = np.zeros(n, np.bool_)
    for i in prange(n):
        part[i], flag[i] = _scan_row(cost[i])
    return part.max(), flag.any()


def scan_costs(cost) -> tuple[float, bool]:
    """One pass over a cost matrix: ``(largest finite |cost| (0 if none), has NaN or
    -inf)``."""
    if cost.size == 0:
        return 0.0, False
    f = _scan_par if cost.size >= PARALLEL_MIN_ELEMENTS else _scan_seq
    best, bad = f(cost)
    return float(best), bool(bad)


@njit(cache=True)
def scale_cost(c, scale):
    """The integer cost the flow solver sees for a float score (round half up)."""
    return np.int64(np.floor(np.float64(c) * scale + 0.5))


@njit(cache=True, inline="always")
def _price_arc(row, j, scale, pi, pot_team, skip_j, reject, margin, r, best_v, best_j, cnt,
               neg):  # pragma: no cover - compiled
    """Price arc ``i -> j`` of one row: keep it in the ``r`` best when its reduced cost is
    below ``margin``; returns the updated ``(cnt, neg)``."""
    v = row[j]
    # a float estimate rejects most arcs before the exact integer reduced cost; one
    # well-predicted branch: infeasible pairs (inf) fail it too
    if not np.float64(v) * scale - np.float64(pot_team[j]) < reject or j == skip_j:
        return cnt, neg
    rc = scale_cost(v, scale) + pi - pot_team[j]
    if rc >= margin:
        return cnt, neg
    if rc < 0:
        neg += 1
    return _insert(best_v, best_j, cnt, r, rc, j), neg


@njit(cache=True, inline="always")
def _price_out(best_j, cnt, neg, r, out_row):  # pragma: no cover - compiled
    """A row's picked arcs (none when no arc is negative), -1 padded."""
    if neg == 0:
        cnt = 0
    for t in range(r):
        out_row[t] = best_j[t] if t < cnt else -1


@njit(cache=True)
def _price_row(row, scale, pi, pot_team, skip_j, r, margin, out_row):
    best_v = np.zeros(r, np.int64)
    best_j = np.full(r, -1, np.int32)
    cnt = 0
    neg = 0
    reject = np.float64(margin) + 1.0 - np.float64(pi)
    for j in range(row.shape[0]):
        cnt, neg = _price_arc(row, j, scale, pi, pot_team, skip_j, reject, margin, r,
                              best_v, best_j, cnt, neg)
    _price_out(best_j, cnt, neg, r, out_row)
    return neg


@njit(cache=True, parallel=True)
def _price_par(cost, scale, pot_task, pot_team, team_of, skip, r, margin, out):
    n = cost.shape[0]
    count = np.zeros(n, np.int64)
    for i in prange(n):
        if skip[i]:
            out[i, :] = -1
        else:
            count[i] = _price_row(cost[i], scale, pot_task[i], pot_team, team_of[i], r,
                                  margin, out[i])
    return count


@njit(cache=True)
def _price_seq(cost, scale, pot_task, pot_team, team_of, skip, r, margin, out):
    n = cost.shape[0]
    count = np.zeros(n, np.int64)
    for i in range(n):
        if skip[i]:
            out[i, :] = -1
        else:
            count[i] = _price_row(cost[i], scale, pot_task[i], pot_team, team_of[i], r,
                                  margin, out[i])
    return count


def price_rows(cost, scale, pot_task, pot_team, team_of, skip, r, margin, out):
    """Pricing: count each task's arcs with negative reduced cost and pick arcs to add.

    The reduced cost of arc ``i -> j`` is ``c_ij + pot_task[i] - pot_team[j]`` in scaled
    integers. The arc carrying the task's flow (``j == team_of[i]``) and rows with
    ``skip[i]`` are left out. For a task with at least one negative arc, ``out[i]``
    receives its ``r`` arcs of smallest reduced cost below ``margin`` (so near-zero arcs
    that may turn negative once prices move come along), most negative first, -1 padded;
    rows without a negative arc get -1 only. Returns the negative-arc count per task.
    """
    f = _price_par if cost.size >= PARALLEL_MIN_ELEMENTS else _price_seq
    return f(cost, float(scale), pot_task, pot_team, team_of, skip, int(r), np.int64(margin),
             out)


@njit(cache=True)
def potentials(n_nodes, tail, head, cost):
    """Shortest-path distances from a virtual root (0-cost arc to every node) over the
    arcs ``tail -> head`` (int64 costs), by FIFO label correcting (Bellman-Ford-Moore).

    On the residual graph of an optimal flow these are valid node potentials: every
    residual arc then has ``cost + d[tail] - d[head] >= 0``. Returns ``(d, ok)``; ``ok`` is
    False if a negative cycle exists (the flow was not optimal).
    """
    n_arcs = tail.shape[0]
    # CSR adjacency by tail
    start = np.zeros(n_nodes + 1, np.int64)
    for a in range(n_arcs):
        start[tail[a] + 1] += 1
    for v in range(n_nodes):
        start[v + 1] += start[v]
    fill = start[:-1].copy()
    adj = np.empty(n_arcs, np.int64)
    for a in range(n_arcs):
        adj[fill[tail[a]]] = a
        fill[tail[a]] += 1
    d = np.zeros(n_nodes, np.int64)
    in_queue = np.ones(n_nodes, np.bool_)
    passes = np.zeros(n_nodes, np.int64)
    queue = np.empty(n_nodes + 1, np.int64)
    for v in range(n_nodes):
        queue[v] = v
    qh = 0
    qt = n_nodes
    size = n_nodes
    cap = n_nodes + 1
    while size > 0:
        u = queue[qh]
        qh = (qh + 1) % cap
        size -= 1
        in_queue[u] = False
        passes[u] += 1
        if passes[u] > n_nodes + 1:
            return d, False
        du = d[u]
        for e in range(start[u], start[u + 1]):
            a = adj[e]
            v = head[a]
            nd = du + cost[a]
            if nd < d[v]:
                d[v] = nd
                if not in_queue[v]:
                    in_queue[v] = True
                    queue[qt] = v
                    qt = (qt + 1) % cap
                    size += 1
    return d, True


@njit(cache=True, inline="always")
def _heap_push(hk, hv, size, key, v):
    i = size
    hk[i] = key
    hv[i] = v
    while i > 0:
        parent = (i - 1) >> 1
        if hk[parent] <= hk[i]:
            break
        hk[parent], hk[i] = hk[i], hk[parent]
        hv[parent], hv[i] = hv[i], hv[parent]
        i = parent
    return size + 1


@njit(cache=True, inline="always")
def _heap_pop(hk, hv, size):
    key = hk[0]
    v = hv[0]
    size -= 1
    hk[0] = hk[size]
    hv[0] = hv[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and hk[c + 1] < hk[c]:
            c += 1
        if hk[i] <= hk[c]:
            break
        hk[c], hk[i] = hk[i], hk[c]
        hv[c], hv[i] = hv[i], hv[c]
        i = c
    return key, v, size


@njit(cache=True)
def _half_arcs(n_nodes, tail, head):
    """Residual adjacency as half-arcs: ``2e`` = arc ``e`` forward out of ``tail[e]``,
    ``2e+1`` = arc ``e`` backward out of ``head[e]``; node ``v``'s half-arcs are
    ``half[start[v]:start[v + 1]]``."""
    n_arcs = tail.shape[0]
    start = np.zeros(n_nodes + 1, np.int64)
    for e in range(n_arcs):
        start[tail[e] + 1] += 1
        start[head[e] + 1] += 1
    for v in range(n_nodes):
        start[v + 1] += start[v]
    fill = start[:-1].copy()
    half = np.empty(2 * n_arcs, np.int64)
    for e in range(n_arcs):
        half[fill[tail[e]]] = 2 * e
        fill[tail[e]] += 1
        half[fill[head[e]]] = 2 * e + 1
        fill[head[e]] += 1
    return start, half


@njit(cache=True)
def _scratch(n_nodes, n_arcs):
    # labels (clean: dist = int64 max), settled flags, predecessors, touched / settled
    # lists and the heap (keys, nodes); a search pushes at most once per half-arc
    big = np.iinfo(np.int64).max
    return (np.full(n_nodes, big, np.int64), np.zeros(n_nodes, np.bool_),
            np.full(n_nodes, -1, np.int64), np.empty(n_nodes, np.int64),
            np.empty(n_nodes, np.int64), np.empty(2 * n_arcs + n_nodes + 1, np.int64),
            np.empty(2 * n_arcs + n_nodes + 1, np.int64))


@njit(cache=True, inline="always")
def _search(src, dst, bound, start, half, tail, head, cost, cap, flow, active, d, dist,
            settled, pred, touched, done, hk, hv):
    """Dijkstra on reduced costs ``cost + d[x] - d[y]`` over the residual half-arcs (arcs
    with ``active`` False left out) from ``src`` until ``dst`` is settled or the keys reach
    ``bound``. ``dist``/``settled``/``pred`` must be clean on entry (see :func:`_finish`).
    Returns ``(found, n_touched, n_done, scans)``: ``touched[:n_touched]`` got a label,
    ``done[:n_done]`` were settled, ``scans`` half-arcs were looked at."""
    big = np.iinfo(np.int64).max
    n_touched = 1
    n_done = 0
    scans = 0
    dist[src] = 0
    touched[0] = src
    size = _heap_push(hk, hv, 0, 0, src)
    while size > 0:
        k, x, size = _heap_pop(hk, hv, size)
        if settled[x] or k > dist[x]:
            continue
        if k >= bound:
            break
        settled[x] = True
        done[n_done] = x
        n_done += 1
        if x == dst:
            return True, n_touched, n_done, scans
        dx = d[x]
        scans += start[x + 1] - start[x]
        for h in range(start[x], start[x + 1]):
            hh = half[h]
            e = hh >> 1
            if hh & 1 == 0:
                if not active[e] or flow[e] >= cap[e]:
                    continue
                y = head[e]
                c = cost[e]
            else:
                if flow[e] <= 0:
                    continue
                y = tail[e]
                c = -cost[e]
            if settled[y]:
                continue
            nd = k + c + dx - d[y]
            if nd < dist[y] and nd < bound:
                if dist[y] == big:
                    touched[n_touched] = y
                    n_touched += 1
                dist[y] = nd
                pred[y] = hh
                size = _heap_push(hk, hv, size, nd, y)
    return False, n_touched, n_done, scans


@njit(cache=True, inline="always")
def _finish(src, dst, found, level, n_touched, n_done, tail, head, flow, d, dist, settled,
            pred, touched, done):
    """After :func:`_search`: lower the potentials of the nodes settled below ``level``
    (``d[x] += dist[x] - level``, which keeps every reduced cost >= 0), push one unit
    along the path ``src -> dst`` if ``found``, and clean the scratch labels."""
    big = np.iinfo(np.int64).max
    for q in range(n_done):
        x = done[q]
        if dist[x] < level:
            d[x] += dist[x] - level
    if found:
        y = dst
        while y != src:
            hh = pred[y]
            e = hh >> 1
            if hh & 1 == 0:
                flow[e] += 1
                y = tail[e]
            else:
                flow[e] -= 1
                y = head[e]
    for q in range(n_touched):
        x = touched[q]
        dist[x] = big
        settled[x] = False
        pred[x] = -1


@njit(cache=True)
def cancel_negative_arcs(n_nodes, tail, head, cost, cap, flow, d, new_arcs):
    """Make a min-cost flow optimal again after adding arcs, without a re-solve.

    On entry ``flow`` is optimal and ``d`` are valid potentials (every residual arc has
    reduced cost ``cost + d[tail] - d[head] >= 0``) for all arcs except those listed in
    ``new_arcs`` (flow 0). Each new arc ``u -> v`` with negative reduced cost ``rc`` in
    turn: a Dijkstra from ``v`` on reduced costs, bounded at ``-rc``, either reaches ``u``
    (a negative cycle: push one unit round it) or proves there is none; the potentials
    are then updated so that every active residual arc, the new one included, has a
    non-negative reduced cost again (Ahuja, Magnanti & Orlin 1993, ch. 9). ``flow`` and
    ``d`` are updated in place. Returns ``(units_pushed, searches, nodes_settled)``.
    """
    start, half = _half_arcs(n_nodes, tail, head)
    active = np.ones(tail.shape[0], np.bool_)
    for t in range(new_arcs.shape[0]):
        active[new_arcs[t]] = False
    dist, settled, pred, touched, done, hk, hv = _scratch(n_nodes, tail.shape[0])
    pushed = 0
    searches = 0
    settled_total = 0
    for t in range(new_arcs.shape[0]):
        a = new_arcs[t]
        u = tail[a]
        v = head[a]
        rc = cost[a] + d[u] - d[v]
        active[a] = True
        if rc >= 0:
            continue
        searches += 1
        found, n_touched, n_done, _ = _search(v, u, -rc, start, half, tail, head, cost, cap,
                                              flow, active, d, dist, settled, pred, touched,
                                              done, hk, hv)
        level = dist[u] if found else -rc
        _finish(v, u, found, level, n_touched, n_done, tail, head, flow, d, dist, settled,
                pred, touched, done)
        settled_total += n_done
        if found:  # the cycle: path v -> u, then the new arc u -> v
            flow[a] += 1
            pushed += 1
    return pushed, searches, settled_total


@njit(cache=True)
def _all_nonnegative(cost):
    for e in range(cost.shape[0]):
        if cost[e] < 0:
            return False
    return True


@njit(cache=True)
def ssp_flow(n_nodes, n_sources, sink, tail, head, cost, cap, budget):
    """Min-cost flow by successive shortest paths: nodes ``0 .. n_sources-1`` supply one
    unit each, ``sink`` takes them all; arcs ``tail -> head`` with int64 ``cost`` and
    capacity ``cap``. Every source must have a path to the sink that no other source's
    unit can block (the assignment network's defer arc ``task -> sink``).

    One Dijkstra per unit on reduced costs, stopped when the sink is settled (Ahuja,
    Magnanti & Orlin 1993, sec. 9.7); the potentials start from shortest distances on the
    empty flow (:func:`potentials`; all 0 when no arc cost is negative). On congested
    networks the searches grow long (each may cross most of the graph), so the work is
    bounded: after ``budget`` arc scans in total it gives up. Returns ``(flow, d, status,
    scans)``: status 0 = an optimal flow and valid potentials for its residual graph (every
    residual arc has ``cost + d[tail] - d[head] >= 0``, which certifies the flow optimal);
    1 = a negative cycle or a source that cannot reach the sink; 2 = over budget (``flow``
    and ``d`` are then partial).
    """
    flow = np.zeros(tail.shape[0], np.int64)
    if _all_nonnegative(cost):
        # what potentials() returns then (it starts at 0 and no arc can lower a label),
        # without building its adjacency: the assignment networks' usual case
        d = np.zeros(n_nodes, np.int64)
    else:
        d, ok = potentials(n_nodes, tail, head, cost)
        if not ok:
            return flow, d, 1, 0
    start, half = _half_arcs(n_nodes, tail, head)
    active = np.ones(tail.shape[0], np.bool_)
    dist, settled, pred, touched, done, hk, hv = _scratch(n_nodes, tail.shape[0])
    big = np.iinfo(np.int64).max
    scans = 0
    for s in range(n_sources):
        if scans > budget:
            return flow, d, 2, scans
        found, n_touched, n_done, sc = _search(s, sink, big, start, half, tail, head, cost,
                                               cap, flow, active, d, dist, settled, pred,
                                               touched, done, hk, hv)
        scans += sc
        if not found:
            return flow, d, 1, scans
        _finish(s, sink, True, dist[sink], n_touched, n_done, tail, head, flow, d, dist,
                settled, pred, touched, done)
    return flow, d, 0, scans


@njit(cache=True)
def greedy_pairs(order, pi, pj, pc, defer, capacity, balance, team):
    """Global cheapest pair: walk pairs in ``order`` (ascending cost) and give task
    ``pi`` to team ``pj`` if both are free and the marginal cost (pair + convex slot)
    is below the task's defer cost. ``team`` (int32[n], -1 = open) is filled in place.
    """
    used = np.zeros(capacity.shape[0], np.int64)
    for t in range(order.shape[0]):
        k = order[t]
        i = pi[k]
        j = pj[k]
        if team[i] >= 0 or used[j] >= capacity[j]:
            continue
        if pc[k] + balance * used[j] < defer[i]:
            team[i] = j
            used[j] += 1
    return team


@njit(cache=True)
def _fixed_arcs(capacity, defer_cost, balance, cmax, scale):
    """The arcs of ``assignment._Network`` that do not depend on the candidates, for
    ``nf = defer_cost.size`` free tasks: ``defer_int`` (scaled defer costs) and the team
    slots ``(tail node, capacity, scaled cost)`` in its order. With ``balance > 0`` a
    team has ``min(capacity, nf, max useful)`` unit slots, the ``k``-th costing
    ``balance * k``; else one slot of its capacity (if > 0) at cost 0."""
    nf = defer_cost.shape[0]
    m = capacity.shape[0]
    defer_int = np.empty(nf, np.int64)
    for i in range(nf):
        defer_int[i] = np.int64(np.floor(defer_cost[i] * scale + 0.5))
    mu = 0.0
    if balance > 0:
        dmax = -np.inf
        for i in range(nf):
            dmax = max(dmax, defer_cost[i])
        mu = np.ceil((dmax + cmax) / balance) + 1.0
    n_slots = 0
    tcap = np.empty(m, np.int64)
    for j in range(m):
        c = min(capacity[j], nf)
        if balance > 0 and mu < c:
            c = np.int64(mu)
        tcap[j] = c
        if balance > 0:
            n_slots += c
        elif c > 0:
            n_slots += 1
    slot_tail = np.empty(n_slots, np.int64)
    slot_cap = np.empty(n_slots, np.int64)
    slot_cost = np.empty(n_slots, np.int64)
    s = 0
    for j in range(m):
        if balance > 0:
            for q in range(tcap[j]):
                slot_tail[s] = nf + j
                slot_cap[s] = 1
                slot_cost[s] = np.int64(np.floor(balance * np.float64(q) * scale + 0.5))
                s += 1
        elif tcap[j] > 0:
            slot_tail[s] = nf + j
            slot_cap[s] = tcap[j]
            slot_cost[s] = 0
            s += 1
    return defer_int, slot_tail, slot_cap, slot_cost


@njit(cache=True)
def scale_for(cmax, n_tasks, capacity, defer_cost, balance, scale, int_budget):
    """The cost scale: ``scale`` lowered so that no intermediate value of the flow can
    overflow int64, ``|cost| * scale * (nodes + 1) * (n_tasks + 1) <= int_budget``, for
    the network of ``defer_cost.size`` free tasks (of ``n_tasks``) and the teams of
    ``capacity``; ``cmax`` is the largest finite |pair cost|, and defer costs and the
    costliest balancing slot bound |cost| too."""
    nf = defer_cost.shape[0]
    m = capacity.shape[0]
    dmax = 0.0
    for i in range(nf):
        dmax = max(dmax, abs(defer_cost[i]))
    cap_max = 0
    for j in range(m):
        cap_max = max(cap_max, capacity[j])
    big = max(max(max(cmax, dmax), balance * np.float64(cap_max)), 1.0)
    limit = int_budget / ((nf + m + 1 + 1.0) * (n_tasks + 1.0) * big)
    if limit < scale:
        scale = limit
    return scale


@njit(cache=True)
def dominated_cost(defer_cost):
    """The pair cost above which an arc can be left at that cost: ``2 * max |defer| + 2``.

    A pair dearer than its task's defer cost is in no optimal flow (deferring the task
    instead is cheaper and frees a team slot, whose surcharges are >= 0), whatever it
    costs; this bound lies above every defer cost by at least half of itself, so that no
    rounding to the cost scale can tie such a pair with a deferral."""
    dmax = 0.0
    for i in range(defer_cost.shape[0]):
        dmax = max(dmax, abs(defer_cost[i]))
    return 2.0 * dmax + 2.0


@njit(cache=True)
def clip_dominated(costs, cap):
    """In place: every finite cost above ``cap`` (:func:`dominated_cost`) becomes
    ``cap``; returns the largest finite |cost| left, the ``cmax`` of :func:`scale_for`.

    Huge costs of pairs no optimum uses (a 1e12 penalty on some pairs) would otherwise
    lower the cost scale of the whole instance (:func:`scale_for`) and with it the
    precision of every pair; clipped, they stay dominated and the scale stays."""
    n, m = costs.shape
    cmax = 0.0
    for i in range(n):
        for j in range(m):
            v = np.float64(costs[i, j])
            if v < np.inf:
                if v > cap:
                    costs[i, j] = cap
                    v = cap
                cmax = max(cmax, abs(v))
    return cmax


@njit(cache=True)
def flow_scale(costs, cmax, n_tasks, capacity, defer_cost, balance, flow):
    """``(scale, cmax)`` of the flow on ``costs`` (the free tasks' rows, modified in
    place): :func:`scale_for`, and when that would lower the scale below ``flow.scale``
    the dominated pairs clipped first (:func:`clip_dominated`). A scale still below
    ``flow.scale`` then means the instance's own range (defer costs, balancing slots or
    pair costs that an optimum may use) needs it; the solvers report that status."""
    scale = scale_for(cmax, n_tasks, capacity, defer_cost, balance, flow.scale,
                      flow.int_budget)
    if scale < flow.scale:
        cap = dominated_cost(defer_cost)
        if cmax > cap:
            cmax = clip_dominated(costs, cap)
            scale = scale_for(cmax, n_tasks, capacity, defer_cost, balance, flow.scale,
                              flow.int_budget)
    return scale, cmax


@njit(cache=True)
def flow_knobs(flow, n_free, scale):
    """The candidate flow's settings for a batch of ``n_free`` free tasks at cost scale
    ``scale``, from :class:`FlowParams`: ``(k candidates, r arcs priced in per task,
    margin in scaled units, most arcs repaired in place)``."""
    k = max(flow.candidates, 1)
    r = max(flow.price_add if flow.price_add > 0 else flow.candidates, 1)
    margin = np.int64(np.floor(flow.price_margin * scale))
    limit = flow.incremental_max if flow.incremental_max >= 0 else max(64, n_free // 40)
    return k, r, margin, limit


@njit(cache=True)
def scan_finite(cost):
    """:func:`_scan_seq` and :func:`finite_columns` in one pass over the matrix:
    ``(largest finite |cost|, has NaN or -inf, start, cols)``, each as those return it."""
    n, m = cost.shape
    start = np.empty(n + 1, np.int64)
    cols = np.empty(n * m, np.int32)
    best = 0.0
    bad = False
    q = 0
    for i in range(n):
        start[i] = q
        row = cost[i]
        for j in range(m):
            v = np.float64(row[j])
            if v < np.inf:  # finite_columns lists it (-inf too: `bad` then rejects the input)
                cols[q] = j
                q += 1
                if v > -np.inf:
                    a = abs(v)
                    if a > best:
                        best = a
                else:
                    bad = True
            elif not v > 0:  # NaN
                bad = True
    start[n] = q
    return best, bad, start, cols[:q]


@njit(cache=True)
def finite_columns(cost):
    """Each row's finite entries as ``(start, cols)``: row ``i``'s are
    ``cols[start[i]:start[i + 1]]``, ascending (entries ``< inf``: NaN and inf left out)."""
    n, m = cost.shape
    start = np.empty(n + 1, np.int64)
    cols = np.empty(n * m, np.int32)
    q = 0
    for i in range(n):
        start[i] = q
        row = cost[i]
        for j in range(m):
            if row[j] < np.inf:
                cols[q] = j
                q += 1
    start[n] = q
    return start, cols[:q]


@njit(cache=True)
def _cand_cols(cost, start, cols, k, offset, out):
    """:func:`candidate_rows` (serial) reading only the finite entries listed by
    :func:`finite_columns`; the same table. Both lists of a row are built in one pass
    over its entries, inserting as :func:`_topk_row` does (an infinite entry is never
    below its threshold, and ``x - 0`` is ``x``), which reads each entry once: ~15 %
    faster on the simulation's batches."""
    best_v = np.empty(k)
    best_j = np.empty(k, np.int32)
    off_v = np.empty(k)
    off_j = np.empty(k, np.int32)
    second = np.empty(k, np.int32)
    for i in range(cost.shape[0]):
        row = cost[i]
        c1 = 0
        c2 = 0
        t1 = np.inf
        t2 = np.inf
        for q in range(start[i], start[i + 1]):
            j = cols[q]
            x = np.float64(row[j])
            if x < t1:
                c1 = _insert(best_v, best_j, c1, k, x, j)
                if c1 == k:
                    t1 = best_v[k - 1]
            y = x - offset[j]
            if y < t2:
                c2 = _insert(off_v, off_j, c2, k, y, j)
                if c2 == k:
                    t2 = off_v[k - 1]
        out_row = out[i]
        for t in range(k):
            out_row[t] = best_j[t] if t < c1 else -1
            second[t] = off_j[t] if t < c2 else -1
        _merge_second(out_row, second, k)


@njit(cache=True)
def _price_cols(cost, start, cols, scale, pot_task, pot_team, team_of, skip, r, margin, out):
    """:func:`price_rows` (serial) reading only the finite entries listed by
    :func:`finite_columns` (an infinite cost never prices in); the same counts and
    arcs, as :func:`_price_row` does per row."""
    n = cost.shape[0]
    count = np.zeros(n, np.int64)
    best_v = np.zeros(r, np.int64)
    best_j = np.full(r, -1, np.int32)
    for i in range(n):
        if skip[i]:
            out[i, :] = -1
            continue
        row = cost[i]
        pi = pot_task[i]
        skip_j = team_of[i]
        best_v[:] = 0
        best_j[:] = -1
        cnt = 0
        neg = 0
        reject = np.float64(margin) + 1.0 - np.float64(pi)
        for q in range(start[i], start[i + 1]):
            cnt, neg = _price_arc(row, cols[q], scale, pi, pot_team, skip_j, reject, margin,
                                  r, best_v, best_j, cnt, neg)
        _price_out(best_j, cnt, neg, r, out[i])
        count[i] = neg
    return count


@njit(cache=True)
def candidate_flow(costs, capacity, defer_cost, balance, cmax, offset, scale, flow, team):
    """The candidate method of :func:`urbangrid.optimizer.assign` with successive shortest
    paths, whole: candidate arcs, flow, pricing rounds and in-place repairs in one call.

    Same arrays, in the same order, and the same kernels as the Python loop in
    ``assign`` (which stays the path for big batches, OR-Tools, time limits and the dense
    fallback), so it returns the same flow without the loop's per-call overhead of a few
    dozen array operations. ``costs`` and ``defer_cost`` hold the free tasks' rows only,
    ``cmax`` is the largest finite |cost| of all tasks, ``scale`` the cost scale
    (:func:`scale_for`), ``flow`` the :class:`FlowParams`; ``team`` (int32[n_free])
    receives the free tasks' teams. Returns a :class:`FlowResult`.
    """
    # each row's finite entries, once: candidates and every pricing round read only those
    # (an infinite cost is never a candidate nor priced), in the same column order
    fstart, fcols = finite_columns(costs)
    k, r, margin, repair_max = flow_knobs(flow, costs.shape[0], scale)
    return _candidates_ssp(costs, fstart, fcols, capacity, defer_cost, balance, cmax, offset,
                           scale, k, r, margin, repair_max, flow.max_rounds,
                           flow.budget_per_arc, team)


@njit(cache=True)
def _candidates_ssp(costs, fstart, fcols, capacity, defer_cost, balance, cmax, offset, scale,
                    k, r, margin, incremental_max, max_rounds, budget_per_arc, team):
    # candidate_flow given the finite columns of each row (finite_columns) and the knobs
    # of flow_knobs as plain arguments, not the record: a caller's constant knobs (the
    # compiled policies' price margin of 0) then fold into the pricing loop, ~5 % of a
    # 60 x 400 round
    nf, m = costs.shape
    sink = nf + m
    n_nodes = nf + m + 1
    defer_int, slot_tail, slot_cap, slot_cost = _fixed_arcs(capacity, defer_cost, balance,
                                                            cmax, scale)
    n_slots = slot_tail.shape[0]
    # --- candidate arcs, row by row (np.nonzero order)
    top = np.empty((nf, 2 * k), np.int32)
    _cand_cols(costs, fstart, fcols, k, offset, top)
    n_pairs = 0
    for i in range(nf):
        for t in range(2 * k):
            if top[i, t] >= 0:
                n_pairs += 1
    pi = np.empty(n_pairs, np.int64)
    pj = np.empty(n_pairs, np.int64)
    a = 0
    for i in range(nf):
        for t in range(2 * k):
            if top[i, t] >= 0:
                pi[a] = i
                pj[a] = top[i, t]
                a += 1
    arcs_initial = n_pairs
    neg_counts = np.zeros(max_rounds + 1, np.int64)
    rounds = 0
    flow_solves = 0
    incremental = 0
    scans_total = 0
    need_solve = True
    # arrays of the current network (set by the first solve)
    tails = np.empty(0, np.int64)
    heads = np.empty(0, np.int64)
    arc_costs = np.empty(0, np.int64)
    caps = np.empty(0, np.int64)
    flows = np.empty(0, np.int64)
    arc_task = np.empty(0, np.int64)
    arc_team = np.empty(0, np.int64)
    d = np.empty(0, np.int64)
    add = np.empty((nf, r), np.int32)
    skip = np.zeros(nf, np.bool_)
    while True:
        if need_solve:
            n_pairs = pi.shape[0]
            n_arcs = n_pairs + nf + n_slots
            tails = np.empty(n_arcs, np.int64)
            heads = np.empty(n_arcs, np.int64)
            arc_costs = np.empty(n_arcs, np.int64)
            caps = np.ones(n_arcs, np.int64)
            arc_task = np.full(n_arcs, -1, np.int64)
            arc_team = np.full(n_arcs, -1, np.int64)
            for e in range(n_pairs):
                tails[e] = pi[e]
                heads[e] = nf + pj[e]
                arc_costs[e] = np.int64(np.floor(np.float64(costs[pi[e], pj[e]]) * scale
                                                 + 0.5))
                arc_task[e] = pi[e]
                arc_team[e] = pj[e]
            for i in range(nf):
                tails[n_pairs + i] = i
                heads[n_pairs + i] = sink
                arc_costs[n_pairs + i] = defer_int[i]
            for q in range(n_slots):
                e = n_pairs + nf + q
                tails[e] = slot_tail[q]
                heads[e] = sink
                arc_costs[e] = slot_cost[q]
                caps[e] = slot_cap[q]
            flows, d, status, sc = ssp_flow(n_nodes, nf, sink, tails, heads, arc_costs, caps,
                                            budget_per_arc * n_arcs)
            scans_total += sc
            flow_solves += 1
            if status != 0:  # 1: no path (cannot happen), 2: over budget
                return FlowResult(NO_PATH if status == 1 else STOPPED, 0.0, arcs_initial,
                                  n_slots, pi.shape[0], scans_total, flow_solves, rounds,
                                  incremental, neg_counts[:rounds], scale)
        team[:] = -1
        opt = np.int64(0)
        for e in range(tails.shape[0]):
            opt += flows[e] * arc_costs[e]
            if arc_task[e] >= 0 and flows[e] > 0:
                team[arc_task[e]] = arc_team[e]
        bound = (opt - nf) / scale
        if rounds >= max_rounds:
            return FlowResult(STOPPED, bound, arcs_initial, n_slots, pi.shape[0], scans_total,
                              flow_solves, rounds, incremental, neg_counts[:rounds], scale)
        neg = _price_cols(costs, fstart, fcols, scale, d[:nf], d[nf: nf + m], team, skip, r,
                          margin, add)
        n_neg = 0
        for i in range(nf):
            n_neg += neg[i]
        neg_counts[rounds] = n_neg
        if n_neg == 0:
            return FlowResult(OPTIMAL, bound, arcs_initial, n_slots, pi.shape[0], scans_total,
                              flow_solves, rounds, incremental, neg_counts[:rounds + 1], scale)
        n_add = 0
        for i in range(nf):
            for t in range(r):
                if add[i, t] >= 0:
                    n_add += 1
        ai = np.empty(n_add, np.int64)
        aj = np.empty(n_add, np.int64)
        a = 0
        for i in range(nf):
            for t in range(r):
                if add[i, t] >= 0:
                    ai[a] = i
                    aj[a] = add[i, t]
                    a += 1
        pi = np.concatenate((pi, ai))
        pj = np.concatenate((pj, aj))
        rounds += 1
        need_solve = n_add > incremental_max
        if not need_solve:
            first_new = tails.shape[0]
            new_cost = np.empty(n_add, np.int64)
            for q in range(n_add):
                new_cost[q] = np.int64(np.floor(np.float64(costs[ai[q], aj[q]]) * scale + 0.5))
            tails = np.concatenate((tails, ai))
            heads = np.concatenate((heads, nf + aj))
            arc_costs = np.concatenate((arc_costs, new_cost))
            caps = np.concatenate((caps, np.ones(n_add, np.int64)))
            flows = np.concatenate((flows, np.zeros(n_add, np.int64)))
            arc_task = np.concatenate((arc_task, ai))
            arc_team = np.concatenate((arc_team, aj))
            cancel_negative_arcs(n_nodes, tails, heads, arc_costs, caps, flows, d,
                                 np.arange(first_new, tails.shape[0]))
            incremental += 1


