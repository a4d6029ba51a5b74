"""Compiled helpers of the dispatcher (Numba), each with a NumPy reference."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["gather_travel", "gather_travel_reference"]


@numba.njit(cache=True, nogil=True)
def gather_travel(stack_t, team_stack, team_cell, cells, team_skills,
                  cell_skills):  # pragma: no cover - compiled
    """``out[j, k] = stack_t[team_stack[j], cells[k], team_cell[j]]`` (float32) where team
    ``j`` has a skill some task in cell ``k`` needs (``team_skills[j] & cell_skills[k]``),
    +inf elsewhere.

    The optimizer's policies read only those entries (``DispatchProblem.travel``), and
    about two thirds of the pairs of a dispatch round are skipped. ``stack_t`` holds
    destination-major (transposed) travel matrices, so the loop reads the few rows of
    the task cells, which stay in cache.
    """
    m = team_stack.shape[0]
    n = cells.shape[0]
    out = np.empty((m, n), dtype=np.float32)
    for k in range(n):
        c = cells[k]
        need = cell_skills[k]
        for j in range(m):
            if team_skills[j] & need:
                out[j, k] = stack_t[team_stack[j], c, team_cell[j]]
            else:
                out[j, k] = np.inf
    return out


def gather_travel_reference(stack_t, team_stack, team_cell, cells, team_skills,
                            cell_skills) -> np.ndarray:
    """Plain NumPy version of :func:`gather_travel`."""
    out = stack_t[team_stack[:, None], cells[None, :], team_cell[:, None]].astype(np.float32)
    out[(team_skills[:, None] & cell_skills[None, :]) == 0] = np.inf
    return out
