"""The task x team score matrix: a Numba kernel, a NumPy version and a plain-Python reference.

All three compute the formula documented in :mod:`urbangrid.optimizer.problem` and
return float32[n, m] with ``inf`` for infeasible pairs (skill mismatch, unreachable cell,
arrival after the shift ends). Times are taken relative to ``now`` before the float32
cast, so a score keeps about 6 significant digits whatever the epoch (the compiled
kernel also computes in float32: relative error ~1e-6 against the float64 references).

The fast path first builds a per-batch table ``table[u, j]`` = travel from team ``j`` to
the ``u``-th distinct task cell (one compiled gather), then streams over it task by task,
writing the output rows in order: each task reads one contiguous row, where gathering
``travel[j, cell_i]`` per element strides across the team x cell matrix (several times
slower).
"""

from __future__ import annotations

import numpy as np

from . import _kernels
from .problem import DispatchProblem

__all__ = ["score", "score_and_offset", "score_numpy", "score_reference", "travel_table"]


def travel_table(p: DispatchProblem) -> tuple[np.ndarray, np.ndarray]:
    """``(row_of_task int32[n], table float32[u, m])`` with ``table[row_of_task[i], j] ==
    travel[j, task_cell[i]]``; ``u`` = the distinct task cells (all cells when the batch
    is at least as large as the district)."""
    if p.n_tasks >= p.n_cells:
        cells, row = np.arange(p.n_cells), p.task_cell
    else:
        cells, row = np.unique(p.task_cell, return_inverse=True)
    table = np.empty((cells.size, p.n_teams), np.float32)
    _kernels.gather_table(p.travel, cells, table)
    return row.astype(np.int32, copy=False), table


def _team_terms(p: DispatchProblem):
    w = p.weights
    start = p.team_start() - p.now
    base = w.wait * start + w.balance * p.team_load
    end = p.team_shift_end - p.now
    return start, base, end


def team_offset(p: DispatchProblem) -> np.ndarray:
    """The part of every score that depends on the team only (wait + queued-load terms),
    used to find each task's *nearby* teams whatever their queues."""
    return _team_terms(p)[1]


def score(p: DispatchProblem, out: np.ndarray | None = None) -> np.ndarray:
    """Score matrix float32[n, m] by the compiled streaming kernel (small batches: the
    same row kernel behind one compiled call, :func:`score_and_offset`).

    Parameters
    ----------
    p
        The problem.
    out
        Optional preallocated float32[n, m] C-contiguous output.
    """
    n, m = p.n_tasks, p.n_teams
    if out is None:
        out = np.empty((n, m), np.float32)
    elif out.shape != (n, m) or out.dtype != np.float32 or not out.flags.c_contiguous:
        raise ValueError(f"out must be C-contiguous float32 of shape {(n, m)}")
    if n == 0 or m == 0:
        return out
    if n * m <= SMALL_BATCH:
        return score_and_offset(p, out)[0]
    return _score_stream(p, out)


# Batches up to this many pairs are scored by one compiled call (_kernels.score_small):
# on the simulation's batches (a median of 3 x 100) the NumPy preparation of the
# streaming path costs several times the scores.
SMALL_BATCH = 200_000


def score_and_offset(p: DispatchProblem, out: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``(score(p), team_offset(p))``, from one compiled call on small batches (the
    flow solver needs both; bitwise equal to the two functions)."""
    n, m = p.n_tasks, p.n_teams
    if out is None:
        out = np.empty((n, m), np.float32)
    if n * m > SMALL_BATCH or n == 0 or m == 0:
        return score(p, out), team_offset(p)
    w = p.weights
    base = np.empty(m, np.float64)
    _kernels.score_small(p.travel, p.task_cell, p.now, p.team_free_at, p.team_shift_start,
                         p.team_shift_end, p.team_load, p.team_skills, p.task_skill,
                         p.task_work, p.task_deadline, p.task_priority, p.task_current,
                         w.travel, w.wait, w.lateness, w.balance, w.reassignment, base, out)
    return out, base


def _score_stream(p: DispatchProblem, out: np.ndarray) -> np.ndarray:
    # the streaming kernel over a per-batch travel table (any size)
    row, table = travel_table(p)
    start, base, end = _team_terms(p)
    w = p.weights
    _kernels.score_stream(
        row, table, start, base, end, p.team_skills, p.task_skill,
        p.task_work - (p.task_deadline - p.now), w.lateness * p.task_priority,
        p.task_current, w.travel, w.reassignment, out,
    )
    return out


def score_numpy(p: DispatchProblem) -> np.ndarray:
    """The same matrix with NumPy broadcasting (the baseline the kernel is measured by)."""
    w = p.weights
    start, base, end = _team_terms(p)
    tr = p.travel[:, p.task_cell].T.astype(np.float64)  # (n, m)
    arrival = start[None, :] + tr
    slack = p.task_work - (p.task_deadline - p.now)
    late = np.maximum(arrival + slack[:, None], 0.0)
    c = w.travel * tr + base[None, :] + (w.lateness * p.task_priority)[:, None] * late
    cur = p.task_current[:, None]
    c += w.reassignment * ((cur >= 0) & (cur != np.arange(p.n_teams)[None, :]))
    skill = p.task_skill[:, None]
    ok = ((p.team_skills[None, :] & skill) == skill) & (arrival <= end[None, :])
    return np.where(ok, c, np.inf).astype(np.float32)


def score_reference(p: DispatchProblem) -> np.ndarray:
    """Plain-Python loops over every pair, written to be read, not run on big inputs."""
    w = p.weights
    out = np.empty((p.n_tasks, p.n_teams), np.float32)
    for i in range(p.n_tasks):
        for j in range(p.n_teams):
            skill = int(p.task_skill[i])
            if int(p.team_skills[j]) & skill != skill:
                out[i, j] = np.inf
                continue
            tr = float(p.travel[j, p.task_cell[i]])
            start = max(p.now, float(p.team_free_at[j]), float(p.team_shift_start[j])) - p.now
            arrival = start + tr
            if not arrival <= float(p.team_shift_end[j]) - p.now:  # also catches inf travel
                out[i, j] = np.inf
                continue
            done = arrival + float(p.task_work[i])
            late = max(0.0, done - (float(p.task_deadline[i]) - p.now))
            c = (
                w.travel * tr
                + w.wait * start
                + w.lateness * float(p.task_priority[i]) * late
                + w.balance * int(p.team_load[j])
            )
            if p.task_current[i] >= 0 and p.task_current[i] != j:
                c += w.reassignment
            out[i, j] = c
    return out
