"""Numba kernels: scoring, candidate selection, pricing, potentials, greedy.

Arrays and scalars only (no ``numba.typed`` containers) so that every kernel also runs
as plain Python under ``NUMBA_DISABLE_JIT=1``; ``scoring.py`` and ``assignment.py`` wrap
them and the tests compare each with a plain-Python reference.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

INF32 = np.float32(np.inf)


@njit(cache=True, parallel=True, fastmath=False)
def score_stream(
    row_of_task,  # int32[n]: row of `table` holding the task's cell
    table,  # float32[u, m]: travel from every team to each batch cell
    team_start,  # float64[m]: start - now (seconds)
    team_base,  # float64[m]: wait + balance terms
    team_end,  # float64[m]: shift end - now
    team_skills,  # int64[m]
    task_skill,  # int64[n]
    task_slack,  # float64[n]: work - (deadline - now)
    task_wlate,  # float64[n]: lateness weight * priority
    task_current,  # int32[n]
    w_travel,
    w_reassign,
    out,  # float32[n, m]
):
    """Fill ``out[i, j]`` with the score of task ``i`` x team ``j`` (inf if infeasible).

    Each task streams once over a contiguous table row and the per-team arrays, writing
    one contiguous output row: no per-element gather from the big team x cell matrix.
    """
    n = row_of_task.shape[0]
    m = table.shape[1]
    # arrival <= end  <=>  travel <= end - start: one compare per element
    reach = team_end - team_start
    for i in prange(n):
        trow = table[row_of_task[i]]
        skill = task_skill[i]
        slack = task_slack[i]
        wl = task_wlate[i]
        cur = task_current[i]
        extra = w_reassign if cur >= 0 else 0.0
        orow = out[i]
        # branch-free body so that the loop vectorises; the reassignment term is added
        # to every team and taken back for the current one below
        for j in range(m):
            tr = np.float64(trow[j])
            late = max(team_start[j] + tr + slack, 0.0)
            c = w_travel * tr + team_base[j] + wl * late + extra
            ok = ((team_skills[j] & skill) == skill) & (tr <= reach[j])
            orow[j] = np.float32(c) if ok else INF32
        if cur >= 0 and orow[cur] < INF32:
            tr = np.float64(trow[cur])
            late = max(team_start[cur] + tr + slack, 0.0)
            orow[cur] = np.float32(w_travel * tr + team_base[cur] + wl * late)
    return out


@njit(cache=True, parallel=True)
def topk_rows(cost, k, offset, out):
    """``out[i]``: indices of the ``k`` smallest finite values of ``cost[i, j] -
    offset[j]``, ascending (ties by index), padded with -1."""
    n, m = cost.shape
    for i in prange(n):
        best_v = np.empty(k, np.float64)
        best_j = np.full(k, -1, np.int32)
        cnt = 0
        row = cost[i]
        for j in range(m):
            c = row[j]
            if not c < np.inf:
                continue
            v = np.float64(c) - offset[j]
            if cnt == k and v >= best_v[k - 1]:
                continue
            # insertion into a sorted buffer; equal values keep index order
            p = cnt if cnt < k else k - 1
            while p > 0 and best_v[p - 1] > v:
                if p < k:
                    best_v[p] = best_v[p - 1]
                    best_j[p] = best_j[p - 1]
                p -= 1
            best_v[p] = v
            best_j[p] = j
            if cnt < k:
                cnt += 1
        for t in range(k):
            out[i, t] = best_j[t] if t < cnt else -1
    return out


@njit(cache=True)
def scale_cost(c, scale):
    """The integer cost the flow solver sees for a float score (round half up)."""
    return np.int64(np.floor(np.float64(c) * scale + 0.5))


@njit(cache=True, parallel=True)
def price_rows(cost, scale, pot_task, pot_team, team_of, skip, r, margin, out):
    """Pricing: count each task's arcs with negative reduced cost and pick arcs to add.

    The reduced cost of arc ``i -> j`` is ``c_ij + pot_task[i] - pot_team[j]`` in scaled
    integers. The arc carrying the task's flow (``j == team_of[i]``) and rows with
    ``skip[i]`` are left out. For a task with at least one negative arc, ``out[i]``
    receives its ``r`` arcs of smallest reduced cost below ``margin`` (so near-zero arcs
    that may turn negative once prices move come along), most negative first, -1 padded;
    rows without a negative arc get -1 only. Returns the negative-arc count per task.
    """
    n, m = cost.shape
    count = np.zeros(n, np.int64)
    for i in prange(n):
        best_v = np.zeros(r, np.int64)
        best_j = np.full(r, -1, np.int32)
        cnt = 0
        if not skip[i]:
            row = cost[i]
            pi = pot_task[i]
            for j in range(m):
                v = row[j]
                if not v < np.inf or j == team_of[i]:
                    continue
                rc = scale_cost(v, scale) + pi - pot_team[j]
                if rc >= margin:
                    continue
                if rc < 0:
                    count[i] += 1
                if cnt == r and rc >= best_v[r - 1]:
                    continue
                p = cnt if cnt < r else r - 1
                while p > 0 and best_v[p - 1] > rc:
                    if p < r:
                        best_v[p] = best_v[p - 1]
                        best_j[p] = best_j[p - 1]
                    p -= 1
                best_v[p] = rc
                best_j[p] = j
                if cnt < r:
                    cnt += 1
        if count[i] == 0:
            cnt = 0
        for t in range(r):
            out[i, t] = best_j[t] if t < cnt else -1
    return count


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
