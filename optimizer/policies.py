"""Dispatch policies: named callables from a :class:`DispatchProblem` to an :class:`Assignment`.

A policy is any ``Callable[[DispatchProblem], Assignment]``. Researchers add one by
decorating a *factory* (keyword parameters -> policy)::

    @register_policy("my_policy")
    def my_policy(alpha: float = 1.0) -> Policy:
        def run(problem: DispatchProblem) -> Assignment: ...
        return run

and scenario files pick it by name: ``get_policy("my_policy", alpha=2.0)``. Without
registering, a scenario may name the factory where it lives, ``dispatch.policy =
"my_package.my_module:my_policy"``, or an installed package may offer it under the
entry-point group ``urbangrid.policies`` (:func:`policy_factory`). ``run`` may
choose the teams by any rule and fill the answer with the one cost of an answer,
``evaluate(problem, team).to_assignment("my_policy")``
(:func:`urbangrid.optimizer.evaluate`). Check a new policy against the contract with
:func:`urbangrid.optimizer.check_policy`. A policy that staffs tasks needing several crews
(``task_crews > 1``, answered in ``Assignment.crew_teams``) says so with
``run.multi_crew = True``; the simulation refuses a scenario whose catalogue has such
categories with a policy that does not.

Built-in policies
-----------------
``nearest``
    Tasks in priority-then-deadline order, each to the qualified team with capacity that
    arrives first (``max(now, free_at, shift_start) + travel``); the chosen team's free
    time moves on by travel + work before the next task. It does not re-plan a crew's
    queue: a re-offered task (``task_current >= 0``) stays with its current team while
    that team can still take it (room left, reaches it by its shift end), before any
    new task is placed, so with ``dispatch.reoffer`` it moves only the tasks their crew
    can no longer take.
``legacy``
    Pre-reform practice: each task (same order) goes to a qualified team of its own
    sub-district (``team_area == task_area``) with the fewest queued tasks, ignoring
    travel; failing that to a district-wide team (``team_area == -1``); else deferred.
    Re-offered tasks stay with their crew as under ``nearest``.
``greedy``
    Global cheapest pair on the score matrix (:func:`solve` ``method="greedy"``).
``mcf``
    Batch min-cost flow, optimal for the score (:func:`solve` ``method="mcf"``).
``mcf_route``
    ``mcf`` followed by per-team sequencing (:func:`urbangrid.optimizer.route`).
``cpsat``
    ``mcf`` on rounds whose tasks each need one crew; on a round with a multi-crew task
    (``task_crews > 1``) CP-SAT (:func:`solve` ``method="cpsat"``, one worker, a
    deterministic time limit), which staffs it with all its crews at once
    (``Assignment.crew_teams``). The one built-in policy for scenarios whose catalogue
    has categories with ``crews > 1`` (it says so: ``multi_crew = True``).
``fair_mcf``
    An example of a fairness-aware policy: ``mcf`` on the snapshot with the tasks of a
    lagging sub-district made more urgent (:func:`area_lag`), its answer reported at the
    snapshot's own cost (:func:`urbangrid.optimizer.evaluate`).

Every built-in policy gives each task a team or a :class:`DeferReason`, respects skills,
capacities and shift ends, keeps pinned tasks on their team, and is deterministic.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np

from urbangrid.errors import InputError

from ._common import (
    _assignment,
    compiled_round,
    finish_numpy,
    priority_order_numpy,
    qualified,
)
from ._kernels import FlowParams, checked_time_limit
from .compiled import KIND_LEGACY, KIND_MCF, KIND_NEAREST, CompiledPolicy
from .problem import Assignment, DeferReason, DispatchProblem
from .solver import solve

__all__ = ["ENTRY_POINT_GROUP", "Policy", "area_lag", "available_policies", "get_policy",
           "policy_factory", "register_policy"]

Policy = Callable[[DispatchProblem], Assignment]

_REGISTRY: dict[str, Callable[..., Policy]] = {}


def register_policy(name: str) -> Callable[[Callable[..., Policy]], Callable[..., Policy]]:
    """Decorator registering a policy factory under ``name``.

    Parameters
    ----------
    name
        Name used in scenario files and :func:`get_policy`; must be new.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("policy name must be a non-empty string")

    def deco(factory: Callable[..., Policy]) -> Callable[..., Policy]:
        old = _REGISTRY.get(name)
        if old is not None and old is not factory:
            raise ValueError(f"policy {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return deco


#: Entry-point group through which an installed package offers policy factories: in its
#: ``pyproject.toml``, ``[project.entry-points."urbangrid.policies"] my_policy =
#: "my_package.policies:my_policy"``; scenario files then say ``policy = "my_policy"``.
ENTRY_POINT_GROUP = "urbangrid.policies"


def _entry_points() -> dict:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available_policies() -> tuple[str, ...]:
    """Names of all registered policies and of the installed packages' entry points
    (group ``urbangrid.policies``), sorted. A ``"module:function"`` reference works too
    without being listed."""
    return tuple(sorted(set(_REGISTRY) | set(_entry_points())))


def policy_factory(name: str, *, key: str | None = None) -> Callable[..., Policy]:
    """The policy factory ``name`` stands for: the one place a dispatch policy's name is
    resolved (scenario files, ``--policy`` options, :func:`get_policy`).

    ``name`` is, in this order: a name registered with :func:`register_policy`; the
    name of an entry point in the group ``urbangrid.policies`` of an installed package;
    or ``"package.module:function"``, a factory in any importable module (on
    ``sys.path``, e.g. through ``PYTHONPATH``), loaded on first use. A factory takes the
    policy's keyword parameters (``dispatch.params``) and returns the policy, a callable
    from a :class:`DispatchProblem` to an :class:`Assignment`, as
    :func:`register_policy` decorates.

    Parameters
    ----------
    name
        The reference.
    key
        Where the caller read it (``"dispatch.policy"``, ``"--policy"``): errors then
        say ``key = 'name': ...``.

    Raises
    ------
    InputError
        An unknown name (listing the known ones), a module that cannot be imported, a
        missing or non-callable attribute, or an entry point that fails to load; each
        naming ``name`` (and ``key``).
    """
    def fail(problem: str) -> InputError:
        where = f"{key} = {name!r}" if key else f"dispatch policy {name!r}"
        return InputError(f"{where}: {problem}")

    if not isinstance(name, str) or not name.strip():
        raise fail("a policy is named by a non-empty string")
    factory = _REGISTRY.get(name)
    if factory is not None:
        return factory
    if ":" in name:
        return _from_module(name, fail)
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(available_policies())
        hint = "or 'package.module:function', a policy factory in an importable module"
        if key:
            raise fail(f"no such policy (available: {known}; {hint})")
        raise InputError(f"unknown dispatch policy {name!r}; available: {known} ({hint})")
    try:
        factory = ep.load()
    except Exception as exc:  # noqa: BLE001 - any failure of the package's import
        raise fail(f"entry point {ep.value!r} of group {ENTRY_POINT_GROUP!r} failed to "
                   f"load: {type(exc).__name__}: {exc}") from None
    if not callable(factory):
        raise fail(f"entry point {ep.value!r} is not callable (expected a policy factory)")
    return factory


def _from_module(name: str, fail) -> Callable[..., Policy]:
    """The factory of a ``"package.module:function"`` reference."""
    import importlib

    module_name, _, attr = name.partition(":")
    if not module_name or not attr or ":" in attr:
        raise fail("expected 'package.module:function'")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise fail(f"cannot import module {module_name!r} ({type(exc).__name__}: {exc}; "
                   "is it on sys.path / PYTHONPATH?)") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise fail(f"importing module {module_name!r} failed: "
                   f"{type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise fail(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise fail(f"{attr!r} is a {type(obj).__name__}, not a policy factory")
    return obj


def get_policy(name: str, **params) -> Policy:
    """The policy ``name`` stands for (:func:`policy_factory`), built with ``params``.

    Raises
    ------
    InputError
        An unresolvable name, parameters the factory does not accept, or a factory that
        does not return a callable.
    """
    factory = policy_factory(name)
    try:
        policy = factory(**params)
    except TypeError as exc:
        raise InputError(f"bad parameters for dispatch policy {name!r}: {exc} (a policy "
                         "factory takes the policy's keyword parameters and returns the "
                         "policy)") from None
    if not callable(policy):
        raise InputError(f"dispatch policy {name!r}: its factory returned a "
                         f"{type(policy).__name__}, not a policy (a callable of a "
                         "DispatchProblem)")
    return policy


# the sequential policies run no flow: any knobs do
_NO_FLOW = FlowParams()


def _sequential(p: DispatchProblem, method: str) -> Assignment:
    """The one-task-at-a-time policies (``nearest``, ``legacy``), compiled.

    Pinned tasks keep their team; the others go in priority order through the policy's
    task loop in :mod:`._policy_kernels`, which updates the chosen team's capacity and
    free time (by travel + work) before the next task and records why a task found no
    team; the record is :func:`._common.finish`'s. All of it is one compiled call
    (:func:`._common.compiled_round`). :func:`_sequential_reference` is the same policy
    written with NumPy per task.
    """
    t0 = time.perf_counter()
    # with no team at all the loops give every free task NO_QUALIFIED_TEAM
    _, (assigned, deferred, pairs), _, out = compiled_round(
        p, KIND_LEGACY if method == "legacy" else KIND_NEAREST, _NO_FLOW)
    return _assignment(out.team, out.reason, out.cost, out.eta, out.pos,
                       p.weights.balance * float(pairs), int(assigned), int(deferred),
                       method=method, status="feasible", t0=t0, stats=None, order=None,
                       lower_bound=float("nan"), crew_teams=None)


@register_policy("nearest")
def nearest() -> Policy:
    """Earliest-arrival policy (see module docstring)."""

    def run(p: DispatchProblem) -> Assignment:
        return _sequential(p, "nearest")

    run.compiled_form = CompiledPolicy(KIND_NEAREST, _NO_FLOW)
    return run


@register_policy("legacy")
def legacy() -> Policy:
    """Pre-reform area policy (see module docstring)."""

    def run(p: DispatchProblem) -> Assignment:
        return _sequential(p, "legacy")

    run.compiled_form = CompiledPolicy(KIND_LEGACY, _NO_FLOW)
    return run


def _sequential_reference(p: DispatchProblem, method: str) -> Assignment:
    """``nearest`` or ``legacy`` with NumPy per task: the readable reference the
    compiled loops are tested against (same teams, reasons and record, bitwise)."""
    t0 = time.perf_counter()
    team = np.full(p.n_tasks, -1, np.int32)
    pinned = np.flatnonzero(p.task_pinned >= 0)
    team[pinned] = p.task_pinned[pinned]
    order = priority_order_numpy(p)
    order = order[p.task_pinned[order] < 0]
    reason = np.zeros(p.n_tasks, np.int8)
    load = p.team_load.astype(np.int64)
    choose = _nearest_choice if method == "nearest" else _legacy_choice(p, load)
    if order.size and p.n_teams:
        start = p.team_start()
        cap = p.team_capacity.astype(np.int64)
        end = p.team_shift_end
        q = qualified(p, order)  # (k, m), one vectorised pass
        tr = p.travel[:, p.task_cell[order]].T.astype(np.float64)  # (k, m)
        # a re-offered task stays with its current team while that team can take it
        for k, i in enumerate(order):
            j = int(p.task_current[i])
            if j >= 0 and q[k, j] and cap[j] > 0 and start[j] + tr[k, j] <= end[j] \
                    and start[j] + tr[k, j] < np.inf:
                team[i] = j
                cap[j] -= 1
                load[j] += 1
                start[j] = start[j] + tr[k, j] + p.task_work[i]
        for k, i in enumerate(order):
            if team[i] >= 0:
                continue
            j, why = choose(i, q[k], tr[k], start, end, cap)
            if j >= 0:
                team[i] = j
                cap[j] -= 1
                start[j] = start[j] + tr[k, j] + p.task_work[i]
            else:
                reason[i] = why
    elif order.size:
        reason[order] = DeferReason.NO_QUALIFIED_TEAM
    return finish_numpy(p, team, method=method, status="feasible", t0=t0, reason=reason)


def _nearest_choice(i, q, tr, start, end, cap):
    # the qualified team with capacity that arrives first (by its shift end)
    arrival = start + tr
    ok = q & np.isfinite(arrival) & (arrival <= end) & (cap > 0)
    if ok.any():
        return int(np.argmin(np.where(ok, arrival, np.inf))), 0
    return -1, _why_not(q, tr, start, end, cap)


def _why_not(q, tr, start, end, cap) -> int:
    if not q.any():
        return DeferReason.NO_QUALIFIED_TEAM
    reach = q & np.isfinite(tr)
    if not reach.any():
        return DeferReason.UNREACHABLE
    if not (reach & (start + tr <= end)).any():
        return DeferReason.OFF_SHIFT
    return DeferReason.NO_CAPACITY


def _legacy_choice(p: DispatchProblem, load: np.ndarray):
    wide = p.team_area == -1

    def choose(i, q, tr, start, end, cap):
        arrival = start + tr
        ok = q & np.isfinite(arrival) & (arrival <= end) & (cap > 0)
        home = ok & (p.team_area == p.task_area[i])
        cand = home if home.any() else ok & wide
        if cand.any():
            # fewest queued tasks, ties to the lowest index
            j = int(np.argmin(np.where(cand, load, np.iinfo(np.int64).max)))
            load[j] += 1
            return j, 0
        local = q & ((p.team_area == p.task_area[i]) | wide)
        if q.any() and not local.any():
            return -1, DeferReason.OUT_OF_AREA
        return -1, _why_not(local, tr, start, end, cap)

    return choose


@register_policy("greedy")
def greedy() -> Policy:
    """Global cheapest pair on the score matrix."""

    def run(p: DispatchProblem) -> Assignment:
        return solve(p, method="greedy")

    return run


@register_policy("mcf")
def mcf(candidates: int = 8, time_limit: float | None = None) -> Policy:
    """Batch min-cost flow (exact, see :func:`urbangrid.optimizer.assign`)."""
    # the checks of solve(), made once here rather than at the first dispatch round
    params = FlowParams(candidates=candidates)
    time_limit = checked_time_limit(time_limit)

    def run(p: DispatchProblem) -> Assignment:
        return solve(p, method="mcf", time_limit=time_limit, params=params)

    if time_limit is None:  # with a limit, solve() never takes the compiled small path
        run.compiled_form = CompiledPolicy(KIND_MCF, params)
    return run


@register_policy("mcf_route")
def mcf_route(candidates: int = 8, time_limit: float | None = None, solver: str = "auto",
              route_time_limit: float | None = None, seed: int = 0) -> Policy:
    """``mcf`` then per-team sequencing; teams whose task set did not change since the
    previous call keep their cached order."""
    from .routing import Router

    router = Router(solver, time_limit=route_time_limit, seed=seed)
    base = mcf(candidates=candidates, time_limit=time_limit)

    def run(p: DispatchProblem) -> Assignment:
        a = base(p)
        return dataclasses.replace(router(p, a), method="mcf_route")

    return run


@register_policy("cpsat")
def cpsat(candidates: int = 8, deterministic_time: float = 5.0, seed: int = 0) -> Policy:
    """``mcf`` on single-crew rounds, CP-SAT on rounds with a multi-crew task.

    CP-SAT runs on one worker with ``seed`` and stops at ``deterministic_time`` (its own
    work units, not wall-clock seconds), so a simulation with it gives the same bytes on
    every run and machine; starting from the flow's answer, it reports
    ``"time_limit"`` when it stopped before proving its optimum.
    """
    params = FlowParams(candidates=candidates)
    deterministic_time = checked_time_limit(deterministic_time, "deterministic_time")
    base = mcf(candidates=candidates)

    def run(p: DispatchProblem) -> Assignment:
        if not (p.task_crews > 1).any():
            return dataclasses.replace(base(p), method="cpsat")
        return solve(p, method="cpsat", seed=seed, params=params, workers=1,
                     deterministic_time=deterministic_time,
                     time_limit=max(60.0, 10.0 * deterministic_time))

    run.multi_crew = True
    return run


def area_lag(p: DispatchProblem) -> np.ndarray:
    """float64[n]: how far each task's sub-district lags in the snapshot, from what the
    snapshot gives only: the share of its sub-district's tasks that are late whatever
    is done (due before ``now + work``, the lateness every pair and the deferral of the
    task carry) minus that share over all tasks, or 0 when not above it. A task
    without a sub-district (``task_area`` -1) lags by 0."""
    n = p.n_tasks
    if n == 0:
        return np.zeros(0)
    late = (p.now + p.task_work > p.task_deadline).astype(np.float64)
    key = p.task_area.astype(np.int64) + 1  # -1 (no sub-district) -> 0
    tasks = np.bincount(key)
    share = np.bincount(key, weights=late) / np.maximum(tasks, 1)
    lag = np.maximum(share[key] - late.mean(), 0.0)
    lag[key == 0] = 0.0
    return lag


@register_policy("fair_mcf")
def fair_mcf(strength: float = 4.0, candidates: int = 8,
             time_limit: float | None = None) -> Policy:
    """``mcf`` that leans towards lagging sub-districts (an example of a fairness-aware
    policy).

    Each task's priority is multiplied by ``1 + strength * area_lag`` (:func:`area_lag`)
    and ``mcf`` solves that snapshot: a lagging sub-district's tasks weigh more in the
    lateness and deferral terms, so they get the teams that reach them first and are
    deferred last. The answer is reported at the real snapshot's cost (:func:`evaluate`),
    which is at least ``mcf``'s optimum (up to its cost rounding): the price paid for
    fairness; its status is ``"feasible"`` (it is optimal only for the re-weighted
    snapshot). It reads nothing but the snapshot, and within one round it can only
    choose among the tasks the round offers: the order in which the pools hand tasks
    out is the simulation's, the same for every policy. Measured on
    ``scenarios/reference_stressed.toml`` (``benchmarks/HISTORY.md``, 2026-12-07) it does
    not improve the fairness KPIs: there the sub-districts differ by their channel mix
    (the hotline's share), not by how the crews are dispatched.

    Parameters
    ----------
    strength
        How much a lag of 1 (every task of the sub-district late, none elsewhere) adds
        to the priority; 0 is ``mcf``.
    candidates, time_limit
        As :func:`mcf`.
    """
    from .evaluation import evaluate

    if not (isinstance(strength, (int, float)) and np.isfinite(strength) and strength >= 0):
        raise InputError(f"fair_mcf: strength must be a finite number >= 0, got {strength!r}")
    base = mcf(candidates=candidates, time_limit=time_limit)

    def run(p: DispatchProblem) -> Assignment:
        t0 = time.perf_counter()
        boost = 1.0 + strength * area_lag(p)
        leaned = p.replace(task_priority=p.task_priority * boost) if (boost > 1.0).any() else p
        a = base(leaned)
        # the team's work order is the snapshot's (priority, then deadline), as mcf's
        return evaluate(p, a.team).to_assignment(
            "fair_mcf", solve_seconds=time.perf_counter() - t0)

    return run
