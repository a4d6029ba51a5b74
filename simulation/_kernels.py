"""Compiled helpers of the engine (Numba): the dispatcher's travel gather, with its NumPy
reference, and the work-time rule that the model (vectorised, per day) and the core
(compiled, per repeat attempt) both draw with."""

from __future__ import annotations

import numba
import numpy as np
from numba.extending import overload

__all__ = ["gather_travel", "gather_travel_reference", "work_time", "work_time_compiled"]


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


def _choose(cond, a, b):
    """``numpy.where`` for arrays; in compiled code, on scalars, a plain branch."""
    out = np.where(cond, a, b)
    return out[()] if out.ndim == 0 else out


@overload(_choose)
def _choose_compiled(cond, a, b):  # pragma: no cover - compiled
    if isinstance(cond, (numba.types.Boolean, numba.types.Integer)):
        return lambda cond, a, b: a if cond else b
    return None


def work_time(dist, mean, cv, e, z):
    """On-site work time of a handling attempt, seconds.

    ``dist`` is the category's distribution code (0 exponential, 1 lognormal, 2 fixed,
    ``WORK_DISTS`` order) with mean ``mean`` and coefficient of variation ``cv``; ``e``
    is a standard exponential variate, ``z`` a standard normal one (each read only by its
    distribution). The lognormal has ``sigma^2 = log(1 + cv^2)`` and
    ``mu = log(mean) - sigma^2 / 2``, so its mean is ``mean``.

    Works on arrays (the model's first attempts, a day at a time, evaluated by NumPy) and,
    compiled as :func:`work_time_compiled`, on scalars (the core's repeat attempts): one
    rule for both.
    """
    s2 = np.log1p(cv * cv)
    lognormal = mean * np.exp(np.sqrt(s2) * z - s2 / 2.0)
    return _choose(dist == 0, mean * e, _choose(dist == 1, lognormal, mean))


work_time_compiled = numba.njit(cache=True, nogil=True, inline="always")(work_time)
