"""Compiled helpers of the dispatcher (Numba), each with a NumPy reference."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["gather_travel", "gather_travel_reference"]


@numba.njit(cache=True, nogil=True)
def gather_travel(stack_t, team_stack, team_cell, cells):  # pragma: no cover - compiled
    """``out[j, k] = stack_t[team_stack[j], cells[k], team_cell[j]]`` (float32).

    ``stack_t`` holds destination-major (transposed) travel matrices, so the loop reads the
    few rows of the task cells, which stay in cache.
    """
    m = team_stack.shape[0]
    n = cells.shape[0]
    out = np.empty((m, n), dtype=np.float32)
    for k in range(n):
        c = cells[k]
        for j in range(m):
            out[j, k] = stack_t[team_stack[j], c, team_cell[j]]
    return out


def gather_travel_reference(stack_t, team_stack, team_cell, cells) -> np.ndarray:
    """Plain NumPy version of :func:`gather_travel`."""
    return stack_t[team_stack[:, None], cells[None, :], team_cell[:, None]].astype(np.float32)
