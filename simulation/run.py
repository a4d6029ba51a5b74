"""One simulation run: the composition root from a :class:`Scenario` to a :class:`RunResult`."""

from __future__ import annotations

import gc
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from urbangrid.calendar import WorkCalendar
from urbangrid.catalogue import Catalogue, load_catalogue
from urbangrid.errors import InputError
from urbangrid.organisations import load_departments

from ._model import Model
from .codes import EVENT_NAMES
from .scenario import Scenario
from .space import MODES, Space, build_space

__all__ = ["STREAMS", "RunResult", "build_teams", "merge_logs", "simulate", "streams_for"]

log = logging.getLogger(__name__)

#: Named random streams of one replication, in spawn order (never reorder: seeds depend on
#: it; a new stream goes at the end, which leaves the others' numbers unchanged).
STREAMS = ("demand", "cases", "repeat", "orders")


def streams_for(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """Independent generators per named component of replication ``replication``.

    Replication ``r`` uses ``SeedSequence(seed).spawn(r + 1)[r]``, and its components are
    that sequence's children in :data:`STREAMS` order, so two scenarios run with the
    same seed see the same arrivals (common random numbers) whatever their policy.
    """
    rep = np.random.SeedSequence(seed, spawn_key=(replication,))
    kids = rep.spawn(len(STREAMS))
    return {name: np.random.Generator(np.random.PCG64(k))
            for name, k in zip(STREAMS, kids, strict=True)}


@dataclass
class RunResult:
    """Flat records of one run: cases, events, teams, and what is needed to read them."""

    scenario: Scenario
    seed: int
    replication: int
    cases: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    teams: dict[str, Any]
    t_stats: float
    t_end: float
    calendar: WorkCalendar
    catalogue: Catalogue
    space: Space
    wall_seconds: float
    stats: dict[str, Any] = field(default_factory=dict)
    #: The per-organisation table of the work orders (``WorkOrders.table``).
    organisations: dict[str, dict[str, float]] = field(default_factory=dict)
    #: With ``demand.trace``: the trace's ``service_request_id`` per row (cases refer to
    #: them through ``cases["trace_ref"]``).
    trace_ids: np.ndarray | None = None

    @property
    def n_events(self) -> int:
        return int(self.events["time"].shape[0])


@lru_cache(maxsize=4)
def _space_cached(key: str) -> Space:
    from .scenario import DistrictConfig

    return build_space(DistrictConfig.model_validate_json(key))


def _space(scenario: Scenario) -> Space:
    return _space_cached(scenario.district.model_dump_json())


def _cell_spacing_m(lat: np.ndarray, lon: np.ndarray) -> float:
    """Median distance from a cell centre to its nearest neighbour, metres (0 for one)."""
    if lat.size < 2:
        return 0.0
    y = lat * 111_320.0
    x = lon * 111_320.0 * np.cos(np.radians(float(lat.mean())))
    sub = slice(None, 2000)  # enough cells for a median spacing, bounded work
    d = np.hypot(x[sub, None] - x[None, :], y[sub, None] - y[None, :])
    d[d == 0.0] = np.inf
    return float(np.median(d.min(axis=1)))


def _workstation_place(space: Space, ws) -> tuple[int, int]:
    """Sub-district index and cell of a workstation (InputError naming what is wrong)."""
    k = space.subdistrict_index(ws.subdistrict, f"workstations ({ws.name}).subdistrict")
    cells = np.flatnonzero(space.subdistrict == k)
    lat, lon = space.lat[cells], space.lon[cells]
    if ws.location is None:
        at_lat, at_lon = float(lat.mean()), float(lon.mean())
    else:
        at_lat, at_lon = ws.location
    # Equirectangular metres: exact enough within a district.
    dy = (lat - at_lat) * 111_320.0
    dx = (lon - at_lon) * 111_320.0 * np.cos(np.radians(at_lat))
    d = np.hypot(dx, dy)
    i = int(np.argmin(d))
    if ws.location is not None:
        # A point inside the sub-district is within about one cell spacing of a cell
        # centre; allow half a kilometre at least (fine resolutions).
        limit = max(500.0, _cell_spacing_m(lat, lon))
        if d[i] > limit:
            raise InputError(
                f"workstations ({ws.name}).location = [{at_lat}, {at_lon}] is "
                f"{d[i]:,.0f} m from the nearest cell of {ws.subdistrict} (at most "
                f"{limit:,.0f} m): give a point inside the sub-district as [lat, lon]")
    return k, int(cells[i])


def build_teams(scenario: Scenario, space: Space, catalogue: Catalogue,
                calendar: WorkCalendar) -> dict[str, Any]:
    """Team state arrays from the scenario's crews (one row per team).

    Sub-district crews are placed on cells spread over their sub-district; district-wide
    crews are spread over the sub-districts in turn.

    Raises
    ------
    InputError
        A crew skill the catalogue does not use, or a category whose skill no crew has.
    """
    skills = catalogue.skills
    bit = {s: i for i, s in enumerate(skills)}
    names = list(scenario.shifts)
    patterns = [calendar.shift_windows(s.days, s.start_seconds, s.hours)
                for s in scenario.shifts.values()]
    have: set[str] = set()
    cols: dict[str, list] = {k: [] for k in ("skills", "area", "home", "mode", "pattern",
                                             "capacity", "kind", "name")}
    n_sub = space.n_subdistricts
    sub_cells = [np.flatnonzero(space.subdistrict == k) for k in range(n_sub)]
    demand = None
    for ci, crew in enumerate(scenario.crews):
        mask = 0
        for s in crew.skills:
            if s not in bit:
                raise InputError(f"crews[{ci}].skills: unknown skill {s!r} (the catalogue "
                                 f"uses: {', '.join(skills)})")
            mask |= 1 << bit[s]
            have.add(s)
        placements: list[tuple[int, int]] = []
        expected = np.zeros(space.n_subdistricts)
        if crew.split == "demand" and crew.per_subdistrict:
            served = np.isin(np.asarray(catalogue.skill), crew.skills)
            if demand is None:
                demand = _demand_model(scenario, space, catalogue, calendar)
            expected = demand.expected_by_subdistrict(space, served)
        counts = _split_counts(crew.per_subdistrict, crew.split, space, expected)
        for k in range(n_sub):
            cells = sub_cells[k]
            nk = counts[k]
            for r in range(nk):
                placements.append((k, int(cells[(2 * r + 1) * len(cells) // (2 * nk)])))
        for r in range(crew.district_wide):
            cells = sub_cells[r % n_sub]
            placements.append((-1, int(cells[(len(cells) // 2 + 7 * (r // n_sub))
                                             % len(cells)])))
        for ws in scenario.workstations:
            if crew.name in ws.crews:
                k, home = _workstation_place(space, ws)
                placements.extend([(k, home)] * ws.crews[crew.name])
        for area, home in placements:
            cols["skills"].append(mask)
            cols["area"].append(area)
            cols["home"].append(home)
            cols["mode"].append(MODES.index(crew.mode))
            cols["pattern"].append(names.index(crew.shift))
            cols["capacity"].append(crew.capacity)
            cols["kind"].append(ci)
            cols["name"].append(crew.agency or crew.name)
    if len(cols["skills"]) > 32767:
        raise InputError(f"{len(cols['skills'])} crews in all: at most 32,767 are supported")
    missing = sorted(set(catalogue.skill) - have)
    if missing:
        bad = [c for c, s in zip(catalogue.code, catalogue.skill, strict=True) if s in missing]
        raise InputError(f"no crew has skill(s) {missing} needed by categories {bad}: "
                         "add a crew or change the catalogue")
    out: dict[str, Any] = {k: np.array(v) for k, v in cols.items() if k != "name"}
    out["name"] = cols["name"]
    out["patterns"] = patterns
    insp = scenario.shifts[scenario.inspectors.shift]
    out["inspector_windows"] = calendar.shift_windows(insp.days, insp.start_seconds, insp.hours)
    return out


def _demand_model(scenario: Scenario, space: Space, catalogue: Catalogue,
                  calendar: WorkCalendar):
    from .demand import DemandModel

    return DemandModel(scenario, space, catalogue, calendar, None)


def _split_counts(per_subdistrict: int, split: str, space: Space,
                  expected: np.ndarray) -> list[int]:
    """Crews per sub-district: ``per_subdistrict`` each (``even``), or the same total in
    proportion to ``expected``, each sub-district's expected cases for the crew's skills
    (all channels, IoT coverage and hotline propensity included), at least one each
    (``demand``).

    ``demand`` exists because area-bound crews (``dispatch.area_bound``) cannot help a
    neighbouring sub-district: with an even split, the sub-districts with several times
    the average demand saturate while the others idle (jingan_legacy, CALIBRATION.md).
    The total is kept, so head count stays comparable between scenarios.
    """
    n_sub = space.n_subdistricts
    if split == "even" or per_subdistrict == 0:
        return [per_subdistrict] * n_sub
    share = expected / expected.sum() if expected.sum() > 0 else np.full(n_sub, 1.0 / n_sub)
    total = per_subdistrict * n_sub
    extra = total - n_sub  # one each first
    raw = share * extra
    counts = np.floor(raw).astype(int)
    # Largest remainders take the rest (ties to the lower index: deterministic).
    rest = extra - int(counts.sum())
    order = np.lexsort((np.arange(n_sub), -(raw - counts)))
    counts[order[:rest]] += 1
    return (counts + 1).tolist()


_LOG_COLUMNS = ("time", "case", "kind", "team")


def merge_logs(model: Model) -> dict[str, np.ndarray]:
    """One time-ordered event log from the model's main log (already in time order) and
    its side log (rows logged at another time than the current one).

    Ties keep main-log rows first, then side rows in time-then-log order. Each of the
    model's columns is freed once merged, which bounds the peak memory of a year's run.
    """
    main, side = model.take_logs()
    order = np.argsort(side[0], kind="stable")
    # Output position of each (sorted) side row: main rows at or before its time, plus
    # the side rows before it.
    pos = np.searchsorted(main[0], side[0][order], side="right") + np.arange(order.size)
    n = main[0].size + order.size
    is_main = np.ones(n, dtype=bool)
    is_main[pos] = False
    out = {}
    for k, name in enumerate(_LOG_COLUMNS):
        col = np.empty(n, dtype=main[k].dtype)
        col[is_main] = main[k]
        col[pos] = side[k][order]
        main[k] = side[k] = None
        out[name] = col
    return out


def make_calendar(scenario: Scenario) -> WorkCalendar:
    """The run's working-day calendar (horizon plus 60 days for deadlines)."""
    from .scenario import _hhmm_seconds

    run = scenario.run
    # Room for deadlines: the longest work-order limit and a second attempt, in working
    # days (about 1.5 calendar days each), and 60 days over.
    longest = max(t.limit_working_days for t in scenario.orders.types.values())
    margin = 60 + int(np.ceil(1.5 * (longest + scenario.orders.redo_limit_working_days)))
    return WorkCalendar(run.start_datetime,
                        int(np.ceil(run.warmup_days + run.days + run.drain_days)) + margin,
                        work_start=_hhmm_seconds(scenario.calendar.work_start),
                        work_end=_hhmm_seconds(scenario.calendar.work_end),
                        rule=scenario.calendar.rule)


@contextmanager
def _gc_tuned():
    """Raise GC thresholds during a run: a big open backlog otherwise triggers many
    full collections over long-lived objects (a year's backlog of ~64 k open cases
    tripled the run time of a SimPy model of this size)."""
    old = gc.get_threshold()
    # Move everything alive now (modules, district, travel matrices) out of the
    # collector's sight; a full collect first would cost ~0.1 - 0.3 s per run.
    gc.freeze()
    gc.set_threshold(200_000, 50, 1000)
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


def simulate(scenario: Scenario, *, seed: int | None = None, replication: int = 0,
             progress=None, policy=None, on_model=None) -> RunResult:
    """Run one replication of ``scenario``.

    Parameters
    ----------
    scenario
        The validated scenario.
    seed
        Root seed (default ``scenario.run.seed``).
    replication
        Replication number: selects the child random streams (see :func:`streams_for`).
    progress
        Optional callable receiving the fraction of simulated time done, once per day.
    policy
        A dispatch policy callable overriding ``scenario.dispatch.policy``.
    on_model
        Optional callable given the :class:`Model` once it is built, before it runs: for
        instruments that read the run's state while it runs (the reference-instance
        recorder of ``benchmarks/instances.py`` reads the cells of the snapshot's tasks
        and teams). It must not change the model.

    Returns
    -------
    RunResult
    """
    from urbangrid.optimizer import get_policy, policy_factory

    seed = scenario.run.seed if seed is None else int(seed)
    t0 = time.perf_counter()
    catalogue = load_catalogue(scenario.catalogue.file, scenario.catalogue.overrides)
    space = _space(scenario)
    cal = make_calendar(scenario)
    teams = build_teams(scenario, space, catalogue, cal)
    if policy is None:
        params = {k: v for k, v in scenario.dispatch.params.items() if k != "weights"}
        # a registered name, an entry point or "package.module:function"
        policy_factory(scenario.dispatch.policy, key="dispatch.policy")
        policy = get_policy(scenario.dispatch.policy, **params)
    model = Model(scenario, space, catalogue, cal, policy, streams_for(seed, replication),
                  teams, load_departments())
    if on_model is not None:
        on_model(model)
    t_setup = time.perf_counter() - t0
    with _gc_tuned():
        model.run(progress)
    wall = time.perf_counter() - t0
    model.release_run_state()
    cases = model.cases.columns()
    trace = model.demand.trace
    if trace is not None:
        cases["trace_ref"] = model.trace_refs()
    events = merge_logs(model)
    team_info = {
        "name": teams["name"], "area": teams["area"], "skills": teams["skills"],
        "pattern": teams["pattern"], "patterns": teams["patterns"],
        "busy_s": model.team_busy_s.copy(), "travel_s": model.team_travel_s.copy(),
        "tasks": model.team_tasks.copy(), "home": teams["home"],
    }
    stats = {
        "setup_seconds": t_setup, "run_seconds": wall - t_setup,
        "policy_calls": model.n_policy_calls, "policy_seconds": model.policy_seconds,
        "simpy_events": model.n_simpy_events, "core_events": model.core_events,
        "core_seconds": model.core_seconds,
        "dispatch_rounds": model.n_rounds, "dispatch_seconds": model.round_seconds,
        "compiled_rounds": model.n_compiled_rounds,
        "waiting_end": model.n_waiting, "expected_per_day": model.demand.expected_per_day(),
        "n_teams": model.n_teams, "event_names": EVENT_NAMES,
    }
    if trace is not None:
        stats["trace"] = {"source": trace.source, "simulated": len(trace),
                          "outside_run": trace.outside}
    return RunResult(scenario=scenario, seed=seed, replication=replication, cases=cases,
                     events=events, teams=team_info, t_stats=model.t_stats,
                     t_end=model.t_end, calendar=cal, catalogue=catalogue, space=space,
                     wall_seconds=wall, stats=stats, organisations=model.orders.table(),
                     trace_ids=None if trace is None else trace.ids)
