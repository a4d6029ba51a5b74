"""Reference dispatch instances: freeze them from simulations, and tabulate every method.

``python -m benchmarks.instances freeze`` runs the simulations of :data:`RUNS` (Jing'an,
``scenarios/jingan_integrated.toml``) with a recording policy (:class:`Recorder`, around
the scenario's ``mcf``): at every dispatch round inside an instance's window it keeps the
round its :class:`Spec` selects, with the cells of the round's tasks and teams read from
the running model. Each kept round is written as an instance folder of
``benchmarks/instances`` (the tables of ``urbangrid dispatch``, ``instance.json``;
:mod:`urbangrid.optimizer.instances`, ``benchmarks/instances/README.md``), read back
and compared with the snapshot (:func:`differences`), and solved exactly for its
best-known objective.

``python -m benchmarks.instances table`` (``make bench-instances``) solves every
instance with every method (``nearest``, ``greedy``, ``mcf``, ``mcf_route``, ``cpsat``),
prices each answer with :func:`urbangrid.optimizer.evaluate` (the one public cost, so the
methods compare), and writes ``benchmarks/INSTANCES.md`` and ``INSTANCES.json``.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import json
import logging
import math
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from urbangrid.errors import InputError

log = logging.getLogger("urbangrid.benchmarks.instances")

ROOT = Path(__file__).resolve().parent.parent
FOLDER = Path(__file__).resolve().parent / "instances"
TABLE_MD = Path(__file__).resolve().parent / "INSTANCES.md"
TABLE_JSON = Path(__file__).resolve().parent / "INSTANCES.json"
#: version of the instance set: bump it whenever an instance's tables change
SET_VERSION = "1.2"
SCENARIO = "scenarios/jingan_integrated.toml"
DAY = 86_400.0
#: the methods of the results table, in its column order
METHODS = ("nearest", "greedy", "mcf", "mcf_route", "cpsat")
#: CP-SAT's time limit in the table, seconds (one search worker: deterministic)
CPSAT_LIMIT = 30.0


# ---------------------------------------------------------------- what is frozen
@dataclass(frozen=True)
class Run:
    """One simulation the instances are frozen from: the scenario with ``overrides``
    (dotted paths, as ``--set``) and every crew's team count times ``crew_scale``."""

    overrides: dict
    crew_scale: float = 1.0
    scenario: str = SCENARIO
    seed: int | None = None  # None: the scenario's


@dataclass(frozen=True)
class Spec:
    """One instance: the run it is frozen from and the window of simulated time in
    which its round is the one offering the most tasks."""

    name: str
    description: str
    run: str
    window: tuple[float, float]
    #: (skill, crews): the round's tasks of that skill need this many teams at once, a
    #: side constraint added to the frozen round (frozen before the simulation had
    #: multi-crew tasks; kept so that set 1.x stays comparable)
    multi_crew: tuple[str, int] | None = None
    #: which round of the window is kept: the one offering the most tasks ("tasks"),
    #: the most re-offered, queued ones ("current", with ``dispatch.reoffer``) or the
    #: most teams whose shift has not started yet ("off_shift": a shift change); ties
    #: keep the earlier round
    most: str = "tasks"


_QUIET = {"run.warmup_days": 0.0, "run.drain_days": 0.0, "run.processes": 1}

#: 20 district-wide teams with several skills each and room for 5 tasks, for the small
#: instances
SMALL_CREWS = [
    {"name": "street", "skills": ["sanitation", "city_management"], "district_wide": 12,
     "mode": "ebike", "shift": "always", "capacity": 5},
    {"name": "works", "skills": ["facilities", "housing", "greenery", "utilities"],
     "district_wide": 8, "mode": "car", "shift": "day", "capacity": 5},
]

RUNS = {
    # the integrated scenario as it is, two days from an empty start
    "integrated": Run({**_QUIET, "run.days": 2.0}),
    # the district served by 20 multi-skill teams, at 400 cases a day, up to 3 tasks
    # offered per free slot: the day shift's first round offers tens of tasks
    "twenty_teams": Run({**_QUIET, "run.days": 2.0, "crews": SMALL_CREWS,
                         "demand.cases_per_day": 400, "dispatch.batch_per_slot": 3}),
    # every crew scaled to 60 %: the pools grow from day to day
    "saturated": Run({**_QUIET, "run.days": 3.0}, crew_scale=0.6),
    # the same, with the crews' queued tasks re-offered at every round (dispatch.reoffer)
    "saturated_reoffer": Run({**_QUIET, "run.days": 3.0, "dispatch.reoffer": True},
                             crew_scale=0.6),
    # the same, and a round offers a pool's whole backlog (up to 1000 tasks per free slot)
    "saturated_pooled": Run({**_QUIET, "run.days": 3.0, "dispatch.batch_per_slot": 1000},
                            crew_scale=0.6),
}

SPECS = (
    Spec("small", "the round offering the most tasks on the second day, Jing'an served by "
         "20 district-wide teams of several skills (12 street teams always on duty, 8 works "
         "teams by day) at 400 cases a day", "twenty_teams", (DAY, 2 * DAY)),
    Spec("small_crews", "the round of 'small' where every facilities task needs two teams "
         "at once (a side constraint added to the frozen round: only CP-SAT staffs it)",
         "twenty_teams", (DAY, 2 * DAY), multi_crew=("facilities", 2)),
    Spec("day", "the round offering the most tasks on the second day of the integrated "
         "scenario", "integrated", (DAY, 2 * DAY)),
    Spec("saturated", "the round offering the most tasks on the third day with every crew "
         "scaled to 60 % (the pools grow from day to day; one task offered per free slot)",
         "saturated", (2 * DAY, 3 * DAY)),
    Spec("shift_change", "the round with the most teams before their shift on the third "
         "day with every crew scaled to 60 % (06:30, half an hour before the day shift: "
         "the night crews end soon, the day crews are offered from their shift start)",
         "saturated", (2 * DAY, 3 * DAY), most="off_shift"),
    Spec("queued", "the round re-offering the most queued tasks on the third day with every "
         "crew scaled to 60 % and the crews' queued, unstarted tasks re-offered at every "
         "round (dispatch.reoffer): each has its crew as current_team, and moving it costs "
         "the reassignment weight", "saturated_reoffer", (2 * DAY, 3 * DAY), most="current"),
    Spec("backlog", "the round offering the most tasks in the day shift (06:00 to 18:00) of "
         "the third day with every crew scaled to 60 % and a round offering the pools' "
         "whole backlog (dispatch.batch_per_slot = 1000): more tasks than free capacity",
         "saturated_pooled", (2.25 * DAY, 2.75 * DAY)),
)


def scenario_of(run: Run):
    """The validated scenario of ``run``."""
    from urbangrid.simulation.scenario import load_scenario

    sc = load_scenario(ROOT / run.scenario)
    over = dict(run.overrides)
    if run.crew_scale != 1.0:
        over["crews"] = scaled_crews(sc, run.crew_scale)
    return sc.replace(over)


def scaled_crews(scenario, factor: float) -> list[dict]:
    """The scenario's crews with every team count times ``factor``, rounded half up, at
    least one team where there was one."""
    crews = []
    for crew in scenario.crews:
        c = crew.model_dump(mode="python")
        for key in ("per_subdistrict", "district_wide"):
            if c[key]:
                c[key] = max(1, math.floor(c[key] * factor + 0.5))
        crews.append(c)
    return crews


# ---------------------------------------------------------------- recording
@dataclass
class Snapshot:
    """A round kept by the recorder: the problem and what only the model knows."""

    problem: object
    task_cells: np.ndarray  # district cell of each task
    team_cells: np.ndarray  # district cell of each team
    team_modes: np.ndarray  # travel mode index (simulation.space.MODES) of each team
    round: int
    waiting: int


@dataclass
class Recorder:
    """A policy around ``base`` that keeps, for each spec, the round offering the most
    tasks in its window, and the pool's size at each round.

    Give :meth:`attach` to ``simulate(on_model=...)``: the model is read (never changed)
    at each round for the district cells of the round's tasks and teams.
    """

    base: Callable
    specs: tuple
    model: object = None
    kept: dict = field(default_factory=dict)
    #: (time, cases in the pools when the round began) of every round
    pool: list = field(default_factory=list)
    rounds: int = 0

    def attach(self, model) -> None:
        self.model = model

    def __call__(self, p):
        k = self.rounds
        self.rounds += 1
        waiting = self.model.n_waiting + p.n_tasks  # the offered tasks left the pools
        self.pool.append((p.now, waiting))
        for spec in self.specs:
            if not spec.window[0] <= p.now < spec.window[1]:
                continue
            old = self.kept.get(spec.name)
            if old is None or _size(p, spec) > _size(old.problem, spec):
                self.kept[spec.name] = self._snapshot(p, k, waiting)
        return self.base(p)

    def _snapshot(self, p, k: int, waiting: int) -> Snapshot:
        m = self.model
        team = np.asarray(p.team_id, np.int64)
        return Snapshot(
            problem=copy.deepcopy(p), task_cells=m.cases.cell[p.task_id].astype(np.int64),
            team_cells=m.team_cell[team].astype(np.int64),
            team_modes=m.team_mode[team].astype(np.int64), round=k, waiting=waiting)

    def pool_by_day(self) -> list[dict]:
        """The pools' largest size and their size at the last round, day by day."""
        t, w = np.array(self.pool, float).reshape(-1, 2).T
        day = (t // DAY).astype(int)
        return [{"day": int(d) + 1, "max": int(w[day == d].max()),
                 "last": int(w[day == d][-1])} for d in np.unique(day)]


#: what :attr:`Spec.most` maximises, in words (``instance.json`` ``source.selection``)
_MOST = {"tasks": "tasks", "current": "re-offered tasks queued at a crew",
         "off_shift": "teams before their shift"}


def _size(p, spec: Spec) -> int:
    """What the recorder maximises over ``spec``'s window (:attr:`Spec.most`)."""
    if spec.most == "current":
        return int((p.task_current >= 0).sum())
    if spec.most == "off_shift":
        return int((p.team_shift_start > p.now).sum())
    return p.n_tasks


# ---------------------------------------------------------------- writing and checking
def frozen_problem(snap: Snapshot, spec: Spec, skills):
    """The kept round's problem, with the spec's multi-crew tasks."""
    p = snap.problem
    if spec.multi_crew is not None:
        skill, crews = spec.multi_crew
        bit = np.int64(1) << list(skills).index(skill)
        p = dataclasses.replace(p, task_crews=np.where(p.task_skill & bit, crews, 1))
    return p


def snapshot_tables(snap: Snapshot, district, skills, spec: Spec):
    """The tasks and teams tables of a kept round (:func:`frozen_problem`)."""
    from urbangrid.optimizer import problem_tables
    from urbangrid.simulation.space import MODES

    p = frozen_problem(snap, spec, skills)
    h3 = district.cells["h3"].to_numpy()
    codes = district.subdistricts["code"].astype(str).to_numpy()
    tasks, teams = problem_tables(
        p, task_cells=h3[snap.task_cells], team_cells=h3[snap.team_cells],
        skill_names=skills, modes=np.asarray(MODES, dtype=object)[snap.team_modes],
        team_subdistricts=np.where(p.team_area >= 0, codes[np.maximum(p.team_area, 0)], ""))
    return tasks, teams


def snapshot_cells(snap: Snapshot) -> np.ndarray:
    """The district cell of each of the snapshot's cells (its ``task_cell`` and
    ``team_cell`` index space), from the cells the recorder read off the model; -1 where
    two of them disagree (a ``team_cell`` that is not the team's real cell)."""
    p = snap.problem
    cells = np.full(p.n_cells, -1, np.int64)
    cells[p.task_cell] = snap.task_cells
    free = cells[p.team_cell] < 0
    cells[p.team_cell[free]] = snap.team_cells[free]
    bad = np.r_[p.task_cell[cells[p.task_cell] != snap.task_cells],
                p.team_cell[cells[p.team_cell] != snap.team_cells]]
    cells[bad] = -1
    return cells


def differences(snapshot, problem, snapshot_cells=None, problem_cells=None) -> list[str]:
    """How ``problem`` (read from the tables) differs from the ``snapshot``'s problem:
    an empty list when both are the same dispatch problem. Skills are compared by which
    teams qualify for which task (the tables number skills in their own order), travel
    on the pairs the snapshot holds (the rest it leaves ``inf``,
    ``DispatchProblem.travel``). With the district cell of each problem cell (``*_cells``,
    :func:`snapshot_cells` and :attr:`Instance.cells`), also the teams' cells and the
    cell-to-cell travel (when the snapshot has it)."""
    a, b = snapshot, problem
    ti, tj = np.arange(a.n_tasks), np.arange(a.n_teams)
    out = []

    def same(name, x, y, exact=True):
        x, y = np.asarray(x), np.asarray(y)
        ok = x.shape == y.shape and (np.array_equal(x, y) if exact
                                     else np.allclose(x, y, rtol=1e-12, atol=1e-9))
        if not ok:
            out.append(name)

    if a.now != b.now:
        out.append("now")
    same("task_id", a.task_id[ti], b.task_id)
    same("task_priority", a.task_priority[ti], b.task_priority)
    same("task_deadline", a.task_deadline[ti], b.task_deadline)
    same("task_work", a.task_work[ti], b.task_work, exact=False)
    same("task_area", a.task_area[ti], b.task_area)
    same("task_crews", a.task_crews[ti], b.task_crews)
    same("task_pinned", a.task_pinned[ti], b.task_pinned)
    same("task_current", a.task_current[ti], b.task_current)
    for name in ("team_id", "team_capacity", "team_free_at", "team_shift_start",
                 "team_shift_end", "team_load", "team_area"):
        same(name, getattr(a, name)[tj], getattr(b, name))
    qa = (a.team_skills[tj][None, :] & a.task_skill[ti][:, None]) == a.task_skill[ti][:, None]
    qb = (b.team_skills[None, :] & b.task_skill[:, None]) == b.task_skill[:, None]
    same("qualification", qa, qb)
    ta = a.travel[np.ix_(tj, a.task_cell[ti])]
    tb = b.travel[:, b.task_cell]
    held = np.isfinite(ta)
    same("travel", ta[held], tb[held])
    if a.weights != b.weights:
        out.append("weights")
    if snapshot_cells is not None and problem_cells is not None:
        same("team_cell", snapshot_cells[a.team_cell], problem_cells[b.team_cell])
        if a.cell_travel is not None and b.cell_travel is not None:
            # on the district cells both hold (all of them, when the cells agree)
            _, ia, ib = np.intersect1d(snapshot_cells, problem_cells, return_indices=True)
            same("cell_travel", a.cell_travel[np.ix_(ia, ia)], b.cell_travel[np.ix_(ib, ib)])
    return out


def best_known(problem) -> dict:
    """The best-known answer of ``problem`` and its proof: the exact min-cost flow, or
    CP-SAT when a task needs several crews."""
    from urbangrid.optimizer import FlowParams, evaluate, solve

    if (problem.task_crews > 1).any():
        # every team a candidate: CP-SAT's optimum is then the problem's (up to rounding)
        a = solve(problem, method="cpsat", time_limit=600.0,
                  params=FlowParams(candidates=max(problem.n_teams, 1)))
        obj = evaluate(problem, a).objective
        if a.status == "optimal":
            return {"objective": obj, "method": "cpsat", "proof": "CP-SAT optimal",
                    "lower_bound": a.lower_bound}
        g = max(obj - a.lower_bound, 0.0) / abs(obj) if np.isfinite(a.lower_bound) else math.inf
        return {"objective": obj, "method": "cpsat",
                "proof": f"CP-SAT bound {a.lower_bound:.3f}, gap {g:.4%}",
                "lower_bound": a.lower_bound if np.isfinite(a.lower_bound) else None}
    a = solve(problem, method="mcf")
    obj = evaluate(problem, a).objective
    if a.status == "optimal":
        proof = "optimal by the exact min-cost flow"
    elif a.status == "optimal_rounded":
        proof = (f"optimal by the exact min-cost flow on costs rounded to 1/"
                 f"{a.stats.get('scale', float('nan')):g} (within {a.stats.get('gap_bound')})")
    else:
        raise RuntimeError(f"min-cost flow ended with status {a.status!r}")
    lb = a.lower_bound if np.isfinite(a.lower_bound) else None
    return {"objective": obj, "method": "mcf", "proof": proof, "lower_bound": lb}


def _clock(t: float) -> str:
    day, rest = divmod(t, DAY)
    return f"day {int(day) + 1} {int(rest // 3600):02d}:{int(rest % 3600 // 60):02d}"


def _commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def write_instance(folder: Path, spec: Spec, run: Run, scenario, snap: Snapshot,
                   district, skills, pool_by_day=()) -> dict:
    """Write one instance folder, read it back, check it against the snapshot and store
    its best-known objective; returns its ``instance.json``."""
    from urbangrid.optimizer.instances import INFO_FILE, TASKS_FILE, TEAMS_FILE, read_instance

    folder.mkdir(parents=True, exist_ok=True)
    tasks, teams = snapshot_tables(snap, district, skills, spec)
    tasks.to_csv(folder / TASKS_FILE, index=False)
    teams.to_csv(folder / TEAMS_FILE, index=False)
    from urbangrid.simulation.space import MODES

    p = frozen_problem(snap, spec, skills)
    # the cell-to-cell matrix in the mode most of the round's teams use (as the
    # simulation's own snapshots: one matrix per round)
    mode = MODES[int(np.bincount(snap.team_modes, minlength=len(MODES)).argmax())]
    info = {
        "name": spec.name, "version": SET_VERSION, "description": spec.description,
        "district": "jingan", "resolution": scenario.district.resolution, "now": p.now,
        "mode": mode, "weights": dataclasses.asdict(p.weights),
        "sizes": {}, "source": {
            "scenario": run.scenario, "overrides": run.overrides, "crew_scale": run.crew_scale,
            "seed": scenario.run.seed if run.seed is None else run.seed, "replication": 0,
            "round": snap.round, "simulated_time_s": p.now, "simulated_time": _clock(p.now),
            "waiting": snap.waiting, "pool_by_day": list(pool_by_day),
            "selection": f"the round offering the most {_MOST[spec.most]} in simulated "
                         f"time [{spec.window[0]:g}, {spec.window[1]:g}) s",
            "team_cells": "the snapshot's team_cell, in district cells through the model's "
                          "Model.team_cell at the round (read by the recorder); the "
                          "snapshot's travel rows and cell-to-cell travel are checked "
                          "against the tables'",
            "urbangrid_commit": _commit()},
        "best_known": {"objective": 0.0, "method": "", "proof": ""},
    }
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    inst = read_instance(folder, district=district)
    diff = differences(p, inst.problem, snapshot_cells(snap), inst.cells)
    if diff:
        raise RuntimeError(f"{spec.name}: the tables do not give the snapshot back: {diff}")
    q = inst.problem
    info["sizes"] = sizes_of(q)
    info["best_known"] = best_known(q)
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return info


def sizes_of(p) -> dict:
    """The sizes ``instance.json`` records."""
    return {"tasks": p.n_tasks, "teams": p.n_teams, "cells": p.n_cells,
            "skills": int(np.unique(p.task_skill).size),
            "capacity": int(p.team_capacity.sum()),
            "overdue": int((p.task_deadline < p.now).sum()),
            "multi_crew": int((p.task_crews > 1).sum()),
            "pinned": int((p.task_pinned >= 0).sum()),
            "current": int((p.task_current >= 0).sum()),
            "teams_busy": int((p.team_free_at > p.now).sum()),
            "teams_off_shift": int((p.team_shift_start > p.now).sum())}


def freeze(names=None, folder: Path = FOLDER) -> list[dict]:
    """Run the simulations of the specs ``names`` (default all) and write their
    instances into ``folder``."""
    from urbangrid.optimizer import get_policy
    from urbangrid.simulation.run import simulate

    specs = [s for s in SPECS if names is None or s.name in names]
    unknown = set(names or ()) - {s.name for s in SPECS}
    if unknown:
        raise InputError(f"unknown instance(s) {sorted(unknown)}; known: "
                         f"{', '.join(s.name for s in SPECS)}")
    written = []
    for run_name in dict.fromkeys(s.run for s in specs):
        run = RUNS[run_name]
        mine = tuple(s for s in specs if s.run == run_name)
        sc = scenario_of(run)
        params = {k: v for k, v in sc.dispatch.params.items() if k != "weights"}
        rec = Recorder(get_policy(sc.dispatch.policy, **params), mine)
        t0 = time.perf_counter()
        log.info("run %s: %s", run_name, ", ".join(s.name for s in mine))
        res = simulate(sc, seed=run.seed, policy=rec, on_model=rec.attach)
        log.info("run %s: %.0f s, %d rounds, pools by day %s", run_name,
                 time.perf_counter() - t0, rec.rounds, rec.pool_by_day())
        district = res.space.district
        for spec in mine:
            if spec.name not in rec.kept:
                raise RuntimeError(f"{spec.name}: no round in its window")
            info = write_instance(folder / spec.name, spec, run, sc, rec.kept[spec.name],
                                  district, res.catalogue.skills, rec.pool_by_day())
            log.info("%s: %s, best %s (%s)", spec.name, info["sizes"],
                     info["best_known"]["objective"], info["best_known"]["proof"])
            written.append(info)
    return written


# ---------------------------------------------------------------- the results table
def solve_with(problem, method: str):
    """Solve ``problem`` with ``method`` (a column of the table); returns the
    :class:`Assignment` and the wall seconds."""
    from urbangrid.optimizer import get_policy, solve

    t0 = time.perf_counter()
    if method in ("nearest", "mcf_route"):
        a = get_policy(method)(problem)
    elif method == "cpsat":
        a = solve(problem, method="cpsat", time_limit=CPSAT_LIMIT)
    else:
        a = solve(problem, method=method)
    return a, time.perf_counter() - t0


def results(folder: Path = FOLDER, methods=METHODS) -> dict:
    """Every instance of ``folder`` solved by every method, priced by ``evaluate``."""
    from urbangrid.optimizer import evaluate
    from urbangrid.optimizer.instances import available_instances, gap, load_instance

    rows, versions = [], set()
    names = available_instances(folder)
    if names:  # compile every method's kernels first: the first instance's times need not
        warm = load_instance(names[0], folder).problem
        for method in methods:
            if method == "cpsat" or not (warm.task_crews > 1).any():
                solve_with(warm, method)
    for name in names:
        inst = load_instance(name, folder)
        p, best = inst.problem, inst.info.best_known
        versions.add(inst.info.version)
        row = {"name": name, "sizes": inst.info.sizes, "best_known": best.model_dump(),
               "methods": {}}
        for method in methods:
            if method != "cpsat" and (p.task_crews > 1).any():
                row["methods"][method] = None  # one crew per task only
                continue
            a, secs = solve_with(p, method)
            ev = evaluate(p, a)
            entry = {"objective": ev.objective, "gap": gap(ev.objective, best.objective),
                     "seconds": secs, "status": a.status, "assigned": ev.n_assigned,
                     "deferred": ev.n_deferred}
            if "route_travel" in a.stats:
                # the tours' travel, and the same teams' tours in priority order (unrouted)
                from urbangrid.optimizer import route

                plain = route(p, a, "priority")
                entry["route_travel_h"] = a.stats["route_travel"] / 3600.0
                entry["priority_order_travel_h"] = float(plain.team_travel.sum()) / 3600.0
            row["methods"][method] = entry
            log.info("%s %s: %.1f (gap %.4f%%) in %.3f s", name, method, ev.objective,
                     100 * entry["gap"], secs)
        rows.append(row)
    if len(versions) > 1:
        raise InputError(f"{folder}: instances of several set versions {sorted(versions)}")
    return {"set_version": versions.pop() if versions else SET_VERSION,
            "cpsat_time_limit_s": CPSAT_LIMIT, "methods": list(methods), "instances": rows}


def _fmt_gap(g: float) -> str:
    if g == 0.0:
        return "0"
    if not math.isfinite(g):
        return "inf"
    # below 1e-5 in scientific notation: a rounding-level difference stays visible
    return f"{100 * g:+.3f} %" if abs(g) >= 1e-5 else f"{g:+.1e}"


def markdown(res: dict) -> str:
    """``INSTANCES.md`` from :func:`results`."""
    methods = res["methods"]
    lines = [
        "# Reference dispatch instances: results",
        "",
        f"Instance set version **{res['set_version']}** (`benchmarks/instances`, format in "
        "its README). Written by `python -m benchmarks.instances table` "
        "(`make bench-instances`); do not edit by hand.",
        "",
        "Every objective is `urbangrid.optimizer.evaluate(problem, answer).objective` (the "
        "one public cost: travel, wait, lateness, balance, re-assignment, deferral, in "
        "seconds-equivalent), so the methods compare; the gap is (objective − best known) "
        f"/ best known. CP-SAT runs with a {res['cpsat_time_limit_s']:g} s limit and one "
        "worker. `mcf_route` is `mcf` then sequencing: the same teams, so the same "
        "objective (which prices each pair from the team's position); below it the "
        "travel of its tours (from each team's cell, then cell to cell) and of the same "
        "tasks worked in priority order (unrouted). Gaps under 1e-5 are written as plain fractions "
        "(the flow is exact for costs rounded to 0.01, so another method may land a "
        "rounding below it); deferred tasks are counted where there are any. Wall "
        "times are of one run, after a warm-up, on the machine that wrote the table (they "
        "vary; the objectives do not).",
        "",
        "| instance | tasks × teams | best known | proof | "
        + " | ".join(methods) + " |",
        "|---|---|---:|---|" + "---:|" * len(methods),
    ]
    for row in res["instances"]:
        s, b = row["sizes"], row["best_known"]
        cells = []
        for m in methods:
            e = row["methods"].get(m)
            if e is None:
                cells.append("n/a")
                continue
            extra = ""
            if "route_travel_h" in e:
                extra = (f"<br>tours {e['route_travel_h']:.2f} h "
                         f"(unrouted {e['priority_order_travel_h']:.2f} h)")
            deferred = f", {e['deferred']} deferred" if e["deferred"] else ""
            cells.append(f"{e['objective']:,.1f}{extra}<br>gap {_fmt_gap(e['gap'])}"
                         f"{deferred}<br>{1000 * e['seconds']:,.1f} ms")
        lines.append(f"| {row['name']} | {s['tasks']} × {s['teams']} | "
                     f"{b['objective']:,.1f} | {b['proof']} (`{b['method']}`) | "
                     + " | ".join(cells) + " |")
    lines += ["", "Sizes (from each `instance.json`):", "",
              "| instance | tasks | teams | cells | skills | capacity | overdue | queued at a "
              "crew | multi-crew | busy teams | teams before shift |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in res["instances"]:
        s = row["sizes"]
        lines.append(f"| {row['name']} | {s['tasks']} | {s['teams']} | {s['cells']} | "
                     f"{s['skills']} | {s['capacity']} | {s['overdue']} | {s['current']} | "
                     f"{s['multi_crew']} | {s['teams_busy']} | {s['teams_off_shift']} |")
    return "\n".join(lines) + "\n"


def table(folder: Path = FOLDER, md: Path = TABLE_MD, js: Path = TABLE_JSON) -> dict:
    """Write the results table (Markdown and JSON)."""
    res = results(folder)
    md.write_text(markdown(res), encoding="utf-8")
    js.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.instances", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    f = sub.add_parser("freeze", help="run the simulations and write the instances")
    f.add_argument("names", nargs="*", help="instances to freeze (default: all)")
    f.add_argument("--out", type=Path, default=FOLDER, help="instance folder")
    t = sub.add_parser("table", help="solve every instance with every method")
    t.add_argument("--instances", type=Path, default=FOLDER, help="instance folder")
    t.add_argument("--out", type=Path, default=TABLE_MD, help="Markdown table")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "freeze":
            freeze(args.names or None, args.out)
        else:
            table(args.instances, args.out, args.out.with_suffix(".json"))
            print(args.out.read_text(encoding="utf-8"))
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
