"""Responsibility grids: contiguous groups of cells with stable ids (private).

Each sub-district gets a share of the target count proportional to its area (largest
remainder, at least one), and its cells are split by deterministic recursive coordinate
bisection: cut along the longer side of the bounding box at the count quantile that gives
each half its share of groups. Groups are therefore balanced in cell count (inspector
workload by area) and never cross a sub-district border. A final pass moves any detached
fragment of a group to the adjacent group of the same sub-district it touches most, so
groups are contiguous wherever the sub-district itself is.
"""

from __future__ import annotations

import h3
import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph


def allocate(counts: np.ndarray, areas: np.ndarray, n_total: int) -> np.ndarray:
    """Split ``n_total`` groups over units by area (largest remainder), >= 1, <= cells."""
    n_units = areas.size
    n_total = max(n_total, n_units)
    quota = areas / areas.sum() * n_total
    alloc = np.maximum(np.floor(quota).astype(np.int64), 1)
    alloc = np.minimum(alloc, counts)
    remainder = quota - np.floor(quota)
    # Stable tie-break on unit order so the result is deterministic.
    order = np.lexsort((np.arange(n_units), -remainder))
    i = 0
    while alloc.sum() < n_total and np.any(alloc < counts):
        u = order[i % n_units]
        if alloc[u] < counts[u]:
            alloc[u] += 1
        i += 1
    while alloc.sum() > n_total and np.any(alloc > 1):
        u = int(np.argmax(alloc))
        alloc[u] -= 1
    return alloc


def _bisect(idx: np.ndarray, x: np.ndarray, y: np.ndarray, k: int, out: list[np.ndarray]):
    if k <= 1 or idx.size <= 1:
        out.append(idx)
        return
    xs, ys = x[idx], y[idx]
    coord = xs if (xs.max() - xs.min()) >= (ys.max() - ys.min()) else ys
    # Sort by coordinate, ties by cell index (cells are sorted by H3 id): deterministic.
    order = np.lexsort((idx, coord))
    k_left = k // 2
    n_left = int(round(idx.size * k_left / k))
    n_left = min(max(n_left, k_left), idx.size - (k - k_left))
    _bisect(idx[order[:n_left]], x, y, k_left, out)
    _bisect(idx[order[n_left:]], x, y, k - k_left, out)


def responsibility_grids(h3_ids: list[str], x: np.ndarray, y: np.ndarray, sub_idx: np.ndarray,
                         sub_area: np.ndarray, n_grids: int) -> np.ndarray:
    """int32 grid id per cell, 0..n-1, numbered by sub-district row order then bisection."""
    n_sub = sub_area.size
    counts = np.bincount(sub_idx, minlength=n_sub)
    has_cells = counts > 0
    alloc = np.zeros(n_sub, dtype=np.int64)
    alloc[has_cells] = allocate(counts[has_cells], sub_area[has_cells], n_grids)
    grid = np.full(len(h3_ids), -1, dtype=np.int32)
    next_id = 0
    for s in range(n_sub):
        if alloc[s] == 0:
            continue
        parts: list[np.ndarray] = []
        _bisect(np.flatnonzero(sub_idx == s), x, y, int(alloc[s]), parts)
        for p in parts:
            grid[p] = next_id
            next_id += 1
    return _repair_contiguity(h3_ids, grid, sub_idx)


def cell_adjacency(h3_ids: list[str]):
    """Sparse boolean adjacency of cells (shared H3 edge)."""
    index = {c: i for i, c in enumerate(h3_ids)}
    us, vs = [], []
    for i, c in enumerate(h3_ids):
        for nb in h3.grid_ring(c, 1):
            j = index.get(nb)
            if j is not None:
                us.append(i)
                vs.append(j)
    n = len(h3_ids)
    return sp.csr_matrix((np.ones(len(us), dtype=np.int8), (us, vs)), shape=(n, n))


def _repair_contiguity(h3_ids: list[str], grid: np.ndarray, sub_idx: np.ndarray) -> np.ndarray:
    adj = cell_adjacency(h3_ids)
    grid = grid.copy()
    for _ in range(10):  # each pass can only merge fragments; a few passes suffice
        changed = False
        for g in np.unique(grid):
            members = np.flatnonzero(grid == g)
            if members.size <= 1:
                continue
            sub = adj[members][:, members]
            n_comp, labels = csgraph.connected_components(sub, directed=False)
            if n_comp == 1:
                continue
            main = np.argmax(np.bincount(labels))
            for c in range(n_comp):
                if c == main:
                    continue
                frag = members[labels == c]
                nbrs = adj[frag].indices
                nbr_grids = grid[nbrs]
                ok = (sub_idx[nbrs] == sub_idx[frag[0]]) & (nbr_grids != g)
                if not ok.any():
                    continue  # the sub-district itself is split here: keep the fragment
                vals, cnt = np.unique(nbr_grids[ok], return_counts=True)
                grid[frag] = vals[np.argmax(cnt)]
                changed = True
        if not changed:
            break
    # Renumber densely in order of first appearance (cells sorted by H3 id would scramble
    # the sub-district order, so order by each group's original id instead).
    uniq = np.unique(grid)
    return np.searchsorted(uniq, grid).astype(np.int32)
