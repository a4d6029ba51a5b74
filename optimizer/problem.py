"""The dispatch problem, its score weights and the assignment every solver returns.

A :class:`DispatchProblem` is a snapshot of open tasks and field teams as flat NumPy
arrays (task ``i``, team ``j``, H3 cell ``c`` are plain indices). It is validated once, on
construction, in O(n + m) vectorised checks; a caller that already holds the arrays in the
validated form (the simulation, at every dispatch tick) may skip them with
:meth:`DispatchProblem.unchecked`. Everything downstream (scoring kernels, solvers,
policies) trusts it.

Cost model (all terms in *seconds-equivalent*; see :class:`ScoreWeights`)::

    start[j]   = max(now, team_free_at[j], team_shift_start[j])
    arrival    = start[j] + travel[j, task_cell[i]]
    cost[i, j] = w.travel   * travel[j, cell_i]
               + w.wait     * (start[j] - now)
               + w.lateness * priority_i * max(0, arrival + work_i - deadline_i)
               + w.balance  * team_load[j]
               + w.reassignment * [task_current_i not in (-1, j)]
    cost[i, j] = inf  when the team lacks a required skill, cannot reach the cell
                      (travel inf) or would arrive after its shift ends
    defer[i]   = w.defer * priority_i
               + w.lateness * priority_i * max(0, now + work_i - deadline_i)

The second defer term is the lateness a task already has however fast it is served (due
before ``now + work``): it is in every pair cost of the task, and deferring cannot avoid
it either. Without it, an overdue task's pairs grew dearer by the second while its defer
cost stayed fixed, so past some lateness deferring was always "cheaper": a backlog's
oldest tasks were deferred at every round, and since a round offers the oldest first,
crews idled while the backlog grew (a simulated year with ``mcf``: one skill's pool grew
from 90 to 7,000 cases in four months while its crews' busy time fell).

Within one batch the ``k``-th extra task (``k = 0, 1, ...``) a team takes costs another
``w.balance * k`` on top, a convex workload penalty the flow solver models with parallel
team slots of rising cost. A task pinned to a team (already started) stays there whatever
it costs and does not use the team's batch capacity.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from urbangrid.errors import InputError

__all__ = ["Assignment", "DeferReason", "DispatchProblem", "ScoreWeights"]


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the dispatch cost, in seconds-equivalent so that terms add up.

    Parameters
    ----------
    travel
        Cost per second of travel from the team's current cell to the task.
    wait
        Cost per second between ``now`` and the moment the team can set out
        (its queue ends, or its shift starts).
    lateness
        Cost per second the expected completion (arrival + work) passes the deadline,
        multiplied by the task's priority.
    balance
        Cost per task already queued at the team (``team_load``) and, within a batch,
        ``balance * k`` for the ``k``-th extra task given to the same team (convex).
    reassignment
        Cost of moving a task away from the team it is currently assigned to.
    defer
        Cost of leaving a task unassigned in this batch, multiplied by its priority,
        on top of the lateness the task has already (see the module docstring). It
        bounds what an assignment may add to that: a pair dearer than both is deferred.
    """

    travel: float = 1.0
    wait: float = 1.0
    lateness: float = 2.0
    balance: float = 60.0
    reassignment: float = 900.0
    defer: float = 14_400.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InputError(f"ScoreWeights.{f.name} must be a number, got {value!r}") from None
            if not np.isfinite(value) or value < 0:
                raise InputError(
                    f"ScoreWeights.{f.name} must be finite and >= 0, got {value!r}"
                )
            object.__setattr__(self, f.name, value)

    @classmethod
    def from_mapping(cls, values: dict | None, *, source: str | None = None) -> ScoreWeights:
        """Weights from a mapping (e.g. a TOML table); missing keys keep their defaults,
        unknown keys raise :class:`InputError` naming them."""
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown score weight(s) {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(sorted(known))}", source=source)
        return cls(**values)


class DeferReason(enum.IntEnum):
    """Why a task has no team after a solve (``ASSIGNED`` when it has one)."""

    ASSIGNED = 0
    #: no team has all the skills the task needs
    NO_QUALIFIED_TEAM = 1
    #: qualified teams exist but none can reach the cell (travel time inf)
    UNREACHABLE = 2
    #: qualified teams exist but none can arrive before its shift ends
    OFF_SHIFT = 3
    #: feasible teams exist but their batch capacity is used up
    NO_CAPACITY = 4
    #: a feasible team had room, but deferring costs less than any assignment
    CHEAPER_TO_DEFER = 5
    #: a qualified team exists only outside the task's sub-district (area policies)
    OUT_OF_AREA = 6
    #: the task needs more crews than could be given together (CP-SAT side constraint)
    CREWS_UNAVAILABLE = 7
    #: the policy holds the task until a time it chose (``Assignment.hold_until``)
    POSTPONED = 8


_FLOAT_FIELDS = {
    "task_priority": np.float64,
    "task_deadline": np.float64,
    "task_work": np.float64,
    "team_free_at": np.float64,
    "team_shift_start": np.float64,
    "team_shift_end": np.float64,
}
_TASK_INT = {
    "task_id": np.int64,
    "task_cell": np.int32,
    "task_skill": np.int64,
    "task_area": np.int32,
    "task_pinned": np.int32,
    "task_current": np.int32,
    "task_crews": np.int32,
}
_TEAM_INT = {
    "team_id": np.int64,
    "team_cell": np.int32,
    "team_skills": np.int64,
    "team_capacity": np.int32,
    "team_load": np.int32,
    "team_area": np.int32,
}


def _as_int(name: str, value: Any, dtype: type, size: int | None) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 0 and size is not None:
        arr = np.full(size, arr)
    if arr.ndim != 1:
        raise InputError(f"DispatchProblem.{name} must be 1-D, got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise InputError(f"DispatchProblem.{name} has length {arr.shape[0]}, expected {size}")
    if arr.dtype.kind == "b" or arr.dtype.kind in "iu":
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind == "f":
        if arr.size and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            bad = arr[~(np.isfinite(arr) & (arr == np.round(arr)))][0]
            raise InputError(f"DispatchProblem.{name} must hold integers, got {bad.item()!r}")
        return arr.astype(dtype)
    if arr.size == 0:
        return arr.astype(dtype)
    raise InputError(f"DispatchProblem.{name} must hold integers, got dtype {arr.dtype}")


def _as_float(name: str, value: Any, size: int) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"DispatchProblem.{name} must hold numbers") from None
    if arr.ndim == 0:
        arr = np.full(size, arr)
    if arr.shape != (size,):
        raise InputError(f"DispatchProblem.{name} has shape {arr.shape}, expected ({size},)")
    if np.isnan(arr).any():
        raise InputError(
            f"DispatchProblem.{name} holds NaN at index {int(np.flatnonzero(np.isnan(arr))[0])}"
        )
    return arr


#: float fields that may hold one infinity, and what it means there; every other float
#: field must be finite: an infinite free time or a shift start of +inf would make every
#: pair of the team cost inf - inf = NaN deep inside a solver, an infinite priority an
#: infinite defer cost, and a deadline of -inf an infinite lateness on every pair
_INFINITY_MEANS = {
    "task_deadline": (np.inf, "+inf (no deadline)"),
    "team_shift_start": (-np.inf, "-inf (on shift since ever)"),
    "team_shift_end": (np.inf, "+inf (no shift end)"),
}


def _check_finite(name: str, arr: np.ndarray) -> None:
    ok = np.isfinite(arr)
    allowed = ""
    if name in _INFINITY_MEANS:
        value, meaning = _INFINITY_MEANS[name]
        ok |= arr == value
        allowed = f" or {meaning}"
    if arr.size and not ok.all():
        k = int(np.flatnonzero(~ok)[0])
        raise InputError(
            f"DispatchProblem.{name}[{k}] = {arr[k].item()!r} must be finite{allowed}")


def _check_range(name: str, arr: np.ndarray, lo: float | None, hi: float | None) -> None:
    if arr.size == 0:
        return
    bad = np.zeros(arr.shape, bool)
    if lo is not None:
        bad |= arr < lo
    if hi is not None:
        bad |= arr > hi
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        span = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise InputError(f"DispatchProblem.{name}[{k}] = {arr[k].item()!r} is outside {span}")


# optional per-task / per-team fields of DispatchProblem: (name, default, dtype, length)
_OPTIONAL_ARRAYS = (
    ("task_pinned", -1, np.int32, "n"),
    ("task_current", -1, np.int32, "n"),
    ("task_crews", 1, np.int32, "n"),
    ("team_load", 0, np.int32, "m"),
    ("team_area", -1, np.int32, "m"),
)


@dataclass(frozen=True, kw_only=True, eq=False)
class DispatchProblem:
    """A dispatch snapshot: ``n`` open tasks, ``m`` teams, travel times, weights.

    All times are absolute seconds since the simulation (or service) epoch. Arrays are
    coerced to the dtypes below on construction; a wrong shape, NaN, infinite (where
    not allowed below) or out-of-range value raises :class:`~urbangrid.errors.InputError`
    naming the field. Scalars given for per-task or per-team fields are broadcast.

    Parameters
    ----------
    now
        Current time.
    task_id
        int64[n], unique.
    task_cell
        int32[n], column of ``travel`` holding the task's cell.
    task_priority
        float64[n] > 0, larger is more urgent; scales lateness and defer cost.
    task_skill
        int64[n] >= 0, required skill bitmask; team ``j`` qualifies iff
        ``team_skills[j] & task_skill[i] == task_skill[i]``.
    task_deadline
        float64[n], absolute time the task should be finished (may be in the past; +inf
        for none, never -inf).
    task_work
        float64[n] >= 0, seconds of work on site.
    task_area
        int32[n] >= -1, sub-district index of the task's cell.
    task_pinned
        int32[n] in [-1, m), team that must keep the task (already started); -1 if none.
    task_current
        int32[n] in [-1, m), team the task is assigned to now; moving it costs
        ``weights.reassignment``.
    task_crews
        int32[n] >= 1, number of teams the task needs at once (only the ``cpsat`` method
        enforces more than one).
    team_id
        int64[m], unique.
    team_cell
        int32[m], the team's current cell.
    team_skills
        int64[m] >= 0, skill bitmask.
    team_free_at
        float64[m], absolute time the team's current queue ends (finite).
    team_capacity
        int32[m] >= 0, how many more tasks the team may take in this batch.
    team_shift_start, team_shift_end
        float64[m], the current or next shift window; ``end >= start``; the start may
        be -inf (on shift since ever), the end +inf (no end), neither the other infinity.
    team_load
        int32[m] >= 0, tasks already queued at the team (for balancing).
    team_area
        int32[m] >= -1, home sub-district, -1 for a district-wide team.
    team_joins
        int32[m] >= 0 or None (the default: no limit), how many tasks needing several
        crews (``task_crews > 1``) the team may take part in within this batch, as any
        of their crews. The simulation gives 0 to a crew already committed to one as an
        extra crew (it joins one at a time) and 1 to the others. Only the ``cpsat``
        method enforces it, as it does ``task_crews``. Kept as None when not given, so
        that ``replace`` with other team arrays needs no value for it.
    travel
        float32[m, n_cells] >= 0, seconds from each team's current cell to every cell
        (``inf`` = unreachable); the caller gives each team's row for its travel mode.
        The built-in policies and solvers only read ``travel[j, c]`` where team ``j`` has
        every skill of some task in cell ``c``: a caller may leave the other entries
        ``inf`` and skip looking them up (tested).
    cell_travel
        Optional float32[n_cells, n_cells], cell-to-cell travel seconds used to sequence
        several tasks of one team (routing); without it sequencing uses each team's row.
    forecast
        Optional float64[n_cells, n_skills] >= 0 with ``forecast_horizon`` > 0: the
        expected number of new tasks in each cell needing each skill (column ``b`` is
        skill bit ``b`` of ``task_skill``) over the next ``forecast_horizon`` seconds, for
        look-ahead policies. The simulation fills it when ``dispatch.forecast_hours`` > 0
        from its own demand model (the intensity, not the future arrivals); the built-in
        policies do not read it.
    forecast_horizon
        Seconds the forecast covers (0 without a forecast).
    weights
        :class:`ScoreWeights`.
    """

    now: float
    task_id: np.ndarray
    task_cell: np.ndarray
    task_priority: np.ndarray
    task_skill: np.ndarray
    task_deadline: np.ndarray
    task_work: np.ndarray
    task_area: np.ndarray
    task_pinned: np.ndarray | int = -1
    task_current: np.ndarray | int = -1
    team_id: np.ndarray
    team_cell: np.ndarray
    team_skills: np.ndarray
    team_free_at: np.ndarray
    team_capacity: np.ndarray
    team_shift_start: np.ndarray
    team_shift_end: np.ndarray
    team_load: np.ndarray | int = 0
    team_area: np.ndarray | int = -1
    team_joins: np.ndarray | None = None
    travel: np.ndarray
    weights: ScoreWeights = field(default_factory=ScoreWeights)
    task_crews: np.ndarray | int = 1
    cell_travel: np.ndarray | None = None
    forecast: np.ndarray | None = None
    forecast_horizon: float = 0.0

    def __post_init__(self) -> None:
        put = object.__setattr__
        try:
            now = float(self.now)
        except (TypeError, ValueError):
            raise InputError(f"DispatchProblem.now must be a number, got {self.now!r}") from None
        if not np.isfinite(now):
            raise InputError(f"DispatchProblem.now must be finite, got {self.now!r}")
        put(self, "now", now)
        if not isinstance(self.weights, ScoreWeights):
            raise InputError("DispatchProblem.weights must be a ScoreWeights")

        n = np.shape(self.task_id)[0] if np.ndim(self.task_id) == 1 else None
        m = np.shape(self.team_id)[0] if np.ndim(self.team_id) == 1 else None
        if n is None or m is None:
            raise InputError("DispatchProblem.task_id and team_id must be 1-D arrays")
        for name, dtype in _TASK_INT.items():
            put(self, name, _as_int(name, getattr(self, name), dtype, n))
        for name, dtype in _TEAM_INT.items():
            put(self, name, _as_int(name, getattr(self, name), dtype, m))
        for name in _FLOAT_FIELDS:
            put(self, name, _as_float(name, getattr(self, name), n if name[:4] == "task" else m))
            _check_finite(name, getattr(self, name))

        travel = np.asarray(self.travel)
        if travel.dtype != np.float32:
            travel = travel.astype(np.float32)
        if travel.ndim != 2 or travel.shape[0] != m:
            raise InputError(
                f"DispatchProblem.travel has shape {travel.shape}, expected ({m}, n_cells)"
            )
        if not travel.flags.c_contiguous:
            travel = np.ascontiguousarray(travel)
        put(self, "travel", travel)
        n_cells = travel.shape[1]
        if travel.size:
            # one reduction finds both NaN (min propagates it) and negative times
            lo = travel.min()
            if np.isnan(lo) or lo < 0:
                raise InputError(
                    "DispatchProblem.travel must be >= 0 (inf = unreachable) without NaN, "
                    f"found {lo.item()!r}"
                )
        if self.cell_travel is not None:
            ct = np.ascontiguousarray(self.cell_travel, dtype=np.float32)
            if ct.shape != (n_cells, n_cells):
                raise InputError(
                    f"DispatchProblem.cell_travel has shape {ct.shape}, "
                    f"expected ({n_cells}, {n_cells})"
                )
            if ct.size and not (ct.min() >= 0):
                raise InputError("DispatchProblem.cell_travel must be >= 0 without NaN")
            put(self, "cell_travel", ct)
        self._check_forecast(n_cells)

        _check_range("task_cell", self.task_cell, 0, n_cells - 1)
        _check_range("team_cell", self.team_cell, 0, n_cells - 1)
        _check_range("task_skill", self.task_skill, 0, None)
        _check_range("team_skills", self.team_skills, 0, None)
        _check_range("task_work", self.task_work, 0, None)
        _check_range("task_area", self.task_area, -1, None)
        _check_range("team_area", self.team_area, -1, None)
        _check_range("task_pinned", self.task_pinned, -1, m - 1)
        _check_range("task_current", self.task_current, -1, m - 1)
        _check_range("task_crews", self.task_crews, 1, max(m, 1))
        _check_range("team_capacity", self.team_capacity, 0, None)
        _check_range("team_load", self.team_load, 0, None)
        if self.team_joins is not None:
            put(self, "team_joins", _as_int("team_joins", self.team_joins, np.int32, m))
            _check_range("team_joins", self.team_joins, 0, None)
        if n and not (self.task_priority > 0).all():
            k = int(np.flatnonzero(~(self.task_priority > 0))[0])
            raise InputError(
                f"DispatchProblem.task_priority[{k}] = {self.task_priority[k].item()!r} must be > 0"
            )
        if m and (self.team_shift_end < self.team_shift_start).any():
            k = int(np.flatnonzero(self.team_shift_end < self.team_shift_start)[0])
            raise InputError(
                f"DispatchProblem.team_shift_end[{k}] = {self.team_shift_end[k].item()!r} "
                f"is before "
                f"team_shift_start[{k}] = {self.team_shift_start[k].item()!r}"
            )
        for name, ids in (("task_id", self.task_id), ("team_id", self.team_id)):
            if ids.size > 1:
                s = np.sort(ids)
                dup = s[1:] == s[:-1]
                if dup.any():
                    raise InputError(
                        f"DispatchProblem.{name} has duplicate id {int(s[1:][dup][0])}"
                    )

    # ------------------------------------------------------------------ helpers
    @property
    def n_tasks(self) -> int:
        return int(self.task_id.shape[0])

    @property
    def n_teams(self) -> int:
        return int(self.team_id.shape[0])

    @property
    def n_cells(self) -> int:
        return int(self.travel.shape[1])

    def team_start(self) -> np.ndarray:
        """Earliest time each team can set out: ``max(now, free_at, shift_start)``."""
        return np.maximum(np.maximum(self.team_free_at, self.team_shift_start), self.now)

    def defer_cost(self) -> np.ndarray:
        """Cost of deferring each task: ``weights.defer * priority`` plus the lateness it
        has already, ``weights.lateness * priority * max(0, now + work - deadline)``
        (the compiled solvers use :func:`._policy_kernels.defer_costs`, same arithmetic)."""
        w = self.weights
        x = self.now + self.task_work - self.task_deadline
        late = np.where((x > 0.0) & (x < np.inf), x, 0.0)  # finite lateness only
        return w.defer * self.task_priority + w.lateness * self.task_priority * late

    def replace(self, **changes: Any) -> DispatchProblem:
        """A validated copy with some fields changed (for what-if variants)."""
        return dataclasses.replace(self, **changes)

    def _check_forecast(self, n_cells: int) -> None:
        """Coerce and check ``forecast`` and ``forecast_horizon`` (see the class doc)."""
        put = object.__setattr__
        try:
            horizon = float(self.forecast_horizon)
        except (TypeError, ValueError):
            raise InputError("DispatchProblem.forecast_horizon must be a number of seconds, "
                             f"got {self.forecast_horizon!r}") from None
        if self.forecast is None:
            if horizon != 0.0:
                raise InputError("DispatchProblem.forecast_horizon is given without a forecast")
            put(self, "forecast_horizon", 0.0)
            return
        if not (np.isfinite(horizon) and horizon > 0):
            raise InputError(f"DispatchProblem.forecast_horizon = {horizon!r} must be > 0 "
                             "seconds with a forecast")
        try:
            fc = np.ascontiguousarray(self.forecast, dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("DispatchProblem.forecast must hold numbers") from None
        if fc.ndim != 2 or fc.shape[0] != n_cells:
            raise InputError(f"DispatchProblem.forecast has shape {fc.shape}, expected "
                             f"({n_cells}, number of skills)")
        if fc.size and not (np.isfinite(fc).all() and fc.min() >= 0):
            raise InputError("DispatchProblem.forecast must be finite and >= 0")
        put(self, "forecast", fc)
        put(self, "forecast_horizon", horizon)

    @classmethod
    def unchecked(cls, **fields: Any) -> DispatchProblem:
        """A problem from arrays already in the validated form, without any check.

        For callers that build a snapshot at every dispatch tick from state they keep
        with the documented dtypes and shapes (the simulation): the checks and coercions
        of the constructor cost ~0.2 ms per snapshot. Every array field must be given
        with its documented dtype and length, C-contiguous (``travel`` float32);
        optional fields left out take their defaults, broadcast to arrays. Nothing is
        copied or checked, so a wrong field gives wrong answers or errors later, not an
        :class:`InputError`: use the constructor for anything read from users.
        """
        obj = object.__new__(cls)
        d = obj.__dict__
        d["weights"] = _DEFAULT_WEIGHTS
        d["cell_travel"] = None
        d["forecast"] = None
        d["forecast_horizon"] = 0.0
        d["team_joins"] = None
        d.update(fields)
        missing = _REQUIRED.difference(d)
        if missing:
            raise TypeError(f"DispatchProblem.unchecked: missing {', '.join(sorted(missing))}")
        n = d["task_id"].shape[0]
        m = d["team_id"].shape[0]
        for name, value, dtype, size in _OPTIONAL_ARRAYS:
            if name not in fields:
                d[name] = np.full(n if size == "n" else m, value, dtype)
        d["now"] = float(d["now"])
        return obj


@dataclass(frozen=True, eq=False)
class Assignment:
    """The answer of a policy or solver, one entry per task.

    Attributes
    ----------
    team
        int32[n], team index per task, -1 if deferred.
    reason
        int8[n], :class:`DeferReason` codes (``ASSIGNED`` = 0 for assigned tasks).
    cost
        float64[n], the pair's score for assigned tasks, the defer cost otherwise.
    eta
        float64[n], expected arrival (absolute seconds); NaN for deferred tasks.
    objective
        Total cost: ``cost.sum()`` plus the convex within-batch balancing surcharge, as
        :func:`urbangrid.optimizer.evaluate` defines it (which :func:`check_policy`
        holds a policy's figures to).
    method
        Policy or solver that produced it.
    status
        ``"optimal"``, ``"optimal_rounded"`` (optimal for costs rounded coarser than
        asked, within ``stats["gap_bound"]``: see :mod:`urbangrid.optimizer.assignment`),
        ``"feasible"`` (heuristic), ``"time_limit"`` (greedy fallback after a time limit)
        or ``"trivial"`` (nothing to assign).
    solve_seconds
        Wall time of the solve.
    stats
        Per-solve statistics (arcs, pricing rounds, ...).
    order
        Optional int32[n], position of the task in its team's sequence (0-based), -1 if
        deferred; ``None`` when the method does not sequence.
    lower_bound
        Lower bound on the objective proven by the solver (up to the documented cost
        rounding), NaN if none.
    crew_teams
        Optional int32[n, k]: every team serving each task when some task needs more than
        one crew (``cpsat`` method), -1 padded; ``team`` holds the first of them.
    hold_until
        Optional float64[n], postponement: a task deferred with reason ``POSTPONED`` is
        not offered again before this absolute time (finite, after ``now``); NaN for the
        other tasks. In the simulation it leaves its pool and comes back then, in line
        where it was (event ``postponed``); other deferred tasks are offered again at the
        next round. ``None`` (every built-in method) postpones nothing.
    """

    team: np.ndarray
    reason: np.ndarray
    cost: np.ndarray
    eta: np.ndarray
    objective: float
    method: str
    status: str
    solve_seconds: float
    stats: dict = field(default_factory=dict)
    order: np.ndarray | None = None
    lower_bound: float = float("nan")
    crew_teams: np.ndarray | None = None
    hold_until: np.ndarray | None = None

    @property
    def n_assigned(self) -> int:
        return int((self.team >= 0).sum())

    @property
    def n_deferred(self) -> int:
        return int((self.team < 0).sum())


_DEFAULT_WEIGHTS = ScoreWeights()
_REQUIRED = frozenset(
    f.name for f in dataclasses.fields(DispatchProblem)
    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
)
